"""The errors of the petitions library.

Every error a caller can get from a command or a query derives from
:class:`PetitionError`.  Each carries a machine-readable ``code`` and the
values its message was made from (``params``), so front-ends can show it in
the user's language; ``str(error)`` is the English message.
"""

from __future__ import annotations

from typing import Any


class PetitionError(Exception):
    """Base class of all domain errors.  A refused command writes nothing."""

    code = "petition_error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class PetitionNotFound(PetitionError):
    """No petition has that id."""

    code = "not_found"

    def __init__(self, petition_id: object) -> None:
        super().__init__(f"no petition with id {petition_id}", id=str(petition_id))
        self.petition_id = petition_id


class CorruptEvent(PetitionError):
    """A stored event cannot be read (its bytes were altered or damaged): only
    its own petition fails; ``petitions audit verify`` locates every such event."""

    code = "corrupt_event"

    def __init__(self, petition_id: object, version: int, position: int | None,
                 detail: str) -> None:
        where = f"position {position}" if position is not None else "unknown position"
        super().__init__(f"petition {petition_id}: stored event version {version} ({where}) "
                         f"cannot be read ({detail}); run `petitions audit verify`",
                         id=str(petition_id), version=version,
                         position="?" if position is None else position, detail=detail)
        self.petition_id = petition_id
        self.version = version
        self.position = position


class TransitionNotAllowed(PetitionError):
    """The command is not allowed in the petition's current stage (or state)."""

    code = "transition_not_allowed"

    def __init__(self, command: str, stage: str, allowed: tuple[str, ...],
                 reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"{command!r} is not allowed in stage {stage!r}{why}; "
            f"allowed here: {', '.join(allowed) or 'nothing (the petition is closed)'}",
            command=command, stage=stage, allowed=", ".join(allowed), reason=reason,
        )
        self.command = command
        self.stage = stage
        self.allowed = allowed
        self.reason = reason


class PermissionDenied(PetitionError):
    """The actor's role may not issue this command under the petition's workflow."""

    code = "permission_denied"

    def __init__(self, role: str, command: str, allowed_roles: tuple[str, ...]) -> None:
        super().__init__(
            f"role {role!r} may not {command!r}; "
            f"roles that may: {', '.join(allowed_roles) or 'none'}",
            role=role, command=command, allowed=", ".join(allowed_roles),
        )
        self.role = role
        self.command = command
        self.allowed_roles = allowed_roles


class CallbackNotIndependent(PermissionDenied):
    """The actor replied to or resolved the petition and may not record its
    call-back (回访 by someone independent; the workflow's ``[callback]
    independent`` rule)."""

    def __init__(self, actor: str, role: str, allowed_roles: tuple[str, ...]) -> None:
        PetitionError.__init__(
            self,
            f"{actor} replied to or resolved this petition and may not record its "
            "call-back (rule: independent call-back)",
            role=role, command="callback", allowed=", ".join(allowed_roles), actor=actor,
            rule="independent_callback")
        self.role = role
        self.command = "callback"
        self.allowed_roles = allowed_roles
        self.actor = actor


class NotOfAssignedUnit(PermissionDenied):
    """The actor, a person of the unit register, belongs to neither the unit
    the order is dispatched to nor a unit above or below it, and may not sign
    for, contact or return it (rule: the assigned unit)."""

    def __init__(self, actor: str, role: str, command: str, unit: str) -> None:
        PetitionError.__init__(
            self,
            f"{actor} is not of the assigned unit {unit} and may not {command!r} "
            "(rule: the assigned unit)",
            role=role, command=command, allowed="", actor=actor, unit=unit,
            rule="assigned_unit")
        self.role = role
        self.command = command
        self.allowed_roles = ()
        self.actor = actor
        self.unit = unit


class InvalidInput(PetitionError):
    """A value given to a command is not acceptable; ``field`` names it."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str, **params: Any) -> None:
        params.setdefault("kind", "invalid")
        super().__init__(f"{field}: {problem}", field=field, problem=problem, **params)
        self.field = field
        self.problem = problem


#: The largest count, position or version any command or query takes (the
#: largest integer SQLite and PostgreSQL store): larger ones are refused with
#: a clear message rather than failing in the database.
MAX_NUMBER = 2**63 - 1


def bounded(field: str, value: object, maximum: int = MAX_NUMBER, minimum: int = 0) -> int:
    """``value`` if it is a whole number from ``minimum`` to ``maximum``, else
    :class:`InvalidInput` (kind ``too_large`` with ``max``, or ``invalid``)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, "must be a whole number")
    if value > maximum:
        raise InvalidInput(field, f"must be at most {maximum}", kind="too_large",
                           max=maximum)
    if value < minimum:
        raise InvalidInput(field, f"must be at least {minimum}", kind="too_small",
                           min=minimum)
    return value


#: The longest personal detail or place text filing takes (a name, a phone, an
#: ID number, an address, a street …).  ASSUMPTION: no rule in the seed sets
#: one; the longest real values (a collective's name, an address) are far shorter.
MAX_DETAIL = 1_000


def checked_text(field: str, value: object, max_len: int = MAX_DETAIL) -> str:
    """``value`` if it is text that can be stored (valid UTF-8, at most
    ``max_len`` characters), else :class:`InvalidInput` (kinds ``not_text``,
    ``too_long``)."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text", kind="not_text")
    if value.isascii() and len(value) <= max_len:
        return value  # ASCII is valid UTF-8
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "is not valid UTF-8 text", kind="not_text") from None
    if len(value) > max_len:
        raise InvalidInput(field, f"is longer than {max_len} characters", kind="too_long")
    return value


class ConcurrentUpdate(PetitionError):
    """Someone else changed the petition first: reload it and try again.

    Nothing was written and nothing is lost; :func:`petitions.retry_on_conflict`
    retries a command for you.
    """

    code = "concurrent_update"

    def __init__(self, petition_id: object, detail: str = "") -> None:
        super().__init__(
            f"petition {petition_id} was changed by someone else; reload and retry"
            + (f" ({detail})" if detail else ""),
            id=str(petition_id),
        )
        self.petition_id = petition_id


class WorkflowNotFound(PetitionError):
    """No workflow definition with that name, version or hash is known."""

    code = "workflow_not_found"

    def __init__(self, what: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(f"unknown workflow {what}"
                         + (f"; known: {', '.join(known)}" if known else ""),
                         workflow=what, known=", ".join(known))


class RepeatFiling(PetitionError):
    """The same petitioner files the same facts and reasons again after the
    matter was concluded by re-review (复核); it is not accepted again."""

    code = "repeat_filing"

    def __init__(self, concluded: tuple[object, ...]) -> None:
        ids = ", ".join(str(c) for c in concluded)
        super().__init__(
            "the same facts and reasons were concluded by re-review (复核) in petition "
            f"{ids}; a repeat filing is not accepted (不再受理)", concluded=ids)
        self.concluded = concluded
