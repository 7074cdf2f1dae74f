"""Three instances of the service against one PostgreSQL and one Redis behave as one service
(design §9, docs/performance.md "Many instances"): real `ippc serve` processes, driven over real
HTTP connections, with the writes of each race spread over the three.

The instances (`conftest.py`) are started once for the module, together, on an empty database;
the tests run in order and each makes the records it needs.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from alembic.script import ScriptDirectory

from app.core.migrate import alembic_config, head_revision
from tests.conftest import IPPC
from tests.instances.conftest import (
    ANONYMOUS_LIMIT,
    BUREAU_MEMBERS,
    INSTANCES,
    REDIS_URL,
    Cluster,
    bearer,
    fetch_token,
    http_client,
    token_header,
)

pytestmark = pytest.mark.postgres_only

# Each race sends this many requests at once, spread evenly over the instances.
RACERS = 3 * INSTANCES
ROUNDS = 4
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
ASSESSMENT = {
    "risk_level": "low",
    "undue_influence_assessment": "The partner funds no standard-setting work.",
}


def _spread(cluster: Cluster, count: int = RACERS) -> list[str]:
    """`count` instance addresses, taking each instance in turn."""
    return [cluster.bases[number % INSTANCES] for number in range(count)]


def _statuses(responses: Sequence[httpx.Response]) -> list[int]:
    return sorted(response.status_code for response in responses)


def _problem_types(responses: Sequence[httpx.Response]) -> set[str]:
    return {response.json()["type"] for response in responses}


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _organization(http: httpx.AsyncClient, cluster: Cluster) -> dict[str, Any]:
    body = {"name": f"Plant health network {uuid.uuid4().hex}", "category": "ngo"}
    return _created(
        await http.post(
            f"{cluster.bases[0]}/v1/organizations",
            json=body,
            headers=cluster.headers["secretariat"],
        )
    )


async def _ready_agreement(http: httpx.AsyncClient, cluster: Cluster, base: str) -> dict[str, Any]:
    """A draft that the Bureau alone approves (a partnership by informal arrangement, low
    risk), with a partner, an objective and its due diligence, made through `base`."""
    partner = await _organization(http, cluster)
    secretariat = cluster.headers["secretariat"]
    made = _created(
        await http.post(
            f"{base}/v1/agreements",
            json={
                "title": f"Surveillance partnership {uuid.uuid4().hex}",
                "level": "partnership",
                "instrument": "informal_arrangement",
                "partner_ids": [partner["id"]],
                "strategic_objectives": ["2020-2030.A"],
            },
            headers=secretariat,
        )
    )
    assert made["required_approvals"] == ["bureau"]
    assessed = await http.put(
        f"{base}/v1/agreements/{made['id']}/due-diligence", json=ASSESSMENT, headers=secretariat
    )
    assert assessed.status_code == 201, assessed.text
    return made


async def _submitted(http: httpx.AsyncClient, cluster: Cluster, base: str) -> httpx.Response:
    made = await _ready_agreement(http, cluster, base)
    response = await http.post(
        f"{base}/v1/agreements/{made['id']}/submit", headers=cluster.headers["secretariat"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"
    return response


def _decision(outcome: str, member: str) -> dict[str, Any]:
    return {
        "governing_body": "bureau",
        "outcome": outcome,
        "rationale": f"{member} weighed the due diligence.",
        "meeting_reference": "Bureau, June 2026, item 4",
    }


@pytest.fixture(autouse=True)
def _no_server_error(started: Cluster) -> Iterator[None]:
    """After each test: no instance answered a 5xx or logged an error meanwhile."""
    seen = [len(instance.log()) for instance in started.instances]
    yield
    for instance, count in zip(started.instances, seen, strict=True):
        errors = [
            entry
            for entry in instance.log()[count:]
            if entry["level"] in ("error", "critical") or int(entry.get("status", 0)) >= 500
        ]
        assert errors == [], f"{instance.base}: {errors}"


# --- 1. Migrations ------------------------------------------------------------------------------


def _upgrades(entries: list[dict[str, Any]]) -> list[str]:
    """The revisions a process applied, in the order its log says it applied them."""
    applied = []
    for entry in entries:
        if entry.get("logger") == "alembic.runtime.migration":
            found = re.match(r"Running upgrade \S* ?-> (\S+),", entry["message"])
            if found:
                applied.append(found.group(1))
    return applied


def _schema_checks(entries: list[dict[str, Any]]) -> int:
    """How many times a process opened the migration context (after taking the lock)."""
    return sum(
        entry.get("logger") == "alembic.runtime.migration"
        and entry["message"].startswith("Context impl")
        for entry in entries
    )


async def test_migrations_run_once_when_three_instances_start_together(started: Cluster) -> None:
    """All three instances started at once on an empty database and all three waited on the
    migration lock at the same moment; then exactly one applied the revisions, each once and in
    order, and the two others found the schema current and went on serving: one row in
    `alembic_version`, at head, and the seeded reference data there once."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [revision.revision for revision in reversed(list(script.walk_revisions()))]
    assert started.exited == {}, "\n".join(started.exited.values())
    # Each instance queued on the lock (held by the fixture) before touching the schema.
    assert started.migration_waiters == INSTANCES
    applied = [_upgrades(instance.log()) for instance in started.instances]
    assert sorted(applied, key=len) == [[]] * (INSTANCES - 1) + [revisions], applied
    assert [_schema_checks(instance.log()) for instance in started.instances] == [1] * INSTANCES
    versions = await started.query("SELECT version_num FROM alembic_version")
    assert [row["version_num"] for row in versions] == [head_revision()]
    objectives = await started.query(
        "SELECT code, count(*) AS n FROM strategic_objective GROUP BY code"
    )
    assert len(objectives) == 7
    assert {row["n"] for row in objectives} == {1}


