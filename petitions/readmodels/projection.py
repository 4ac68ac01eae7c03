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

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import resolve_topic

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
from petitions.readmodels.store import (
    CASE_COLUMNS,
    COUNT_DIMENSIONS,
    VIEWS_NAME,
    ViewStore,
    ViewTx,
)
from petitions.readmodels.tallies import Tallies

#: Call-back days (for periods and ``--from``/``--to``) are local office days.
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")

Row = dict[str, Any]


_UTC = ZoneInfo("UTC")


def iso(dt: datetime) -> str:
    """A sortable UTC timestamp text (fixed width: ``2026-01-02T03:04:05.000006Z``)."""
    return dt.astimezone(_UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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


_UPDATE_OF: dict[type[Any], Callable[[Any, Row], None] | None] = {}


def update_of(cls: type[Any]) -> Callable[[Any, Row], None] | None:
    """What an event of class ``cls`` changes besides version, time and stage."""
    try:
        return _UPDATE_OF[cls]
    except KeyError:
        pass
    found = next((UPDATES[b] for b in cls.__mro__ if b in UPDATES), None)
    _UPDATE_OF[cls] = found
    return found


def event_class(event: Any) -> type[Any]:
    """The event class of a domain event or of a :class:`LiteEvent`."""
    found: type[Any] = event.cls if isinstance(event, LiteEvent) else type(event)
    return found


def apply_event(batch: ViewBatch, event: Any) -> None:
    """Bring the views up to date with one petition event (a domain event or
    a :class:`LiteEvent` read from the stored bytes)."""
    cls = event_class(event)
    pid = str(event.originator_id)
    filed = issubclass(cls, Petition.Filed)
    old = None if filed else batch.current(pid)
    if old is None and not filed:
        return  # pragma: no cover - a petition always starts with Filed
    new: Row = dict(old) if old is not None else dict.fromkeys(CASE_COLUMNS)
    new["version"] = event.originator_version
    new["updated_at"] = iso(event.occurred_at)
    stage = getattr(event, "stage", None)
    if stage is not None:
        if old is not None and stage != old["stage"]:
            new.update(dict.fromkeys(_CLOCK_COLUMNS))  # leaving a stage stops its clock
        new["stage"] = stage
    update = update_of(cls)
    if update is not None:
        update(event, new)
    new["status"] = "closed" if new["outcome"] else "open"
    if not new["outcome"]:
        new["closed_at"] = None
    elif old is None or not old["outcome"]:
        new["closed_at"] = iso(event.occurred_at)
    batch.put(pid, new, filed)


# ------------------------------------------------------------ stored bytes
class NeedsFullDecode(Exception):
    """A stored event the light decoder does not read (left to the mapper)."""


class _Value:
    """An attrs value inside a stored event, read field by field."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return _plain(self._data[name])
        except KeyError:
            raise AttributeError(name) from None


def _plain(value: Any) -> Any:
    """A stored JSON value as the view reads it (eventsourcing's ``_type_`` forms)."""
    if type(value) is dict and len(value) == 2 and "_type_" in value:
        kind, data = value["_type_"], value["_data_"]
        if kind == "datetime_iso":
            return datetime.fromisoformat(data)
        if kind == "uuid_hex":
            return UUID(data)
        if kind.startswith("attrs:") and type(data) is dict:
            return _Value(data)
        raise NeedsFullDecode(kind)
    return value


#: A stored event as read from the events table: (position, originator id,
#: version, topic, state bytes).
StoredRow = tuple[int, Any, int, str, bytes]


class LiteEvent:
    """A stored petition event read for the views only: the JSON state is
    parsed, but only the fields a view reads are converted (when read), no
    attrs value is built and nothing personal is decrypted."""

    __slots__ = ("_state", "cls", "originator_id", "originator_version", "row")

    def __init__(self, cls: type[Any], row: StoredRow, state: dict[str, Any]) -> None:
        self.cls = cls
        oid = row[1]
        if type(oid) is str and len(oid) == 32:  # the hex eventsourcing stores in SQLite
            oid = f"{oid[:8]}-{oid[8:12]}-{oid[12:16]}-{oid[16:20]}-{oid[20:]}"
        self.originator_id = oid if type(oid) is str and len(oid) == 36 else str(UUID(str(oid)))
        self.originator_version = row[2]
        self.row = row
        self._state = state

    def __getattr__(self, name: str) -> Any:
        try:
            return _plain(self._state[name])
        except KeyError:
            raise AttributeError(name) from None


@functools.cache
def petition_event_class(topic: str) -> type[Any] | None:
    """The petition event class of a stored topic (``None``: no view reads it)."""
    try:
        cls = resolve_topic(topic)
    except Exception:
        raise NeedsFullDecode(topic) from None
    if isinstance(cls, type) and issubclass(cls, Petition.Event):
        return cls
    return None


def lite_event(row: StoredRow, topic: str, state: bytes) -> LiteEvent | None:
    """The stored event as the views read it, or ``None`` when no view needs
    it (its payload is not even parsed); :class:`NeedsFullDecode` when it must
    go through eventsourcing's mapper (upcasting, unknown value types)."""
    cls = petition_event_class(topic)
    if cls is None:
        return None
    try:
        data = json.loads(state)
    except ValueError:
        raise NeedsFullDecode("state") from None
    if type(data) is not dict:
        raise NeedsFullDecode("state")
    if data.get("class_version", 1) != getattr(cls, "class_version", 1):
        raise NeedsFullDecode("class_version")
    return LiteEvent(cls, row, data)


def stored_rows(recorder: Any, after: int, limit: int) -> list[StoredRow]:
    """Up to ``limit`` stored events after position ``after``, in order, read
    straight from the events table (rows, not eventsourcing notifications)."""
    from petitions.persistence import is_postgres_recorder, is_sqlite_recorder

    table = recorder.events_table_name
    if is_sqlite_recorder(recorder):
        with recorder.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute("SELECT rowid, originator_id, originator_version, topic, state "
                           f"FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                           (after, limit))
            return cursor.fetchall()  # type: ignore[no-any-return]
    if is_postgres_recorder(recorder):
        from psycopg.rows import tuple_row
        from psycopg.sql import SQL, Identifier

        datastore = recorder.datastore
        query = SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id "
                    "LIMIT %s").format(Identifier(datastore.schema), Identifier(table))
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, (after, limit))
            return [(p, o, v, t, bytes(s)) for p, o, v, t, s in cursor.fetchall()]
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)  # pragma: no cover
            for n in recorder.select_notifications(start=after, limit=limit,
                                                   inclusive_of_start=False)]


