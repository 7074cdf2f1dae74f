"""Settings, read from the environment (and an optional `.env` file).

Every setting is named in the README. `DATABASE_URL` is read as is; every other variable carries
the `IPPC_` prefix (`IPPC_ENVIRONMENT`, `IPPC_AUTH_MODE`, ...). Secrets are `SecretStr`, so they
never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "ippc.db"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class AuthMode(StrEnum):
    embedded = "embedded"
    external = "external"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IPPC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "IPPC_DATABASE_URL"),
        description="SQLAlchemy URL; empty means a SQLite file ./var/ippc.db under the cwd.",
    )
    environment: Environment = Environment.development
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Connections each process keeps open (PostgreSQL); the server's limit must "
        "hold this times the number of processes, plus the overflow.",
    )
    database_max_overflow: int = Field(
        default=10, ge=0, le=1000, description="Connections opened past the pool under a burst."
    )

    # Access (design §4).
    auth_mode: AuthMode = AuthMode.embedded
    issuer: str = Field(default="http://localhost:8000", min_length=1, max_length=1024)
    audience: str = Field(default="ippc-partnerships-api", min_length=1, max_length=1024)
    jwks_url: str | None = None
    key_secret: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    clock_leeway_seconds: int = Field(default=30, ge=0, le=300)

    # HTTP.
    base_url: str = Field(
        default="http://localhost:8000",
        description="The service's public address: Location and Link headers are built on it.",
    )
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the internal API from a browser (a front end).",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    public_max_age_seconds: int = Field(default=60, ge=0, le=86_400)
    max_concurrent_exports: int = Field(
        default=4, ge=1, le=1000, description="CSV exports streaming at once, per process."
    )
    export_send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A CSV reader that takes nothing this long is cut off.",
    )

    # Operations.
    log_level: str = "INFO"
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry (traces, metrics and logs through the "
        "process's global providers). Off, it costs nothing; on, its checks run on every "
        "request even when no provider is configured.",
    )

    @field_validator("base_url")
    @classmethod
    def _an_origin(cls, value: str) -> str:
        """An absolute http(s) URL naming the service's origin: scheme, host and optional port,
        nothing else (no user, path, query or fragment), with no trailing slash."""
        problem = (
            "IPPC_BASE_URL must be an absolute http(s) URL such as "
            "https://partnerships.ippc.example: scheme, host and optional port only"
        )
        if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
            raise ValueError(problem)
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018  (an invalid port raises here)
        except ValueError:
            raise ValueError(problem) from None
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.path not in ("", "/")
            or "?" in value
            or "#" in value
        ):
            raise ValueError(problem)
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _embedded_is_not_for_production(self) -> Settings:
        if self.environment is Environment.production and self.auth_mode is AuthMode.embedded:
            raise ValueError(
                "IPPC_AUTH_MODE=embedded is refused when IPPC_ENVIRONMENT=production: "
                "configure an external identity provider"
            )
        if self.auth_mode is AuthMode.external and not self.jwks_url:
            raise ValueError("IPPC_AUTH_MODE=external needs IPPC_JWKS_URL")
        return self

    def resolved_database_url(self) -> str:
        """The database URL, with the default SQLite file placed under the current directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / DEFAULT_SQLITE_PATH).as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
