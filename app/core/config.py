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

# The lifetime of the embedded issuer's tokens: from half a minute to an hour.
MIN_TOKEN_TTL_SECONDS = 30
MAX_TOKEN_TTL_SECONDS = 3600

# The longest front-end origin IPPC_CORS_ALLOW_ORIGINS may name (scheme, a host of at most 253
# characters, a port): the contract bounds `Access-Control-Allow-Origin`, which echoes one.
MAX_ORIGIN_LENGTH = 300


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
    access_token_ttl_seconds: int = Field(
        default=300, ge=MIN_TOKEN_TTL_SECONDS, le=MAX_TOKEN_TTL_SECONDS
    )
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

    # Rate limits (docs/http.md, "Rate limits").
    rate_limit_enabled: bool = Field(
        default=True,
        description="Off, nothing is counted and no RateLimit header is sent (the tests and the "
        "bench of other features turn it off or raise the limits).",
    )
    rate_limit_anonymous: str = Field(
        default="120/minute",
        description="Requests without a valid token, per caller address (IPv6: per /64).",
    )
    rate_limit_client: str = Field(
        default="600/minute", description="Requests with a valid token, per client."
    )
    rate_limit_token_failures: str = Field(
        default="10/minute",
        description="Failed client authentications at the token endpoint, per client id and "
        "per caller address.",
    )
    rate_limit_storage: SecretStr | None = Field(
        default=None,
        description="Empty: each process counts in its own memory. `redis://host:6379/0` (or "
        "`rediss://`): every instance counts in that Redis, against one budget.",
    )
    rate_limit_key_prefix: str = Field(
        default="ippc",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Prefix of the keys in Redis (deployments sharing one Redis each use their "
        "own).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses and CIDR blocks of the reverse proxies in front of the service: "
        "only a request from one of them has its caller read from X-Forwarded-For.",
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

    @field_validator("cors_allow_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _short_origins(cls, value: list[str]) -> list[str]:
        if any(len(origin) > MAX_ORIGIN_LENGTH for origin in value):
            raise ValueError(
                f"IPPC_CORS_ALLOW_ORIGINS names origins of at most {MAX_ORIGIN_LENGTH} characters"
            )
        return value

    @field_validator("rate_limit_anonymous", "rate_limit_client", "rate_limit_token_failures")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        from app.core.ratelimit import parse_limit

        parse_limit(value)
        return value

    @field_validator("rate_limit_storage", mode="before")
    @classmethod
    def _a_redis_url(cls, value: object) -> object:
        """Empty is memory; otherwise a redis:// or rediss:// URL."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        if not isinstance(text, str) or urlsplit(text.strip()).scheme not in ("redis", "rediss"):
            raise ValueError("IPPC_RATE_LIMIT_STORAGE must be empty or a redis:// or rediss:// URL")
        return text.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        from app.core.ratelimit import parse_networks

        try:
            parse_networks(value)
        except ValueError:
            raise ValueError(
                "IPPC_TRUSTED_PROXIES lists IP addresses and CIDR blocks, separated by commas"
            ) from None
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
