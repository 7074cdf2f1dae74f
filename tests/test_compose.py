"""compose.yaml (two instances, PostgreSQL, Redis and a proxy on one port), checked by reading
it: Docker does not run where the tests run. Its instances run the image of the Dockerfile
(tests/test_dockerfile.py) with settings the service accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # (PyYAML: of the test tools, Schemathesis)
from sqlalchemy.engine import make_url

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
INSTANCES = sorted(name for name in SERVICES if name.startswith("api-"))
NGINX = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Settings:
    """The settings an instance starts with (the key secret given, as the command line says)."""
    monkeypatch.chdir(tmp_path)  # no .env file of the developer's
    for key, value in SERVICES[name]["environment"].items():
        monkeypatch.setenv(key, "a-long-random-secret" if str(value).startswith("${") else value)
    return Settings()


def test_two_instances_of_the_image_with_the_same_settings() -> None:
    assert INSTANCES == ["api-1", "api-2"]
    first, second = (SERVICES[name] for name in INSTANCES)
    assert first == second
    assert first["build"] == "."
    # The Dockerfile's command (migrate, then serve on 8000) runs unchanged.
    assert "command" not in first
    assert "ports" not in first  # reached through the proxy only


@pytest.mark.parametrize("name", ["api-1", "api-2"])
def test_an_instance_shares_the_database_and_the_limits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    settings = _settings(monkeypatch, tmp_path, name)
    database = make_url(settings.database_url)
    postgres = SERVICES["postgres"]["environment"]
    assert database.get_backend_name() == "postgresql"
    assert database.host == "postgres"
    assert (database.username, database.password, database.database) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert settings.rate_limit_enabled
    assert settings.rate_limit_storage is not None
    assert make_url(settings.rate_limit_storage.get_secret_value()).host == "redis"
    assert settings.key_secret is not None
    # The proxy, and nothing else, may say who the caller is.
    proxy_address = SERVICES["proxy"]["networks"]["ippc"]["ipv4_address"]
    assert settings.trusted_proxies == [proxy_address]
    assert settings.base_url == settings.issuer == "http://localhost:8000"


def test_a_missing_key_secret_stops_compose_with_a_message() -> None:
    value = SERVICES["api-1"]["environment"]["IPPC_KEY_SECRET"]
    assert re.fullmatch(r"\$\{IPPC_KEY_SECRET:\?[^}]+\}", value)


def test_the_proxy_serves_one_port_and_both_instances() -> None:
    assert SERVICES["proxy"]["ports"] == ["8000:8000"]
    upstream = re.search(r"upstream ippc \{(.*?)\}", NGINX, re.DOTALL)
    assert upstream is not None
    servers = re.findall(r"server (\S+);", upstream.group(1))
    assert servers == [f"{name}:8000" for name in INSTANCES]
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in NGINX
    assert "proxy_buffering off;" in NGINX  # exports stream through
    volume = SERVICES["proxy"]["volumes"][0]
    assert volume.startswith("./deploy/nginx.conf:")
