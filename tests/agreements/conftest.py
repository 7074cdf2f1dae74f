from tests.registry import agreement, bureau, integration, interaction, organization, secretariat

__all__ = ["agreement", "bureau", "integration", "interaction", "organization", "secretariat"]