# --- 2. No lost update --------------------------------------------------------------------------


async def _race_patches(
    http: httpx.AsyncClient, cluster: Cluster, path: str, field_name: str
) -> None:
    """ROUNDS rounds of RACERS merge patches with the same `If-Match`, spread over the
    instances: each round one wins and every other gets 412, and the version rose by one."""
    secretariat = cluster.headers["secretariat"]
    first = await http.get(f"{cluster.bases[0]}{path}", headers=secretariat)
    initial = first.json()["version"]
    for round_number in range(ROUNDS):
        read = await http.get(
            f"{cluster.bases[round_number % INSTANCES]}{path}", headers=secretariat
        )
        etag = read.headers["etag"]
        values = [f"Round {round_number}, writer {writer}" for writer in range(RACERS)]
        responses = await asyncio.gather(
            *(
                http.patch(
                    f"{base}{path}",
                    json={field_name: value},
                    headers={**secretariat, **MERGE_PATCH, "If-Match": etag},
                )
                for base, value in zip(_spread(cluster), values, strict=True)
            )
        )
        assert _statuses(responses) == [200] + [412] * (RACERS - 1), [r.text for r in responses]
        lost = [response for response in responses if response.status_code == 412]
        assert _problem_types(lost) == {"/problems/precondition-failed"}
        winner = next(response for response in responses if response.status_code == 200)
        for base in cluster.bases:
            now = await http.get(f"{base}{path}", headers=secretariat)
            assert now.json()[field_name] == winner.json()[field_name]
            assert now.json()["version"] == initial + round_number + 1
            assert now.headers["etag"] == winner.headers["etag"]


async def test_concurrent_patches_of_an_organization_lose_no_update(cluster: Cluster) -> None:
    """Merge patches of one organization with the same If-Match, at once through the three
    instances: one winner a round, 412 for the others, the version raised once a round."""
    async with http_client() as http:
        organization = await _organization(http, cluster)
        await _race_patches(http, cluster, f"/v1/organizations/{organization['id']}", "description")


async def test_concurrent_patches_of_an_agreement_lose_no_update(cluster: Cluster) -> None:
    """The same race on a draft agreement; its audit trail holds one change per round."""
    async with http_client() as http:
        made = await _ready_agreement(http, cluster, cluster.bases[1])
        path = f"/v1/agreements/{made['id']}"
        await _race_patches(http, cluster, path, "purpose")
        events = await http.get(
            f"{cluster.bases[2]}/v1/audit-events",
            params={"resource_id": made["id"], "limit": 200},
            headers=cluster.headers["secretariat"],
        )
        assert events.status_code == 200, events.text
        purposes = [item for item in events.json()["items"] if "purpose" in (item["changes"] or {})]
        assert len(purposes) == ROUNDS


