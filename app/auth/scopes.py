"""Scopes and roles, as data (design §4). The one place that says which role may do what."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    registry_read = "registry:read"
    registry_write = "registry:write"
    decisions_write = "decisions:write"
    audit_read = "audit:read"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.registry_read: "Read every internal resource.",
    Scope.registry_write: (
        "Create and change organizations, interactions, agreements and due diligence; "
        "the workflow transitions that are not decisions."
    ),
    Scope.decisions_write: "Record Bureau and CPM decisions; declare interests.",
    Scope.audit_read: "Read audit events (the change feed).",
}


class Role(StrEnum):
    secretariat = "secretariat"
    bureau = "bureau"
    integration = "integration"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.secretariat: frozenset({Scope.registry_read, Scope.registry_write, Scope.audit_read}),
    Role.bureau: frozenset({Scope.registry_read, Scope.decisions_write, Scope.audit_read}),
    Role.integration: frozenset({Scope.registry_read, Scope.audit_read}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a validated access token."""

    subject: str
    client_id: str | None
    role: Role | None
    scopes: frozenset[Scope]

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes
