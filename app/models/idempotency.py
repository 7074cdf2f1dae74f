"""Responses kept for `Idempotency-Key` replays (24 hours).

The table belongs to the plumbing (`app.core.idempotency`), which declares it; it is named here
so that this package lists every table of the service."""

from app.core.idempotency import IdempotencyRecord

__all__ = ["IdempotencyRecord"]
