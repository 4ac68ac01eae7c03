"""petitions: event-sourced handling of residents' and enterprises' appeals (诉求).

Portals import this package; the ``petitions`` command line is built on it.

    >>> from petitions import PetitionService, Actor, Petitioner, Location
    >>> svc = PetitionService.open(":memory:")
"""

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

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "CallbackNotIndependent",
    "Change",
    "ConcurrentUpdate",
    "EventView",
    "InvalidInput",
    "Location",
    "MediationSession",
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
