"""``ReadModels``: the read models of one petitions store, and their queries
(``PetitionService.read_models``).

Commands do not update the views: before every query the views catch up from
their last tracked position with everything recorded since (by any process),
in batches, each batch in one transaction with its tracking record.  A query
therefore sees every command stored before it, and a burst of commands costs
one catch-up, not one view transaction per command.  On PostgreSQL, with
``PETITIONS_VIEWS=runner``, the service leaves them to a separate process
running :mod:`petitions.readmodels.runner` (eventsourcing's push subscription).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, Tracking

from petitions.domain.values import WorkflowRef
from petitions.errors import PetitionError, bounded
from petitions.logs import get_logger
from petitions.persistence import (
    is_postgres_recorder,
    is_sqlite_recorder,
    retry_schema_change,
)
from petitions.readmodels.rates import (
    GROUPINGS,
    RateGroup,
    compute_rates,
    rate_config,
    with_impossible,
)
from petitions.readmodels.store import FILTER_COLUMNS, ViewStore
from workflows.model import Label
from workflows.records import asdict, field, frozen

# The projection (and eventsourcing's projection module) is imported when
# there are events to apply: not by a query that finds none.
if TYPE_CHECKING:
    from eventsourcing.application import Application

    from petitions.core import Store
    from petitions.readmodels.postgres import PostgresViewStore
    from petitions.readmodels.projection import LiteEvent, StoredRow, ViewProjection
    from petitions.readmodels.sqlite import SQLiteViewStore

log = get_logger("petitions.readmodels")

#: Stored events read and applied per transaction while catching up.
BATCH = 10_000
#: Events behind from which a catch-up defers the case index's secondary
#: indexes (builds them once at the end: cheaper than keeping them up to date).
BULK = 200_000
#: A petition's status in the case index (the ``list --status`` filter).
STATUSES = ("open", "closed")
#: Hits a text search counts at most (one more is shown as "1,000+"): counting
#: every hit would read them all, however few are shown.
SEARCH_COUNT_CAP = 1000
#: Whose desks ``caseload`` counts.
CASELOAD_ROLES = ("assignee", "mediator")
#: What ``caseload`` can be counted per: the roles, or the lead unit
#: (``PetitionService.unit_caseload``, rolled up the unit register).
CASELOAD_VIEWS = (*CASELOAD_ROLES, "unit")

Progress = Callable[[int, int], None]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def deadline_range(overdue: bool, due_within: timedelta | None,
                   now: datetime | None) -> tuple[str | None, str | None]:
    """The (from, to) deadline texts of ``overdue`` / ``due_within`` at ``now``."""
    if not overdue and due_within is None:
        return (None, None)
    from petitions.readmodels.projection import iso

    at = now or datetime.now(UTC)
    if due_within is not None and due_within < timedelta(0):
        from petitions.errors import InvalidInput

        raise InvalidInput("due_within", "must not be negative", kind="invalid")
    until = at + due_within if due_within is not None else at - timedelta(microseconds=1)
    return (None if overdue else iso(at), iso(until))


def _uuid(value: Any) -> UUID:
    """A stored originator id (SQLite keeps hex text, PostgreSQL a UUID) as a UUID."""
    return value if isinstance(value, UUID) else UUID(str(value))


@frozen
class CaseSummary:
    """One row of the case index: what a queue or a search shows."""

    id: str
    version: int
    title: str
    workflow: str
    stage: str
    status: str
    outcome: str | None
    category: str
    channel: str
    petitioner_kind: str
    street: str
    community: str
    grid: str
    lead_unit: str | None
    assignee: str | None
    mediator: str | None
    filed_at: datetime
    updated_at: datetime
    last_rating: str | None
    campaign_id: str | None
    #: The running clock's deadline and its state as recorded (``on_time``,
    #: ``warned``, ``breached``, ``paused``); ``None`` without a clock.
    deadline: datetime | None = None
    deadline_state: str | None = None
    #: The work-order number (工单号).
    number: str | None = None
    #: The sha256 of the workflow version the petition was filed under, and
    #: its stage's and last rating's labels in that version (both languages).
    workflow_sha256: str | None = None
    stage_label: Label | None = None
    rating_label: Label | None = None
    #: The request type (诉求类型) and urgency; whether it was filed anonymously.
    type: str = "complaint"
    urgency: str = "normal"
    anonymous: bool = False
    #: The matter type (claim, suggestion, report), when it was closed, how many
    #: times it was reopened and escalated (督办).
    matter_type: str | None = None
    closed_at: datetime | None = None
    reopens: int = 0
    escalations: int = 0
    #: The petitioner's id, name and phone as stored: *sealed* (ciphertext);
    #: never shown as such (``PetitionService.export_cases`` renders them).
    sealed_petitioner: tuple[str, str, str] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, row: Mapping[str, Any], stage_label: Label | None = None,
           rating_label: Label | None = None) -> CaseSummary:
        filed = _time(row["filed_at"])
        updated = _time(row["updated_at"])
        assert filed is not None and updated is not None
        return cls(
            id=row["id"], version=int(row["version"]), title=row["title"],
            workflow=row["workflow"], stage=row["stage"], status=row["status"],
            outcome=row["outcome"], category=row["category"], channel=row["channel"],
            petitioner_kind=row["petitioner_kind"], street=row["street"] or "",
            community=row["community"] or "", grid=row["grid"] or "",
            lead_unit=row["lead_unit"], assignee=row["assignee"], mediator=row["mediator"],
            filed_at=filed, updated_at=updated, last_rating=row["last_rating"],
            campaign_id=row["campaign_id"], deadline=_time(row.get("deadline")),
            deadline_state=row.get("deadline_state"), number=row.get("number"),
            workflow_sha256=row.get("workflow_sha256"), stage_label=stage_label,
            rating_label=rating_label,
            type=row.get("request_type") or "complaint", urgency=row.get("urgency") or "normal",
            anonymous=bool(row.get("anonymous")),
            matter_type=row.get("matter_type"), closed_at=_time(row.get("closed_at")),
            reopens=int(row.get("reopens") or 0), escalations=int(row.get("escalations") or 0),
            sealed_petitioner=(row.get("petitioner_id") or "", row.get("petitioner_name") or "",
                               row.get("petitioner_phone") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["sealed_petitioner"]
        out["filed_at"] = self.filed_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        out["deadline"] = self.deadline.isoformat() if self.deadline else None
        out["closed_at"] = self.closed_at.isoformat() if self.closed_at else None
        from petitions.timefmt import due_date

        found = due_date(self.deadline)
        out["due_date"] = found.isoformat() if found else None
        return out


@frozen
class Caseload:
    """How many petitions a person (assignee or mediator) has open and closed."""

    person: str
    open: int
    closed: int


@frozen
class CampaignTally:
    """A campaign's petitions as the case index counts them (see
    :class:`petitions.campaigns.CampaignProgress` for the campaign itself)."""

    campaign_id: str
    total: int
    open: int
    closed: int
    resolved: int


def open_store(app: Application[Any], create: bool = True) -> ViewStore:
    """The view store in the same database as ``app``'s events."""
    datastore = app.factory.datastore  # type: ignore[attr-defined]
    from eventsourcing.sqlite import SQLiteFactory

    module = type(app.factory).__module__
    store: ViewStore
    if isinstance(app.factory, SQLiteFactory):
        from petitions.readmodels.sqlite import SQLiteViewStore

        store = SQLiteViewStore(datastore)
    elif module.startswith("eventsourcing.postgres") or module == "petitions.postgres":
        from petitions.readmodels.postgres import PostgresViewStore

        store = PostgresViewStore(datastore)
    else:
        raise NotImplementedError(f"read models need SQLite or PostgreSQL, not {module}")
    if create:
        _create(app, store)
    return store