# ------------------------------------------------------------ a batch
def _rate_keys(row: Row | None) -> list[tuple[str, str, str, int, int, str]]:
    """The rate counters a case counts in (a valid call-back, not excluded)."""
    if row is None or row["cb_day"] is None or row["excluded"]:
        return []
    rest = (row["outcome"] or "", int(row["cb_contacted"] or 0), int(row["cb_resolved"] or 0),
            row["last_rating"] or "")
    return [(by, str(grp or ""), *rest) for by, grp in (
        ("street", row["street"]), ("community", row["community"]), ("grid", row["grid"]),
        ("category", row["category"]), ("unit", row["lead_unit"] or ""),
        ("month", row["cb_day"][:7]), ("year", row["cb_day"][:4]))]


def _count_keys(row: Row | None) -> list[tuple[str, str, str]]:
    if row is None:
        return []
    status = row["status"]
    keys = [("*", "", status)]
    keys.extend((dim, str(row[dim] if row[dim] is not None else ""), status)
                for dim in COUNT_DIMENSIONS)
    return keys


class ViewBatch:
    """The view changes of one transaction, worked out in memory and written
    set-wise when it ends (:meth:`flush`): the rows a batch touches are read
    in one query, each case is written once however many of its events the
    batch holds, and counters move by the sum of their changes."""

    def __init__(self, tx: ViewTx) -> None:
        self.tx = tx
        #: Each touched case as stored before the batch (``None``: new).
        self.before: dict[str, Row | None] = {}
        self.rows: dict[str, Row] = {}

    def load(self, pids: Iterable[str]) -> None:
        """Read the stored rows of ``pids`` not read yet, in one query per chunk."""
        missing = [p for p in dict.fromkeys(pids) if p not in self.before]
        if not missing:
            return
        found = self.tx.get_cases(missing)
        for pid in missing:
            row = found.get(pid)
            self.before[pid] = row
            if row is not None:
                self.rows[pid] = dict(row)

    def current(self, pid: str) -> Row | None:
        if pid not in self.before:
            self.load([pid])
        return self.rows.get(pid)

    def put(self, pid: str, row: Row, filed: bool) -> None:
        if filed and pid not in self.before:
            self.before[pid] = None
        self.rows[pid] = row

    def flush(self) -> None:
        inserts: list[Row] = []
        updates: dict[tuple[str, ...], list[Row]] = {}
        caseload: dict[tuple[str, str], list[int]] = {}
        campaigns: dict[str, list[int]] = {}
        counts: dict[tuple[str, str, str], int] = {}
        rates: dict[tuple[str, str, str, int, int, str], int] = {}
        tallies = Tallies()  # the rate tallies stats reads (readmodels/tallies.py)
        for pid, new in self.rows.items():
            old = self.before.get(pid)
            if old is None:
                inserts.append(new)
            else:
                changed = tuple(c for c in CASE_COLUMNS if c != "id" and new[c] != old[c])
                if not changed:
                    continue
                updates.setdefault(changed, []).append(new)
            _counters(caseload, campaigns, old, new)
            for keys, sign in ((_count_keys(old), -1), (_count_keys(new), 1)):
                for key in keys:
                    counts[key] = counts.get(key, 0) + sign
            for rkeys, sign in ((_rate_keys(old), -1), (_rate_keys(new), 1)):
                for rkey in rkeys:
                    rates[rkey] = rates.get(rkey, 0) + sign
            tallies.move(old, new)
        tx = self.tx
        if inserts:
            tx.insert_cases(inserts)
        for columns, rows in updates.items():
            tx.update_cases(columns, rows)
        tx.bump_caseloads([(r, p, o, c) for (r, p), (o, c) in caseload.items() if o or c])
        tx.bump_campaigns([(k, v[0], v[1], v[2], v[3]) for k, v in campaigns.items() if any(v)])
        tx.bump_counts([(*k, n) for k, n in counts.items() if n])
        tx.bump_rates([(*k, n) for k, n in rates.items() if n])
        tallies.write(tx)
        self.before.clear()
        self.rows.clear()


