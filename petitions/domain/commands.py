"""Handling commands as values: one frozen value class per command.

The classes are made by :func:`workflows.records.frozen`: to the type checker
(and to ``attrs.fields``, ``attrs.has``, ``attrs.evolve``) they are frozen
``attrs`` classes with validated fields; at run time they are made without
compiling code, so that a command line that runs one command does not pay
for defining all of them (docs/benchmarks.md, "Start-up").  A plugin's
command may be a plain ``attrs.frozen`` subclass of :class:`Command`.

A command says what someone asks to be done to a petition, with its
arguments checked for type on construction.  Whether it may be done — the
petition's stage, the actor's role, the facts it requires — is decided by
:meth:`Command.decide`, against the petition and the workflow version it was
filed under, which the application passes in (see
:meth:`petitions.core.Store.execute`); a command that may be done triggers
its event on the petition.

``COMMANDS`` maps each command's workflow vocabulary name to its class; it is
the table the application, the CLI and (later) the HTTP API are built from.
Class metadata: ``name`` (the vocabulary name), ``cli`` (the command line
path), ``help`` (English, marked for the catalogs) and ``method`` (the
``PetitionService`` method).  Field metadata: ``help``, ``kind`` (``text``,
``texts``, ``time``, ``int``, ``id``, ``bool``), and where they apply
``option`` (the CLI spelling when it is not ``--field-name``), ``flag`` (a
bool's ``--on/--off`` form) and ``choices`` (a workflow-dependent choice set,
see :func:`choices`).  A field without a default is required.

To add a command: write its class here (or in a plugin module) with
``@register``, its event class on the aggregate (or a subclass of
``Petition.Event``), catalog entries for its help texts, and name it in a
workflow definition.  Nothing in the service or the CLI changes
(docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from petitions.domain.values import (
    DELIVERY_METHODS,
    REPLY_OUTCOME_LABELS,
    REPLY_OUTCOMES,
    REVIEW_OUTCOMES,
    Actor,
    MediationSession,
)
from petitions.errors import CallbackNotIndependent, InvalidInput, PetitionNotFound, checked_text
from petitions.i18n import N_
from petitions.taxonomy import Term
from workflows import Label, Workflow, vocabulary
from workflows.records import NOTHING, asdict, field, frozen

if TYPE_CHECKING:
    from attrs import Attribute

    # The table is read without the aggregates (help pages list it): they are
    # imported where a command is decided.
    from eventsourcing.domain import Aggregate

    from petitions.domain.petition import Petition

C = TypeVar("C", bound="type[Command]")


# ------------------------------------------------------------- choices
#: One value a choice may take: its code, and its label in both languages
#: (``code``, ``label``, ``label_zh``, ``label_en``, ``in_lang(lang)``).
Choice = Term


#: Labels of the review opinions (the reply outcomes' are with their codes in
#: :mod:`petitions.domain.values`); the codes are the domain's, the same in
#: every workflow.
REVIEW_OUTCOME_LABELS: Mapping[str, Label] = {
    "uphold": Label(zh="维持", en="uphold"),
    "revise": Label(zh="变更", en="revise"),
}

#: The names :func:`choices` knows.
#: How a written answer is delivered (送达).
DELIVERY_METHOD_LABELS: Mapping[str, Label] = {
    "post": Label(zh="邮寄", en="post"),
    "in_person": Label(zh="直接送达", en="in person"),
    "electronic": Label(zh="电子送达", en="electronic"),
    "sms": Label(zh="短信", en="SMS"),
}

CHOICE_KINDS = ("ratings", "reopen_targets", "reply_outcomes", "review_outcomes",
                "delivery_methods",
                "plans", "plan_steps",
                "escalation_levels")


def _choice(code: str, label: Label) -> Choice:
    return Choice(code=code, label=label)


def choices(wf: Workflow, stage: str, kind: str) -> tuple[Choice, ...]:
    """The values of the choice set ``kind`` under ``wf`` in ``stage``.

    ``reopen_targets`` are the stages ``reopen`` may lead to from ``stage``
    (every stage it may lead to anywhere in ``wf`` when it is not allowed in
    ``stage``, so that the petition, not the choice, says why not).
    """
    if kind == "ratings":
        return tuple(_choice(r.code, r.label) for r in wf.ratings)
    if kind == "reopen_targets":
        targets: list[str] = []
        found = wf.targets(stage, "reopen") if stage in wf.stages else None
        if found is None:
            for name in wf.stages:
                for target in wf.targets(name, "reopen") or ():
                    if target not in targets:
                        targets.append(target)
        else:
            targets = list(found)
        return tuple(_choice(t, wf.stage(t).label) for t in targets)
    if kind == "reply_outcomes":
        return tuple(_choice(c, REPLY_OUTCOME_LABELS[c]) for c in REPLY_OUTCOMES)
    if kind == "delivery_methods":
        return tuple(_choice(c, DELIVERY_METHOD_LABELS[c]) for c in DELIVERY_METHODS)
    if kind == "review_outcomes":
        return tuple(_choice(c, REVIEW_OUTCOME_LABELS[c]) for c in REVIEW_OUTCOMES)
    if kind == "escalation_levels":
        return tuple(_choice(code, label) for code, label in wf.escalation_levels.items())
    if kind == "plans":
        return tuple(_choice(name, plan.label) for name, plan in wf.plans.items())
    if kind == "plan_steps":
        steps: dict[str, Choice] = {}
        for plan in wf.plans.values():
            for step in plan.steps:
                steps.setdefault(step.code, _choice(step.code, step.label))
        return tuple(steps.values())
    raise InvalidInput("kind", f"must be one of {', '.join(CHOICE_KINDS)}",
                       kind="unknown_code", value=kind, valid=", ".join(CHOICE_KINDS))


# ----------------------------------------------------------- validators
#: The longest text a command takes (a note, a reply, a reason).
MAX_COMMAND_TEXT = 10_000


def _text(inst: Any, a: Attribute[Any], value: Any) -> None:
    checked_text(a.name, value, MAX_COMMAND_TEXT)


def _optional_text(inst: Any, a: Attribute[Any], value: Any) -> None:
    if value is not None:
        _text(inst, a, value)


def _texts(inst: Any, a: Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(a.name, "must be a list of texts")
    for item in value:
        checked_text(a.name, item, MAX_COMMAND_TEXT)


def _bool(inst: Any, a: Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(a.name, "must be true or false")


def _int(inst: Any, a: Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(a.name, "must be a whole number")


def _optional_time(inst: Any, a: Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, datetime):
        raise InvalidInput(a.name, "must be a date and time with a time zone",
                           kind="naive_time")


def _to_tuple(value: Any) -> Any:
    if isinstance(value, (list, set, frozenset)):
        return tuple(value)
    if isinstance(value, str):
        return (value,) if value else ()
    return value


def _code(value: Any) -> Any:
    """A choice value: ``-`` and ``_`` alike (``not-support`` is ``not_support``)."""
    return value.replace("-", "_") if isinstance(value, str) else value


def _petition_id(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput("original_id", f"{value!r} is not a petition id",
                           kind="bad_id") from None


def text_field(help: str, *, default: Any = NOTHING, option: str | None = None,
         choices: str | None = None, optional: bool = False) -> Any:
    """A text field (``optional``: it may be ``None``)."""
    meta: dict[str, Any] = {"help": help, "kind": "text", "choices": choices}
    if option:
        meta["option"] = option
    return field(default=default, metadata=meta,
                       converter=_code if choices in _CODE_CHOICES else None,
                       validator=_optional_text if optional else _text)


def texts_field(help: str, *, option: str, default: Any = NOTHING) -> Any:
    """A repeatable text field, kept as a tuple."""
    return field(default=default, converter=_to_tuple, validator=_texts,
                       metadata={"help": help, "kind": "texts", "option": option,
                                 "choices": None})


def flag_field(help: str, *, flag: str, default: Any = NOTHING) -> Any:
    return field(default=default, validator=_bool,
                       metadata={"help": help, "kind": "bool", "flag": flag, "choices": None})


def int_field(help: str) -> Any:
    return field(validator=_int, metadata={"help": help, "kind": "int", "choices": None})


def time_field(help: str, *, option: str) -> Any:
    return field(default=None, validator=_optional_time,
                       metadata={"help": help, "kind": "time", "option": option,
                                 "choices": None})


#: Choice sets whose codes are written with ``_`` and accepted with ``-``.
_CODE_CHOICES = frozenset({"ratings", "reply_outcomes", "review_outcomes",
                           "delivery_methods"})

_WHY = N_("Why (kept in the history).")
#: Why a second exclusion (核减) is refused (translated: petitions.i18n).
ALREADY_EXCLUDED = N_("the petition is already excluded from the rates")
_NOTE = N_("A note kept with the event.")
_TEXT = N_("The text (kept in the history).")


# --------------------------------------------------------------- base
@frozen
class Context:
    """What a command is decided with: the petition's pinned workflow, who
    issues it and when (UTC, already checked), a check for other times the
    command carries (not in the future; with a time zone), and a read of
    another aggregate (``None`` when there is none with that id)."""

    workflow: Workflow
    actor: Actor
    at: datetime
    check_time: Callable[[datetime], datetime]
    find: Callable[[UUID], Aggregate | None]
    #: gives the store's calendar for limits a command counts itself (the
    #: sign-for limits of ``assign``), only when asked (the calendar is costly
    #: to load); ``None``: the official calendar
    timekeeper: Callable[[], Any] | None = None


@frozen
class Command:
    """A handling command on an existing petition (abstract)."""

    #: The workflow vocabulary name ("reopen", "open_mediation", …).
    name: ClassVar[str]
    #: The command line path, e.g. ``("mediation", "open")``.
    cli: ClassVar[tuple[str, ...]]
    #: English help text, marked for the catalogs.
    help: ClassVar[str]
    #: The ``PetitionService`` method that issues it; empty for a command
    #: that is run through ``PetitionService.execute`` only (a plugin's).
    method: ClassVar[str] = ""

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        """Check the command against ``petition`` under ``ctx.workflow`` and
        trigger its event(s) on it; return other aggregates to save with it."""
        raise NotImplementedError

    def arguments(self) -> dict[str, Any]:
        """The fields, by name (the keyword arguments of its service method)."""
        return asdict(self, recurse=False)


#: Command name → class, for every command a workflow may name.
COMMANDS: dict[str, type[Command]] = {}

#: CLI groups of handling commands and their help texts.
GROUPS: Mapping[str, str] = {
    "mediation": N_("Mediation: open, record a session, agree, fail."),
    "review": N_("Review (复查) of a written reply: request, answer."),
    "rereview": N_("Re-review (复核) of a review opinion: request, answer."),
    "plan": N_("Ordered plans (e.g. the six-step method)."),
}


def register(cls: C, *, in_place: bool | None = None) -> C:
    """Add ``cls`` to :data:`COMMANDS` under ``cls.name``, and its name to the
    workflow vocabulary when it is new (``in_place``: it never moves the
    petition, so a definition may only lead it to ``stay``)."""
    existing = COMMANDS.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"command {cls.name!r} is already registered as "
                         f"{existing.__qualname__}")
    if cls.name not in vocabulary.commands():
        vocabulary.add_command(cls.name, in_place=bool(in_place))
    COMMANDS[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a command added with :func:`register` (tests, plugins)."""
    COMMANDS.pop(name, None)
    vocabulary.remove_command(name)