def _create(app: Application[Any], store: SQLiteViewStore | PostgresViewStore) -> None:
    """Create (or upgrade) the view tables; several processes may do this at once."""
    from petitions.readmodels.sqlite import SQLiteViewStore

    def create() -> None:
        if store.outdated():
            # Views of an older version (fewer columns): drop them and build
            # them again from the events (the next catch-up does).
            log.warning("read models are of an older version: rebuilding them")
            store.drop_views(app.name)
        store.create_table()
        from petitions.sidetables import SideTables

        SideTables(store.datastore, postgres=not isinstance(store, SQLiteViewStore)).create()

    creating = getattr(app.factory, "creating", None)
    if creating is not None:  # PostgreSQL: one process at a time (advisory lock)
        with creating():
            create()
        return
    # SQLite: besides a lock, another process may have just recorded the
    # tracking table's migration mark (IntegrityError).
    retry_schema_change(create, also=(IntegrityError,))


class PoisonTable:
    """Stored events the views skipped because they cannot be read (table
    ``poisoned_events`` beside the views), so that every later query reports them."""

    def __init__(self, recorder: Any, datastore: Any = None) -> None:
        self.datastore = datastore or recorder.datastore
        self.postgres = datastore is None and is_postgres_recorder(recorder)
        if self.postgres:
            schema = '"' + str(self.datastore.schema).replace('"', '""') + '"'
            self.name, self.p = f"{schema}.poisoned_events", "%s"
        else:
            self.name, self.p = "poisoned_events", "?"
        self._created = False

    def _create(self, c: Any) -> bool:
        """Create the table if missing; whether it exists.  (PostgreSQL refuses
        even ``CREATE … IF NOT EXISTS`` in a read-only session: a store opened
        read-only is only looked at, and may lack the table.)"""
        if not self._created:
            if self.postgres:
                c.execute("SELECT to_regclass(%s) IS NOT NULL AS found, "
                          "current_setting('transaction_read_only') = 'on' AS read_only",
                          (self.name,))
                row = c.fetchone()
                if row["read_only"] and not row["found"]:
                    return False
                self._created = bool(row["found"])
            if not self._created:
                c.execute(f"CREATE TABLE IF NOT EXISTS {self.name} (position BIGINT "
                          "PRIMARY KEY, petition_id TEXT NOT NULL, version BIGINT NOT NULL, "
                          "detail TEXT)")
                self._created = True
        return True

    def record(self, position: int, petition_id: str, version: int, detail: str) -> None:
        p = self.p
        with self.datastore.transaction(commit=True) as c:
            self._create(c)
            c.execute(f"INSERT INTO {self.name} (position, petition_id, version, detail) "
                      f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                      (position, petition_id, version, detail))

    def rows(self) -> list[tuple[int, str, int, str]]:
        with self.datastore.transaction(commit=True) as c:
            if not self._create(c):
                return []  # none recorded in a read-only store without the table
            c.execute(f"SELECT position, petition_id, version, detail FROM {self.name} "
                      "ORDER BY position")
            found = c.fetchall()
        out = []
        for row in found:
            values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            out.append((int(values[0]), str(values[1]), int(values[2]), str(values[3] or "")))
        return out

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._create(c)
            c.execute(f"DELETE FROM {self.name}")