# --- 3. No duplicate create ---------------------------------------------------------------------


async def test_a_replayed_idempotency_key_creates_once(cluster: Cluster) -> None:
    """The same create with the same Idempotency-Key, sent at once to the three instances: one
    agreement is made; every other answer replays its 201 (same id, `Idempotent-Replayed`) or is
    the 409 of a first request still in flight; a later retry replays it."""
    secretariat = cluster.headers["secretariat"]
    async with http_client() as http:
        partner = await _organization(http, cluster)
        for _round in range(ROUNDS):
            title = f"Idempotent agreement {uuid.uuid4().hex}"
            body = {
                "title": title,
                "level": "partnership",
                "instrument": "informal_arrangement",
                "partner_ids": [partner["id"]],
            }
            headers = {**secretariat, "Idempotency-Key": f"create-{uuid.uuid4().hex}"}
            responses = await asyncio.gather(
                *(
                    http.post(f"{base}/v1/agreements", json=body, headers=headers)
                    for base in _spread(cluster)
                )
            )
            assert set(_statuses(responses)) <= {201, 409}, [r.text for r in responses]
            made = [response for response in responses if response.status_code == 201]
            first = [response for response in made if "idempotent-replayed" not in response.headers]
            assert len(first) == 1
            replayed = [response for response in made if response not in first]
            assert all(r.headers["idempotent-replayed"] == "true" for r in replayed)
            assert {r.json()["id"] for r in made} == {first[0].json()["id"]}
            assert {r.headers["location"] for r in made} == {first[0].headers["location"]}
            in_flight = [response for response in responses if response.status_code == 409]
            if in_flight:
                assert _problem_types(in_flight) == {"/problems/idempotency-key-in-flight"}
                assert all(r.headers["retry-after"] for r in in_flight)
            retry = await http.post(f"{cluster.bases[2]}/v1/agreements", json=body, headers=headers)
            assert retry.status_code == 201
            assert retry.headers["idempotent-replayed"] == "true"
            assert retry.json() == first[0].json()
            listed = await http.get(
                f"{cluster.bases[1]}/v1/agreements", params={"q": title}, headers=secretariat
            )
            assert [item["id"] for item in listed.json()["items"]] == [first[0].json()["id"]]


# --- 4. No double decision ----------------------------------------------------------------------


@pytest.mark.parametrize("with_if_match", [False, True], ids=["no If-Match", "If-Match"])
async def test_concurrent_bureau_decisions_record_one(
    cluster: Cluster, with_if_match: bool
) -> None:
    """Bureau members decide on one submitted agreement at once, each through every instance,
    with different outcomes: one decision is recorded; the others are refused, 409 (the status
    moved on) or, when they sent the If-Match they read, 412. The agreement lists one decision
    and its status is the winner's."""
    outcomes = ("approved", "rejected", "returned")
    async with http_client() as http:
        submitted = await _submitted(http, cluster, cluster.bases[0])
        agreement = submitted.json()
        path = f"/v1/agreements/{agreement['id']}/decisions"
        condition = {"If-Match": submitted.headers["etag"]} if with_if_match else {}
        sent = [
            (base, member, outcomes[(rank + number) % len(outcomes)])
            for rank, member in enumerate(BUREAU_MEMBERS)
            for number, base in enumerate(cluster.bases)
        ]
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{base}{path}",
                    json=_decision(outcome, member),
                    headers={**cluster.headers[member], **condition},
                )
                for base, member, outcome in sent
            )
        )
        refusal = 412 if with_if_match else 409
        assert _statuses(responses) == [201] + [refusal] * (len(sent) - 1), [
            r.text for r in responses
        ]
        refused = [response for response in responses if response.status_code == refusal]
        # A loser that waited for the winner's lock finds the status moved on; one that read
        # before the winner wrote loses on the agreement's version: a conflict either way.
        expected = (
            {"/problems/precondition-failed"}
            if with_if_match
            else {"/problems/invalid-transition", "/problems/conflict"}
        )
        assert _problem_types(refused) <= expected
        won = next(response for response in responses if response.status_code == 201).json()
        for base in cluster.bases:
            decisions = await http.get(f"{base}{path}", headers=cluster.headers[BUREAU_MEMBERS[0]])
            assert [item["id"] for item in decisions.json()["items"]] == [won["id"]]
            now = await http.get(
                f"{base}/v1/agreements/{agreement['id']}", headers=cluster.headers["secretariat"]
            )
            assert now.json()["status"] == won["agreement_status"]
            assert now.json()["version"] == agreement["version"] + 1
        stored = await cluster.query(
            "SELECT count(*) AS n FROM decision WHERE agreement_id = $1", uuid.UUID(agreement["id"])
        )
        assert stored[0]["n"] == 1