def _counters(caseload: dict[tuple[str, str], list[int]], campaigns: dict[str, list[int]],
              old: Row | None, new: Row) -> None:
    def load(row: Row | None, key: str) -> tuple[str | None, int, int]:
        if row is None or not row[key]:
            return None, 0, 0
        is_open = row["status"] == "open"
        return row[key], int(is_open), int(not is_open)

    for role in ("assignee", "mediator"):
        before, after = load(old, role), load(new, role)
        if before == after:
            continue
        for (person, o, c), sign in ((before, -1), (after, 1)):
            if person is not None:
                bump = caseload.setdefault((role, person), [0, 0])
                bump[0] += sign * o
                bump[1] += sign * c

    def progress(row: Row | None) -> tuple[str | None, int, int, int, int]:
        if row is None or not row["campaign_id"]:
            return None, 0, 0, 0, 0
        is_open = row["status"] == "open"
        return (row["campaign_id"], 1, int(is_open), int(not is_open),
                int(row["outcome"] == "resolved"))

    before_c, after_c = progress(old), progress(new)
    if before_c != after_c:
        for (cid, *numbers), sign in ((before_c, -1), (after_c, 1)):
            if cid is not None:
                bump = campaigns.setdefault(cid, [0, 0, 0, 0])
                for i, n in enumerate(numbers):
                    bump[i] += sign * n


#: What a light event may raise when its stored state lacks what a view reads.
_UNREADABLE = (NeedsFullDecode, AttributeError, KeyError, TypeError, ValueError)


def apply_events(tx: ViewTx, events: Iterable[Any],
                 full: Callable[[LiteEvent], Any] | None = None) -> None:
    """Apply petition events (domain events or :class:`LiteEvent`; others are
    skipped) in one batch.  A light event whose state the views cannot read
    is handed to ``full`` (eventsourcing's mapper) and applied as it returns."""
    wanted = [e for e in events if isinstance(e, (Petition.Event, LiteEvent))]
    batch = ViewBatch(tx)
    batch.load(str(e.originator_id) for e in wanted
               if not issubclass(event_class(e), Petition.Filed))
    for event in wanted:
        if isinstance(event, LiteEvent) and full is not None:
            try:
                apply_event(batch, event)
            except _UNREADABLE:
                decoded = full(event)
                if isinstance(decoded, Petition.Event):
                    apply_event(batch, decoded)
        else:
            apply_event(batch, event)
    batch.flush()


class CaseViews(Projection[ViewStore]):
    """Case index, caseloads and campaign progress, from petition events."""

    name = VIEWS_NAME

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event and record its tracking, in one transaction."""
        self.process_batch([(domain_event, tracking)])

    def process_batch_after(self, items: Sequence[tuple[Any, Tracking]], position: int,
                            full: Callable[[LiteEvent], Any] | None = None) -> bool:
        """Apply ``items`` only if the views stand exactly at ``position`` (read
        in the same transaction); return whether they were applied."""
        if not items:
            return True
        with self.view.transaction() as tx:
            current = tx.tracked(items[0][1].application_name)
            if (current or 0) != position:
                return False
            apply_events(tx, (event for event, _ in items), full)
            tx.track(items[-1][1])
        return True

    def process_batch(self, items: Sequence[tuple[Any, Tracking]]) -> None:
        """Apply several events in one transaction, tracking the last."""
        if not items:
            return
        with self.view.transaction() as tx:
            apply_events(tx, (event for event, _ in items))
            tx.track(items[-1][1])
