"""Who made a change, as the plumbing sees it: a subject and, where it differs, a client.

The access layer's `Principal` has both attributes, as has the command line's operator; the
audit trail needs no more, so it depends on this protocol rather than on the access layer.
"""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def client_id(self) -> str | None: ...
