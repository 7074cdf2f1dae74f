"""Access: the OAuth clients and the signing keys of the embedded token issuer."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from app.core.db import UTCDateTime
from app.core.tracking import tracked
from app.models.base import StoredResource

ROLE_VALUES = ("secretariat", "bureau", "integration")


@tracked("oauth_client", redact=("secret_hash",))
class OAuthClient(StoredResource, table=True):
    """A machine or person's client of the embedded issuer. `id` is the OAuth `client_id`.

    The role is stored as a bounded string (no database enum), checked by a constraint. Only a
    digest of the secret is kept: the secret itself is shown once, when it is made. Changes are
    audited; the audit trail says when the secret changed, never its digest.
    """

    __tablename__ = "oauth_client"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN (" + ", ".join(f"'{role}'" for role in ROLE_VALUES) + ")", name="role"
        ),
    )

    name: str = Field(max_length=200, nullable=False)
    role: str = Field(max_length=32, nullable=False)
    secret_hash: str = Field(max_length=128, nullable=False)
    revoked: bool = Field(default=False, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class SigningKey(StoredResource, table=True):
    """A key pair the embedded issuer signs access tokens with.

    `private_key` is a PEM, stored as `plain:<pem>` or, when a key secret is configured,
    `aesgcm:v1:<nonce and ciphertext, base64url>` (see `app.auth.keys`). A key is current until
    `retired_at`; it stays published in the JWKS for a token lifetime (plus leeway) after that.
    """

    __tablename__ = "signing_key"

    kid: str = Field(max_length=64, unique=True, nullable=False)
    alg: str = Field(max_length=16, nullable=False)
    public_jwk: str = Field(sa_type=sa.Text, nullable=False)
    private_key: str = Field(sa_type=sa.Text, nullable=False)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
