"""The CPM-paper script (`examples/cpm_report.py`) against a running service loaded with the
demo register: the Markdown tables it writes hold what the API holds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import clean_environment
from tests.examples.conftest import every_item

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "cpm_report.py"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("cpm_report", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cpm_report = _script()


def test_cells_are_text_never_markup() -> None:
    cell = cpm_report.cell
    assert cell("Plain text, 2019-2021 (phase 2).") == "Plain text, 2019-2021 (phase 2)."
    assert cell("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert(1)\\>"
    assert cell("[x](javascript:alert(1)) ![t](http://a/b.png)") == (
        "\\[x\\](javascript:alert(1)) \\!\\[t\\](http://a/b.png)"
    )
    assert cell("a | b\nc *d* _e_ `f` ~g~ &amp;") == (
        "a \\| b c \\*d\\* \\_e\\_ \\`f\\` \\~g\\~ \\&amp;"
    )


def run(
    demo: dict[str, Any], *arguments: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    credentials = {"IPPC_CLIENT_ID": demo["client_id"], "IPPC_CLIENT_SECRET": demo["client_secret"]}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--api", demo["base"], *arguments],
        env=clean_environment(**{**credentials, **environment}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_script_writes_the_tables_of_a_cpm_paper(demo_service: dict[str, Any]) -> None:
    base, headers = demo_service["base"], demo_service["headers"]
    approved = every_item(
        base, "/v1/agreements?approved_on_from=2019-01-01&approved_on_to=2026-12-31", headers
    )
    assert approved, "the demo register approved agreements in the period"

    result = run(demo_service, "--from", "2019-01-01", "--to", "2026-12-31")
    assert result.returncode == 0, result.stderr
    paper = result.stdout
    assert paper.startswith("# Partnerships and cooperation, 2019-01-01 to 2026-12-31")
    assert "## Agreements approved from 2019-01-01 to 2026-12-31" in paper
    assert "| Agreement | Level | Instrument | Partners | Approved on | Decisions |" in paper
    for agreement in approved:
        line = next(
            line for line in paper.splitlines() if line.startswith(f"| {agreement['title']} |")
        )
        assert agreement["approved_on"] in line
        decided = [
            part.split(": ")[0].split(" on ")[1] for part in line.split(" | ")[5].split("; ")
        ]
        assert decided == sorted(decided), line  # decisions in the order they were taken
        for code in agreement["strategic_objectives"]:
            assert f"### {code}" in paper
    assert f"{len(approved)} agreement" in paper

    # The balance's totals are the report's, kind by kind.
    report = httpx.get(
        f"{base}/v1/reports/engagement-balance",
        params={"from": "2019-01-01", "to": "2026-12-31"},
        headers=headers,
    ).json()
    assert "## Engagement balance from 2019-01-01 to 2026-12-31" in paper
    for kind, title in (("interactions", "Interactions"), ("agreements", "Approved agreements")):
        total = sum(year["total"] for year in report["years"] if year["kind"] == kind)
        section = paper.split(f"### {title}")[1]
        assert f"| All |  | {total} | 100.0% |" in section


def test_a_period_without_approvals_says_so(demo_service: dict[str, Any]) -> None:
    result = run(demo_service, "--from", "1990-01-01", "--to", "1990-12-31")
    assert result.returncode == 0, result.stderr
    assert "No agreement was approved in this period." in result.stdout
    assert "None in this period." in result.stdout


def test_bad_credentials_and_periods_stop_the_script(demo_service: dict[str, Any]) -> None:
    wrong = run(demo_service, "--from", "2025-01-01", "--to", "2025-12-31", IPPC_CLIENT_SECRET="x")
    assert wrong.returncode == 1
    assert "401" in wrong.stderr
    backwards = run(demo_service, "--from", "2025-12-31", "--to", "2025-01-01")
    assert backwards.returncode == 2