def command_for(name: str) -> type[Command]:
    found = COMMANDS.get(name)
    if found is None:
        raise InvalidInput("command", f"unknown command {name!r}", kind="unknown_code",
                           value=name, valid=", ".join(sorted(COMMANDS)))
    return found


# ------------------------------------------------------------ intake
@register
@frozen
class Accept(Command):
    name = "accept"
    cli = ("accept",)
    help = N_("Accept the appeal for handling (受理).")
    method = "accept"

    note: str = text_field(_NOTE, default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.accept(ctx.workflow, ctx.actor, ctx.at, self.note)
        return ()


@register
@frozen
class Reject(Command):
    name = "reject"
    cli = ("reject",)
    help = N_("Refuse the appeal, saying why and where to go instead.")
    method = "reject"

    reason: str = text_field(_WHY)
    referral: str = text_field(N_("Where the petitioner should go instead."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.reject(ctx.workflow, ctx.actor, ctx.at, self.reason, self.referral)
        return ()


@register
@frozen
class Duplicate(Command):
    name = "duplicate"
    cli = ("duplicate",)
    help = N_("Close the petition as a duplicate of another.")
    method = "duplicate"

    original_id: UUID = field(
        converter=_petition_id,
        metadata={"help": N_("The petition this one duplicates."), "kind": "id",
                  "option": "--original", "choices": None})
    note: str = text_field(_NOTE, default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain.petition import Petition

        if not isinstance(ctx.find(self.original_id), Petition):
            raise PetitionNotFound(self.original_id)
        petition.mark_duplicate(ctx.workflow, ctx.actor, ctx.at, self.original_id, self.note)
        return ()


@register
@frozen
class Withdraw(Command):
    name = "withdraw"
    cli = ("withdraw",)
    help = N_("The petitioner withdraws the appeal.")
    method = "withdraw"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.withdraw(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


# ---------------------------------------------------------- dispatch
@register
@frozen
class Assign(Command):
    name = "assign"
    cli = ("assign",)
    help = N_("Dispatch to a lead unit and a responsible person.")
    method = "assign"

    unit: str = text_field(N_("The lead unit."))
    person: str = text_field(N_("The person responsible."))
    co_units: tuple[str, ...] = texts_field(N_("A co-handling unit (repeatable)."),
                                      option="--co-unit", default=())
    note: str = text_field(_NOTE, default="")
    final: bool = flag_field(
        N_("Name the handling unit finally (定责, a supervisor's): it can no longer be "
           "returned."), flag="--final/--not-final", default=False)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.assign(ctx.workflow, ctx.actor, ctx.at, self.unit, self.person,
                        self.co_units, self.note, final=self.final,
                        timekeeper=ctx.timekeeper)  # called only when needed
        return ()


@register
@frozen
class Transfer(Command):
    name = "transfer"
    cli = ("transfer",)
    help = N_("Hand the petition to another unit or person.")
    method = "transfer"

    unit: str = text_field(N_("The handling unit."))
    person: str = text_field(N_("The responsible person."))
    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.transfer(ctx.workflow, ctx.actor, ctx.at, self.unit, self.person,
                          self.reason, timekeeper=ctx.timekeeper)  # called only when needed
        return ()


@register
@frozen
class Dispute(Command):
    name = "dispute"
    cli = ("dispute",)
    help = N_("The assigned unit disputes the dispatch.")
    method = "dispute"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.dispute(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


# --------------------------------------------------------- mediation
@register
@frozen
class OpenMediation(Command):
    name = "open_mediation"
    cli = ("mediation", "open")
    help = N_("Open mediation.")
    method = "open_mediation"

    mediator: str = text_field(N_("The mediator."))
    parties: tuple[str, ...] = texts_field(N_("A party to the dispute (repeatable)."),
                                     option="--party")
    apprentice: str | None = text_field(N_("An apprentice mediator (老马带小马)."), default=None,
                                  optional=True)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.open_mediation(ctx.workflow, ctx.actor, ctx.at, self.mediator,
                                self.parties, self.apprentice)
        return ()


@register
@frozen
class RecordSession(Command):
    name = "record_session"
    cli = ("mediation", "session")
    help = N_("Record a mediation or joint-meeting session.")
    method = "record_session"

    place: str = text_field(N_("Where it took place."))
    participants: tuple[str, ...] = texts_field(N_("Someone present (repeatable)."),
                                          option="--participant")
    minutes: str = text_field(N_("Minutes of the meeting."), default="")
    held_at: datetime | None = time_field(N_("When the session was held; default --at."),
                                    option="--held-at")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        held = ctx.check_time(self.held_at) if self.held_at is not None else ctx.at
        session = MediationSession(held_at=held, place=self.place,
                                   participants=self.participants, minutes=self.minutes)
        petition.record_session(ctx.workflow, ctx.actor, ctx.at, session)
        return ()


@register
@frozen
class Agree(Command):
    name = "agree"
    cli = ("mediation", "agree")
    help = N_("Mediation reached an agreement.")
    method = "agree"

    terms: str = text_field(N_("The terms agreed."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.agree(ctx.workflow, ctx.actor, ctx.at, self.terms)
        return ()


@register
@frozen
class FailMediation(Command):
    name = "fail_mediation"
    cli = ("mediation", "fail")
    help = N_("Mediation failed.")
    method = "fail_mediation"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.fail_mediation(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


# -------------------------------------------------------- resolution
@register
@frozen
class PlanStepDone(Command):
    name = "plan_step"
    cli = ("plan", "step")
    help = N_("Record the next step of a plan as completed.")
    method = "plan_step"

    plan: str = text_field(N_("The plan's name in the workflow."), option="--plan", choices="plans")
    step: str = text_field(N_("The step's code in the plan."), choices="plan_steps")
    evidence: str = text_field(N_("What shows the step is done."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        plans = ctx.workflow.plans
        plan = self.plan if self.plan in plans else _code(self.plan)  # "-" for "_"
        found = plans.get(plan)
        step = self.step
        if found is not None and step not in found.step_codes():
            step = _code(step)
        petition.plan_step(ctx.workflow, ctx.actor, ctx.at, plan, step, self.evidence)
        return ()


@register
@frozen
class Act(Command):
    name = "act"
    cli = ("act",)
    help = N_("Record an action taken.")
    method = "act"

    action: str = text_field(N_("What was done."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.act(ctx.workflow, ctx.actor, ctx.at, self.action)
        return ()


@register
@frozen
class OnSiteMeeting(Command):
    name = "on_site_meeting"
    cli = ("onsite",)
    help = N_("Record an on-site office meeting (现场办公).")
    method = "on_site_meeting"

    place: str = text_field(N_("Where it took place."))
    participants: tuple[str, ...] = texts_field(N_("Who took part (repeat for each)."),
                                          option="--participant")
    minutes: str = text_field(N_("Minutes of the meeting."), default="")
    held_at: datetime | None = time_field(N_("When it was held; default --at."), option="--held-at")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        held = ctx.check_time(self.held_at) if self.held_at is not None else ctx.at
        petition.on_site_meeting(ctx.workflow, ctx.actor, ctx.at, held, self.place,
                                 self.participants, self.minutes)
        return ()


@register
@frozen
class Reply(Command):
    name = "reply"
    cli = ("reply",)
    help = N_("Give the written reply.")
    method = "reply"

    outcome: str = text_field(N_("The outcome."), choices="reply_outcomes")
    text: str = text_field(_TEXT)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.reply(ctx.workflow, ctx.actor, ctx.at, self.outcome, self.text)
        return ()


@register
@frozen
class Resolve(Command):
    name = "resolve"
    cli = ("resolve",)
    help = N_("Mark the appeal resolved; it goes to the satisfaction review.")
    method = "resolve"

    summary: str = text_field(N_("A short summary."), default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.resolve(ctx.workflow, ctx.actor, ctx.at, self.summary)
        return ()


# ------------------------------------------------ satisfaction review
@register
@frozen
class Callback(Command):
    name = "callback"
    cli = ("callback",)
    help = N_("Record the satisfaction call-back (回访).")
    method = "callback"

    contacted: bool = flag_field(N_("Whether the petitioner was reached."),
                           flag="--contacted/--not-contacted")
    resolved: bool = flag_field(N_("Whether the petitioner says it is resolved."),
                          flag="--resolved/--unresolved")
    rating: str | None = text_field(N_("The petitioner's rating."), default=None, optional=True,
                              choices="ratings")
    comment: str = text_field(N_("What the petitioner said."), default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        if getattr(petition, "anonymous", False):
            _callback_impossible(self, petition, ctx)
            return ()
        petition.callback(ctx.workflow, ctx.actor, ctx.at, self.contacted, self.resolved,
                          self.rating, self.comment)
        return ()


def _callback_impossible(cmd: Callback, petition: Petition, ctx: Context) -> None:
    """The call-back of an anonymous petition: impossible, and recorded as such
    (refused when it claims the petitioner was reached or rated)."""
    from petitions.domain import hotline

    petition.permit(ctx.workflow, ctx.actor, "callback")
    if ctx.workflow.independent_callback and ctx.actor.id in getattr(petition, "handled_by", ()):
        raise CallbackNotIndependent(ctx.actor.id, ctx.actor.role,
                                     tuple(sorted(ctx.workflow.roles.get("callback", ()))))
    if cmd.contacted or cmd.rating is not None:
        raise InvalidInput("contacted", "the petitioner filed anonymously: a call-back is "
                           "impossible; record it with --not-contacted",
                           kind="anonymous_callback")
    petition.trigger_event(hotline.CallbackImpossible, actor=ctx.actor,
                           occurred_at=petition.checked_time(ctx.at),
                           comment=hotline.text("comment", cmd.comment, required=False))


@register
@frozen
class Reopen(Command):
    name = "reopen"
    cli = ("reopen",)
    help = N_("Reopen after an unsatisfied call-back.")
    method = "reopen"

    to: str | None = text_field(N_("The stage to reopen into."), optional=True,
                          choices="reopen_targets")
    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        to = self.to
        if to is not None and to not in ctx.workflow.stages:
            to = _code(to)  # ``-`` for ``_``, as in every choice value
        petition.reopen(ctx.workflow, ctx.actor, ctx.at, to, self.reason)
        return ()


@register
@frozen
class Close(Command):
    name = "close"
    cli = ("close",)
    help = N_("Close the petition (办结).")
    method = "close"

    note: str = text_field(_NOTE, default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.close(ctx.workflow, ctx.actor, ctx.at, self.note)
        return ()


# ------------------------------------------------- review, re-review
@register
@frozen
class RequestReview(Command):
    name = "request_review"
    cli = ("review", "request")
    help = N_("The petitioner asks for a review of the reply (within the workflow's window).")
    method = "request_review"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.request_review(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


@register
@frozen
class AnswerReview(Command):
    name = "answer_review"
    cli = ("review", "answer")
    help = N_("Give the review opinion (复查意见).")
    method = "answer_review"

    outcome: str = text_field(N_("The outcome."), choices="review_outcomes")
    text: str = text_field(_TEXT)
    unit: str | None = text_field(
        N_("The reviewing unit: one above the lead unit (required by letters and visits)."),
        default=None, optional=True)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.answer_review(ctx.workflow, ctx.actor, ctx.at, self.outcome, self.text,
                               self.unit)
        return ()


@register
@frozen
class RequestReReview(Command):
    name = "request_rereview"
    cli = ("rereview", "request")
    help = N_("The petitioner asks for a re-review of the review opinion.")
    method = "request_rereview"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.request_rereview(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


@register
@frozen
class AnswerReReview(Command):
    name = "answer_rereview"
    cli = ("rereview", "answer")
    help = N_("Give the re-review opinion (复核意见); the matter is then final.")
    method = "answer_rereview"

    outcome: str = text_field(N_("The outcome."), choices="review_outcomes")
    text: str = text_field(_TEXT)
    unit: str | None = text_field(
        N_("The re-reviewing unit: one above the unit that reviewed (required by letters "
           "and visits)."), default=None, optional=True)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        """The opinion; when the workflow says so, the matter is recorded as
        concluded, so a repeat filing of the same facts is refused."""
        wf = ctx.workflow
        petition.answer_rereview(wf, ctx.actor, ctx.at, self.outcome, self.text, self.unit)
        if wf.review is None or not wf.review.refuse_repeat_after_rereview:
            return ()
        from petitions.domain.finality import (
            ConcludedMatter,
            PetitionerMatters,
            concluded_matter_id,
            facts_key,
            normalised_facts,
            petitioner_matters_id,
        )

        key = facts_key(petition.title, petition.description)
        mid = concluded_matter_id(petition.petitioner.id, key)
        found = ctx.find(mid)
        matter: Aggregate
        if isinstance(found, ConcludedMatter):
            found.add(petition.id, ctx.actor, ctx.at)
            matter = found
        else:
            matter = ConcludedMatter.conclude(actor=ctx.actor, occurred_at=ctx.at,
                                              petitioner_id=petition.petitioner.id, key=key,
                                              petition_id=petition.id)
        # Every concluded matter of the petitioner, to flag similar filings.
        facts = normalised_facts(petition.title, petition.description)
        listed = ctx.find(petitioner_matters_id(petition.petitioner.id))
        if isinstance(listed, PetitionerMatters):
            listed.add(petition.id, facts, ctx.actor, ctx.at)
        else:
            listed = PetitionerMatters.start(actor=ctx.actor, occurred_at=ctx.at,
                                             petitioner_id=petition.petitioner.id,
                                             petition_id=petition.id, facts=facts)
        return (matter, listed)


@register
@frozen
class Deliver(Command):
    """Delivery (送达) of a written answer: the review windows count from it."""

    name = "deliver"
    cli = ("deliver",)
    help = N_("Record delivery (送达) of the latest written answer (reply, review answer or "
              "re-review answer) to the petitioner.")
    method = "deliver"

    #: How (``--method`` on the command line; ``method`` names the service
    #: method on every command, so the field is ``via``).
    via: str = text_field(N_("How it was delivered: post, in_person, electronic or sms."),
                          default="post", option="--method", choices="delivery_methods")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.deliver(ctx.workflow, ctx.actor, ctx.at, self.via)
        return ()


# ----------------------------------------------------- any time open
@register
@frozen
class Note(Command):
    name = "note"
    cli = ("note",)
    help = N_("Add a note to the record.")
    method = "note"

    text: str = text_field(_TEXT)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.note(ctx.workflow, ctx.actor, ctx.at, self.text)
        return ()


@register
@frozen
class Escalate(Command):
    name = "escalate"
    cli = ("escalate",)
    help = N_("Escalate for supervision (督办), at a level of the workflow (yellow, red card).")
    method = "escalate"

    reason: str = text_field(_WHY)
    level: str | None = text_field(N_("The supervision level (督办: yellow or red card)."),
                                   default=None, optional=True, choices="escalation_levels")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        level = self.level
        if level is not None and level not in ctx.workflow.escalation_levels:
            level = _code(level)
        petition.escalate(ctx.workflow, ctx.actor, ctx.at, self.reason, level)
        return ()


@register
@frozen
class Extend(Command):
    name = "extend"
    cli = ("extend",)
    help = N_("Extend the deadline.")
    method = "extend"

    days: int = int_field(N_("Days to add to the deadline."))
    reason: str = text_field(_WHY)
    approver: str | None = text_field(N_("Who approved it; default the actor."), default=None,
                                optional=True)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        approver = self.approver
        if approver is None and ctx.workflow.extension_notifies_petitioner:
            # Letters and visits: the extension is approved by the organ's head.
            raise InvalidInput("approver", "name who approved the extension",
                               kind="empty")
        petition.extend(ctx.workflow, ctx.actor, ctx.at, self.days,
                        approver or ctx.actor.id, self.reason)
        return ()


@register
@frozen
class Pause(Command):
    name = "pause"
    cli = ("pause",)
    help = N_("Pause the running time limit; resuming moves its deadline.")
    method = "pause"

    reason: str = text_field(N_("Why, e.g. waiting for the petitioner's materials (补正材料)."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.pause(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


@register
@frozen
class Resume(Command):
    name = "resume"
    cli = ("resume",)
    help = N_("Resume the paused time limit; the deadline moves by the time paused.")
    method = "resume"

    reason: str = text_field(_WHY, default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.resume(ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


__all__ = [
    "CHOICE_KINDS",
    "COMMANDS",
    "GROUPS",
    "Accept",
    "Act",
    "Agree",
    "AnswerNow",
    "AnswerReReview",
    "AnswerReview",
    "Assign",
    "Callback",
    "Choice",
    "Close",
    "Command",
    "Contact",
    "Context",
    "Deliver",
    "Dispute",
    "Duplicate",
    "Escalate",
    "Exclude",
    "Extend",
    "FailMediation",
    "Note",
    "OnSiteMeeting",
    "OpenMediation",
    "Pause",
    "PlanStepDone",
    "RecordSession",
    "Reject",
    "Remind",
    "Reopen",
    "Reply",
    "RequestReReview",
    "RequestReview",
    "Resolve",
    "Resume",
    "ReturnOrder",
    "Sign",
    "Transfer",
    "Withdraw",
    "choices",
    "command_for",
    "register",
    "unregister",
]


# ------------------------------------------------- hotline practice
# 催办 and 核减 (events in petitions.domain.hotline; docs/hotline.md).
@register
@frozen
class Remind(Command):
    name = "remind"
    cli = ("remind",)
    help = N_("Remind the handling unit (催办); counted per unit.")
    method = "remind"

    note: str = text_field(N_("A note kept with the event."), default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline
        from petitions.domain.hotline import text as hotline_text

        petition.permit(ctx.workflow, ctx.actor, self.name)
        petition.trigger_event(hotline.Reminded, actor=ctx.actor,
                               occurred_at=petition.checked_time(ctx.at),
                               note=hotline_text("note", self.note, required=False),
                               unit=petition.lead_unit)
        return ()


@register
@frozen
class Exclude(Command):
    name = "exclude"
    cli = ("exclude",)
    help = N_("Exclude an unreasonable demand from the rates (核减; a supervisor's, audited).")
    method = "exclude"

    reason: str = text_field(N_("Why (kept in the history)."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline
        from petitions.domain.hotline import text as hotline_text

        petition.permit(ctx.workflow, ctx.actor, self.name)
        if getattr(petition, "excluded", False):
            # A state of the petition, like "already signed for" (a writer that
            # raced another is refused the same way).
            from petitions.errors import TransitionNotAllowed

            raise TransitionNotAllowed(self.name, petition.stage,
                                       ctx.workflow.commands_in(petition.stage),
                                       reason=ALREADY_EXCLUDED)
        petition.trigger_event(hotline.Excluded, actor=ctx.actor,
                               occurred_at=petition.checked_time(ctx.at),
                               reason=hotline_text("reason", self.reason))
        return ()


# ------------------------------------------ sign-for, first contact, return
def _unit_member(petition: Petition, ctx: Context, command: str) -> None:
    """A person of the unit register acts only for their own unit's line."""
    from petitions.domain import hotline
    from petitions.domain.register import REGISTER_ID, UnitRegister

    petition.permit(ctx.workflow, ctx.actor, command)  # the role first
    register = ctx.find(REGISTER_ID)
    if isinstance(register, UnitRegister) and register.units:
        hotline.check_unit_member(petition, ctx.actor, command, register.units,
                                  register.people)


# 签收, 先行联系, 退单 (events and checks in petitions.domain.hotline;
# limits in the workflow's [sign_for]; docs/hotline.md).
@register
@frozen
class Sign(Command):
    name = "sign"
    cli = ("sign",)
    help = N_("The assigned unit signs for the dispatched order (签收), within the "
              "workflow's limit.")
    method = "sign"

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline

        _unit_member(petition, ctx, self.name)
        hotline.sign(petition, ctx.workflow, ctx.actor, ctx.at)
        return ()


@register
@frozen
class Contact(Command):
    name = "contact"
    cli = ("contact",)
    help = N_("The assigned unit records its first contact with the petitioner (先行联系).")
    method = "contact"

    note: str = text_field(_NOTE, default="")

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline

        _unit_member(petition, ctx, self.name)
        hotline.contact(petition, ctx.workflow, ctx.actor, ctx.at, self.note)
        return ()


@register
@frozen
class ReturnOrder(Command):
    name = "return"
    cli = ("return",)
    help = N_("The assigned unit returns a misrouted order (退单), with the reason; it goes "
              "back to dispatch.")
    method = "return_order"

    reason: str = text_field(_WHY)

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline

        _unit_member(petition, ctx, self.name)
        hotline.return_order(petition, ctx.workflow, ctx.actor, ctx.at, self.reason)
        return ()


# ------------------------------------------------- request types (issue 14)
@register
@frozen
class AnswerNow(Command):
    name = "answer_now"
    cli = ("answer-now",)
    help = N_("Answer a consultation at once and close it (即时办结), without dispatch.")
    method = "answer_now"

    text: str = text_field(N_("The answer given (kept in the history)."))

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        from petitions.domain import hotline

        stage = petition.permit(ctx.workflow, ctx.actor, self.name)
        request_type = getattr(petition, "request_type", "complaint")
        if request_type not in ctx.workflow.answer_now_types:
            valid = ", ".join(sorted(ctx.workflow.answer_now_types))
            raise InvalidInput("type", f"a {request_type} cannot be answered at once; "
                               f"only: {valid or 'none'}", kind="answer_now_type",
                               value=request_type, valid=valid)
        petition.trigger_event(hotline.AnsweredAtOnce, actor=ctx.actor,
                               occurred_at=petition.checked_time(ctx.at),
                               text=hotline.text("text", self.text), stage=stage)
        return ()
