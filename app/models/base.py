"""What every table shares: the constraint naming convention, ids, timestamps and a version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, declared_attr
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id, utcnow

# Set before any table is declared, so that every constraint and index has a predictable name
# that migrations can refer to on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The readers of changes (`core.tracking.read_changes`) that keep copies of what rows link to: the
# public register's own rows (app/public/register.py) and the codes an agreement's links name
# (app/registry/codes.py). The models whose changes alter those copies name them.
PUBLIC_REGISTER = "the public register"
LINKED_CODES = "the linked codes"


class StoredResource(SQLModel):
    """Columns of every stored resource: `id`, `created_at`, `updated_at`, `version`.

    `version` is the mapper's version counter: every UPDATE the ORM emits says
    `WHERE version = <the version read>` and raises it, so a write that lost a race to another
    fails (`StaleDataError`) instead of overwriting it. `updated_at` follows every update. No
    code raises either by hand."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        table: Any = getattr(cls, "__table__")  # noqa: B009 (set by the declaration)
        return {"version_id_col": table.c.version}


@event.listens_for(StoredResource, "before_update", propagate=True)
def _stamp_update(_mapper: Mapper[Any], _connection: Connection, target: StoredResource) -> None:
    """`updated_at` follows every update that changes a column (the mapper calls this for every
    dirty row, changed or not)."""
    session = inspect(target).session
    if session is not None and session.is_modified(target, include_collections=False):
        target.updated_at = utcnow()
