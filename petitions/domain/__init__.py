"""The domain model: the Petition aggregate, its events and value objects.

Nothing here does I/O; the workflow a command is checked against is passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.domain.filing import Filing
    from petitions.domain.petition import Petition, petition_id_for
    from petitions.domain.values import (
        Actor,
        Location,
        MediationSession,
        Person,
        Petitioner,
        WorkflowRef,
    )


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "Filing": "petitions.domain.filing",
    "Petition": "petitions.domain.petition",
    "petition_id_for": "petitions.domain.petition",
    "Actor": "petitions.domain.values",
    "Location": "petitions.domain.values",
    "MediationSession": "petitions.domain.values",
    "Person": "petitions.domain.values",
    "Petitioner": "petitions.domain.values",
    "WorkflowRef": "petitions.domain.values",
}

__all__ = [
    "Actor",
    "Filing",
    "Location",
    "MediationSession",
    "Person",
    "Petition",
    "Petitioner",
    "WorkflowRef",
    "petition_id_for",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
