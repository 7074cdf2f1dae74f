from tests.registry import agreement, bureau, integration, organization, secretariat

__all__ = ["agreement", "bureau", "integration", "organization", "secretariat"]
