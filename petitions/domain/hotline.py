"""Events of hotline practice: reminders (催办), exclusion from the rates
(核减), and sign-for (签收), first contact (先行联系) and return (退单) of a
dispatched order.

Their commands (``Remind``, ``Exclude``, ``Sign``, ``Contact``, ``Return``) are in the command table
(:mod:`petitions.domain.commands`); which workflow allows them, in which
stages and for which roles, is workflow data (``remind`` and ``exclude`` in
``[anytime]`` and ``[roles]``).

Event classes are stored history: never rename or move one without
registering its old topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from petitions.domain.petition import RETURN_LIMIT_REACHED, Petition
from petitions.domain.values import Actor
from petitions.errors import InvalidInput, NotOfAssignedUnit, TransitionNotAllowed
from petitions.i18n import N_
from workflows import Workflow


def text(field: str, value: str, *, required: bool = True, max_len: int = 10_000) -> str:
    """``value`` stripped; refused when not text, empty (if ``required``) or too long."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    value = value.strip()
    if required and not value:
        raise InvalidInput(field, "must not be empty", kind="empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"is longer than {max_len} characters", kind="too_long")
    return value


class Reminded(Petition.Event):
    """The dispatcher or a supervisor reminded the handling unit (催办)."""

    note: str
    unit: str | None

    def evolve(self, petition: Petition) -> None:
        petition.reminders = getattr(petition, "reminders", 0) + 1


class Excluded(Petition.Event):
    """A supervisor excluded the petition from the rates as an unreasonable
    demand (核减), with the reason; it stays in every other count."""

    reason: str

    def evolve(self, petition: Petition) -> None:
        petition.excluded = True
        petition.exclusion_reason = self.reason




# ------------------------------------------------ sign-for and return
# 签收, 退单 and 先行联系 of a dispatched order, under a workflow with
# ``[sign_for]`` (docs/hotline.md).  The limits were recorded with the
# dispatch (``Petition.Assigned``: ``sign_by``, ``return_by``, ``contact_by``).

#: Refusal reasons (translated through the catalogs: petitions.i18n).
NOT_DISPATCHED = N_("the order is not dispatched to a unit")
ALREADY_SIGNED = N_("the order is already signed for")
ALREADY_CONTACTED = N_("first contact is already recorded")
SIGNED_NOT_RETURNED = N_("the order is signed for: it can no longer be returned")
FINAL_NOT_RETURNED = N_("the handling unit was named (定责): it can no longer be returned")
RETURN_WINDOW_PASSED = N_("the time to return it has passed: the unit handles it")


class Signed(Petition.Event):
    """The assigned unit signed for the dispatched order (签收); ``in_time``:
    by its ``deadline`` (``None``: the workflow sets none)."""

    unit: str
    deadline: datetime | None
    in_time: bool

    def evolve(self, petition: Petition) -> None:
        petition.signed_at = self.occurred_at


class Contacted(Petition.Event):
    """The assigned unit made first contact with the petitioner (先行联系);
    ``in_time``: by its ``deadline`` (``None``: the workflow sets none)."""

    unit: str
    note: str
    deadline: datetime | None
    in_time: bool

    def evolve(self, petition: Petition) -> None:
        petition.contacted_at = self.occurred_at


class Returned(Petition.Event):
    """The assigned unit returned a misrouted order (退单), with the reason;
    it goes back to dispatch.  ``returns``: how many times it has been
    returned, this one included."""

    unit: str
    reason: str
    returns: int
    stage: str

    def evolve(self, petition: Petition) -> None:
        petition.returns = self.returns
        petition.lead_unit = None
        petition.assignee = None
        petition.co_units = []
        petition.sign_by = petition.return_by = petition.contact_by = None
        petition.signed_at = petition.contacted_at = None


def _refuse(petition: Petition, wf: Workflow, command: str, reason: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(command, petition.stage, wf.commands_in(petition.stage),
                                reason=reason)


def sign(petition: Petition, wf: Workflow, actor: Actor, at: datetime) -> None:
    """签收: once per dispatch, by the roles the workflow gives ``sign``."""
    petition.permit(wf, actor, "sign")
    if petition.lead_unit is None:
        raise _refuse(petition, wf, "sign", NOT_DISPATCHED)
    if petition.signed_at is not None:
        raise _refuse(petition, wf, "sign", ALREADY_SIGNED)
    at = petition.checked_time(at)
    deadline = petition.sign_by
    petition.trigger_event(Signed, actor=actor, occurred_at=at, unit=petition.lead_unit,
                           deadline=deadline, in_time=deadline is None or at <= deadline)


def contact(petition: Petition, wf: Workflow, actor: Actor, at: datetime, note: str) -> None:
    """先行联系: the first contact with the petitioner since the dispatch."""
    petition.permit(wf, actor, "contact")
    if petition.lead_unit is None:
        raise _refuse(petition, wf, "contact", NOT_DISPATCHED)
    if petition.contacted_at is not None:
        raise _refuse(petition, wf, "contact", ALREADY_CONTACTED)
    at = petition.checked_time(at)
    deadline = petition.contact_by
    petition.trigger_event(Contacted, actor=actor, occurred_at=at, unit=petition.lead_unit,
                           note=text("note", note, required=False), deadline=deadline,
                           in_time=deadline is None or at <= deadline)


def return_order(petition: Petition, wf: Workflow, actor: Actor, at: datetime,
                 reason: str) -> None:
    """退单: a misrouted order goes back to dispatch, before it is signed for,
    within the workflow's ``return_within`` and at most ``return_limit`` times;
    never once a supervisor named the unit (定责)."""
    stage = petition.permit(wf, actor, "return")
    rule = wf.sign_for
    if petition.lead_unit is None:
        raise _refuse(petition, wf, "return", NOT_DISPATCHED)
    if petition.final_assignment:
        raise _refuse(petition, wf, "return", FINAL_NOT_RETURNED)
    if petition.signed_at is not None:
        raise _refuse(petition, wf, "return", SIGNED_NOT_RETURNED)
    if rule is not None and petition.returns >= rule.return_limit:
        raise _refuse(petition, wf, "return", RETURN_LIMIT_REACHED)
    at = petition.checked_time(at)
    if petition.return_by is not None and at > petition.return_by:
        raise _refuse(petition, wf, "return", RETURN_WINDOW_PASSED)
    petition.trigger_event(Returned, actor=actor, occurred_at=at, unit=petition.lead_unit,
                           reason=text("reason", reason), returns=petition.returns + 1,
                           stage=stage)


def check_unit_member(petition: Petition, actor: Actor, command: str,
                      units: Sequence[Mapping[str, Any]],
                      people: Sequence[Mapping[str, Any]]) -> None:
    """With a unit register (its ``units`` and ``people`` as loaded): a person
    it lists may sign for, contact or return an order only when their unit is
    the assigned unit or on its line (above or below it).  Actors the register
    does not list, and units it does not know, are left to the workflow's roles."""
    lead = petition.lead_unit
    person = next((p for p in people if p.get("id") == actor.id), None)
    if lead is None or person is None:
        return
    by_code = {str(u.get("code")): u for u in units}
    target = next((c for c, u in by_code.items()
                   if lead in (c, u.get("name_zh"), u.get("name_en"))), None)
    if target is None:
        return

    def line(code: str) -> list[str]:
        out = [code]
        while by_code.get(out[-1], {}).get("parent") and len(out) <= len(by_code):
            out.append(str(by_code[out[-1]]["parent"]))
        return out

    own = str(person.get("unit", ""))
    if target in line(own) or own in line(target):
        return
    raise NotOfAssignedUnit(actor.id, actor.role, command, lead)
# ------------------------------------------------ request types (issue 14)
class AnsweredAtOnce(Petition.Event):
    """The hotline answered a consultation at once and closed it (即时办结),
    without dispatch; ``text`` is the answer given."""

    text: str
    stage: str

    def evolve(self, petition: Petition) -> None:
        petition.replied = True
        petition.reply_text = self.text
        petition.replied_at = self.occurred_at
        petition.outcome = "resolved"


class CallbackImpossible(Petition.Event):
    """The petitioner filed anonymously: the call-back (回访) could not be
    made.  It counts as recorded (the petition may close) but in no rate:
    the rates report such petitions apart (``impossible``)."""

    comment: str

    def evolve(self, petition: Petition) -> None:
        petition.callback_recorded = True
        petition.callback_impossible = True
        petition.last_contacted = False
        petition.last_resolved = None
        petition.last_rating = None
        petition.unsatisfied = False
