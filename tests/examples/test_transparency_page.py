"""The transparency page (`examples/transparency-page/`) as a visitor sees it: served from an
origin of its own, opened in headless Chromium, reading a running service loaded with the demo
register over CORS. What it shows must be the public register and nothing else.

Chromium is Debian's (`chromium`), which the test command installs where it can; Playwright
drives it (no browser is downloaded). Without Chromium the test is skipped, except in CI, where
it fails. `IPPC_PAGE_SCREENSHOT=<file.png>` keeps a screenshot of the page (the README's).
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.examples.conftest import every_item

PAGE = Path(__file__).resolve().parents[2] / "examples" / "transparency-page"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_origin() -> Iterator[str]:
    """The page, served by a plain static server on a port (an origin) of its own."""
    port = free_port()
    handler = functools.partial(QuietHandler, directory=str(PAGE))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_visitor_sees_the_public_register_and_nothing_else(
    demo_service: dict[str, Any], page_origin: str
) -> None:
    from playwright.sync_api import ConsoleMessage, expect, sync_playwright

    base = demo_service["base"]
    everything = every_item(base, "/v1/agreements?limit=200", demo_service["headers"])
    public = {item["id"] for item in every_item(base, "/v1/public/agreements?limit=200")}
    hidden_titles = [item["title"] for item in everything if item["id"] not in public]
    assert public, "the demo register has approved agreements"
    assert hidden_titles, "the demo register has agreements that are not public"
    interactions = every_item(base, "/v1/interactions?limit=200", demo_service["headers"])
    public_subjects = {item["subject"] for item in interactions if item["visibility"] == "public"}
    internal_subjects = {item["subject"] for item in interactions} - public_subjects
    latest = httpx.get(f"{base}/v1/public/agreements?sort=-approved_on&limit=20").json()["items"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            failures: list[str] = []

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    failures.append(message.text)

            page.on("console", on_console)
            page.goto(f"{page_origin}/index.html?api={base}")
            expect(page.locator("body[data-ready=true]")).to_have_count(1, timeout=20_000)

            # The latest approved agreements, with their partners and decisions.
            cards = page.locator("#agreements .agreement")
            expect(cards).to_have_count(len(latest))
            assert cards.locator("h3").all_inner_texts() == [item["title"] for item in latest]
            text = page.locator("main").inner_text()
            for title in hidden_titles:
                assert title not in text, f"{title!r} is not public"
            first = latest[0]
            assert first["decisions"][0]["meeting_reference"] in cards.first.inner_text()

            # Filters: by strategic objective and by partner category, as the API answers them.
            objective = first["strategic_objectives"][0]
            page.select_option("#objective", objective)
            expected = httpx.get(
                f"{base}/v1/public/agreements",
                params={"strategic_objective": objective, "sort": "-approved_on", "limit": 20},
            ).json()["items"]
            expect(cards).to_have_count(len(expected))
            assert cards.locator("h3").all_inner_texts() == [item["title"] for item in expected]
            page.select_option("#objective", "")
            category = first["partners"][0]["category"]
            page.select_option("#category", category)
            expected = httpx.get(
                f"{base}/v1/public/agreements",
                params={"partner_category": category, "sort": "-approved_on", "limit": 20},
            ).json()["items"]
            expect(cards).to_have_count(len(expected))
            assert cards.locator("h3").all_inner_texts() == [item["title"] for item in expected]
            page.select_option("#category", "")
            expect(cards).to_have_count(len(latest))

            # A partner's public profile.
            partner = first["partners"][0]
            cards.first.locator(f"button[data-organization='{partner['id']}']").click()
            expect(page.locator("#profile")).to_be_visible()
            expect(page.locator("#profile-title")).to_have_text(partner["name"])
            expect(page.locator("#profile-agreements li").first).to_be_visible()

            # Public meetings only.
            rows = page.locator("#meetings tbody tr")
            expect(rows.first).to_be_visible()
            shown = set(page.locator("#meetings tbody tr td:nth-child(3)").all_inner_texts())
            assert shown
            assert shown <= public_subjects
            assert not shown & internal_subjects

            # The engagement balance, drawn from the public data.
            expect(page.locator("#balance svg g.bar").first).to_be_visible()
            assert failures == []

            screenshot = os.environ.get("IPPC_PAGE_SCREENSHOT")
            if screenshot:
                page.locator("#close-profile").click()
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=screenshot)
        finally:
            browser.close()
