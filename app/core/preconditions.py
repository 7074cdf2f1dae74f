"""Conditional requests on stored resources (RFC 9110 §13): strong ETags from `id` and
`version`, `If-None-Match` on reads (304), `If-Match` on writes (428 without it, 412 when stale).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

import orjson
from fastapi import Header

from app.core.errors import Conflict, DomainError, PreconditionFailed, PreconditionRequired


def resource_etag(resource_id: uuid.UUID, version: int, shown: Any = None) -> str:
    """A strong ETag: it changes with every change of the resource (its version rises), and
    with anything else its representation shows (`shown`, JSON-serializable: counts of what
    refers to it, say), so that a tag never stands for two different bodies."""
    tag = f"{resource_id.hex}-{version}"
    if shown is not None:
        digest = hashlib.sha256(orjson.dumps(shown, default=str, option=orjson.OPT_SORT_KEYS))
        tag += "-" + digest.hexdigest()[:16]
    return f'"{tag}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` matches (then a GET answers 304). Weak comparison."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in _tags(if_none_match))


def any_representation(if_none_match: str | None) -> bool:
    """Whether `If-None-Match` is `*`: a GET answers 304 whenever the resource has a current
    representation (RFC 9110 §13.1.2), as a list always does, even one streamed without a tag."""
    return bool(if_none_match) and "*" in _tags(if_none_match or "")


def check_if_match(if_match: str | None, etag: str, *, required: bool) -> None:
    """Refuse a write whose `If-Match` does not match the current ETag (strong comparison).

    Without the header: 428 when `required` (PATCH, DELETE), else the write goes ahead.
    """
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag you last read (or *) to change this resource."
            )
        return
    tags = _tags(if_match)
    if "*" in tags:
        return
    if etag not in tags:  # a weak tag (W/...) never matches strongly
        raise PreconditionFailed(
            "The resource has changed since you read it: read it again, then retry."
        )


def lost_race(if_match: str | None) -> DomainError:
    """The error for a write that lost a race with another one (its version check failed at
    write time): 412 when the caller named a specific version, which is now stale; else 409."""
    if if_match and "*" not in _tags(if_match):
        return PreconditionFailed(
            "The resource has changed since you read it: read it again, then retry."
        )
    return Conflict("The resource was changed by another request at the same time: retry.")


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1000,
        description="The ETag you last read (or `*`): the change applies only if it is current.",
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    Header(alias="If-None-Match", max_length=1000, description="Answer 304 if still current."),
]