def _stored_rows(recorder: Any, after: int, limit: int) -> list[StoredRow]:
    from petitions.readmodels.projection import stored_rows

    return stored_rows(recorder, after, limit)


class ReadModels:
    """The read models of a petitions store (:class:`petitions.core.Store`)."""

    def __init__(self, app: Store, *, inline: bool | None = None) -> None:
        self.app = app
        #: A private in-memory database holding the views of a read-only store
        #: whose own views are missing or behind (``None`` otherwise).
        self._scratch: Any = None
        self.store = (self._read_only_views(app) if getattr(app, "read_only", False)
                      else open_store(app))
        self._projection: ViewProjection | None = None
        if inline is None:
            inline = os.environ.get("PETITIONS_VIEWS", "inline") != "runner"
        #: Whether this process keeps the views up to date (else a runner does).
        self.inline = inline
        self._labels: dict[tuple[str, str, str, str], Label | None] = {}
        #: The decoder processes' CPU seconds in the last catch-up that used
        #: them (:mod:`petitions.readmodels.pipeline`), each.
        self.decoders_cpu: list[float] = []

    @property
    def projection(self) -> ViewProjection:
        """The projection that applies events to the views (made on first use)."""
        if self._projection is None:
            from petitions.readmodels.projection import ViewProjection

            self._projection = ViewProjection(view=self.store)
        return self._projection

    # ------------------------------------------------------------ labels
    def summaries(self, rows: Iterable[Mapping[str, Any]]) -> list[CaseSummary]:
        """Case index rows as summaries, each with its stage's and last rating's
        labels from the workflow version the petition was filed under."""
        return [CaseSummary.of(
            r, self.label_of(r.get("workflow_sha256"), r["workflow"], "stage", r["stage"]),
            self.label_of(r.get("workflow_sha256"), r["workflow"], "rating", r["last_rating"]))
            for r in rows]

    def stage_label(self, sha256: str | None, workflow: str, stage: str) -> Label | None:
        """The label of ``stage`` in the workflow version ``sha256`` (see :meth:`label_of`)."""
        return self.label_of(sha256, workflow, "stage", stage)

    def label_of(self, sha256: str | None, workflow: str, kind: str,
                 code: str | None) -> Label | None:
        """The label of a ``stage`` or ``rating`` code in the workflow version
        ``sha256`` (the current version of ``workflow`` for a row indexed
        without one), or ``None`` when that version or code is not known."""
        if not code:
            return None
        key = (sha256 or "", workflow, kind, code)
        if key not in self._labels:
            found: Label | None = None
            try:
                wf = (self.app.pinned(WorkflowRef(workflow, 0, sha256)) if sha256
                      else self.app.workflow(workflow))
                if kind == "stage" and code in wf.stages:
                    found = wf.stage(code).label
                elif kind == "rating" and (rating := wf.rating(code)) is not None:
                    found = rating.label
            except PetitionError:
                found = None
            self._labels[key] = found
        return self._labels[key]

    def _read_only_views(self, app: Application[Any]) -> ViewStore:
        """The views of a store that may not be written: its own when they are
        current (reading them writes nothing), else views built in a private
        in-memory database from the events (with a copy of the work-order
        numbers they show), which every query then reads."""
        from uuid import uuid4

        from eventsourcing.persistence import PersistenceError
        from eventsourcing.sqlite import SQLiteDatastore

        from petitions.readmodels.sqlite import SQLiteViewStore
        from petitions.sidetables import SideTables

        recorder: Any = app.recorder
        stored = open_store(app, create=False)
        try:
            current = (not stored.outdated() and (stored.max_tracking_id(app.name) or 0)
                       == (recorder.max_notification_id() or 0))
        except PersistenceError:  # no views stored
            current = False
        if current:
            return stored
        self._scratch = SQLiteDatastore(f"file:petitions-ro-views-{uuid4().hex}?mode=memory"
                                        "&cache=shared")
        scratch = SQLiteViewStore(self._scratch)
        scratch.create_table()
        SideTables(self._scratch, postgres=False).create()
        from petitions.persistence import is_postgres_recorder

        orders = SideTables(recorder.datastore, postgres=is_postgres_recorder(recorder)).orders
        try:
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT petition_id, number, year, serial FROM {orders}")
                numbers = [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                           for r in c.fetchall()]
        except PersistenceError:  # a store of before work orders
            numbers = []
        with self._scratch.transaction(commit=True) as c:
            c.executemany("INSERT INTO work_orders (petition_id, number, year, serial) "
                          "VALUES (?, ?, ?, ?)", numbers)
        return scratch

    def close(self) -> None:
        """Let go of the in-memory views of a read-only store, if any."""
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None

    # ------------------------------------------------------------ upkeep
    def position(self) -> int:
        """The last notification id the views have applied (0 for none)."""
        found: int | None = self.store.max_tracking_id(self.app.name)
        return found or 0

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply every event recorded after the views' position; return how many.

        The stored rows are read in batches straight from the events table
        and only the fields a view needs are decoded (:func:`fast_item` for the
        common kinds, else :func:`lite_event`);
        each batch is applied set-wise in one transaction with its tracking
        record, and only if the views still stand where the batch began.
        More than a batch behind and either at least :data:`BULK` events or
        at least as many as the views hold already (a rebuild, a first
        catch-up, a bulk load doubling the store), the case index's secondary
        indexes are dropped and built again at the end
        (:meth:`ViewStore.indexes_deferred`): sorting them once then costs
        less than keeping them up to date row by row.  Such a catch-up also
        writes its batches *in bulk* where the store can (SQLite): the case
        index only, each batch still in one transaction with its tracking
        record and a marker saying the bulk writing is unfinished; at its end
        the text indexes of the cases it inserted are filled and every counter
        is counted from the case index, in one transaction that removes the
        marker (:meth:`ViewStore.finish_bulk`).  Any catch-up (of any process)
        that finds the marker finishes the work, so a process that dies in
        between leaves nothing wrong for longer than the next query.

        On SQLite such a catch-up has decoder processes read and decode the
        stored rows while this one writes (the text indexes too, batch by
        batch), and a process of its own count the counters again while this
        one builds the indexes (:mod:`petitions.readmodels.pipeline`); every
        view change is still written here, batch after batch."""
        start, rows, unfinished = self._pending()
        if not rows:
            if unfinished:  # a bulk writing stopped before its end: finish it
                self.store.finish_bulk(self.app.name)
            return 0
        total = len(rows)
        if len(rows) == BATCH:  # more may follow: how many?
            recorder: Any = self.app.recorder
            total = max(total, (recorder.max_notification_id() or 0) - start)
            if total >= BULK or total >= start:
                with contextlib.ExitStack() as stack:
                    # Where decoders can read, a process of its own counts
                    # the counters again while the indexes are built (from
                    # the views as the last batch left them); forked now, it
                    # waits until then.
                    counting = None
                    db_name = self._decoder_db()
                    if db_name is not None:
                        from petitions.readmodels.pipeline import Counting

                        counting = stack.enter_context(Counting(db_name, self.app.name))
                    with self.store.indexes_deferred():
                        done, unfinished = self._catch_up(start, rows, total, progress,
                                                          bulk=True)
                        if not unfinished:
                            counting = None
                        elif counting is None:
                            self.store.finish_bulk(self.app.name)
                        else:
                            counting.start()
                    if counting is not None:
                        self.store.finish_bulk(self.app.name, counting.result())
                    return done
        done, unfinished = self._catch_up(start, rows, total, progress,
                                          unfinished=unfinished)
        if unfinished:
            self.store.finish_bulk(self.app.name)
        return done

    def _catch_up(self, start: int, rows: list[StoredRow], total: int,
                  progress: Progress | None, *, bulk: bool = False,
                  unfinished: bool = False) -> tuple[int, bool]:
        """Apply ``rows`` (the first batch after ``start``) and every batch
        after; ``bulk``: written in bulk where the store can
        (:meth:`ViewStore.finish_bulk` then fills in the rest).  Return how
        many were applied and whether a bulk writing (this one, or another
        process's) is left unfinished."""
        done = 0
        projection = self.projection
        if bulk and len(rows) == BATCH:
            start, rows, piped, unfinished = self._catch_up_piped(start, rows, total, progress,
                                                                 unfinished)
            done += piped
        while True:
            if not rows:
                return done, unfinished
            from petitions.readmodels.projection import fast_item

            lite, fast = self._lite, fast_item
            events = [fast(row) or lite(row) for row in rows]
            applied = self._apply_after(events, rows[-1][0], start, bulk=bulk)
            unfinished = unfinished or projection.unfinished
            if not applied:
                # Another process applied events first: nothing of ours was
                # written; carry on from the position it reached.
                start, rows, found = self._pending()
                unfinished = unfinished or found
                continue
            done += len(rows)
            start = rows[-1][0]
            if progress is not None:
                progress(done, max(total, done))
            if len(rows) < BATCH:
                return done, unfinished
            rows = _stored_rows(self.app.recorder, start, BATCH)

    def _apply_after(self, events: list[Any], last: int, start: int, **options: Any) -> bool:
        """Apply ``events`` (up to position ``last``) if the views still stand
        at ``start`` (:meth:`ViewProjection.apply_after`); ``False`` if another
        process applied events first (nothing of ours was written)."""
        try:
            return bool(self.projection.apply_after(events, Tracking(self.app.name, last),
                                                    start, full=self._full, **options))
        except IntegrityError:
            return False
        finally:
            self._record_deferred_poison()

    def _catch_up_piped(self, start: int, rows: list[StoredRow], total: int,
                        progress: Progress | None, unfinished: bool
                        ) -> tuple[int, list[StoredRow], int, bool]:
        """:meth:`_catch_up` of a bulk writing on SQLite, the stored rows up to
        the last one now stored read and decoded by a second process
        (:mod:`petitions.readmodels.pipeline`) while this one writes.  Return
        where it stopped, the stored rows after that (a batch, read here),
        how many events it applied and whether a bulk writing is unfinished.
        Stops early, leaving the rest to :meth:`_catch_up`, wherever another
        process applied events first or the decoder failed."""
        db_name = self._decoder_db()
        if db_name is None:
            return start, rows, 0, unfinished
        from petitions.readmodels import pipeline

        recorder: Any = self.app.recorder
        n = pipeline.decoders_wanted()
        end = recorder.max_notification_id() or 0
        projection = self.projection
        done = 0
        with pipeline.Decoders(db_name, recorder.events_table_name, start, end,
                               BATCH, n, pipeline.writer_reads(), first=rows) as decoders:
            for last, count, events, grams in decoders.batches(self._lite):
                applied = self._apply_after(events, last, start, bulk=True,
                                            bulk_text=True, grams=grams)
                unfinished = unfinished or projection.unfinished
                if not applied:
                    break  # another process went first: carry on in-process
                done += count
                start = last
                if progress is not None:
                    progress(done, max(total, done))
        self.decoders_cpu = decoders.cpu
        if done:
            rows = _stored_rows(recorder, start, BATCH)
        return start, rows, done, unfinished

    def _decoder_db(self) -> str | None:
        """The SQLite database other processes may read for this one's bulk
        catch-up (:mod:`petitions.readmodels.pipeline`), or ``None``: the
        views beside the events in a SQLite file, and decoders wanted."""
        store: Any = self.store
        recorder: Any = self.app.recorder
        if (self._scratch is not None or not is_sqlite_recorder(recorder)
                or store.datastore is not recorder.datastore or not store.bulk_supported):
            return None
        from petitions.readmodels import pipeline

        db_name: str = recorder.datastore.pool.db_name
        if not pipeline.decoders_wanted() or not pipeline.available(db_name):
            return None
        return db_name

    def _pending(self) -> tuple[int, list[StoredRow], bool]:
        """The views' position, the stored rows after it (up to ``BATCH``),
        and whether a bulk writing is unfinished (:meth:`ViewStore.finish_bulk`).

        A query after a command usually finds a few new events, or none: in a
        SQLite file whose views sit beside the events, all are read in one
        read transaction (one connection from the pool, two prepared
        statements).  The batch is applied only if the views still stand at
        that position when its write transaction begins (exactly once)."""
        store: Any = self.store
        recorder: Any = self.app.recorder
        if self._scratch is None and is_sqlite_recorder(recorder) \
                and store.datastore is recorder.datastore:
            with recorder.datastore.transaction(commit=False) as c:
                cursor = c.sqlite_cursor
                cursor.row_factory = None
                found, unfinished = store.tracked_and_marked(cursor, self.app.name)
                start = found or 0
                cursor.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state FROM "
                    f"{recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (start, BATCH))
                return start, cursor.fetchall(), unfinished
        start = self.position()
        return (start, _stored_rows(recorder, start, BATCH),
                self.store.bulk_unfinished(self.app.name))

    def _lite(self, row: StoredRow) -> Any:
        """The event of a stored row as the views read it (see :func:`lite_event`)."""
        from petitions.readmodels.projection import NeedsFullDecode, lite_event

        position, oid, version, topic, state = row
        try:
            return lite_event(row, topic, state)
        except NeedsFullDecode:
            return self._decode(Notification(id=position, originator_id=_uuid(oid),
                                             originator_version=version, topic=topic,
                                             state=state))

    def _full(self, event: LiteEvent) -> Any:
        """The domain event of a stored row the light reading could not apply
        (eventsourcing's mapper; a damaged one is kept aside, see :meth:`_decode`)."""
        from petitions.readmodels.projection import mistyped_field

        position, oid, version, topic, state = event.row
        decoded = self._decode(Notification(id=position, originator_id=_uuid(oid),
                                            originator_version=version, topic=topic,
                                            state=state), defer=True)
        wrong = None if decoded is None else mistyped_field(decoded)
        if wrong is not None:  # parses, but is not what its class says: damaged
            from petitions.errors import CorruptEvent

            self._poison(CorruptEvent(_uuid(oid), version, position,
                                      f"field {wrong!r} has the wrong type"), position,
                         defer=True)
            return None
        return decoded

    def _decode(self, notification: Any, defer: bool = False) -> Any:
        """The domain event of ``notification``; a stored event that cannot be
        read is kept aside (:meth:`poisoned`) and skipped, so that one damaged
        event does not stop the views of every other petition (``defer``:
        inside the views' write transaction, recorded once it has ended)."""
        from petitions.errors import CorruptEvent

        try:
            return self.app.mapper.to_domain_event(notification)
        except CorruptEvent as exc:
            self._poison(exc, notification.id, defer=defer)
            return None

    def _poison(self, exc: Any, position: int, *, defer: bool) -> None:
        log.warning("%s", exc)
        record = (position, str(exc.petition_id), exc.version, str(exc.params.get("detail", "")))
        if defer:
            self.__dict__.setdefault("_deferred_poison", []).append(record)
        else:
            self._poison_table().record(*record)

    def _record_deferred_poison(self) -> None:
        for record in self.__dict__.pop("_deferred_poison", []):
            self._poison_table().record(*record)

    def _poison_table(self) -> PoisonTable:
        found: PoisonTable | None = self.__dict__.get("_poison_found")
        if found is None:
            found = PoisonTable(self.app.recorder, datastore=self._scratch)
            self.__dict__["_poison_found"] = found
        return found

    def poisoned(self) -> list[Any]:
        """The stored events the views skipped because they cannot be read
        (each a :class:`~petitions.errors.CorruptEvent` naming petition,
        version and position), oldest first; ``audit verify`` locates them all."""
        from petitions.errors import CorruptEvent

        return [CorruptEvent(pid, version, position, detail)
                for position, pid, version, detail in self._poison_table().rows()]

    def refresh(self) -> None:
        """Catch up if this process keeps the views (before a query)."""
        if self.inline:
            self.catch_up()

    def rebuild(self, progress: Progress | None = None, *, actor: Any = None) -> int:
        """Empty the views and apply the whole history again (``actor``: who asks;
        refused unless ``petitions/data/operations.toml`` grants ``views_rebuild``)."""
        if actor is not None:
            from petitions.operations import check

            check(actor, "views_rebuild")
        self.store.reset(self.app.name)
        self._poison_table().clear()
        return self.catch_up(progress)

    # ----------------------------------------------------------- queries
    @staticmethod
    def check_filters(filters: Mapping[str, str | None]) -> dict[str, str | None]:
        unknown = set(filters) - set(FILTER_COLUMNS)
        if unknown:
            from petitions.errors import InvalidInput

            raise InvalidInput("filter", f"unknown filter {', '.join(sorted(unknown))}; "
                               f"valid: {', '.join(FILTER_COLUMNS)}", kind="unknown_code",
                               value=", ".join(sorted(unknown)),
                               valid=", ".join(FILTER_COLUMNS))
        return dict(filters)

    @staticmethod
    def check_page(limit: int | None, offset: int) -> None:
        """Refuse a page size or offset no database can take."""
        if limit is not None:
            bounded("limit", limit)
        bounded("offset", offset)

    def cases(self, *, text: str | None = None, limit: int | None = 50, offset: int = 0,
              ids: Sequence[str] | None = None, **filters: str | None) -> list[CaseSummary]:
        """Cases matching the filters (and among ``ids`` when given), newest
        filing first; with ``text``, most recently recorded first (the order the
        full-text index keeps: the same but for filings imported or recorded
        later than their filing time)."""
        self.check_page(limit, offset)
        self.refresh()
        rows = self.store.list_cases(self.check_filters(filters), text or None, limit, offset,
                                     ids=ids)
        return self.summaries(rows)

    def iter_cases(self, *, text: str | None = None, ids: Sequence[str] | None = None,
                   overdue: bool = False, due_within: timedelta | None = None,
                   now: datetime | None = None, batch: int = 1000,
                   **filters: str | None) -> Iterator[CaseSummary]:
        """Every case matching the filters (as :meth:`cases`, and by deadline as
        :meth:`cases_by_deadline`), oldest filing first, streamed in batches."""
        checked = self.check_filters(filters)
        self.refresh()
        for row in self.store.iter_cases(checked, text or None,
                                         deadline_range(overdue, due_within, now), ids=ids,
                                         batch=batch):
            yield self.summaries((row,))[0]

    def count(self, *, text: str | None = None, ids: Sequence[str] | None = None,
              cap: int | None = None, **filters: str | None) -> int:
        """How many cases match; with ``text`` and ``cap``, at most ``cap + 1``
        (counting stops there: more than ``cap`` hits is all a search shows)."""
        self.refresh()
        return self.store.count_cases(self.check_filters(filters), text or None, ids=ids,
                                      cap=cap)

    def cases_by_deadline(self, *, overdue: bool = False, due_within: timedelta | None = None,
                          now: datetime | None = None, text: str | None = None,
                          limit: int | None = 50, offset: int = 0,
                          **filters: str | None) -> list[CaseSummary]:
        """Cases (as :meth:`cases`) whose running clock is ``overdue`` (its
        deadline has passed at ``now``, default the current time) or whose
        deadline falls ``due_within`` that time from ``now`` (both: either),
        soonest deadline first.  Paused clocks are left out."""
        self.check_page(limit, offset)
        self.refresh()
        rows = self.store.list_cases(self.check_filters(filters), text or None, limit, offset,
                                     deadline_range(overdue, due_within, now))
        return self.summaries(rows)

    def count_by_deadline(self, *, overdue: bool = False, due_within: timedelta | None = None,
                          now: datetime | None = None, text: str | None = None,
                          **filters: str | None) -> int:
        self.refresh()
        return self.store.count_cases(self.check_filters(filters), text or None,
                                      deadline_range(overdue, due_within, now))

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Ids of petitions whose clock has a warning or a breach due at ``now``."""
        from petitions.readmodels.projection import iso

        self.refresh()
        return self.store.due_cases(iso(now), limit)

    def with_deadline(self) -> list[str]:
        """Ids of petitions with a running clock, soonest deadline first."""
        self.refresh()
        return self.store.clock_cases()

    def summary(self, petition_id: str) -> CaseSummary | None:
        self.refresh()
        row = self.store.get_case(petition_id)
        return self.summaries([row])[0] if row else None

    def caseload(self, role: str = "assignee") -> list[Caseload]:
        if role not in CASELOAD_ROLES:
            from petitions.errors import InvalidInput

            raise InvalidInput("role", "must be assignee or mediator", kind="unknown_code",
                               value=role, valid=", ".join(CASELOAD_ROLES))
        self.refresh()
        return [Caseload(r["person"], int(r["open_count"]), int(r["closed_count"]))
                for r in self.store.caseload(role)
                if r["open_count"] or r["closed_count"]]

    def campaigns(self) -> list[CampaignTally]:
        self.refresh()
        return [CampaignTally(r["campaign_id"], int(r["total"]), int(r["open_count"]),
                                 int(r["closed_count"]), int(r["resolved_count"]))
                for r in self.store.campaigns()]

    def supervision_counts(self) -> list[tuple[str, int, int]]:
        """``(lead unit, reminders, escalations)``."""
        self.refresh()
        return self.store.supervision_counts()

    def unit_counts(self) -> list[tuple[str, bool, int]]:
        """``(lead unit, open?, count)`` over dispatched cases."""
        self.refresh()
        return self.store.unit_counts()

    def group_counts(self, groups: Sequence[str], *, open_only: bool = False,
                     filed_from: datetime | None = None, filed_to: datetime | None = None,
                     overdue_at: datetime | None = None) -> list[tuple[tuple[str, ...], int]]:
        """How many cases per combination of ``groups`` (``street``, ``community``,
        ``grid``, ``category``, ``unit``, ``workflow``, ``stage``, ``hour``): open ones
        only if ``open_only``; filed at or after ``filed_from`` and before
        ``filed_to``; with ``overdue_at``, only those whose running clock is overdue
        then (as ``list --overdue``)."""
        from petitions.readmodels.projection import iso
        from petitions.readmodels.store import REPORT_GROUPS

        unknown = [g for g in groups if g not in REPORT_GROUPS]
        if unknown or not groups:
            from petitions.errors import InvalidInput

            raise InvalidInput("by", f"must be among {', '.join(REPORT_GROUPS)}",
                               kind="unknown_code", value=", ".join(unknown),
                               valid=", ".join(REPORT_GROUPS))
        self.refresh()
        deadline = deadline_range(True, None, overdue_at) if overdue_at else (None, None)
        return self.store.group_counts(
            groups, open_only=open_only, deadline=deadline,
            filed=(iso(filed_from) if filed_from else None,
                   iso(filed_to) if filed_to else None))

    def stats(self, by: str = "street", date_from: str | None = None,
              date_to: str | None = None,
              rollup: Callable[[str], Sequence[str]] | None = None) -> list[RateGroup]:
        """The three rates per group over valid call-backs, optionally within
        local days ``date_from``…``date_to`` (inclusive, ``YYYY-MM-DD``)."""
        if by not in GROUPINGS:
            from petitions.errors import InvalidInput

            raise InvalidInput("by", f"must be one of {', '.join(GROUPINGS)}",
                               kind="unknown_code", value=by, valid=", ".join(GROUPINGS))
        self.refresh()
        config = rate_config()
        rows = self.store.rate_rows(by, config.exclude_outcomes, date_from, date_to)
        impossible = self.store.impossible_rows(by, date_from, date_to)
        if rollup is not None:
            rows = [(name, *row[1:])
                    for row in rows
                    for name in (rollup(row[0]) if row[0] else [row[0]])]
            impossible = [(name, n) for group, n in impossible
                          for name in (rollup(group) if group else [group])]
        return with_impossible(compute_rates(rows, config), impossible)
