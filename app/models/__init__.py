"""Database tables only. Importing this package registers every table on `SQLModel.metadata`."""

from app.models.agreements import Agreement, AgreementObjective, AgreementPartner, DueDiligence
from app.models.audit import AuditEvent
from app.models.auth import OAuthClient, SigningKey
from app.models.base import StoredResource
from app.models.decisions import Decision, InterestDeclaration
from app.models.idempotency import IdempotencyRecord
from app.models.interactions import Interaction, InteractionObjective, InteractionOrganization
from app.models.organizations import Organization
from app.models.public import PublishedAgreement, PublishedInteraction, RegisterFormat
from app.models.reference import StrategicObjective

__all__ = [
    "Agreement",
    "AgreementObjective",
    "AgreementPartner",
    "AuditEvent",
    "Decision",
    "DueDiligence",
    "IdempotencyRecord",
    "Interaction",
    "InteractionObjective",
    "InteractionOrganization",
    "InterestDeclaration",
    "OAuthClient",
    "Organization",
    "PublishedAgreement",
    "PublishedInteraction",
    "RegisterFormat",
    "SigningKey",
    "StoredResource",
    "StrategicObjective",
]
