"""The in-memory form of a workflow definition: frozen values
(:func:`workflows.records.frozen`, which makes what ``attrs.frozen`` makes
without compiling code at import).

These classes hold no behaviour beyond answering questions about the
definition ("which commands may follow in this stage?", "may this role issue
that command?").  They are built by :mod:`workflows.loader`, which validates
the whole definition first, so every instance here is consistent.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.records import field, frozen
from workflows.vocabulary import STAY


@frozen
class Label:
    """A text shown to people, in Chinese and English."""

    zh: str
    en: str

    def in_lang(self, lang: str) -> str:
        """The label in ``lang`` (``"zh"`` or ``"en"``), Chinese by default."""
        return self.en if lang.startswith("en") else self.zh


@frozen
class TimeLimit:
    """How long a stage may take, counted from a named command."""

    amount: int
    unit: str  # one of vocabulary.LIMIT_UNITS
    start: str  # the command whose event starts the clock, e.g. "accept"
    warn_at: float = 0.8
    escalate_on_breach: bool = False


@frozen
class PlanStep:
    """One step of an ordered plan, e.g. 组织宣传 in the six-step method."""

    code: str
    label: Label


@frozen
class Plan:
    """An ordered list of steps that must be completed one after another."""

    name: str
    label: Label
    steps: tuple[PlanStep, ...]

    def step_codes(self) -> tuple[str, ...]:
        return tuple(step.code for step in self.steps)


@frozen
class Stage:
    """A stage of the workflow and the commands that may be issued in it."""

    name: str
    label: Label
    terminal: bool
    #: command -> allowed target stages (several when the command chooses one)
    transitions: Mapping[str, tuple[str, ...]]
    limit: TimeLimit | None = None


@frozen
class ReviewRule:
    """Review (复查) and re-review (复核) of a written reply (信访工作条例 2022).

    ``request_within_days``: a review may be requested within this many days
    of the delivery (送达) of the written reply (of the reply itself when no
    delivery is recorded), until 24:00 of the last day, moved to the next
    working day when that day is not worked; ``rereview_request_within_days``:
    a re-review, likewise, after delivery of the review's answer.  ``refuse_repeat_after_rereview``:
    once the re-review is answered, a new filing by the same petitioner with
    the same facts and reasons is refused.
    """

    request_within_days: int
    rereview_request_within_days: int
    refuse_repeat_after_rereview: bool = True
    #: the matter types that may be reviewed (all if empty), e.g. claims only
    matter_types: tuple[str, ...] = ()
    #: the review is answered by a unit other than (above) the lead unit, and
    #: the re-review by one other than both: answers name their ``unit``
    reviewer_above_lead_unit: bool = False


@frozen
class SignFor:
    """Sign-for (签收) and return (退单) of a dispatched order (``[sign_for]``).

    Each limit counts from the dispatch (``assign``): the assigned unit signs
    for the order within ``sign_within`` and makes first contact with the
    petitioner (先行联系) within ``contact_within`` — late ones are recorded
    as late, and count against the response rate — and may return a misrouted
    order within ``return_within`` (refused after it).  After ``return_limit``
    returns the unit can no longer return it: a supervisor assigns it with
    ``assign --final`` (定责).
    """

    sign_within: TimeLimit | None
    return_within: TimeLimit | None
    contact_within: TimeLimit | None
    return_limit: int = 2
    #: Limits of a petition's urgency that replace the ones above
    #: (``[sign_for.urgency.<urgency>]``: urgency → limit name → limit).
    urgency_limits: Mapping[str, Mapping[str, TimeLimit]] = field(factory=dict)
    #: A transfer (转办/改派) to another unit is a new dispatch: the new unit
    #: signs for it, contacts and may return it anew, its limits counted from
    #: the transfer.  ``False``: the transfer keeps the dispatch's state.
    transfer_signs_anew: bool = False

    #: The names of the limits, as the table spells them.
    LIMITS = ("sign_within", "return_within", "contact_within")

    def limit(self, name: str, urgency: str) -> TimeLimit | None:
        """The limit ``name`` (one of :attr:`LIMITS`) for a petition of ``urgency``."""
        found = self.urgency_limits.get(urgency, {}).get(name)
        return found if found is not None else getattr(self, name)


@frozen
class Rating:
    """One point of the satisfaction scale."""

    code: str
    label: Label
    satisfied: bool


@frozen
class Workflow:
    """A validated workflow definition, identified by name, version and hash."""

    name: str
    version: int
    sha256: str
    title: Label
    initial: str
    stages: Mapping[str, Stage]
    anytime: Mapping[str, tuple[str, ...]]
    roles: Mapping[str, frozenset[str]]
    requires: Mapping[str, tuple[str, ...]]
    reopen_limit: int
    ratings: tuple[Rating, ...]
    plans: Mapping[str, Plan]
    channels_accepted_on_filing: frozenset[str]
    extension_cap_days: int | None
    source: str  # the exact text the hash was computed over
    #: review and re-review windows; ``None`` when the workflow has no review
    review: ReviewRule | None = None
    #: whether an extension's reason is also recorded as told to the petitioner
    extension_notifies_petitioner: bool = False
    #: the matter types a petition under this workflow may have (all if empty)
    matter_types: tuple[str, ...] = ()
    #: 回访 by someone independent: whoever replied to or resolved a petition
    #: may not record its call-back (``[callback] independent``; the standard
    #: workflow sets it)
    independent_callback: bool = False
    #: 首接负责: until a petition is accepted, only whoever received it (filed
    #: it, or had it handed over by ``transfer``) — or a supervisor — may act on it
    first_receiver_owns: bool = False
    #: sign-for, return and first-contact limits and the return limit
    #: (``[sign_for]``); ``None`` when dispatched orders are not signed for
    sign_for: SignFor | None = None
    #: supervision levels (督办: yellow, red card …), in order, with their
    #: labels (``[escalation.levels]``); empty: ``escalate`` takes no level
    escalation_levels: Mapping[str, Label] = field(factory=dict)
    #: Request types and urgency (``[types]``, ``[urgency]``): the type a
    #: petition filed without one has; the time limits that replace a stage's
    #: own for a type or an urgency (type or urgency → stage → limit); the
    #: types that may be filed anonymously; the types that may be answered at
    #: once and closed (即时办结, ``answer_now``).
    default_type: str = "complaint"
    type_limits: Mapping[str, Mapping[str, TimeLimit]] = field(factory=dict)
    urgency_limits: Mapping[str, Mapping[str, TimeLimit]] = field(factory=dict)
    anonymous_types: frozenset[str] = frozenset()
    answer_now_types: frozenset[str] = frozenset()

    # -- questions the engine asks -----------------------------------------
    def stage(self, name: str) -> Stage:
        return self.stages[name]

    def is_terminal(self, stage: str) -> bool:
        return self.stages[stage].terminal

    def commands_in(self, stage: str) -> tuple[str, ...]:
        """The commands allowed in ``stage``, in definition order."""
        st = self.stages[stage]
        if st.terminal:
            return ()
        names = list(st.transitions)
        names.extend(c for c in self.anytime if c not in st.transitions)
        return tuple(names)

    def targets(self, stage: str, command: str) -> tuple[str, ...] | None:
        """Where ``command`` may lead from ``stage``; ``None`` if not allowed.

        ``STAY`` is resolved to ``stage`` itself.
        """
        st = self.stages[stage]
        if st.terminal:
            return None
        found = st.transitions.get(command)
        if found is None:
            found = self.anytime.get(command)
        if found is None:
            return None
        return tuple(stage if t == STAY else t for t in found)

    def limit_for(self, stage: str, request_type: str = "complaint",
                  urgency: str = "normal") -> TimeLimit | None:
        """The time limit of ``stage`` for a petition of ``request_type`` and
        ``urgency``: the urgency's when ``[urgency]`` sets one for the stage,
        else the type's (``[types]``), else the stage's own."""
        found = self.urgency_limits.get(urgency, {}).get(stage)
        if found is None:
            found = self.type_limits.get(request_type, {}).get(stage)
        return found if found is not None else self.stages[stage].limit

    def may(self, role: str, command: str) -> bool:
        return role in self.roles.get(command, frozenset())

    def roles_for(self, command: str) -> tuple[str, ...]:
        return tuple(sorted(self.roles.get(command, frozenset())))

    def rating(self, code: str) -> Rating | None:
        for rating in self.ratings:
            if rating.code == code:
                return rating
        return None

    @property
    def ref(self) -> tuple[str, int, str]:
        return (self.name, self.version, self.sha256)
