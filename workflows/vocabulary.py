"""The fixed vocabulary a workflow definition may use.

A workflow is data, but it speaks a language the engine understands: the
commands a petition knows how to carry out, the roles of the people who issue
them, and the facts a command may require to hold before it is allowed.
Everything a definition names is checked against these sets when it is loaded.
"""

from __future__ import annotations

from typing import Final

#: The target that keeps a petition in the stage it is in.
STAY: Final = "stay"

#: Commands that move or annotate an existing petition.  ``file`` creates one
#: and is governed only by ``[roles]``.
COMMANDS: Final[frozenset[str]] = frozenset(
    {
        # intake
        "accept",
        "reject",
        "duplicate",
        "withdraw",
        # dispatch
        "assign",
        "transfer",
        "dispute",
        # mediation
        "open_mediation",
        "record_session",
        "agree",
        "fail_mediation",
        # resolution
        "plan_step",
        "act",
        "on_site_meeting",
        "reply",
        "resolve",
        # satisfaction review
        "callback",
        "reopen",
        "close",
        # review and re-review (letters and visits)
        "request_review",
        "answer_review",
        "request_rereview",
        "answer_rereview",
        "deliver",  # delivery (送达) of a written answer
        # any time while open
        "note",
        "escalate",
        "extend",
        "pause",
        "resume",
        # hotline practice: reminders (催办), exclusion from the rates (核减)
        "remind",
        "exclude",
        # sign-for (签收), return (退单) and first contact (先行联系) of a
        # dispatched order (docs/hotline.md)
        "sign",
        "return",
        "contact",
        # request types (issue 14): a consultation answered at once (即时办结)
        "answer_now",
    }
)

#: Commands that record something without moving the petition: in a
#: definition they may only lead to ``stay``.
IN_PLACE: Final[frozenset[str]] = frozenset(
    {
        "record_session",
        "plan_step",
        "act",
        "on_site_meeting",
        "reply",
        "callback",
        "note",
        "escalate",
        "extend",
        "remind",
        "exclude",
        "deliver",
        "sign",
        "contact",
    }
)

#: Every command a role can be granted, including filing a new petition.
GRANTABLE: Final[frozenset[str]] = COMMANDS | {"file"}

#: The roles of the people (and systems) that work on petitions.
ROLES: Final[frozenset[str]] = frozenset(
    {
        "intake_clerk",
        "grid_worker",
        "caseworker",
        "mediator",
        "supervisor",
        "auditor",
        "portal",
        "administrator",
    }
)

#: Conditions a command may require (``[requires]``), evaluated by the petition.
FACTS: Final[frozenset[str]] = frozenset(
    {
        "assigned",  # a lead unit has been assigned
        "replied",  # a written reply has been given since the last reopening
        "callback_recorded",  # the petitioner was called back since the last reply
        "unsatisfied",  # the last call-back found the petitioner not satisfied
        "mediation_concluded",  # the open mediation reached agreement or failed
        "mediation_open",  # a mediation has been opened and not yet concluded
        "plan_complete",  # every step of the petition's plan is done
        "no_plan_pending",  # no plan was started, or the one started is complete
        "reply_within_review_window",  # review requested in time after the reply
        "review_window_passed",  # no review (or re-review) may be requested any more
    }
)

# Commands added at run time (a plugin's own command, see
# ``petitions.domain.commands.register``): their names, and which of them
# never move the petition.
_ADDED: dict[str, bool] = {}


def add_command(name: str, *, in_place: bool = False) -> None:
    """Add ``name`` to the commands a definition may use (``in_place``: it may
    only lead to ``stay``)."""
    if not name.isidentifier() or name == "file":
        raise ValueError(f"not a command name: {name!r}")
    if name not in COMMANDS:
        _ADDED[name] = in_place


def remove_command(name: str) -> None:
    """Forget a command added with :func:`add_command` (shipped ones stay)."""
    _ADDED.pop(name, None)


def commands() -> frozenset[str]:
    """Every command a definition may use: :data:`COMMANDS` and those added."""
    return COMMANDS | _ADDED.keys() if _ADDED else COMMANDS


def in_place() -> frozenset[str]:
    """The commands that never move the petition (shipped and added)."""
    return IN_PLACE | {n for n, stays in _ADDED.items() if stays} if _ADDED else IN_PLACE


def grantable() -> frozenset[str]:
    """Every command a role can be granted, including filing."""
    return commands() | {"file"}


#: Request types (诉求类型) a petition may have, as 12345 hotlines class them
#: (咨询, 求助, 投诉, 举报, 建议, 表扬); a petition filed without one is a
#: complaint.  A workflow's ``[types]`` table sets limits per type.
REQUEST_TYPES: Final[tuple[str, ...]] = (
    "consultation", "help", "complaint", "report", "suggestion", "praise",
)
DEFAULT_REQUEST_TYPE: Final = "complaint"

#: Urgency (紧急程度) of a petition; ``[urgency]`` sets limits per level.
URGENCIES: Final[tuple[str, ...]] = ("normal", "urgent", "emergency")
DEFAULT_URGENCY: Final = "normal"

#: Units in which a stage's time limit may be given.
LIMIT_UNITS: Final[frozenset[str]] = frozenset(
    {"minutes", "hours", "days", "working_days"}
)
