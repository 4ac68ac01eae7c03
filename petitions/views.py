"""Plain, read-only views of petitions and their events.

Queries never hand out the aggregate: they return these frozen values, which
carry everything a portal or a caseworker needs and turn into JSON with
:meth:`to_dict`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from petitions.deadlines.states import is_provisional
from petitions.domain.petition import Petition
from petitions.domain.values import (
    REPLY_OUTCOME_LABELS,
    REQUEST_TYPE_LABELS,
    URGENCY_LABELS,
    Location,
    WorkflowRef,
)
from petitions.privacy.render import PetitionerView
from petitions.timefmt import due_date
from petitions.transcoding import to_plain
from workflows import Label, Workflow
from workflows.records import field, fields, frozen

_BASE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic",
     "actor", "occurred_at"}
)


#: The commands each stage of a workflow version allows, by its hash and the
#: stage (a definition never changes under its hash): every view lists them.
_ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {}


def _commands_in(wf: Workflow, stage: str) -> tuple[str, ...]:
    key = (wf.sha256, stage)
    found = _ALLOWED.get(key)
    if found is None:
        found = wf.commands_in(stage)
        if len(_ALLOWED) < 10_000:
            _ALLOWED[key] = found
    return found


@frozen
class RelatedCase:
    """Another open case of the same caller."""

    id: UUID
    number: str | None
    stage: str
    title: str
    #: The stage's label in the workflow version that case was filed under.
    stage_label: Label | None = None


@frozen(eq=False)
class PetitionView:
    """A petition as it stands (or stood, at a given version).

    The view a command or ``PetitionService.get`` returns renders its
    petitioner when ``petitioner`` is first read, not before (a ``get`` that
    reveals renders at once): personal data is decrypted only for a caller who
    looks at it, and an erasure made meanwhile (by any process) is honoured.
    A view from ``get`` likewise looks up ``related`` when first read.  Read
    them while the service that made the view is open (a pickled view carries
    both).  A command's view works out its fields but ``id`` and ``version``
    when one is first read (:meth:`of_saved`), from the state it saved.
    """

    #: What a view from :meth:`of_saved` is worked out from, until it is (no field).
    __slots__ = ("_source",)

    id: UUID
    version: int
    workflow: WorkflowRef
    stage: str
    status: str  # "open" or "closed"
    outcome: str | None
    title: str
    description: str
    category: str
    channel: str
    matter_type: str
    #: The petitioner as the viewer may see them (masked, erased or hidden):
    #: see :attr:`petitioner`.  A command's view holds how to render them.
    _petitioner: PetitionerView | Callable[[], PetitionerView] = field(
        alias="petitioner", repr=False)
    location: Location
    lead_unit: str | None
    assignee: str | None
    co_units: tuple[str, ...]
    mediator: str | None
    apprentice: str | None
    parties: tuple[str, ...]
    mediation_state: str | None
    agreement: str | None
    sessions: int
    plan: str | None
    plan_steps_done: tuple[str, ...]
    actions: int
    reply_outcome: str | None
    reply_text: str | None
    last_contacted: bool | None
    last_resolved: bool | None
    last_rating: str | None
    reopen_count: int
    escalations: int
    extension_days: int
    notes: int
    rejection_reason: str | None
    referral: str | None
    duplicate_of: UUID | None
    campaign_id: UUID | None
    idempotency_key: str | None
    filed_at: datetime
    updated_at: datetime
    recorded_at: datetime
    allowed_commands: tuple[str, ...]
    #: Labels (zh, en) from the workflow version the petition was filed under:
    #: its title, the stage, the last call-back's rating, the reply's outcome,
    #: the plan and the plan steps done (in ``plan_steps_done`` order).
    workflow_title: Label
    stage_label: Label
    rating_label: Label | None
    reply_outcome_label: Label | None
    plan_label: Label | None
    plan_step_labels: tuple[Label, ...]
    #: The running clock (time limit): its deadline, and its state
    #: (``on_time``, ``warned``, ``breached``, ``paused``) at ``now`` if the view
    #: was made with one, else as recorded; ``None`` without a running clock.
    deadline: datetime | None = None
    deadline_state: str | None = None
    clock_stage: str | None = None
    calendar_note: str = ""
    #: Reminders (催办) received, and whether it is excluded from the rates (核减).
    reminders: int = 0
    excluded: bool = False
    #: The readable work-order number (工单号), e.g. ``2026-000123``.
    number: str | None = None
    #: The same caller's other open cases (by the blind index of their phone
    #: and ID numbers): see :attr:`related`.  ``PetitionService.get`` gives
    #: how to look them up, done when first read.
    _related: tuple[RelatedCase, ...] | Callable[[], tuple[RelatedCase, ...]] = field(
        alias="related", default=(), repr=False)
    #: the deadline was counted in a year the official calendar does not
    #: cover yet (statutory holidays and weekends only; 调休 unknown)
    deadline_provisional: bool = False
    #: the moment ``deadline_state`` was judged at (``now`` of :meth:`of`):
    #: for a past version, the time that version stood
    state_at: datetime | None = None
    # -- sign-for (签收), first contact (先行联系), return (退单), 定责 and
    # supervision levels (docs/hotline.md): the current dispatch's limits
    # and when they were met; how often it was returned; the levels given.
    sign_by: datetime | None = None
    signed_at: datetime | None = None
    contact_by: datetime | None = None
    contacted_at: datetime | None = None
    return_by: datetime | None = None
    returns: int = 0
    final_assignment: bool = False
    escalation_levels: tuple[str, ...] = ()
    #: until when the call-back (回访) is due: the running clock's deadline in
    #: the stage that takes ``callback`` (counted from ``resolve``)
    callback_due: datetime | None = None
    #: The request type (诉求类型: consultation, help, complaint, report,
    #: suggestion, praise) and urgency (normal, urgent, emergency), with their
    #: labels; whether it was filed anonymously, and whether its call-back
    #: was recorded as impossible (an anonymous petitioner cannot be called).
    type: str = "complaint"
    urgency: str = "normal"
    type_label: Label = REQUEST_TYPE_LABELS["complaint"]
    urgency_label: Label = URGENCY_LABELS["normal"]
    anonymous: bool = False
    callback_impossible: bool = False

    @property
    def petitioner(self) -> PetitionerView:
        """The petitioner as the viewer may see them: masked, erased or withheld."""
        found = self._petitioner
        if not isinstance(found, PetitionerView):
            found = found()
            object.__setattr__(self, "_petitioner", found)  # rendered once
        return found

    @property
    def related(self) -> tuple[RelatedCase, ...]:
        """The same caller's other open cases (by phone or ID number); in a view
        from ``PetitionService.get``, looked up in the caller index when first
        read (then kept), not before."""
        found = self._related
        if callable(found):
            found = found()
            object.__setattr__(self, "_related", found)  # looked up once
        return found

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, PetitionView)
        return (self.petitioner == other.petitioner and self.related == other.related
                and self._compared() == other._compared())

    def __hash__(self) -> int:
        return hash((self.petitioner, self.related, self._compared()))

    def __getstate__(self) -> dict[str, Any]:
        # Pickled (e.g. to another process) with the petitioner rendered and
        # the related cases looked up.
        self.petitioner  # noqa: B018 - renders and keeps them
        self.related  # noqa: B018 - looks them up and keeps them
        return {a.name: getattr(self, a.name) for a in fields(PetitionView)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, a.name) for a in fields(PetitionView)
                     if a.name not in ("_petitioner", "_related", "state_at"))

    @classmethod
    def of(cls, p: Petition, wf: Workflow,
           petitioner: PetitionerView | Callable[[], PetitionerView] | None = None,
           now: datetime | None = None, *, number: str | None = None,
           related: tuple[RelatedCase, ...] | Callable[[], tuple[RelatedCase, ...]] = (),
           ) -> PetitionView:
        """The view of ``p``; ``petitioner`` as rendered for the viewer (by
        ``PetitionService``; or a function rendering them when first read),
        else withheld: the aggregate holds sealed text only.  ``number``: its
        work-order number; ``related``: the same caller's other open cases (or
        a function looking them up when first read)."""
        return cls(*_values(p, wf, petitioner, now, number, related))

    @classmethod
    def of_saved(cls, p: Petition, wf: Workflow,
                 petitioner: PetitionerView | Callable[[], PetitionerView] | None,
                 now: datetime, *, number: str | None) -> PetitionView:
        """The view :meth:`of` would make now, its fields but ``id`` and
        ``version`` worked out from ``p`` when one is first read (a command's
        result, which its caller often does not read).  ``p`` must never change
        afterwards: the state a command saved, which the store keeps only to
        read (and copies for the next command)."""
        view = object.__new__(cls)
        _SET_ID(view, p.id)
        _SET_VERSION(view, p.version)
        _SET_SOURCE(view, (p, wf, petitioner, now, number))
        return view

    if not TYPE_CHECKING:  # to mypy, a misspelt field stays an error
        def __getattr__(self, name: str) -> Any:
            # Only a slot not yet set gets here: in a view from of_saved, the
            # fields are then worked out, all at once.
            try:
                source = _GET_SOURCE(self)
            except AttributeError:
                source = None
            if source is None or name not in _FIELD_NAMES:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}")
            p, wf, petitioner, now, number = source
            for setter, value in zip(_SETTERS, _values(p, wf, petitioner, now, number, ()),
                                     strict=True):
                setter(self, value)
            _SET_SOURCE(self, None)  # what it was made from is not needed any more
            return object.__getattribute__(self, name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: UUIDs as text, times as ISO 8601 (UTC)."""
        out: dict[str, Any] = {}
        for a in fields(PetitionView):
            if a.name == "_petitioner":
                out["petitioner"] = self.petitioner.to_dict()
            elif a.name == "_related":
                out["related"] = to_plain(self.related)
            elif a.name == "state_at":
                continue  # when it was looked at, not part of the petition
            else:
                out[a.name] = to_plain(getattr(self, a.name))
        out["workflow"] = {"name": self.workflow.name, "version": self.workflow.version,
                           "sha256": self.workflow.sha256}
        found = due_date(self.deadline)
        out["due_date"] = found.isoformat() if found else None
        return out



#: How a view's slots are read and set without a look-up by name (see
#: :meth:`PetitionView.of_saved`).
_FIELD_NAMES = frozenset(f.name for f in fields(PetitionView))
_SETTERS = tuple(PetitionView.__dict__[f.name].__set__ for f in fields(PetitionView))
_SET_ID = PetitionView.__dict__["id"].__set__
_SET_VERSION = PetitionView.__dict__["version"].__set__
_SET_SOURCE = PetitionView.__dict__["_source"].__set__
_GET_SOURCE = PetitionView.__dict__["_source"].__get__


def _values(p: Petition, wf: Workflow,
            petitioner: PetitionerView | Callable[[], PetitionerView] | None,
            now: datetime | None, number: str | None,
            related: tuple[RelatedCase, ...] | Callable[[], tuple[RelatedCase, ...]],
            ) -> tuple[Any, ...]:
    """The fields of ``p``'s view, in the order :class:`PetitionView` declares
    them (passed by position: matching seventy keywords costs more than making
    the view; ``tests/test_view_values.py`` checks each against its name)."""
    rejection = p.rejection
    stage = wf.stages[p.stage]
    rating = wf.rating(p.last_rating) if p.last_rating else None
    plan = wf.plans.get(p.plan) if p.plan else None
    steps = {s.code: s.label for s in plan.steps} if plan is not None else {}
    clocked = p.clock_stage is not None
    request_type = getattr(p, "request_type", "complaint")
    urgency = getattr(p, "urgency", "normal")
    return (
        p.id,  # id
        p.version,  # version
        p.workflow,  # workflow
        p.stage,  # stage
        "closed" if stage.terminal else "open",  # status
        p.outcome,  # outcome
        p.title,  # title
        p.description,  # description
        p.category,  # category
        p.channel,  # channel
        p.matter_type,  # matter_type
        (petitioner if petitioner is not None  # petitioner
         else PetitionerView.withheld(p.petitioner.kind)),
        p.location,  # location
        p.lead_unit,  # lead_unit
        p.assignee,  # assignee
        tuple(p.co_units),  # co_units
        p.mediator,  # mediator
        p.apprentice,  # apprentice
        tuple(p.parties),  # parties
        p.mediation_state,  # mediation_state
        p.agreement,  # agreement
        p.sessions,  # sessions
        p.plan,  # plan
        tuple(p.plan_steps_done),  # plan_steps_done
        p.actions,  # actions
        p.reply_outcome,  # reply_outcome
        p.reply_text,  # reply_text
        p.last_contacted,  # last_contacted
        p.last_resolved,  # last_resolved
        p.last_rating,  # last_rating
        p.reopen_count,  # reopen_count
        p.escalations,  # escalations
        p.extension_days,  # extension_days
        p.notes,  # notes
        rejection[0] if rejection else None,  # rejection_reason
        rejection[1] if rejection else None,  # referral
        p.duplicate_of,  # duplicate_of
        p.campaign_id,  # campaign_id
        p.idempotency_key,  # idempotency_key
        p.filed_at,  # filed_at
        p.last_occurred_at,  # updated_at
        p.modified_on,  # recorded_at
        _commands_in(wf, p.stage),  # allowed_commands
        wf.title,  # workflow_title
        stage.label,  # stage_label
        rating.label if rating is not None else None,  # rating_label
        (REPLY_OUTCOME_LABELS.get(p.reply_outcome)  # reply_outcome_label
         if p.reply_outcome else None),
        plan.label if plan is not None else None,  # plan_label
        tuple(steps.get(code, Label(zh=code, en=code))  # plan_step_labels
              for code in p.plan_steps_done),
        p.clock_deadline if clocked else None,  # deadline
        p.deadline_state(now),  # deadline_state
        p.clock_stage,  # clock_stage
        p.clock_note if clocked else "",  # calendar_note
        getattr(p, "reminders", 0),  # reminders
        bool(getattr(p, "excluded", False)),  # excluded
        number,  # number
        related,  # related
        clocked and is_provisional(p.clock_note),  # deadline_provisional
        now,  # state_at
        p.sign_by,  # sign_by
        p.signed_at,  # signed_at
        p.contact_by,  # contact_by
        p.contacted_at,  # contacted_at
        p.return_by,  # return_by
        p.returns,  # returns
        bool(p.final_assignment),  # final_assignment
        tuple(p.escalation_levels),  # escalation_levels
        (p.clock_deadline if clocked and p.clock_stage == p.stage  # callback_due
         and not stage.terminal and "callback" in stage.transitions else None),
        request_type,  # type
        urgency,  # urgency
        REQUEST_TYPE_LABELS.get(request_type, REQUEST_TYPE_LABELS["complaint"]),  # type_label
        URGENCY_LABELS.get(urgency, URGENCY_LABELS["normal"]),  # urgency_label
        bool(getattr(p, "anonymous", False)),  # anonymous
        bool(getattr(p, "callback_impossible", False)),  # callback_impossible
    )

@frozen
class EventView:
    """One event of a petition's history, in plain terms.

    From :meth:`PetitionService.history` it also carries the event told in
    words (``text_zh``, ``text_en``), what it changed in the petition
    (``changes``: ``{"field", "before", "after"}`` each) and its place in the
    hash chain (``hash``, ``prev_hash``; see docs/audit.md).
    """

    version: int
    type: str
    actor: str
    role: str
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]
    text_zh: str = ""
    text_en: str = ""
    changes: tuple[dict[str, Any], ...] = ()
    hash: str = ""
    prev_hash: str = ""

    def text(self, lang: str = "zh") -> str:
        """The event in words, in ``lang`` (``zh`` or ``en``)."""
        return self.text_en if lang.startswith("en") else self.text_zh

    @classmethod
    def of(cls, event: Petition.Event) -> EventView:
        data = {k: to_plain(v) for k, v in event.__dict__.items() if k not in _BASE_FIELDS}
        return cls(
            version=event.originator_version,
            type=type(event).__name__,
            actor=event.actor.id,
            role=event.actor.role,
            occurred_at=event.occurred_at,
            recorded_at=event.timestamp,
            data=data,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_plain(self)
        return out