# --- 5. One rate-limit budget -------------------------------------------------------------------


async def test_anonymous_callers_spend_one_budget_across_instances(cluster: Cluster) -> None:
    """A caller's requests, sent at once and spread over the three instances, spend one budget
    kept in Redis: exactly the limit is served in all, the rest are 429 with Retry-After, and
    from then on every instance refuses that caller (another caller is still served)."""
    caller = {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    sent = 4 * INSTANCES
    async with http_client() as http:
        responses = await asyncio.gather(
            *(
                http.get(f"{base}/v1/public/agreements", headers=caller)
                for base in _spread(cluster, sent)
            )
        )
        assert _statuses(responses) == [200] * ANONYMOUS_LIMIT + [429] * (sent - ANONYMOUS_LIMIT)
        for base in cluster.bases:
            refused = await http.get(f"{base}/v1/strategic-objectives", headers=caller)
            assert refused.status_code == 429
            assert refused.json()["type"] == "/problems/too-many-requests"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.headers["ratelimit-policy"] == f'"anonymous";q={ANONYMOUS_LIMIT};w=60'
            other = await http.get(f"{base}/v1/strategic-objectives")
            assert other.status_code == 200
    store = redis.Redis.from_url(REDIS_URL)
    try:
        counted = [
            int(store.get(key) or 0)
            for key in store.scan_iter(match=f"{cluster.redis_prefix}:*")
            if caller["X-Forwarded-For"].encode() in key
        ]
    finally:
        store.close()
    assert counted == [sent + INSTANCES]  # one counter, in Redis, for every instance


# --- 6. The public register is never stale ------------------------------------------------------


async def _public_reads(
    http: httpx.AsyncClient, bases: Sequence[str], path: str
) -> list[httpx.Response]:
    """The public answer at `path` on each instance, read twice so that each keeps it: the
    second read of each is a 304 to the first's ETag."""
    answers = []
    for base in bases:
        answer = await http.get(f"{base}{path}")
        assert answer.status_code == 200, answer.text
        again = await http.get(f"{base}{path}", headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
        answers.append(answer)
    return answers


async def _fresh_reads(
    http: httpx.AsyncClient, bases: Sequence[str], path: str, before: Sequence[httpx.Response]
) -> list[dict[str, Any]]:
    """The next read of `path` on each instance, with the ETag it answered before: a 200 with
    a new ETag (the body changed), never the 304 of the kept answer."""
    bodies = []
    for base, earlier in zip(bases, before, strict=True):
        answer = await http.get(f"{base}{path}", headers={"If-None-Match": earlier.headers["etag"]})
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] != earlier.headers["etag"]
        bodies.append(answer.json())
    return bodies


def _listed(page: dict[str, Any], agreement_id: str) -> dict[str, Any] | None:
    return next((item for item in page["items"] if item["id"] == agreement_id), None)


async def test_a_change_through_one_instance_shows_at_once_on_the_others(
    cluster: Cluster,
) -> None:
    """The public list is read, and kept, on two instances; an approval through the third puts
    the agreement in it, and an activation changes its status there: the very next read on each
    of the two shows the change, and the ETag they answered before no longer gets a 304."""
    writer, readers = cluster.bases[0], cluster.bases[1:]
    listing = "/v1/public/agreements?limit=200"
    async with http_client() as http:
        agreement = (await _submitted(http, cluster, writer)).json()
        item_path = f"/v1/public/agreements/{agreement['id']}"
        before = await _public_reads(http, readers, listing)
        assert all(_listed(answer.json(), agreement["id"]) is None for answer in before)
        for base in readers:
            assert (await http.get(f"{base}{item_path}")).status_code == 404

        member = BUREAU_MEMBERS[0]
        decided = await http.post(
            f"{writer}/v1/agreements/{agreement['id']}/decisions",
            json=_decision("approved", member),
            headers=cluster.headers[member],
        )
        assert decided.status_code == 201, decided.text
        assert decided.json()["agreement_status"] == "approved"
        for page in await _fresh_reads(http, readers, listing, before):
            shown = _listed(page, agreement["id"])
            assert shown is not None
            assert shown["status"] == "approved"

        before = await _public_reads(http, readers, listing)
        items_before = await _public_reads(http, readers, item_path)
        activated = await http.post(
            f"{writer}/v1/agreements/{agreement['id']}/activate",
            json={"signed_on": datetime.now(UTC).date().isoformat()},
            headers=cluster.headers["secretariat"],
        )
        assert activated.status_code == 200, activated.text
        for page in await _fresh_reads(http, readers, listing, before):
            shown = _listed(page, agreement["id"])
            assert shown is not None
            assert shown["status"] == "active"
        for item in await _fresh_reads(http, readers, item_path, items_before):
            assert item["status"] == "active"


# --- 7. One embedded issuer ---------------------------------------------------------------------


async def _documents(http: httpx.AsyncClient, cluster: Cluster, path: str) -> list[Any]:
    answers = [await http.get(f"{base}{path}") for base in cluster.bases]
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.json() for answer in answers]


