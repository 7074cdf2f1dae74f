"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import AuthMode, Environment, Settings


def test_defaults_place_sqlite_under_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path}/var/ippc.db"
    assert settings.auth_mode is AuthMode.embedded
    assert settings.environment is Environment.development


def test_database_url_and_prefixed_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ippc")
    monkeypatch.setenv("IPPC_CORS_ALLOW_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("IPPC_MAX_BODY_BYTES", "4096")
    settings = Settings(_env_file=None)
    assert settings.resolved_database_url() == "postgresql://u@db/ippc"
    assert settings.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert settings.max_body_bytes == 4096


def test_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPPC_KEY_SECRET", "correct-horse-battery-staple")
    settings = Settings(_env_file=None)
    assert settings.key_secret is not None
    assert settings.key_secret.get_secret_value() == "correct-horse-battery-staple"
    assert "correct-horse" not in repr(settings)
    assert "correct-horse" not in str(settings.model_dump())


def test_production_refuses_the_embedded_issuer() -> None:
    with pytest.raises(ValidationError, match="embedded is refused"):
        Settings(_env_file=None, environment=Environment.production)
    external = Settings(
        _env_file=None,
        environment=Environment.production,
        auth_mode=AuthMode.external,
        jwks_url="https://idp.example/jwks",
    )
    assert external.auth_mode is AuthMode.external


def test_external_mode_needs_a_jwks_url() -> None:
    with pytest.raises(ValidationError, match="IPPC_JWKS_URL"):
        Settings(_env_file=None, auth_mode=AuthMode.external)
