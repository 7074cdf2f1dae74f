"""The `ippc` command, run as a user would: from any directory, in its own process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from app.core.openapi import CONTRACT_PATH
from tests.conftest import IPPC, clean_environment


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        IPPC + args,
        cwd=cwd,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.sqlite_only
def test_migrate_creates_the_default_sqlite_file_under_the_cwd(tmp_path: Path) -> None:
    result = _run(["migrate"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "ippc.db").is_file()
    again = _run(["migrate"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_migrate_uses_database_url(tmp_path: Path, sync_database_url: str) -> None:
    result = _run(["migrate"], cwd=tmp_path, DATABASE_URL=sync_database_url)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.sqlite_only
def test_openapi_command_writes_the_committed_contract(tmp_path: Path) -> None:
    target = tmp_path / "contract.json"
    result = _run(["openapi", "--output", str(target)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text()) == json.loads(CONTRACT_PATH.read_text())


@pytest.mark.sqlite_only
def test_production_refuses_embedded_auth(tmp_path: Path) -> None:
    result = _run(["migrate"], cwd=tmp_path, IPPC_ENVIRONMENT="production")
    assert result.returncode != 0
    assert "IPPC_AUTH_MODE=embedded is refused" in result.stderr


def test_serve_answers_strategic_objectives(served: str) -> None:
    response = httpx.get(f"{served}/v1/strategic-objectives", timeout=10)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 7
    assert httpx.get(f"{served}/readyz", timeout=10).status_code == 200
