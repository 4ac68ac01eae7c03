"""The projection that keeps the read models in step with petition events.

:class:`CaseViews` is an ``eventsourcing.projection.Projection``: the same
class runs in-process (catching up from its last tracked position, which is
how views follow a SQLite store) and under eventsourcing's
``ProjectionRunner`` in a separate process on PostgreSQL (see
:mod:`petitions.readmodels.runner`).

What one event changes is worked out here, once, for both databases: the case
index row, and the caseload and campaign counters, which move by the
difference between the row before and after the event.  Events of other
aggregates (stored workflow definitions) are skipped, but still tracked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from petitions.domain.hotline import (
    AnsweredAtOnce,
    CallbackImpossible,
    Contacted,
    Excluded,
    Reminded,
    Returned,
    Signed,
)
from petitions.domain.petition import Petition
from petitions.readmodels.rates import add_level
from petitions.readmodels.store import CASE_COLUMNS, VIEWS_NAME, ViewStore, ViewTx

#: Call-back days (for periods and ``--from``/``--to``) are local office days.
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")

Row = dict[str, Any]


def iso(dt: datetime) -> str:
    """A sortable UTC timestamp text (fixed width)."""
    return dt.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _filed(e: Any, row: Row) -> None:
    row.update(
        id=str(e.originator_id), title=e.title, description=e.description,
        workflow=e.workflow.name, workflow_sha256=e.workflow.sha256, outcome=None,
        category=e.category, channel=e.channel,
        petitioner_kind=e.petitioner.kind, street=e.location.street,
        community=e.location.community, grid=e.location.grid, lead_unit=None,
        assignee=None, mediator=None, filed_at=iso(e.occurred_at), last_rating=None,
        campaign_id=str(e.campaign_id) if e.campaign_id else None, cb_day=None,
        cb_contacted=None, cb_resolved=None, reminders=0, escalations=0, excluded=0,
        sign_state=None, contact_state=None, returns=0, escalation_levels=None,
        request_type=getattr(e, "request_type", "complaint"),
        urgency=getattr(e, "urgency", "normal"),
        anonymous=int(bool(getattr(e, "anonymous", False))), cb_impossible=None,
        matter_type=e.matter_type, closed_at=None, reopens=0,
        petitioner_id=e.petitioner.id, petitioner_name=e.petitioner.name,
        petitioner_phone=e.petitioner.phone,
    )


def _count(column: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        row[column] = int(row.get(column) or 0) + 1
    return update


def _excluded(e: Any, row: Row) -> None:
    row["excluded"] = 1


def _outcome(value: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        row["outcome"] = value
    return update


def _assigned(e: Any, row: Row) -> None:
    row.update(lead_unit=e.unit, assignee=e.person)


def _dispatched(e: Any, row: Row) -> None:
    """A dispatch: signing for and first contact are due when the workflow set
    their limits (``Assigned`` version 3)."""
    _assigned(e, row)
    row.update(sign_state="due" if getattr(e, "sign_by", None) is not None else None,
               contact_state="due" if getattr(e, "contact_by", None) is not None else None)


def _signed(e: Any, row: Row) -> None:
    row["sign_state"] = "in_time" if e.in_time else "late"


def _contacted(e: Any, row: Row) -> None:
    row["contact_state"] = "in_time" if e.in_time else "late"


def _returned(e: Any, row: Row) -> None:
    row.update(lead_unit=None, assignee=None, sign_state=None, contact_state=None,
               returns=e.returns)


def _escalated(e: Any, row: Row) -> None:
    row["escalations"] = int(row.get("escalations") or 0) + 1
    level = getattr(e, "level", None)
    if level:
        row["escalation_levels"] = add_level(row.get("escalation_levels"), level)


def _disputed(e: Any, row: Row) -> None:
    row.update(lead_unit=None, assignee=None, sign_state=None, contact_state=None)


def _mediation(e: Any, row: Row) -> None:
    row["mediator"] = e.mediator


def _callback(e: Any, row: Row) -> None:
    row.update(last_rating=e.rating, cb_contacted=int(e.contacted),
               cb_resolved=int(e.resolved),
               cb_day=e.occurred_at.astimezone(OFFICE_ZONE).strftime("%Y-%m-%d"))


def _callback_impossible(e: Any, row: Row) -> None:
    row["cb_impossible"] = e.occurred_at.astimezone(OFFICE_ZONE).strftime("%Y-%m-%d")


def _next_due(row: Row) -> None:
    """When a sweep next has something to record: the warning, then the
    deadline; nothing while paused, after a breach, or without a clock."""
    if row["deadline"] is None or row["deadline_state"] in ("paused", "breached"):
        row["next_due"] = None
    else:
        row["next_due"] = row["warn_due"] or row["deadline"]


def _clock_started(e: Any, row: Row) -> None:
    row.update(deadline=iso(e.deadline), deadline_state="on_time", clock_mark="on_time",
               warn_due=iso(e.warn_time))
    _next_due(row)


def _clock_paused(e: Any, row: Row) -> None:
    if row["deadline"] is not None:
        row["deadline_state"] = "paused"
        _next_due(row)


def _clock_resumed(e: Any, row: Row) -> None:
    if row["deadline"] is None:
        return
    row["deadline"] = iso(e.deadline)
    if row["warn_due"] is not None:
        row["warn_due"] = iso(e.warn_time)
    row["deadline_state"] = row["clock_mark"]
    _next_due(row)


def _clock_mark(mark: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        if row["deadline"] is None:
            return
        row.update(clock_mark=mark, warn_due=None)
        if row["deadline_state"] != "paused":
            row["deadline_state"] = mark
        _next_due(row)
    return update


def _extended(e: Any, row: Row) -> None:
    if getattr(e, "deadline", None) is None or row["deadline"] is None:
        return
    row["deadline"] = iso(e.deadline)
    if row["warn_due"] is not None and e.warn_time is not None:
        row["warn_due"] = iso(e.warn_time)
    _next_due(row)


#: What each kind of event changes besides version, time and stage.
UPDATES: dict[type[Any], Callable[[Any, Row], None]] = {
    Petition.Filed: _filed,
    Petition.Rejected: _outcome("rejected"),
    Petition.MarkedDuplicate: _outcome("duplicate"),
    Petition.Withdrawn: _outcome("withdrawn"),
    Petition.Closed: _outcome("resolved"),
    Petition.Assigned: _dispatched,
    Petition.Transferred: _assigned,
    Petition.DispatchDisputed: _disputed,
    Petition.MediationOpened: _mediation,
    Petition.CallbackRecorded: _callback,
    Petition.ClockStarted: _clock_started,
    Petition.ClockPaused: _clock_paused,
    Petition.ClockResumed: _clock_resumed,
    Petition.ClockWarned: _clock_mark("warned"),
    Petition.ClockBreached: _clock_mark("breached"),
    Petition.DeadlineExtended: _extended,
    Petition.Escalated: _escalated,
    Petition.Reopened: _count("reopens"),
    Reminded: _count("reminders"),
    Excluded: _excluded,
    Signed: _signed,
    Contacted: _contacted,
    Returned: _returned,
    AnsweredAtOnce: _outcome("resolved"),
    CallbackImpossible: _callback_impossible,
    Petition.DeadlineRecomputed: _extended,
}

_CLOCK_COLUMNS = ("deadline", "deadline_state", "clock_mark", "warn_due", "next_due")


def apply_event(tx: ViewTx, event: Petition.Event) -> None:
    """Bring the views up to date with one petition event."""
    pid = str(event.originator_id)
    old = None if isinstance(event, Petition.Filed) else tx.get_case(pid)
    if old is None and not isinstance(event, Petition.Filed):
        return  # pragma: no cover - a petition always starts with Filed
    new: Row = dict(old) if old is not None else dict.fromkeys(CASE_COLUMNS)
    new["version"] = event.originator_version
    new["updated_at"] = iso(event.occurred_at)
    stage = getattr(event, "stage", None)
    if stage is not None:
        if old is not None and stage != old["stage"]:
            new.update(dict.fromkeys(_CLOCK_COLUMNS))  # leaving a stage stops its clock
        new["stage"] = stage
    for cls in type(event).__mro__:
        update = UPDATES.get(cls)
        if update is not None:
            update(event, new)
            break
    new["status"] = "closed" if new["outcome"] else "open"
    if not new["outcome"]:
        new["closed_at"] = None
    elif old is None or not old["outcome"]:
        new["closed_at"] = iso(event.occurred_at)
    if old is None:
        tx.insert_case(new)
    else:
        tx.update_case(new, old)
    _counters(tx, old, new)


def _counters(tx: ViewTx, old: Row | None, new: Row) -> None:
    def load(row: Row | None, key: str) -> tuple[str | None, int, int]:
        if row is None or not row[key]:
            return None, 0, 0
        is_open = row["status"] == "open"
        return row[key], int(is_open), int(not is_open)

    for role in ("assignee", "mediator"):
        before, after = load(old, role), load(new, role)
        if before == after:
            continue
        if before[0] is not None:
            tx.bump_caseload(role, before[0], -before[1], -before[2])
        if after[0] is not None:
            tx.bump_caseload(role, after[0], after[1], after[2])

    def progress(row: Row | None) -> tuple[str | None, int, int, int, int]:
        if row is None or not row["campaign_id"]:
            return None, 0, 0, 0, 0
        is_open = row["status"] == "open"
        return (row["campaign_id"], 1, int(is_open), int(not is_open),
                int(row["outcome"] == "resolved"))

    before_c, after_c = progress(old), progress(new)
    if before_c != after_c:
        if before_c[0] is not None:
            tx.bump_campaign(before_c[0], *(-n for n in before_c[1:]))
        if after_c[0] is not None:
            tx.bump_campaign(after_c[0], *after_c[1:])


class CaseViews(Projection[ViewStore]):
    """Case index, caseloads and campaign progress, from petition events."""

    name = VIEWS_NAME

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event and record its tracking, in one transaction."""
        self.process_batch([(domain_event, tracking)])

    def process_batch_after(self, items: Sequence[tuple[Any, Tracking]],
                            position: int) -> bool:
        """Apply ``items`` only if the views stand exactly at ``position`` (read
        in the same transaction); return whether they were applied."""
        if not items:
            return True
        with self.view.transaction() as tx:
            current = tx.tracked(items[0][1].application_name)
            if (current or 0) != position:
                return False
            for event, _ in items:
                if isinstance(event, Petition.Event):
                    apply_event(tx, event)
            tx.track(items[-1][1])
        return True

    def process_batch(self, items: Sequence[tuple[Any, Tracking]]) -> None:
        """Apply several events in one transaction, tracking the last."""
        if not items:
            return
        with self.view.transaction() as tx:
            for event, _ in items:
                if isinstance(event, Petition.Event):
                    apply_event(tx, event)
            tx.track(items[-1][1])
