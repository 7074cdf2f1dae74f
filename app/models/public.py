"""The public register's rows of its own: each public agreement and each public interaction as
the register shows it.

The register (design §5) is read by anyone, often, and at a million agreements a page read from
the registry's own tables fetched each agreement's partners, organizations and decisions from
six indexes (each interaction's organizations from two). So each public agreement and each
public interaction also has a row here, written in the transaction of every change that alters
what the register shows of it (`app/public/register.py`): its answer as JSON, ready to send, and
beside it what the public lists filter and sort by. A page is then one index range and its rows.

Lists of values a page filters by (objectives, partners' categories and countries) are kept as
text, each value between spaces (` ngo rppo `), so that an index in a list's order can carry
them and a page tests its candidates there (`core.listing`, "ids first"). The values are codes
(validated enumerations, ISO 3166 codes, objective codes): none holds a space.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Column, Date, Index, Integer, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.core.sql import long_search_index, search_index, trigram_index
from app.models.agreements import TITLE_MAX_LENGTH
from app.models.interactions import SUBJECT_MAX_LENGTH

# What an index in each public order carries beside its keys: every filter a page may test its
# candidates by, but the search (whose text has an index of its own) and the partner's id (few
# rows, found from the partners' links).
FILTERED = ["status", "level", "instrument", "approved_on", "objectives", "categories", "countries"]


# The same for the public interactions.
INTERACTION_FILTERED = ["channel", "occurred_on", "objectives", "categories", "countries"]


def _ordered(table: str, key: str, filtered: list[str]) -> Index:
    return Index(
        f"ix_{table}_{key}_id",
        key,
        "id",
        postgresql_include=[column for column in filtered if column != key],
    )


class PublishedAgreement(SQLModel, table=True):
    """A public agreement as the register shows it (module docstring)."""

    __tablename__ = "published_agreement"
    __table_args__ = (
        *(
            _ordered("published_agreement", key, FILTERED)
            for key in ("title_key", "approved_on", "start_date")
        ),
        trigram_index("ix_published_agreement_search_key_trgm", "search_key"),
        search_index("ix_published_agreement_title_key_id_search", "title_key", "id"),
        long_search_index("ix_published_agreement_search_long"),
    )

    # The agreement's id, with no foreign key: a reference would lock the agreement (FOR KEY
    # SHARE) at each write of its row, and a rename of a partner would then wait for a decision
    # that holds the agreement while the decision waits for the partner the rename holds. The
    # rows of an agreement are rewritten, or deleted, with each of its changes.
    id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    # The answer, as `PublicAgreement` writes it (compact JSON).
    item: str = Field(sa_column=Column(Text, nullable=False))
    # What the public lists sort by, as the agreement holds it.
    title_key: str = Field(max_length=TITLE_MAX_LENGTH, nullable=False)
    approved_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    start_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # What they filter by.
    status: str = Field(max_length=20, nullable=False)
    level: str = Field(max_length=20, nullable=False)
    instrument: str = Field(max_length=40, nullable=False)
    objectives: str = Field(sa_column=Column(Text, nullable=False))
    categories: str = Field(sa_column=Column(Text, nullable=False))
    countries: str = Field(sa_column=Column(Text, nullable=False))
    search_key: str = Field(sa_column=Column(Text, nullable=False))


class PublishedInteraction(SQLModel, table=True):
    """A public interaction as the register shows it (module docstring; no foreign key, as
    for the agreements)."""

    __tablename__ = "published_interaction"
    __table_args__ = (
        *(
            _ordered("published_interaction", key, INTERACTION_FILTERED)
            for key in ("occurred_on", "subject_key")
        ),
        # A page of one channel in the default order (the latest first) is a range of this.
        Index("ix_published_interaction_channel_occurred_on_id", "channel", "occurred_on", "id"),
        trigram_index("ix_published_interaction_search_key_trgm", "search_key"),
        search_index("ix_published_interaction_occurred_on_id_search", "occurred_on", "id"),
        long_search_index("ix_published_interaction_search_long"),
    )

    # The interaction's id.
    id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    # The answer, as `PublicInteraction` writes it (compact JSON).
    item: str = Field(sa_column=Column(Text, nullable=False))
    # What the public lists sort by, as the interaction holds it.
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    subject_key: str = Field(max_length=SUBJECT_MAX_LENGTH, nullable=False)
    # What they filter by.
    channel: str = Field(max_length=20, nullable=False)
    objectives: str = Field(sa_column=Column(Text, nullable=False))
    categories: str = Field(sa_column=Column(Text, nullable=False))
    countries: str = Field(sa_column=Column(Text, nullable=False))
    search_key: str = Field(sa_column=Column(Text, nullable=False))


class RegisterFormat(SQLModel, table=True):
    """The format each table of rows of the register's own was last written in: when the code
    writes another (a new public field), the rows are written anew as the schema is migrated
    (`app/public/register.py`)."""

    __tablename__ = "register_format"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    format: int = Field(sa_column=Column(Integer, nullable=False))
