"""The domain model: the Petition aggregate, its events and value objects.

Nothing here does I/O; the workflow a command is checked against is passed in.
"""

from petitions.domain.petition import Petition, petition_id_for
from petitions.domain.values import (
    Actor,
    Location,
    MediationSession,
    Person,
    Petitioner,
    WorkflowRef,
)

__all__ = [
    "Actor",
    "Location",
    "MediationSession",
    "Person",
    "Petition",
    "Petitioner",
    "WorkflowRef",
    "petition_id_for",
]
