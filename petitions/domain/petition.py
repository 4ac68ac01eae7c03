"""The ``Petition`` aggregate: one resident's or enterprise's appeal (诉求).

Every change is an event, named in the past tense, carrying who did it
(``actor``: id and role) and when it happened in the world (``occurred_at``,
UTC).  The store adds its own recording time (``timestamp``).  Commands are
methods that check the petition's workflow — which the caller passes in, so
this module does no I/O — and then trigger an event; events that move the
petition carry the stage they lead to, so replaying history needs no workflow.

Event classes are part of the stored history: never rename or move one
without registering its old topic, and evolve their fields with
``class_version`` and an ``upcast_vN_vN+1`` method (see ``Assigned``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from hashlib import sha1
from typing import TYPE_CHECKING, Any
from uuid import UUID, SafeUUID, uuid4

from eventsourcing.domain import Aggregate

from petitions.deadlines.states import BREACHED, ON_TIME, PAUSED, WARNED, warn_time
from petitions.domain.eventclass import EventClass
from petitions.domain.values import (
    DELIVERY_METHODS,
    MAX_REPRESENTATIVES,
    PETITIONER_KINDS,
    REPLY_OUTCOMES,
    REVIEW_OUTCOMES,
    Actor,
    Location,
    MediationSession,
    Petitioner,
    WorkflowRef,
)
from petitions.errors import (
    CallbackNotIndependent,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
    checked_text,
)
from petitions.i18n import N_
from workflows import Workflow
from workflows.vocabulary import DEFAULT_REQUEST_TYPE, DEFAULT_URGENCY, REQUEST_TYPES, URGENCIES

if TYPE_CHECKING:
    from petitions.deadlines.clock import Timekeeper
    from workflows.model import SignFor

#: Classes of values a copy of a petition shares with it (immutable); lists and
#: dicts are copied (see ``Petition.__deepcopy__``).
_IMMUTABLE = frozenset({str, int, float, bool, type(None), datetime, UUID, tuple})

#: Namespace of petition ids derived from a portal's idempotency key.
IDEMPOTENCY_NAMESPACE = UUID("8d6f3c1e-51b4-4f4e-9a57-2a0e6b1c7d10")

#: Why ``assign`` (without ``--final``) and ``return`` are refused once the
#: unit has returned the order ``return_limit`` times (translated: petitions.i18n).
RETURN_LIMIT_REACHED = N_("return limit reached: a supervisor assigns it with --final (定责)")

OUTCOME_RESOLVED = "resolved"
OUTCOME_REJECTED = "rejected"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_WITHDRAWN = "withdrawn"
OUTCOME_CONCLUDED = "concluded"  # re-review (复核) answered: the matter is final

#: The written answers that are delivered, in the order they come.
DELIVERED_ANSWERS = ("reply", "review", "rereview")

#: Roles that only read: every command they issue is refused, whatever a
#: workflow grants (auditors check the record, they never write to it).
READ_ONLY_ROLES = frozenset({"auditor"})
#: The longest single extension, in days (ten years).  ASSUMPTION: no rule in the
#: seed sets one; a workflow's extension cap, when it has one, is usually far lower.
MAX_EXTENSION_DAYS = 3650


def petition_id_for(idempotency_key: str | None) -> UUID:
    """The id a petition gets: derived from the idempotency key when there is one."""
    if idempotency_key:
        return _keyed_id(idempotency_key)
    return uuid4()


@lru_cache(maxsize=4096)
def _keyed_id(idempotency_key: str) -> UUID:
    # Cached: a bulk import derives each filing's id several times (its
    # idempotency check, the filing itself) within a batch.
    # ``uuid5(IDEMPOTENCY_NAMESPACE, key)``: the SHA-1 of the namespace's
    # bytes and the key's UTF-8, its first 16 bytes with the version (5) and
    # variant bits set; the namespace hashed once, the UUID made from its
    # integer without ``UUID.__init__``'s argument checks (a bulk import
    # derives one per filing).
    digest = _NAMESPACE_SHA1.copy()
    digest.update(idempotency_key.encode("utf-8"))
    return uuid_of_int(int.from_bytes(digest.digest()[:16]) & _V5_KEEP | _V5_SET)


#: The SHA-1 of the idempotency namespace's bytes (continued per key).
_NAMESPACE_SHA1 = sha1(IDEMPOTENCY_NAMESPACE.bytes, usedforsecurity=False)
#: The bits a version-5 UUID keeps of its hash, and those it sets (RFC 4122:
#: the version in the 4 top bits of the 7th byte, the variant in the 2 top
#: bits of the 9th), as ``UUID(bytes=…, version=5)`` sets them.
_V5_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V5_SET = (5 << 76) | (0x8000 << 48)
_new_uuid = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def uuid_of_int(value: int) -> UUID:
    """``UUID(int=value)`` for a 128-bit ``value``, made as ``UUID.__init__``
    makes it (its two slots set) without checking its arguments."""
    made = _new_uuid(UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made


#: The reference the filings under each workflow version record: one frozen
#: value per version, made once (a bulk import files thousands under one).
_REFS: dict[tuple[str, int, str], WorkflowRef] = {}


def workflow_ref(wf: Workflow) -> WorkflowRef:
    """The :class:`WorkflowRef` of ``wf`` (the same instance for every filing)."""
    key = (wf.name, wf.version, wf.sha256)
    found = _REFS.get(key)
    if found is None:
        if len(_REFS) >= 256:
            _REFS.clear()
        found = _REFS[key] = WorkflowRef(*key)
    return found


def check_anonymous(wf: Workflow, request_type: str, petitioner: Petitioner) -> None:
    """Refuse an anonymous filing the workflow does not take for
    ``request_type``, or one that names the petitioner after all."""
    if request_type not in wf.anonymous_types:
        allowed = ", ".join(sorted(wf.anonymous_types))
        raise InvalidInput("anonymous", f"workflow {wf.name!r} takes anonymous filings "
                           f"of: {allowed or 'none'}", kind="anonymous_type", valid=allowed)
    if (petitioner.name or petitioner.phone or petitioner.id_number or petitioner.address
            or petitioner.representatives):
        raise InvalidInput("anonymous", "an anonymous filing names no petitioner: no name, "
                           "phone, ID number, address or representatives",
                           kind="anonymous_named")


def _text(field: str, value: str, *, required: bool = True, max_len: int = 10_000) -> str:
    value = checked_text(field, value, max_len).strip()
    if required and not value:
        raise InvalidInput(field, "must not be empty", kind="empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"is longer than {max_len} characters", kind="too_long")
    return value


class Petition(Aggregate):
    """An appeal, from filing to closing, under one pinned workflow."""

    # ------------------------------------------------------------------ events
    class Event(Aggregate.Event, metaclass=EventClass):
        actor: Actor
        occurred_at: datetime

        def apply(self, aggregate: Any) -> None:
            petition: Petition = aggregate
            petition.last_occurred_at = self.occurred_at
            stage = getattr(self, "stage", None)
            if stage is not None:
                if stage != getattr(petition, "stage", stage):
                    petition.clock_stage = None  # leaving a stage stops its clock
                petition.stage = stage
            self.evolve(petition)

        def evolve(self, petition: Petition) -> None:
            """What this event changes beyond the stage (overridden)."""

    class Filed(Event, Aggregate.Created):
        workflow: WorkflowRef
        petitioner: Petitioner
        channel: str
        category: str
        matter_type: str
        title: str
        description: str
        location: Location
        idempotency_key: str | None
        campaign_id: UUID | None
        stage: str
        #: Where the filing came from as its sender says (a portal, the line of an
        #: import file): recorded, never taken as the actor.  Events stored before
        #: it existed read as "".
        source: str = ""
        #: The request type (诉求类型), urgency (紧急程度) and whether it was
        #: filed anonymously (issue 14).  Events stored before they existed
        #: read as a complaint of normal urgency, not anonymous.
        request_type: str = "complaint"
        urgency: str = "normal"
        anonymous: bool = False

        def evolve(self, petition: Petition) -> None:
            petition.request_type = self.request_type
            petition.urgency = self.urgency
            petition.anonymous = self.anonymous
            petition.workflow = self.workflow
            petition.petitioner = self.petitioner
            petition.channel = self.channel
            petition.category = self.category
            petition.matter_type = self.matter_type
            petition.title = self.title
            petition.description = self.description
            petition.location = self.location
            petition.idempotency_key = self.idempotency_key
            petition.campaign_id = self.campaign_id
            petition.filed_at = self.occurred_at
            petition.filed_by = self.actor
            petition.outcome = None
            petition.accepted = False
            petition.rejection = None
            petition.duplicate_of = None
            petition.lead_unit = None
            petition.assignee = None
            petition.co_units = []
            petition.mediator = None
            petition.apprentice = None
            petition.parties = []
            petition.mediation_state = None
            petition.agreement = None
            petition.sessions = 0
            petition.plan = None
            petition.plan_steps_done = []
            petition.actions = 0
            petition.replied = False
            petition.reply_outcome = None
            petition.reply_text = None
            petition.callback_recorded = False
            petition.last_rating = None
            petition.last_contacted = None
            petition.last_resolved = None
            petition.unsatisfied = False
            petition.reopen_count = 0
            petition.escalations = 0
            petition.extension_days = 0
            petition.notes = 0
            petition.replied_at = None
            petition.on_site_meetings = 0
            petition.review_requested_at = None
            petition.review_answered_at = None
            petition.review_outcome = None
            petition.rereview_requested_at = None
            petition.rereview_answered_at = None
            petition.rereview_outcome = None
            petition.notifications = 0

    class Accepted(Event):
        note: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.accepted = True

    class Rejected(Event):
        reason: str
        referral: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.rejection = (self.reason, self.referral)
            petition.outcome = OUTCOME_REJECTED

    class MarkedDuplicate(Event):
        original_id: UUID
        note: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.duplicate_of = self.original_id
            petition.outcome = OUTCOME_DUPLICATE

    class Withdrawn(Event):
        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.outcome = OUTCOME_WITHDRAWN

    class Assigned(Event):
        """Dispatched to a lead unit and a responsible person.

        Version 2 added ``co_units`` (co-handling units); version-1 events are
        upcast with none.

        Version 3 added the sign-for limits (签收, 退单, 先行联系: ``sign_by``,
        ``return_by``, ``contact_by``, ``None`` where the workflow has none) and
        ``final`` (定责, ``assign --final``); older events are upcast without
        limits and not final.
        """

        class_version = 3
        unit: str
        person: str
        co_units: list[str]
        note: str
        stage: str
        final: bool
        sign_by: datetime | None
        return_by: datetime | None
        contact_by: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["co_units"] = []

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.update(final=False, sign_by=None, return_by=None, contact_by=None)

        def evolve(self, petition: Petition) -> None:
            petition.lead_unit = self.unit
            petition.assignee = self.person
            petition.co_units = list(self.co_units)
            # A new dispatch is signed for, contacted (and may be returned) anew.
            petition.final_assignment = self.final
            petition.sign_by = self.sign_by
            petition.return_by = self.return_by
            petition.contact_by = self.contact_by
            petition.signed_at = None
            petition.contacted_at = None

    class Transferred(Event):
        """Handed to another unit or person (转办/改派).

        Version 2 added ``signs_anew``: under a workflow whose ``[sign_for]``
        says ``transfer_signs_anew``, the new unit signs for, contacts and may
        return the order anew, by the limits recorded here (``sign_by``,
        ``return_by``, ``contact_by``, counted from the transfer).  Older
        events are upcast as transfers that keep the dispatch's state.
        """

        class_version = 2
        unit: str
        person: str
        reason: str
        stage: str
        signs_anew: bool
        sign_by: datetime | None
        return_by: datetime | None
        contact_by: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(signs_anew=False, sign_by=None, return_by=None, contact_by=None)

        def evolve(self, petition: Petition) -> None:
            petition.lead_unit = self.unit
            petition.assignee = self.person
            if not petition.accepted:
                petition.handed_to = self.person  # 首接负责: handed over before acceptance
            if self.signs_anew:  # a new dispatch for the new unit
                petition.sign_by = self.sign_by
                petition.return_by = self.return_by
                petition.contact_by = self.contact_by
                petition.signed_at = None
                petition.contacted_at = None

    class DispatchDisputed(Event):
        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.lead_unit = None
            petition.assignee = None
            petition.co_units = []

    class MediationOpened(Event):
        mediator: str
        apprentice: str | None
        parties: list[str]
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.mediator = self.mediator
            petition.apprentice = self.apprentice
            petition.parties = list(self.parties)
            petition.mediation_state = "open"
            petition.agreement = None

    class MediationSessionRecorded(Event):
        session: MediationSession

        def evolve(self, petition: Petition) -> None:
            petition.sessions += 1

    class AgreementReached(Event):
        terms: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.mediation_state = "agreed"
            petition.agreement = self.terms

    class MediationFailed(Event):
        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.mediation_state = "failed"

    class PlanStepCompleted(Event):
        plan: str
        step: str
        evidence: str

        def evolve(self, petition: Petition) -> None:
            petition.plan = self.plan
            petition.plan_steps_done = [*petition.plan_steps_done, self.step]

    class ActionRecorded(Event):
        action: str

        def evolve(self, petition: Petition) -> None:
            petition.actions += 1

    class Replied(Event):
        outcome: str
        text: str

        def evolve(self, petition: Petition) -> None:
            petition.handled_by = (*getattr(petition, "handled_by", ()), self.actor.id)
            petition.replied = True
            petition.reply_outcome = self.outcome
            petition.reply_text = self.text
            petition.replied_at = self.occurred_at

    class Resolved(Event):
        summary: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.handled_by = (*getattr(petition, "handled_by", ()), self.actor.id)
            petition.callback_recorded = False
            petition.unsatisfied = False

    class CallbackRecorded(Event):
        contacted: bool
        resolved: bool
        rating: str | None
        comment: str
        satisfied: bool

        def evolve(self, petition: Petition) -> None:
            petition.callback_recorded = True
            petition.last_contacted = self.contacted
            petition.last_resolved = self.resolved
            petition.last_rating = self.rating
            petition.unsatisfied = not self.satisfied

    class Reopened(Event):
        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.reopen_count += 1
            petition.replied = False
            petition.callback_recorded = False
            petition.unsatisfied = False
            if self.stage == "mediation":
                petition.mediation_state = "open"

    class Closed(Event):
        note: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.outcome = OUTCOME_RESOLVED

    class NoteAdded(Event):
        text: str

        def evolve(self, petition: Petition) -> None:
            petition.notes += 1

    class Escalated(Event):
        """Supervised (督办) by a higher level, with a reason.  Version 2 added
        the supervision ``level`` (e.g. ``yellow``, ``red``: the workflow's
        ``[escalation.levels]``; ``None`` without one); older events are upcast
        without a level."""

        class_version = 2
        reason: str
        level: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["level"] = None

        def evolve(self, petition: Petition) -> None:
            petition.escalations += 1
            if self.level is not None:
                petition.escalation_levels = (*petition.escalation_levels, self.level)

    class DeadlineExtended(Event):
        """An approved extension.  Version 2 records the running clock's new
        ``deadline`` and ``warn_time`` (``None`` when no clock runs); version-1
        events are upcast without them (they predate clocks)."""

        class_version = 2
        days: int
        approver: str
        reason: str
        deadline: datetime | None
        warn_time: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["deadline"] = None
            state["warn_time"] = None

        def evolve(self, petition: Petition) -> None:
            petition.extension_days += self.days
            if self.deadline is not None and petition.clock_stage is not None:
                petition.clock_deadline = self.deadline
                petition.clock_warn_time = self.warn_time
                petition.clock_extended_days += self.days

    class OnSiteMeetingHeld(Event):
        """An on-site office meeting (现场办公) with the petitioner and units."""

        held_at: datetime
        place: str
        participants: list[str]
        minutes: str

        def evolve(self, petition: Petition) -> None:
            petition.on_site_meetings += 1

    class ReviewRequested(Event):
        """The petitioner asked for a review (复查) of the written reply."""

        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.review_requested_at = self.occurred_at

    class ReviewAnswered(Event):
        """The reviewing body gave its review opinion (复查意见).  Version 2
        names the reviewing ``unit`` (``None`` in version-1 events)."""

        class_version = 2
        outcome: str
        text: str
        stage: str
        unit: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["unit"] = None

        def evolve(self, petition: Petition) -> None:
            petition.review_answered_at = self.occurred_at
            petition.review_outcome = self.outcome
            petition.review_unit = self.unit

    class ReReviewRequested(Event):
        """The petitioner asked for a re-review (复核) of the review opinion."""

        reason: str
        stage: str

        def evolve(self, petition: Petition) -> None:
            petition.rereview_requested_at = self.occurred_at

    class ReReviewAnswered(Event):
        """The re-review opinion (复核意见): the matter is final.  Version 2
        names the re-reviewing ``unit`` (``None`` in version-1 events)."""

        class_version = 2
        outcome: str
        text: str
        stage: str
        unit: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["unit"] = None

        def evolve(self, petition: Petition) -> None:
            petition.rereview_answered_at = self.occurred_at
            petition.rereview_outcome = self.outcome
            petition.outcome = OUTCOME_CONCLUDED

    class AnswerDelivered(Event):
        """A written answer was delivered (送达) to the petitioner: the reply,
        the review answer or the re-review answer; the review windows count
        from it."""

        answer: str  # one of DELIVERED_ANSWERS
        method: str  # one of DELIVERY_METHODS

        def evolve(self, petition: Petition) -> None:
            if self.answer == "reply":
                petition.reply_delivered_at = self.occurred_at
            elif self.answer == "review":
                petition.review_delivered_at = self.occurred_at
            else:
                petition.rereview_delivered_at = self.occurred_at

    class SimilarToConcluded(Event):
        """Filed by a petitioner whose similar (not the same) matter was
        concluded by re-review: a warning for the caseworker, not a refusal."""

        petition_ids: list[UUID]

        def evolve(self, petition: Petition) -> None:
            """A warning in the history: the petition's state is unchanged."""

    class PetitionerNotified(Event):
        """The petitioner was told something, e.g. why the deadline was extended."""

        subject: str
        text: str

        def evolve(self, petition: Petition) -> None:
            petition.notifications += 1

    # -- clocks (time limits).  A clock belongs to the stage it was started
    # for (``for_stage``); an event that moves the petition to another stage
    # stops it (see ``Event.apply``): the move is the record of the stop.
    class ClockStarted(Event):
        """The stage's time limit started; the deadline computed then is kept
        here, so history shows the deadline that applied at the time."""

        for_stage: str
        amount: int
        unit: str
        started_by: str  # the command the limit is counted from (``limit.from``)
        deadline: datetime
        warn_time: datetime
        warn_at: float
        escalate_on_breach: bool
        calendar_note: str  # a warning when a year was counted Monday to Friday

        def evolve(self, petition: Petition) -> None:
            petition.clock_stage = self.for_stage
            petition.clock_start = self.occurred_at
            petition.clock_deadline = self.deadline
            petition.clock_warn_time = self.warn_time
            petition.clock_warn_at = self.warn_at
            petition.clock_escalates = self.escalate_on_breach
            petition.clock_paused_at = None
            petition.clock_warned = False
            petition.clock_breached = False
            petition.clock_note = self.calendar_note
            petition.clock_amount = self.amount
            petition.clock_unit = self.unit
            petition.clock_origin = self.occurred_at
            petition.clock_paused_total = 0.0
            petition.clock_extended_days = 0

    class ClockPaused(Event):
        """The clock stopped counting, e.g. waiting for the petitioner's materials."""

        for_stage: str
        reason: str

        def evolve(self, petition: Petition) -> None:
            petition.clock_paused_at = self.occurred_at

    class ClockResumed(Event):
        """The clock counts again; the deadline moved by the time paused."""

        for_stage: str
        reason: str
        paused_seconds: float
        deadline: datetime
        warn_time: datetime

        def evolve(self, petition: Petition) -> None:
            petition.clock_paused_at = None
            if petition.clock_start is not None:
                petition.clock_start += timedelta(seconds=self.paused_seconds)
            petition.clock_deadline = self.deadline
            petition.clock_warn_time = self.warn_time
            petition.clock_paused_total += self.paused_seconds

    class DeadlineRecomputed(Event):
        """A provisional deadline (counted in a year the official calendar did
        not cover yet) counted again on newer calendar data, and it moved.
        ``calendar_note`` is empty once the data covers every year counted."""

        for_stage: str
        previous_deadline: datetime
        deadline: datetime
        warn_time: datetime
        calendar_note: str

        def evolve(self, petition: Petition) -> None:
            petition.clock_deadline = self.deadline
            petition.clock_warn_time = self.warn_time
            petition.clock_note = self.calendar_note

    class ClockWarned(Event):
        """The configured share of the time allowed has passed (预警)."""

        for_stage: str
        deadline: datetime

        def evolve(self, petition: Petition) -> None:
            petition.clock_warned = True

    class ClockBreached(Event):
        """The deadline passed with the stage still open (超期)."""

        for_stage: str
        deadline: datetime

        def evolve(self, petition: Petition) -> None:
            petition.clock_breached = True

    # ---------------------------------------------------------------- state
    # Attributes are set by Filed.evolve.  They are declared for type checkers
    # only: class annotations would turn the aggregate into a dataclass.
    if TYPE_CHECKING:
        workflow: WorkflowRef
        #: who replied to or resolved it (may not record its call-back)
        handled_by: tuple[str, ...]
        #: reminders (催办) and exclusion from the rates (核减): petitions.domain.hotline
        reminders: int
        excluded: bool
        exclusion_reason: str
        stage: str
        petitioner: Petitioner
        channel: str
        category: str
        matter_type: str
        title: str
        description: str
        location: Location
        idempotency_key: str | None
        campaign_id: UUID | None
        filed_at: datetime
        filed_by: Actor
        last_occurred_at: datetime
        outcome: str | None
        accepted: bool
        rejection: tuple[str, str] | None
        duplicate_of: UUID | None
        lead_unit: str | None
        assignee: str | None
        co_units: list[str]
        mediator: str | None
        apprentice: str | None
        parties: list[str]
        mediation_state: str | None
        agreement: str | None
        sessions: int
        plan: str | None
        plan_steps_done: list[str]
        actions: int
        replied: bool
        reply_outcome: str | None
        reply_text: str | None
        callback_recorded: bool
        last_rating: str | None
        last_contacted: bool | None
        last_resolved: bool | None
        unsatisfied: bool
        reopen_count: int
        escalations: int
        extension_days: int
        notes: int
        replied_at: datetime | None
        on_site_meetings: int
        review_requested_at: datetime | None
        review_answered_at: datetime | None
        review_outcome: str | None
        rereview_requested_at: datetime | None
        rereview_answered_at: datetime | None
        rereview_outcome: str | None
        notifications: int
        clock_stage: str | None
        clock_start: datetime | None
        clock_deadline: datetime | None
        clock_warn_time: datetime | None
        clock_warn_at: float
        clock_escalates: bool
        clock_paused_at: datetime | None
        clock_warned: bool
        clock_breached: bool
        clock_note: str
        handed_to: str | None
        reply_delivered_at: datetime | None
        review_delivered_at: datetime | None
        rereview_delivered_at: datetime | None
        review_unit: str | None
        clock_amount: int | None
        clock_unit: str | None
        clock_origin: datetime | None
        clock_paused_total: float
        clock_extended_days: int
        final_assignment: bool
        sign_by: datetime | None
        return_by: datetime | None
        contact_by: datetime | None
        signed_at: datetime | None
        contacted_at: datetime | None
        returns: int
        escalation_levels: tuple[str, ...]

    # Sign-for (签收), return (退单), first contact and 定责 of the current
    # dispatch, and supervision levels (docs/hotline.md); class defaults for
    # petitions (and snapshots) from before them.  Events: ``Assigned`` and
    # petitions.domain.hotline.
    final_assignment = False
    sign_by = None
    return_by = None
    contact_by = None
    signed_at = None
    contacted_at = None
    returns = 0
    escalation_levels = ()

    # The clock's state, for petitions (and snapshots) from before clocks.
    clock_stage = None
    clock_start = None
    clock_deadline = None
    clock_warn_time = None
    clock_warn_at = 0.8
    clock_escalates = False
    clock_paused_at = None
    clock_warned = False
    clock_breached = False
    clock_note = ""
    #: who a not-yet-accepted petition was handed over to (首接负责)
    handed_to = None
    # Delivery (送达) of the written answers, and who answered the review.
    reply_delivered_at = None
    review_delivered_at = None
    rereview_delivered_at = None
    review_unit = None
    # What a provisional deadline is counted again from (set by ClockStarted;
    # ``None`` for clocks started before they were kept).
    clock_amount = None
    clock_unit = None
    clock_origin = None
    clock_paused_total = 0.0
    clock_extended_days = 0
    # Request type, urgency, anonymous filing (issue 14): what petitions (and
    # snapshots) from before them read as.
    request_type: str = DEFAULT_REQUEST_TYPE
    urgency: str = DEFAULT_URGENCY
    anonymous: bool = False
    callback_impossible: bool = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Petition:
        """A copy for the next command: values are immutable (attrs, str,
        datetime, tuples), so copying the containers one level deep suffices and
        is much cheaper than a generic deep copy of every value."""
        clone = object.__new__(type(self))
        state = clone.__dict__
        state.update(self.__dict__)
        for k, v in state.items():
            if type(v) in _IMMUTABLE:  # type(): cheaper than __class__ for any value
                continue
            if isinstance(v, list):
                state[k] = list(v)
            elif isinstance(v, dict):
                state[k] = dict(v)
        state["_pending_events"] = []
        return clone

    # ---------------------------------------------------------------- create
    @classmethod
    def file(cls, wf: Workflow, **details: Any) -> Petition:
        """File a new petition under ``wf`` (not yet saved).  ``details``: the
        keyword arguments of :meth:`check_filing` (``actor``, ``occurred_at``,
        ``petitioner``, ``channel``, ``category``, ``title``, ``description``,
        ``location``, and optionally ``matter_type``, ``idempotency_key``,
        ``campaign_id``, ``source``, ``request_type`` — the workflow's default
        type when ``None`` —, ``urgency``, ``anonymous`` — without name, phone,
        ID number or address, for the types the workflow allows)."""
        found = cls.check_filing(wf, **details)
        return cls._create(cls.Filed, id=petition_id_for(found["idempotency_key"]), **found)

    @classmethod
    def check_filing(
        cls,
        wf: Workflow,
        *,
        actor: Actor,
        occurred_at: datetime,
        petitioner: Petitioner,
        channel: str,
        category: str,
        title: str,
        description: str,
        location: Location,
        matter_type: str = "claim",
        idempotency_key: str | None = None,
        campaign_id: UUID | None = None,
        source: str = "",
        request_type: str | None = None,
        urgency: str = DEFAULT_URGENCY,
        anonymous: bool = False,
    ) -> dict[str, Any]:
        """Every check :meth:`file` makes, without making the petition: the
        values of its ``Filed`` event (all but its id), or the refusal."""
        if actor.role in READ_ONLY_ROLES or not wf.may(actor.role, "file"):
            raise PermissionDenied(actor.role, "file", wf.roles_for("file"))
        if petitioner.kind not in PETITIONER_KINDS:
            raise InvalidInput("petitioner.kind",
                               f"must be one of {', '.join(PETITIONER_KINDS)}")
        request_type = wf.default_type if request_type is None else request_type
        if request_type not in REQUEST_TYPES:
            raise InvalidInput("type", f"must be one of {', '.join(REQUEST_TYPES)}",
                               kind="unknown_code", value=str(request_type),
                               valid=", ".join(REQUEST_TYPES))
        if urgency not in URGENCIES:
            raise InvalidInput("urgency", f"must be one of {', '.join(URGENCIES)}",
                               kind="unknown_code", value=str(urgency),
                               valid=", ".join(URGENCIES))
        if not isinstance(anonymous, bool):
            raise InvalidInput("anonymous", "must be true or false")
        if anonymous:
            check_anonymous(wf, request_type, petitioner)
        else:
            _text("petitioner.name", petitioner.name)
        if len(petitioner.representatives) > MAX_REPRESENTATIVES:
            raise InvalidInput("petitioner.representatives",
                               f"a collective has at most {MAX_REPRESENTATIVES} representatives",
                               kind="too_many_representatives")
        if petitioner.kind != "collective" and petitioner.representatives:
            raise InvalidInput("petitioner.representatives",
                               "only a collective has representatives")
        if wf.matter_types and matter_type not in wf.matter_types:
            raise InvalidInput("matter_type",
                               f"workflow {wf.name!r} takes {', '.join(wf.matter_types)}",
                               kind="unknown_code", valid=", ".join(wf.matter_types))
        title = _text("title", title, max_len=200)
        description = _text("description", description)
        if idempotency_key is not None:
            idempotency_key = _text("idempotency_key", idempotency_key, max_len=200)
        return {  # (a literal: an import checks every line with this)
            "actor": actor,
            "occurred_at": occurred_at,
            "workflow": workflow_ref(wf),
            "petitioner": petitioner,
            "channel": channel,
            "category": category,
            "matter_type": matter_type,
            "title": title,
            "description": description,
            "location": location,
            "idempotency_key": idempotency_key,
            "campaign_id": campaign_id,
            "stage": wf.initial,
            "source": _text("source", source, max_len=500, required=False) if source else "",
            "request_type": request_type,
            "urgency": urgency,
            "anonymous": anonymous,
        }

    # ---------------------------------------------------------------- facts

    def fact(self, name: str, wf: Workflow, at: datetime | None = None) -> bool:
        """Whether a fact a workflow may require holds now (at ``at``)."""
        if name == "assigned":
            return self.lead_unit is not None
        if name == "replied":
            return self.replied
        if name == "callback_recorded":
            return self.callback_recorded
        if name == "unsatisfied":
            return self.callback_recorded and self.unsatisfied
        if name == "mediation_concluded":
            return self.mediation_state in ("agreed", "failed")
        if name == "plan_complete":
            plan = wf.plans.get(self.plan or "")
            return plan is not None and list(plan.step_codes()) == self.plan_steps_done
        if name == "no_plan_pending":
            return self.plan is None or self.fact("plan_complete", wf)
        if name == "mediation_open":
            return self.mediation_state == "open"
        if name in ("review_window_passed", "reply_within_review_window"):
            deadline = self.review_deadline(wf)
            if deadline is None or at is None:
                return False
            return at > deadline if name == "review_window_passed" else at <= deadline
        return False

    def review_window(self, wf: Workflow) -> tuple[datetime, datetime, str] | None:
        """The open review (or re-review) window: (from, until, what it counts
        from), ``None`` when there is nothing to review.

        It counts from the delivery (送达) of the written reply — of the review
        answer, once there is one — or from the answer itself when no delivery
        is recorded; the period is in days: from the next day to 24:00 of its
        last day, moved to the next working day when that day is not worked
        (民法典 arts. 201, 203).  The windows are in the workflow's ``[review]``.
        """
        rule = wf.review
        if rule is None:
            return None
        if self.review_answered_at is not None:
            days = rule.rereview_request_within_days
            start, what = ((self.review_delivered_at, "delivery of the review answer")
                           if self.review_delivered_at is not None
                           else (self.review_answered_at, "the review answer"))
        elif self.replied_at is not None:
            days = rule.request_within_days
            start, what = ((self.reply_delivered_at, "delivery of the reply")
                           if self.reply_delivered_at is not None
                           else (self.replied_at, "the reply"))
        else:
            return None
        from petitions.deadlines.calendar import end_of_office_day, office_day, work_calendar

        last, _ = work_calendar().next_workday(office_day(start) + timedelta(days=days))
        return start, end_of_office_day(last), what

    def review_deadline(self, wf: Workflow) -> datetime | None:
        """Until when the next review (or re-review) may be requested
        (:meth:`review_window`); ``None`` when there is nothing to review."""
        window = self.review_window(wf)
        return window[1] if window else None

    @property
    def receiver(self) -> str:
        """Who owns the petition until it is accepted (首接负责): whoever filed
        it, or whoever it was handed over to since."""
        return self.handed_to or self.filed_by.id

    @property
    def is_open(self) -> bool:
        return self.outcome is None

    # --------------------------------------------------------------- guards
    def permit(self, wf: Workflow, actor: Actor, command: str,
               to: str | None = None, at: datetime | None = None) -> str:
        """Check ``command`` may be issued now by ``actor`` under ``wf`` (role,
        stage, required facts, reopen limit, target ``to``); return the next
        stage.  Every command's ``decide`` starts here, a plugin's too."""
        if actor.role in READ_ONLY_ROLES or not wf.may(actor.role, command):
            raise PermissionDenied(actor.role, command, wf.roles_for(command))
        allowed = wf.commands_in(self.stage)
        targets = wf.targets(self.stage, command)
        if targets is None:
            raise TransitionNotAllowed(command, self.stage, allowed)
        if (wf.first_receiver_owns and not self.accepted and self.outcome is None
                and actor.role != "supervisor" and actor.id != self.receiver):
            raise TransitionNotAllowed(
                command, self.stage, allowed,
                reason=f"首接负责: {self.receiver} received it and owns it until it is "
                f"accepted or handed over (transfer)")
        for fact in wf.requires.get(command, ()):
            if not self.fact(fact, wf, at):
                raise TransitionNotAllowed(command, self.stage, allowed,
                                           reason=f"requires {fact}")
        if command == "reopen" and self.reopen_count >= wf.reopen_limit:
            raise TransitionNotAllowed(
                command, self.stage, tuple(c for c in allowed if c != "reopen"),
                reason=f"reopen limit of {wf.reopen_limit} reached")
        if to is None:
            if len(targets) > 1:
                raise InvalidInput("to", f"choose one of {', '.join(targets)}",
                                   kind="choose", valid=", ".join(targets))
            return targets[0]
        if to not in targets:
            raise InvalidInput("to", f"must be one of {', '.join(targets)}",
                               kind="choose", valid=", ".join(targets))
        return to

    def checked_time(self, occurred_at: datetime) -> datetime:
        """``occurred_at``, refused without a time zone or before the filing."""
        if occurred_at.tzinfo is None:
            raise InvalidInput("at", "must carry a time zone", kind="naive_time")
        if occurred_at < self.filed_at:
            raise InvalidInput("at", "is before the petition was filed", kind="before_filing")
        return occurred_at

    # The names these checks had before commands became values (issue 12), for
    # code written against them on branches not yet merged; use the public ones.
    _target = permit
    _at = checked_time

    # ------------------------------------------------------------- commands
    def accept(self, wf: Workflow, actor: Actor, at: datetime, note: str = "") -> None:
        stage = self.permit(wf, actor, "accept")
        self.trigger_event(self.Accepted, actor=actor, occurred_at=self.checked_time(at),
                           note=_text("note", note, required=False), stage=stage)

    def reject(self, wf: Workflow, actor: Actor, at: datetime, reason: str,
               referral: str) -> None:
        stage = self.permit(wf, actor, "reject")
        self.trigger_event(self.Rejected, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason),
                           referral=_text("referral", referral), stage=stage)

    def mark_duplicate(self, wf: Workflow, actor: Actor, at: datetime,
                       original_id: UUID, note: str = "") -> None:
        stage = self.permit(wf, actor, "duplicate")
        if original_id == self.id:
            raise InvalidInput("original_id", "a petition cannot duplicate itself",
                               kind="self_duplicate")
        self.trigger_event(self.MarkedDuplicate, actor=actor, occurred_at=self.checked_time(at),
                           original_id=original_id,
                           note=_text("note", note, required=False), stage=stage)

    def withdraw(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        stage = self.permit(wf, actor, "withdraw")
        self.trigger_event(self.Withdrawn, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def assign(self, wf: Workflow, actor: Actor, at: datetime, unit: str, person: str,
               co_units: tuple[str, ...] = (), note: str = "", final: bool = False,
               timekeeper: Timekeeper | Callable[[], Timekeeper] | None = None) -> None:
        """Dispatch to ``unit`` and ``person``.  Under a workflow with
        ``[sign_for]`` the dispatch records until when the unit signs for it,
        may return it and makes first contact (counted on ``timekeeper``'s
        calendar); once the unit has returned it ``return_limit`` times only a
        supervisor assigns it, ``final`` (定责), and it can no longer be returned."""
        stage = self.permit(wf, actor, "assign")
        rule = wf.sign_for
        if final and actor.role != "supervisor":
            raise PermissionDenied(actor.role, "assign --final", ("supervisor",))
        if rule is not None and not final and self.returns >= rule.return_limit:
            raise TransitionNotAllowed(
                "assign", self.stage, wf.commands_in(self.stage),
                reason=RETURN_LIMIT_REACHED)
        unit = _text("unit", unit)
        co = [_text("co_units", u) for u in co_units]
        if unit in co:
            raise InvalidInput("co_units", "the lead unit cannot also co-handle",
                               kind="lead_in_co_units")
        at = self.checked_time(at)
        limits: dict[str, datetime | None] = {"sign_by": None, "return_by": None,
                                              "contact_by": None}
        if rule is not None:
            limits = self._dispatch_limits(rule, at, final, timekeeper)
        self.trigger_event(self.Assigned, actor=actor, occurred_at=at,
                           unit=unit, person=_text("person", person), co_units=co,
                           note=_text("note", note, required=False), stage=stage,
                           final=bool(final), **limits)

    def _dispatch_limits(self, rule: SignFor, at: datetime, final: bool,
                         timekeeper: Timekeeper | Callable[[], Timekeeper] | None,
                         ) -> dict[str, datetime | None]:
        """Until when a unit dispatched to at ``at`` signs for the order, may
        return it (never when ``final``) and makes first contact: the
        ``[sign_for]`` limits of this petition's urgency."""
        if callable(timekeeper):
            timekeeper = timekeeper()
        if timekeeper is None:
            from petitions.deadlines.clock import Timekeeper

            timekeeper = Timekeeper()
        limits: dict[str, datetime | None] = {}
        for key, name in (("sign_by", "sign_within"), ("return_by", "return_within"),
                          ("contact_by", "contact_within")):
            limit = None if final and key == "return_by" else rule.limit(name, self.urgency)
            limits[key] = None if limit is None else timekeeper.deadline(limit, at).deadline
        return limits

    def transfer(self, wf: Workflow, actor: Actor, at: datetime, unit: str, person: str,
                 reason: str,
                 timekeeper: Timekeeper | Callable[[], Timekeeper] | None = None) -> None:
        """Hand the petition to ``unit`` and ``person``; under a workflow whose
        ``[sign_for]`` says ``transfer_signs_anew``, a petition already
        dispatched is a new dispatch for the new unit (it signs for it anew)."""
        stage = self.permit(wf, actor, "transfer")
        at = self.checked_time(at)
        rule = wf.sign_for
        anew = rule is not None and rule.transfer_signs_anew and self.lead_unit is not None
        limits: dict[str, datetime | None] = {"sign_by": None, "return_by": None,
                                              "contact_by": None}
        if anew:
            assert rule is not None
            limits = self._dispatch_limits(rule, at, self.final_assignment, timekeeper)
        self.trigger_event(self.Transferred, actor=actor, occurred_at=at,
                           unit=_text("unit", unit), person=_text("person", person),
                           reason=_text("reason", reason), stage=stage, signs_anew=anew,
                           **limits)

    def dispute(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        stage = self.permit(wf, actor, "dispute")
        self.trigger_event(self.DispatchDisputed, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def open_mediation(self, wf: Workflow, actor: Actor, at: datetime, mediator: str,
                       parties: tuple[str, ...], apprentice: str | None = None) -> None:
        stage = self.permit(wf, actor, "open_mediation")
        parties_list = [_text("parties", p) for p in parties]
        if not parties_list:
            raise InvalidInput("parties", "name at least one party", kind="empty")
        self.trigger_event(self.MediationOpened, actor=actor, occurred_at=self.checked_time(at),
                           mediator=_text("mediator", mediator),
                           apprentice=_text("apprentice", apprentice) if apprentice else None,
                           parties=parties_list, stage=stage)

    def record_session(self, wf: Workflow, actor: Actor, at: datetime,
                       session: MediationSession) -> None:
        self.permit(wf, actor, "record_session")
        if not session.participants:
            raise InvalidInput("participants", "name at least one participant", kind="empty")
        _text("place", session.place)
        self.trigger_event(self.MediationSessionRecorded, actor=actor,
                           occurred_at=self.checked_time(at), session=session)

    def agree(self, wf: Workflow, actor: Actor, at: datetime, terms: str) -> None:
        stage = self.permit(wf, actor, "agree")
        self.trigger_event(self.AgreementReached, actor=actor, occurred_at=self.checked_time(at),
                           terms=_text("terms", terms), stage=stage)

    def fail_mediation(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        stage = self.permit(wf, actor, "fail_mediation")
        self.trigger_event(self.MediationFailed, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def plan_step(self, wf: Workflow, actor: Actor, at: datetime, plan: str, step: str,
                  evidence: str) -> None:
        self.permit(wf, actor, "plan_step")
        found = wf.plans.get(plan)
        if found is None:
            raise InvalidInput("plan", f"unknown plan; valid: {', '.join(wf.plans) or 'none'}",
                               kind="unknown_code", valid=", ".join(wf.plans))
        if self.plan is not None and self.plan != plan:
            raise InvalidInput("plan", f"this petition follows plan {self.plan!r}",
                               kind="other_plan")
        codes = found.step_codes()
        done = self.plan_steps_done if self.plan == plan else []
        if len(done) == len(codes):
            raise TransitionNotAllowed("plan_step", self.stage, wf.commands_in(self.stage),
                                       reason=f"plan {plan!r} is already complete")
        expected = codes[len(done)]
        if step != expected:
            raise TransitionNotAllowed(
                "plan_step", self.stage, wf.commands_in(self.stage),
                reason=f"step {step!r} is out of order; next step is {expected!r}")
        self.trigger_event(self.PlanStepCompleted, actor=actor, occurred_at=self.checked_time(at),
                           plan=plan, step=step, evidence=_text("evidence", evidence))

    def act(self, wf: Workflow, actor: Actor, at: datetime, action: str) -> None:
        self.permit(wf, actor, "act")
        self.trigger_event(self.ActionRecorded, actor=actor, occurred_at=self.checked_time(at),
                           action=_text("action", action))

    def reply(self, wf: Workflow, actor: Actor, at: datetime, outcome: str, text: str) -> None:
        self.permit(wf, actor, "reply")
        if outcome not in REPLY_OUTCOMES:
            raise InvalidInput("outcome", f"must be one of {', '.join(REPLY_OUTCOMES)}",
                               kind="unknown_code", valid=", ".join(REPLY_OUTCOMES))
        self.trigger_event(self.Replied, actor=actor, occurred_at=self.checked_time(at),
                           outcome=outcome, text=_text("text", text))

    def resolve(self, wf: Workflow, actor: Actor, at: datetime, summary: str = "") -> None:
        stage = self.permit(wf, actor, "resolve")
        self.trigger_event(self.Resolved, actor=actor, occurred_at=self.checked_time(at),
                           summary=_text("summary", summary, required=False), stage=stage)

    def callback(self, wf: Workflow, actor: Actor, at: datetime, contacted: bool,
                 resolved: bool, rating: str | None, comment: str = "") -> None:
        self.permit(wf, actor, "callback")
        if wf.independent_callback and actor.id in getattr(self, "handled_by", ()):
            raise CallbackNotIndependent(actor.id, actor.role,
                                         tuple(sorted(wf.roles.get("callback", ()))))
        if contacted:
            if rating is None:
                raise InvalidInput("rating", "a contacted petitioner gives a rating",
                                   kind="empty")
            found = wf.rating(rating)
            if found is None:
                valid = ", ".join(r.code for r in wf.ratings)
                raise InvalidInput("rating", f"must be one of {valid}",
                                   kind="unknown_code", valid=valid)
            satisfied = found.satisfied and resolved
        else:
            if rating is not None:
                raise InvalidInput("rating", "no rating without contact", kind="no_contact")
            satisfied = False
        self.trigger_event(self.CallbackRecorded, actor=actor, occurred_at=self.checked_time(at),
                           contacted=contacted, resolved=resolved, rating=rating,
                           comment=_text("comment", comment, required=False),
                           satisfied=satisfied)

    def reopen(self, wf: Workflow, actor: Actor, at: datetime, to: str | None,
               reason: str) -> None:
        stage = self.permit(wf, actor, "reopen", to)
        self.trigger_event(self.Reopened, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def close(self, wf: Workflow, actor: Actor, at: datetime, note: str = "") -> None:
        stage = self.permit(wf, actor, "close", at=at)
        self.trigger_event(self.Closed, actor=actor, occurred_at=self.checked_time(at),
                           note=_text("note", note, required=False), stage=stage)

    def note(self, wf: Workflow, actor: Actor, at: datetime, text: str) -> None:
        self.permit(wf, actor, "note")
        self.trigger_event(self.NoteAdded, actor=actor, occurred_at=self.checked_time(at),
                           text=_text("text", text))

    def escalate(self, wf: Workflow, actor: Actor, at: datetime, reason: str,
                 level: str | None = None) -> None:
        """Supervise (督办), at one of the workflow's ``[escalation.levels]``
        (``yellow``, ``red`` …) when given."""
        self.permit(wf, actor, "escalate")
        if level is not None and level not in wf.escalation_levels:
            valid = ", ".join(wf.escalation_levels)
            if not valid:
                raise InvalidInput("level", f"workflow {wf.name!r} has no supervision levels",
                                   kind="no_levels")
            raise InvalidInput("level", f"must be one of {valid}", kind="unknown_code",
                               value=level, valid=valid)
        self.trigger_event(self.Escalated, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), level=level)

    def extend(self, wf: Workflow, actor: Actor, at: datetime, days: int, approver: str,
               reason: str) -> None:
        self.permit(wf, actor, "extend")
        if isinstance(days, int) and not isinstance(days, bool) and days > MAX_EXTENSION_DAYS:
            raise InvalidInput("days", f"must be at most {MAX_EXTENSION_DAYS}",
                               kind="too_large", max=MAX_EXTENSION_DAYS)
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            raise InvalidInput("days", "must be a positive whole number of days",
                               kind="not_positive")
        cap = wf.extension_cap_days
        if cap is not None and self.extension_days + days > cap:
            raise InvalidInput(
                "days", f"extensions may total at most {cap} days "
                f"({self.extension_days} already granted)", kind="extension_cap",
                cap=cap, granted=self.extension_days)
        deadline = warn = None
        if self.clock_stage is not None and self.clock_deadline is not None:
            # An extension moves the running clock's deadline by whole days.
            deadline = self.clock_deadline + timedelta(days=days)
            warn = warn_time(self.clock_start or deadline, deadline, self.clock_warn_at)
        self.trigger_event(self.DeadlineExtended, actor=actor, occurred_at=self.checked_time(at),
                           days=days, approver=_text("approver", approver),
                           reason=_text("reason", reason), deadline=deadline,
                           warn_time=warn)
        if wf.extension_notifies_petitioner:
            self.trigger_event(self.PetitionerNotified, actor=actor,
                               occurred_at=self.checked_time(at), subject="extension",
                               text=f"extended by {days} days: {reason.strip()}")

    def on_site_meeting(self, wf: Workflow, actor: Actor, at: datetime, held_at: datetime,
                        place: str, participants: tuple[str, ...], minutes: str = "") -> None:
        """Record an on-site office meeting (现场办公) and who took part."""
        self.permit(wf, actor, "on_site_meeting")
        people = [_text("participants", p) for p in participants]
        if not people:
            raise InvalidInput("participants", "name at least one participant", kind="empty")
        self.trigger_event(self.OnSiteMeetingHeld, actor=actor, occurred_at=self.checked_time(at),
                           held_at=self.checked_time(held_at), place=_text("place", place),
                           participants=people,
                           minutes=_text("minutes", minutes, required=False))

    def _review_window(self, wf: Workflow, command: str, at: datetime, what: str) -> None:
        rule = wf.review
        if rule is not None and rule.matter_types and self.matter_type not in rule.matter_types:
            raise TransitionNotAllowed(
                command, self.stage, wf.commands_in(self.stage),
                reason=f"a {what} is open to {', '.join(rule.matter_types)} matters only "
                f"(this one is {self.matter_type})")
        window = self.review_window(wf)
        if window is not None and at > window[1]:
            from petitions.timefmt import show, show_deadline

            start, until, counted = window
            raise TransitionNotAllowed(
                command, self.stage, wf.commands_in(self.stage),
                reason=f"a {what} may be requested until {show_deadline(until)} "
                f"(counted from {counted} at {show(start)}); the window has passed")

    def deliver(self, wf: Workflow, actor: Actor, at: datetime, method: str) -> str:
        """Record the delivery (送达) of the latest written answer not yet
        delivered — the re-review answer, the review answer or the reply —
        and return which it was.  The re-review answer may be delivered after
        the matter is concluded."""
        if method not in DELIVERY_METHODS:
            raise InvalidInput("method", f"must be one of {', '.join(DELIVERY_METHODS)}",
                               kind="unknown_code", valid=", ".join(DELIVERY_METHODS))
        if self.rereview_answered_at is not None:
            answer, delivered = "rereview", self.rereview_delivered_at
        elif self.review_answered_at is not None:
            answer, delivered = "review", self.review_delivered_at
        else:
            answer, delivered = "reply", self.reply_delivered_at
        concluded = self.rereview_answered_at is not None and wf.is_terminal(self.stage)
        if concluded:  # a terminal stage takes no command: check who may, by hand
            if actor.role in READ_ONLY_ROLES or not wf.may(actor.role, "deliver"):
                raise PermissionDenied(actor.role, "deliver", wf.roles_for("deliver"))
        else:
            self.permit(wf, actor, "deliver")
        if (answer == "reply" and self.replied_at is None) or delivered is not None:
            raise TransitionNotAllowed("deliver", self.stage, wf.commands_in(self.stage),
                                       reason="no written answer is waiting for delivery")
        self.trigger_event(self.AnswerDelivered, actor=actor, occurred_at=self.checked_time(at),
                           answer=answer, method=method)
        return answer

    def request_review(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        """The petitioner asks for a review (复查) of the written reply, in time."""
        stage = self.permit(wf, actor, "request_review")
        self._review_window(wf, "request_review", at, "review")
        self.trigger_event(self.ReviewRequested, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def _reviewer(self, wf: Workflow, unit: str | None, level: str) -> str | None:
        """Check the unit answering a review (``level`` "review") or re-review:
        where the workflow asks for it, named, never the lead unit, and for a
        re-review never the unit that answered the review either."""
        rule = wf.review
        if unit is not None:
            unit = _text("unit", unit)
        if rule is None or not rule.reviewer_above_lead_unit:
            return unit
        if unit is None:
            raise InvalidInput("unit", f"name the unit answering the {level} "
                               f"(a unit above the lead unit)", kind="empty")
        below = [u for u in (self.lead_unit, self.review_unit if level == "re-review" else None)
                 if u]
        if unit in below:
            raise InvalidInput(
                "unit", f"the {level} is answered by a unit above {below[-1]}, "
                f"not by {unit} itself", kind="reviewer_not_above")
        return unit

    def answer_review(self, wf: Workflow, actor: Actor, at: datetime, outcome: str,
                      text: str, unit: str | None = None) -> None:
        """The reviewing body's opinion (复查意见): uphold or revise; ``unit``
        is the reviewing unit (above the lead unit)."""
        stage = self.permit(wf, actor, "answer_review")
        _review_outcome(outcome)
        unit = self._reviewer(wf, unit, "review")
        self.trigger_event(self.ReviewAnswered, actor=actor, occurred_at=self.checked_time(at),
                           outcome=outcome, text=_text("text", text), stage=stage, unit=unit)

    def request_rereview(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        """The petitioner asks for a re-review (复核) of the review opinion, in time."""
        stage = self.permit(wf, actor, "request_rereview")
        self._review_window(wf, "request_rereview", at, "re-review")
        self.trigger_event(self.ReReviewRequested, actor=actor, occurred_at=self.checked_time(at),
                           reason=_text("reason", reason), stage=stage)

    def answer_rereview(self, wf: Workflow, actor: Actor, at: datetime, outcome: str,
                        text: str, unit: str | None = None) -> None:
        """The re-review opinion (复核意见); after it the matter is final.
        ``unit``: the re-reviewing unit (above the one that reviewed)."""
        stage = self.permit(wf, actor, "answer_rereview")
        _review_outcome(outcome)
        unit = self._reviewer(wf, unit, "re-review")
        self.trigger_event(self.ReReviewAnswered, actor=actor, occurred_at=self.checked_time(at),
                           outcome=outcome, text=_text("text", text), stage=stage, unit=unit)


    # --------------------------------------------------------------- clocks
    def keep_time(self, wf: Workflow, timekeeper: Timekeeper | Callable[[], Timekeeper],
                  actor: Actor, at: datetime, stage_before: str | None,
                  command: str | None = None) -> None:
        """Start the clock of the stage the petition is in, when it has just
        entered it (``stage_before`` differs), or when ``command`` is the one
        the stage's limit is counted from.  The deadline is computed now, on
        the calendar ``timekeeper`` holds (or gives when called: the calendar
        is then loaded only when a clock starts), and recorded in ``ClockStarted``."""
        if self.outcome is not None:
            return
        found = self.clock_to_start(
            wf, self.stage, getattr(self, "request_type", DEFAULT_REQUEST_TYPE),
            getattr(self, "urgency", DEFAULT_URGENCY), timekeeper, at, stage_before, command)
        if found is not None:
            self.trigger_event(self.ClockStarted, actor=actor, occurred_at=self.checked_time(at),
                               **found)

    @staticmethod
    def clock_to_start(wf: Workflow, stage: str, request_type: str, urgency: str,
                       timekeeper: Timekeeper | Callable[[], Timekeeper], at: datetime,
                       stage_before: str | None, command: str | None) -> dict[str, Any] | None:
        """The clock :meth:`keep_time` starts for a petition (not concluded) in
        ``stage``: the values of its ``ClockStarted`` event but ``actor`` and
        ``occurred_at``, or ``None`` when no clock starts (the bulk filing
        starts a new petition's clock with it)."""
        if wf.is_terminal(stage):
            return None
        limit = wf.limit_for(stage, request_type, urgency)
        if limit is None:
            return None
        if stage_before == stage and command != limit.start:
            return None
        keeper = timekeeper() if callable(timekeeper) else timekeeper
        found = keeper.deadline(limit, at)
        return dict(for_stage=stage, amount=limit.amount, unit=limit.unit,
                    started_by=limit.start, deadline=found.deadline,
                    warn_time=found.warn_time, warn_at=float(limit.warn_at),
                    escalate_on_breach=bool(limit.escalate_on_breach),
                    calendar_note=found.note)

    def _clock_command(self, wf: Workflow, actor: Actor, command: str) -> None:
        """Check ``pause``/``resume`` may be issued: as the workflow says when it
        names the command, else by the roles that may ``extend`` (workflows
        written before clocks could pause)."""
        granted = command if command in wf.roles else "extend"
        if actor.role in READ_ONLY_ROLES or not wf.may(actor.role, granted):
            raise PermissionDenied(actor.role, command, wf.roles_for(granted))
        if command in wf.roles and wf.targets(self.stage, command) is None:
            raise TransitionNotAllowed(command, self.stage, wf.commands_in(self.stage))
        if self.clock_stage is None or self.outcome is not None:
            raise TransitionNotAllowed(command, self.stage, wf.commands_in(self.stage),
                                       reason="no time limit is running")
        if command == "pause" and self.clock_paused_at is not None:
            raise TransitionNotAllowed(command, self.stage, wf.commands_in(self.stage),
                                       reason="the clock is already paused")
        if command == "resume" and self.clock_paused_at is None:
            raise TransitionNotAllowed(command, self.stage, wf.commands_in(self.stage),
                                       reason="the clock is not paused")

    def pause(self, wf: Workflow, actor: Actor, at: datetime, reason: str) -> None:
        """Pause the running clock (waiting for materials; a hearing)."""
        self._clock_command(wf, actor, "pause")
        assert self.clock_stage is not None
        self.trigger_event(self.ClockPaused, actor=actor, occurred_at=self.checked_time(at),
                           for_stage=self.clock_stage, reason=_text("reason", reason))

    def resume(self, wf: Workflow, actor: Actor, at: datetime, reason: str = "") -> None:
        """Resume the paused clock: the deadline moves by the time paused."""
        self._clock_command(wf, actor, "resume")
        assert self.clock_stage is not None and self.clock_paused_at is not None
        assert self.clock_deadline is not None and self.clock_start is not None
        at = self.checked_time(at)
        if at < self.clock_paused_at:
            raise InvalidInput("at", "is before the clock was paused", kind="before_pause")
        paused = at - self.clock_paused_at
        deadline = self.clock_deadline + paused
        warn = warn_time(self.clock_start + paused, deadline, self.clock_warn_at)
        self.trigger_event(self.ClockResumed, actor=actor, occurred_at=at,
                           for_stage=self.clock_stage,
                           reason=_text("reason", reason, required=False),
                           paused_seconds=paused.total_seconds(), deadline=deadline,
                           warn_time=warn)

    def recheck_deadline(self, timekeeper: Timekeeper, actor: Actor,
                         now: datetime) -> bool:
        """Count a provisional deadline (one whose clock carries a calendar
        warning) again on ``timekeeper``'s calendar, from the clock's start and
        with its pauses and extensions; record :class:`DeadlineRecomputed`
        only when the deadline moves.  Returns whether it recorded."""
        if (self.clock_stage is None or self.clock_deadline is None or not self.clock_note
                or self.outcome is not None or self.clock_amount is None
                or self.clock_unit is None or self.clock_origin is None):
            return False
        from petitions.deadlines.clock import FixedLimit

        found = timekeeper.deadline(
            FixedLimit(int(self.clock_amount), str(self.clock_unit), self.clock_warn_at),
            self.clock_origin)
        deadline = (found.deadline + timedelta(seconds=self.clock_paused_total)
                    + timedelta(days=self.clock_extended_days))
        if deadline == self.clock_deadline:
            return False
        start = self.clock_start or self.clock_origin
        self.trigger_event(self.DeadlineRecomputed, actor=actor, occurred_at=self.checked_time(now),
                           for_stage=self.clock_stage, previous_deadline=self.clock_deadline,
                           deadline=deadline,
                           warn_time=warn_time(start, deadline, self.clock_warn_at),
                           calendar_note=found.note)
        return True

    def deadline_state(self, now: datetime | None = None) -> str | None:
        """``on_time``, ``warned``, ``breached`` or ``paused``: the running
        clock's state as recorded, and as of ``now`` when given; ``None``
        without a running clock.  A recorded warning or breach stays."""
        if self.clock_stage is None or self.clock_deadline is None:
            return None
        if self.clock_paused_at is not None:
            return PAUSED
        if self.clock_breached or (now is not None and now > self.clock_deadline):
            return BREACHED
        warn = self.clock_warn_time
        if self.clock_warned or (now is not None and warn is not None and now >= warn):
            return WARNED
        return ON_TIME

    def check_clock(self, actor: Actor, now: datetime) -> tuple[str, ...]:
        """Record what is due at ``now``: a breach once the deadline has passed
        (and the escalation (督办) the limit asks for), else a warning once the
        warning share has passed.  Each is recorded once per clock, so
        checking again at the same moment records nothing.  Returns the names
        of the events recorded."""
        if (self.clock_stage is None or self.clock_deadline is None
                or self.clock_paused_at is not None or self.outcome is not None):
            return ()
        now = self.checked_time(now)
        stage, deadline = self.clock_stage, self.clock_deadline
        if not self.clock_breached and now > deadline:
            self.trigger_event(self.ClockBreached, actor=actor, occurred_at=now,
                               for_stage=stage, deadline=deadline)
            if not self.clock_escalates:
                return ("ClockBreached",)
            self.trigger_event(self.Escalated, actor=actor, occurred_at=now,
                               reason=f"time limit of stage {stage} passed at "
                               f"{deadline.isoformat()} (超期督办)", level=None)
            return ("ClockBreached", "Escalated")
        warn = self.clock_warn_time
        if (not self.clock_warned and not self.clock_breached and warn is not None
                and now >= warn):
            self.trigger_event(self.ClockWarned, actor=actor, occurred_at=now,
                               for_stage=stage, deadline=deadline)
            return ("ClockWarned",)
        return ()


def _review_outcome(outcome: str) -> None:
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput("outcome", f"must be one of {', '.join(REVIEW_OUTCOMES)}",
                           kind="unknown_code", valid=", ".join(REVIEW_OUTCOMES))
