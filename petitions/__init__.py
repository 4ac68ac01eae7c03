"""petitions: event-sourced handling of residents' and enterprises' appeals (诉求).

Portals import this package; the ``petitions`` command line is built on it.

    >>> from petitions import PetitionService, Actor, Petitioner, Location
    >>> svc = PetitionService.open(":memory:")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.domain.filing import Filing
    from petitions.domain.petition import Petition
    from petitions.domain.values import (
        Actor,
        Location,
        MediationSession,
        Person,
        Petitioner,
        WorkflowRef,
    )
    from petitions.errors import (
        CallbackNotIndependent,
        ConcurrentUpdate,
        InvalidInput,
        NotOfAssignedUnit,
        PermissionDenied,
        PetitionError,
        PetitionNotFound,
        TransitionNotAllowed,
        WorkflowNotFound,
    )
    from petitions.feed import Change
    from petitions.service import PetitionService, retry_on_conflict
    from petitions.taxonomy import Taxonomy, Term, taxonomy
    from petitions.views import EventView, PetitionView


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "Filing": "petitions.domain.filing",
    "Petition": "petitions.domain.petition",
    "Actor": "petitions.domain.values",
    "Location": "petitions.domain.values",
    "MediationSession": "petitions.domain.values",
    "Person": "petitions.domain.values",
    "Petitioner": "petitions.domain.values",
    "WorkflowRef": "petitions.domain.values",
    "CallbackNotIndependent": "petitions.errors",
    "NotOfAssignedUnit": "petitions.errors",
    "ConcurrentUpdate": "petitions.errors",
    "InvalidInput": "petitions.errors",
    "PermissionDenied": "petitions.errors",
    "PetitionError": "petitions.errors",
    "PetitionNotFound": "petitions.errors",
    "TransitionNotAllowed": "petitions.errors",
    "WorkflowNotFound": "petitions.errors",
    "Change": "petitions.feed",
    "PetitionService": "petitions.service",
    "retry_on_conflict": "petitions.service",
    "Taxonomy": "petitions.taxonomy",
    "Term": "petitions.taxonomy",
    "taxonomy": "petitions.taxonomy",
    "EventView": "petitions.views",
    "PetitionView": "petitions.views",
}

__version__ = "0.1.0"


__all__ = [
    "Actor",
    "CallbackNotIndependent",
    "Change",
    "ConcurrentUpdate",
    "EventView",
    "Filing",
    "InvalidInput",
    "Location",
    "MediationSession",
    "NotOfAssignedUnit",
    "PermissionDenied",
    "Person",
    "Petition",
    "PetitionError",
    "PetitionNotFound",
    "PetitionService",
    "PetitionView",
    "Petitioner",
    "Taxonomy",
    "Term",
    "TransitionNotAllowed",
    "WorkflowNotFound",
    "WorkflowRef",
    "__version__",
    "retry_on_conflict",
    "taxonomy",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
