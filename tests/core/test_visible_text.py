"""Names and acronyms must show something: text made only of invisible characters is refused."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from app.core.validation import require_visible_text

INVISIBLE = [
    "\u200b",  # zero width space
    "\u0301",  # combining acute accent, alone
    "\ufeff",  # byte order mark
    "\u2060",  # word joiner
    "\u200b\u200c\u200d",  # zero width space, non-joiner, joiner
    "\u00a0\u3000",  # no-break and ideographic spaces
    "\u3164",  # hangul filler (a letter drawn blank)
    "\u2800",  # braille pattern blank
    "\u202e\u202d",  # bidirectional overrides
    "\ue000",  # private use
]
VISIBLE = ["É", "e\u0301", "\u200bIPPC", "7", "§", "\u4e2d", "-", "\u2800x"]


@pytest.mark.parametrize("text", VISIBLE)
def test_visible_text_is_kept_as_is(text: str) -> None:
    assert require_visible_text(text) == text


@pytest.mark.parametrize("text", INVISIBLE)
@pytest.mark.parametrize("field", ["name", "acronym"])
async def test_invisible_names_and_acronyms_are_422(
    client: httpx.AsyncClient,
    auth_headers: Callable[[str], dict[str, str]],
    field: str,
    text: str,
) -> None:
    body = {"name": "Plant Health Body", field: text}
    response = await client.post(
        "/v1/organizations", json=body, headers=auth_headers("secretariat")
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"] == [
        {"detail": "Must contain at least one visible character", "pointer": f"/{field}"}
    ]
    assert text not in response.text
    assert text.encode("unicode_escape").decode() not in response.text


async def test_invisible_names_are_refused_in_a_patch(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    headers = auth_headers("secretariat")
    created = await client.post("/v1/organizations", json={"name": "Body"}, headers=headers)
    assert created.status_code == 201
    response = await client.patch(
        f"/v1/organizations/{created.json()['id']}",
        json={"name": "\u200b"},
        headers={**headers, "If-Match": created.headers["etag"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/name"


async def test_a_name_with_invisible_characters_around_visible_ones_is_accepted(
    client: httpx.AsyncClient, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    response = await client.post(
        "/v1/organizations",
        json={"name": "Caf\u0065\u0301 Plant\u200bHealth", "acronym": "CP"},
        headers=auth_headers("secretariat"),
    )
    assert response.status_code == 201, response.text
