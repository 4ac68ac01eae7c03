"""Events of hotline practice: reminders (催办) and exclusion from the rates (核减).

Their commands (``Remind``, ``Exclude``) are in the command table
(:mod:`petitions.domain.commands`); which workflow allows them, in which
stages and for which roles, is workflow data (``remind`` and ``exclude`` in
``[anytime]`` and ``[roles]``).

Event classes are stored history: never rename or move one without
registering its old topic.
"""

from __future__ import annotations

from petitions.domain.petition import Petition
from petitions.errors import InvalidInput


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
