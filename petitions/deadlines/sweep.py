"""The sweep: record the warnings and breaches that are due, once each.

The case index keeps, for every running clock, the next moment something is
due (``next_due``: the warning time until a warning is recorded, then the
deadline).  A sweep reads the due petitions from that index — never every
aggregate — loads each, lets it record what is due through its own command
(:meth:`Petition.check_clock`), and saves them in batches.  A batch that meets
a concurrent writer is saved again petition by petition, each retried with
:func:`petitions.core.retry_on_conflict`.  What a petition has recorded it
does not record again, so a second sweep at the same moment writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from petitions.domain.petition import Petition
from petitions.domain.values import Actor
from petitions.errors import ConcurrentUpdate, PetitionError
from petitions.logs import get_logger

if TYPE_CHECKING:
    from petitions.core import Store
    from petitions.readmodels.queries import ReadModels

log = get_logger("petitions.deadlines")

#: The system actor the sweep records as (a supervisor: it escalates, 督办).
SWEEPER = Actor("sweeper", "supervisor")


@attrs.frozen
class SweepReport:
    """What one sweep found and recorded."""

    now: datetime
    due: int  # petitions the index named as due
    warned: tuple[str, ...]
    breached: tuple[str, ...]
    escalated: tuple[str, ...]
    failed: tuple[str, ...] = ()  # petitions that could not be recorded (logged)

    @property
    def recorded(self) -> int:
        return len(self.warned) + len(self.breached) + len(self.escalated)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "due": self.due, "warned": list(self.warned),
                "breached": list(self.breached), "escalated": list(self.escalated),
                "failed": list(self.failed)}


def _check(store: Store, pid: UUID, actor: Actor, now: datetime
           ) -> tuple[Petition, tuple[str, ...]]:
    petition = store.load(pid)
    return petition, petition.check_clock(actor, now)


def _check_and_save(store: Store, pid: UUID, actor: Actor, now: datetime
                    ) -> tuple[str, ...]:
    from eventsourcing.persistence import IntegrityError

    petition, recorded = _check(store, pid, actor, now)
    if recorded:
        try:
            store.save(petition)
        except IntegrityError:
            raise ConcurrentUpdate(petition.id) from None
    return recorded


def sweep(store: Store, read_models: ReadModels, now: datetime, *,
          actor: Actor | None = None, batch: int = 200) -> SweepReport:
    """Record what is due at ``now`` on every petition ``read_models`` name as due."""
    from eventsourcing.persistence import IntegrityError

    from petitions.core import retry_on_conflict

    who = actor or SWEEPER
    due = read_models.due(now)
    warned: list[str] = []
    breached: list[str] = []
    escalated: list[str] = []
    failed: list[str] = []

    def note(pid: UUID, recorded: tuple[str, ...]) -> None:
        if "ClockWarned" in recorded:
            warned.append(str(pid))
        if "ClockBreached" in recorded:
            breached.append(str(pid))
        if "Escalated" in recorded:
            escalated.append(str(pid))

    for start in range(0, len(due), max(1, batch)):
        ids = [UUID(i) for i in due[start:start + batch]]
        changed: list[tuple[Petition, tuple[str, ...]]] = []
        for pid in ids:
            try:
                petition, recorded = _check(store, pid, who, now)
            except PetitionError as exc:
                log.warning("sweep: petition %s not checked: %s", pid, exc)
                failed.append(str(pid))
                continue
            if recorded:
                changed.append((petition, recorded))
        if not changed:
            continue
        try:
            store.save(*(p for p, _ in changed))
        except IntegrityError:
            # Someone wrote to one of them meanwhile: nothing of the batch was
            # stored; record each again on fresh state.
            for petition, _ in changed:
                try:
                    recorded = retry_on_conflict(_check_and_save, store, petition.id, who, now)
                except PetitionError as exc:
                    log.warning("sweep: petition %s not recorded: %s", petition.id, exc)
                    failed.append(str(petition.id))
                    continue
                note(petition.id, recorded)
            continue
        for petition, recorded in changed:
            note(petition.id, recorded)
    if warned or breached or escalated:
        # A bulk job: bring the views (the next_due index, the queues) up to
        # date now rather than on somebody's next query.
        read_models.refresh()
    report = SweepReport(now, len(due), tuple(warned), tuple(breached), tuple(escalated),
                         tuple(failed))
    log.info("sweep at %s: %d due, %d warned, %d breached, %d escalated", now.isoformat(),
             report.due, len(warned), len(breached), len(escalated))
    return report
