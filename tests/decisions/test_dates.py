"""The order of the dates people give (`agreements.workflow.date_bounds`): no decision dated
before a decision in force on the same agreement, a correction between its neighbours, a
signature not before the decisions. Submission sets no bound: agreements decided long ago are
recorded today with their real dates."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest

from app.agreements.workflow import DateBounds, DecisionDate, date_bounds
from tests.decisions.conftest import decide
from tests.registry import Make, pointers

URL = "/v1/agreements"


def _decisions(*dated: tuple[str, str | None, str]) -> list[DecisionDate]:
    """Decisions named by letter, each (name, the name it supersedes or None, its date)."""
    return [
        DecisionDate(_id(name), None if old is None else _id(old), date.fromisoformat(day))
        for name, old, day in dated
    ]


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_DNS, name)


def test_a_new_decision_comes_after_every_decision_in_force() -> None:
    assert date_bounds([]) == DateBounds()
    history = _decisions(("a", None, "2026-03-01"), ("b", None, "2026-04-01"))
    assert date_bounds(history) == DateBounds(earliest=date(2026, 4, 1))
    # A correction moved b's date back: the corrected date is the one in force.
    corrected = [*history, *_decisions(("c", "b", "2026-03-15"))]
    assert date_bounds(corrected) == DateBounds(earliest=date(2026, 3, 15))


def test_a_correction_stays_between_its_neighbours() -> None:
    history = _decisions(
        ("a", None, "2026-03-01"),
        ("b", None, "2026-04-01"),
        ("c", None, "2026-05-01"),
        ("b2", "b", "2026-04-02"),  # b corrected: b2 stands in b's place
    )
    assert date_bounds(history, correcting=_id("b2")) == DateBounds(
        earliest=date(2026, 3, 1), latest=date(2026, 5, 1)
    )
    assert date_bounds(history, correcting=_id("a")) == DateBounds(latest=date(2026, 4, 2))
    assert date_bounds(history, correcting=_id("c"), signed_on=date(2026, 6, 1)) == DateBounds(
        earliest=date(2026, 4, 2), latest=date(2026, 6, 1)
    )
    # An id that is not the agreement's sets no bound (its own 422 says so).
    assert date_bounds(history, correcting=uuid.uuid4()) == DateBounds()


def test_the_bounds_name_the_field_and_the_date() -> None:
    bounds = DateBounds(earliest=date(2026, 3, 1), latest=date(2026, 5, 1))
    assert bounds.errors(date(2026, 3, 1), "/decided_on") == []
    assert bounds.errors(date(2026, 5, 1), "/decided_on") == []
    (early,) = bounds.errors(date(2026, 2, 28), "/decided_on")
    assert early.pointer == "/decided_on"
    assert "2026-03-01" in early.detail
    (late,) = bounds.errors(date(2026, 5, 2), "/signed_on")
    assert late.pointer == "/signed_on"
    assert "2026-05-01" in late.detail


async def test_the_cpm_does_not_decide_before_the_bureau(
    client: httpx.AsyncClient, bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted(instrument="letter_of_intent")
    first = await decide(client, bureau, made["id"], decided_on="2013-03-20")
    assert first.status_code == 201, first.text
    early = await decide(client, bureau, made["id"], body="cpm", decided_on="2013-03-19")
    assert early.status_code == 422
    assert pointers(early) == ["/decided_on"]
    assert "2013-03-20" in early.json()["errors"][0]["detail"]
    same_day = await decide(client, bureau, made["id"], body="cpm", decided_on="2013-03-20")
    assert same_day.status_code == 201, same_day.text


async def test_a_decision_after_a_return_comes_after_it(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    returned = await decide(client, bureau, made["id"], outcome="returned", decided_on="2020-06-01")
    assert returned.status_code == 201, returned.text
    again = await client.post(f"{URL}/{made['id']}/submit", headers=secretariat)
    assert again.status_code == 200, again.text
    early = await decide(client, bureau, made["id"], decided_on="2020-05-31")
    assert pointers(early) == ["/decided_on"]
    later = await decide(client, bureau, made["id"], decided_on="2020-07-01")
    assert later.status_code == 201, later.text


async def test_a_signature_comes_after_the_approval(
    client: httpx.AsyncClient, secretariat: dict[str, str], bureau: dict[str, str], submitted: Make
) -> None:
    made = await submitted()
    approved = await decide(client, bureau, made["id"], decided_on="2019-09-10")
    assert approved.status_code == 201, approved.text
    path = f"{URL}/{made['id']}/activate"
    early = await client.post(path, json={"signed_on": "2019-09-09"}, headers=secretariat)
    assert early.status_code == 422
    assert pointers(early) == ["/signed_on"]
    assert "2019-09-10" in early.json()["errors"][0]["detail"]
    signed = await client.post(path, json={"signed_on": "2019-09-10"}, headers=secretariat)
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_on"] == "2019-09-10"


@pytest.mark.parametrize(
    ("corrected_on", "accepted"),
    [
        ("2018-01-31", False),  # before the Bureau's return, a decision in force before it
        ("2018-02-01", True),
        ("2018-06-30", True),
        ("2018-07-01", False),  # after the signature
    ],
)
async def test_a_correction_keeps_the_order(
    client: httpx.AsyncClient,
    secretariat: dict[str, str],
    bureau: dict[str, str],
    submitted: Make,
    corrected_on: str,
    accepted: bool,
) -> None:
    made = await submitted()
    returned = await decide(client, bureau, made["id"], outcome="returned", decided_on="2018-02-01")
    assert returned.status_code == 201, returned.text
    assert (await client.post(f"{URL}/{made['id']}/submit", headers=secretariat)).status_code == 200
    approved = await decide(client, bureau, made["id"], decided_on="2018-03-01")
    assert approved.status_code == 201, approved.text
    signed = await client.post(
        f"{URL}/{made['id']}/activate", json={"signed_on": "2018-06-30"}, headers=secretariat
    )
    assert signed.status_code == 200, signed.text
    correction = await decide(
        client,
        bureau,
        made["id"],
        decided_on=corrected_on,
        supersedes_id=approved.json()["id"],
    )
    if accepted:
        assert correction.status_code == 201, correction.text
    else:
        assert correction.status_code == 422
        assert pointers(correction) == ["/decided_on"]