async def _accepted(
    http: httpx.AsyncClient, bases: Sequence[str], token: str, client_id: str
) -> None:
    for base in bases:
        me = await http.get(f"{base}/v1/me", headers=bearer(token))
        assert me.status_code == 200, f"{base}: {me.text}"
        assert me.json()["client_id"] == client_id


async def test_the_instances_are_one_token_issuer(cluster: Cluster) -> None:
    """The first tokens, asked of the three instances at once (each request held at the
    signing-key table until all of them waited there), made one signing key; a token from one
    instance is accepted by the others; after `ippc keys rotate` a token from another
    instance is signed with the new key and accepted everywhere, and the older token still is.
    The key set and the issuer's metadata are the same on every instance."""
    credentials = cluster.credentials["secretariat"]
    a, b, c = cluster.bases
    async with http_client() as http:
        assert cluster.key_waiters == len(cluster.credentials) * INSTANCES
        keys = await cluster.query("SELECT count(*) AS n FROM signing_key")
        assert keys[0]["n"] == 1
        key_sets = await _documents(http, cluster, "/.well-known/jwks.json")
        assert key_sets[0] == key_sets[1] == key_sets[2]
        assert len(key_sets[0]["keys"]) == 1
        metadata = await _documents(http, cluster, "/.well-known/oauth-authorization-server")
        assert metadata[0] == metadata[1] == metadata[2]

        old = await fetch_token(http, a, credentials)
        old_kid = token_header(old)["kid"]
        assert old_kid == key_sets[0]["keys"][0]["kid"]
        await _accepted(http, [b, c], old, credentials["client_id"])

        rotated = await asyncio.create_subprocess_exec(
            *IPPC,
            "keys",
            "rotate",
            cwd=cluster.directory,
            env=cluster.environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await rotated.communicate()
        assert rotated.returncode == 0, err.decode()
        new_kid = out.decode().strip()
        assert new_kid != old_kid

        new = await fetch_token(http, b, credentials)
        assert token_header(new)["kid"] == new_kid
        await _accepted(http, [a, c], new, credentials["client_id"])
        await _accepted(http, [a, b, c], old, credentials["client_id"])
        key_sets = await _documents(http, cluster, "/.well-known/jwks.json")
        assert key_sets[0] == key_sets[1] == key_sets[2]
        assert {key["kid"] for key in key_sets[0]["keys"]} == {old_kid, new_kid}
