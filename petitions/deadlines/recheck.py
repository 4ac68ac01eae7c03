"""Count provisional deadlines again once the official calendar covers their year.

A deadline counted in a year ``chinesecalendar`` did not cover yet was counted
on statutory holidays and weekends only (:mod:`petitions.deadlines.calendar`)
and carries that warning: it is provisional.  When a newer calendar arrives
(the State Council's arrangement with its adjusted workdays, 调休), a recheck
loads every petition with a running clock, counts each provisional deadline
again from its clock's start — keeping the clock's pauses and extensions —
and records :class:`~petitions.domain.petition.Petition.DeadlineRecomputed`
only where the deadline moved.  Running it again records nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from petitions.domain.values import Actor
from petitions.errors import ConcurrentUpdate, PetitionError
from petitions.logs import get_logger

if TYPE_CHECKING:
    from petitions.core import Store
    from petitions.readmodels.queries import ReadModels

log = get_logger("petitions.deadlines")

#: The system actor a recheck records as.
RECHECKER = Actor("calendar", "supervisor")


@attrs.frozen
class RecheckReport:
    """What one recheck found and recorded."""

    now: datetime
    checked: int  # petitions with a running clock
    provisional: int  # of them, with a provisional deadline before the recheck
    changed: tuple[str, ...]  # petitions whose deadline moved (an event each)
    still_provisional: tuple[str, ...]  # deadlines still counted without official data
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "checked": self.checked,
                "provisional": self.provisional, "changed": list(self.changed),
                "still_provisional": list(self.still_provisional),
                "failed": list(self.failed)}


def _recheck_one(store: Store, pid: UUID, actor: Actor, now: datetime
                 ) -> tuple[bool, bool, bool]:
    """(was provisional, recorded a change, still provisional)."""
    from eventsourcing.persistence import IntegrityError

    from petitions.deadlines.states import is_provisional

    petition = store.load(pid)
    cal = store.timekeeper.calendar
    was = bool(petition.clock_note) and petition.clock_stage is not None
    if not was:
        return False, False, False
    changed = petition.recheck_deadline(store.timekeeper, actor, now)
    if changed:
        try:
            store.save(petition)
        except IntegrityError:
            raise ConcurrentUpdate(petition.id) from None
    return True, changed, is_provisional(petition.clock_note, cal)


def recheck(store: Store, read_models: ReadModels, now: datetime, *,
            actor: Actor | None = None) -> RecheckReport:
    """Count every provisional deadline again on ``store``'s calendar."""
    from petitions.core import retry_on_conflict

    who = actor or RECHECKER
    ids = read_models.with_deadline()
    provisional = 0
    changed: list[str] = []
    still: list[str] = []
    failed: list[str] = []
    for raw in ids:
        pid = UUID(raw)
        try:
            was, moved, remains = retry_on_conflict(_recheck_one, store, pid, who, now)
        except PetitionError as exc:
            log.warning("calendar recheck: petition %s not checked: %s", pid, exc)
            failed.append(raw)
            continue
        provisional += int(was)
        if moved:
            changed.append(raw)
        if remains:
            still.append(raw)
    if changed:
        read_models.refresh()
    report = RecheckReport(now, len(ids), provisional, tuple(changed), tuple(still),
                           tuple(failed))
    log.info("calendar recheck at %s: %d clocks, %d provisional, %d moved", now.isoformat(),
             len(ids), provisional, len(changed))
    return report
