"""The Dockerfile, checked by reading it and by running the commands it would run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _one(keyword: str) -> str:
    values = [rest for key, rest in _instructions() if key == keyword]
    assert len(values) == 1, keyword
    return values[0]


def test_slim_python_base() -> None:
    assert re.fullmatch(r"python:3\.1[1-9]-slim", _one("FROM"))


def test_runs_as_a_non_root_user() -> None:
    user = _one("USER")
    assert user not in ("root", "0")
    assert (
        f"useradd --system --uid 10001 --home-dir /srv/ippc --shell /usr/sbin/nologin {user}"
        in (" ".join(DOCKERFILE.split()))
    )


def test_installs_from_the_hashed_lock_file() -> None:
    runs = " ".join(rest for key, rest in _instructions() if key == "RUN")
    assert "pip install --require-hashes -r requirements/runtime.txt" in runs
    assert (ROOT / "requirements" / "runtime.txt").is_file()


def test_copies_only_what_exists() -> None:
    for key, rest in _instructions():
        if key == "COPY":
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source


def _cmd() -> list[str]:
    command = json.loads(_one("CMD"))
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_cmd_is_a_valid_ippc_serve_that_migrates() -> None:
    command = _cmd()
    assert command[0] == "ippc"
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"  # noqa: S104  (inside a container)
    assert not args.no_migrate
    assert f"EXPOSE {args.port}" in DOCKERFILE


def _healthcheck_command() -> list[str]:
    healthcheck = _one("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_healthcheck_probes_healthz_on_the_served_port() -> None:
    port = build_parser().parse_args(_cmd()[1:]).port
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(_healthcheck_command())


@pytest.mark.sqlite_only
def test_healthcheck_command_passes_against_a_running_service(served: str) -> None:
    port = build_parser().parse_args(_cmd()[1:]).port
    command = [part.replace(f"http://127.0.0.1:{port}", served) for part in _healthcheck_command()]
    assert command[0] == "python"
    result = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    failing = [part.replace("/healthz", "/nowhere") for part in command]
    result = subprocess.run(
        [sys.executable, *failing[1:]], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode != 0
