"""The application core: the petitions event store, and the one path a command takes.

:class:`Store` is an eventsourcing application (with hash-chained events,
:mod:`petitions.audit.chain`) that knows the workflow definitions and how to
load, decide and save.  :meth:`Store.execute` is the single place a handling
command is carried out: load the petition, find the workflow version it was
filed under, let the command decide against both (it triggers the events),
start the clock of a stage it enters, save — all or nothing.

The store hands out aggregates; it is the core the service, privacy, the
deadline sweep, audit and the importer are built on, not a public face.
Portals use :class:`petitions.service.PetitionService`, which composes it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from petitions.audit.chain import ChainedApplication
from petitions.domain import values
from petitions.domain.petition import Petition
from petitions.domain.values import Actor
from petitions.errors import (
    ConcurrentUpdate,
    InvalidInput,
    PermissionDenied,
    PetitionNotFound,
    WorkflowNotFound,
)
from petitions.logs import get_logger
from petitions.persistence import (
    default_url,
    env_for_url,
    is_read_only_url,
    is_sqlite_recorder,
)
from petitions.transcoding import register_values
from workflows import Registry, UnknownWorkflow, Workflow

if TYPE_CHECKING:
    from pathlib import Path

    from petitions.deadlines.clock import Timekeeper
    from petitions.domain.commands import Command
    from petitions.domain.definitions import WorkflowDefinition

log = get_logger("petitions")

T = TypeVar("T")

#: How far in the future an ``at=`` may lie, to allow for clock skew.
CLOCK_SKEW = timedelta(seconds=60)
DEFAULT_SNAPSHOT_INTERVAL = 50
#: How many ids found absent a store remembers before it starts afresh.
ABSENT_MAX = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def retry_on_conflict(fn: Callable[..., T], *args: Any, attempts: int = 8,
                      base_delay: float = 0.005, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``, retrying on :class:`ConcurrentUpdate`.

    Each retry reloads the petition (commands always load fresh state), after
    a short randomised back-off.  After ``attempts`` tries the last
    ``ConcurrentUpdate`` is raised.  Other errors are raised at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except ConcurrentUpdate:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, base_delay * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def as_id(value: UUID | str, field: str = "id") -> UUID:
    """``value`` as a UUID, or :class:`InvalidInput` naming ``field``."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not a petition id", kind="bad_id") from None


class AuditLog:
    """What audit tools read of a store, and nothing more: its stored events
    (as bytes through ``recorder``, as domain events through ``mapper`` and
    ``events``), its snapshots, and the database its read models share —
    never an aggregate, never a way to save one (see :func:`Store.audit_log`)."""

    def __init__(self, store: Store) -> None:
        self.name: str = store.name
        self.recorder: Any = store.recorder
        self.mapper: Any = store.mapper
        #: Domain events by aggregate id (``events.get(id, lte=version)``).
        self.events: Any = store.events
        self.snapshots: Any = store.snapshots
        #: The snapshot class of aggregates that do not name their own.
        self.snapshot_class: Any = type(store).snapshot_class
        #: eventsourcing's infrastructure factory (its ``datastore``).
        self.factory: Any = store.factory


class Store(ChainedApplication):
    """The petitions event store (an eventsourcing application) and its workflows.

    ``env`` is eventsourcing's environment (default: made from ``url``); the
    rest as :meth:`petitions.service.PetitionService.open` takes them
    (``timekeeper``: deadlines on another calendar than the official one).
    """

    name = "petitions"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Petition: DEFAULT_SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        url: str | None = None,
        workflow_dirs: Iterable[str | Path] = (),
        clock: Callable[[], datetime] = utcnow,
        snapshot_interval: int | None = None,
        timekeeper: Timekeeper | None = None,
    ) -> None:
        self.url = url or default_url()
        interval = snapshot_interval
        if interval is None:
            interval = int(os.environ.get("PETITIONS_SNAPSHOT_INTERVAL",
                                          DEFAULT_SNAPSHOT_INTERVAL))
        self.snapshotting_intervals = (  # type: ignore[misc]
            {Petition: interval} if interval > 0 else {})
        full_env = dict(env or env_for_url(self.url))
        dbname = full_env.get("SQLITE_DBNAME")
        #: Whether the store is read-only (an SQLite file that may not be
        #: written, or a PostgreSQL role that may only read): its views are
        #: then kept in memory, and writes are refused.
        self.read_only = bool(dbname) and is_read_only_url(dbname)
        full_env["IS_SNAPSHOTTING_ENABLED"] = "y" if interval > 0 else "n"
        # An LRU cache of aggregates, fast-forwarded from the store on every
        # get (so other writers' events are always seen): a command then reads
        # only the events it has not seen instead of replaying the petition.
        full_env.setdefault("AGGREGATE_CACHE_MAXSIZE",
                            os.environ.get("PETITIONS_CACHE_SIZE", "1000"))
        full_env.setdefault("AGGREGATE_CACHE_FASTFORWARD", "y")
        super().__init__(full_env)
        # On PostgreSQL, known once connected: the role may not write the schema.
        self.read_only = self.read_only or bool(getattr(self.factory, "read_only", False))
        dirs = list(workflow_dirs)
        extra = os.environ.get("PETITIONS_WORKFLOWS")
        if extra:
            dirs.extend(p for p in extra.split(os.pathsep) if p)
        self.workflows = Registry.shipped(dirs)
        self.stored_hashes: set[str] = set()
        #: Ids :meth:`find` found absent (bounded: see ABSENT_MAX).
        self._absent: set[UUID] = set()
        #: :meth:`_has_events`' statement (SQLite, ids stored as hex), else None.
        self._has_events_sql: str | None = None
        recorder: Any = self.recorder
        if (is_sqlite_recorder(recorder)
                and getattr(recorder.datastore, "originator_id_type", "uuid") == "uuid"):
            self._has_events_sql = (f"SELECT 1 FROM {recorder.events_table_name} "
                                    "WHERE originator_id = ? LIMIT 1")
        #: The state of each petition this process saved last (see :meth:`execute`),
        #: as many as the aggregate cache holds.
        self._saved: LRUCache[UUID, Aggregate] = LRUCache(
            maxsize=int(full_env["AGGREGATE_CACHE_MAXSIZE"] or 0) or 1)
        self.clock = clock
        self._timekeeper: Timekeeper | None = timekeeper

    def audit_log(self) -> AuditLog:
        """The narrow view audit tools are given of this store (:class:`AuditLog`)."""
        return AuditLog(self)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_values(transcoder, [values])

    # ----------------------------------------------------------------- time
    def when(self, at: datetime | None) -> datetime:
        """When something happened: ``at`` in UTC (now when ``None``); refused
        without a time zone or in the future."""
        now = self.clock()
        if at is None:
            return now
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise InvalidInput("at", "must be a date and time with a time zone",
                               kind="naive_time")
        from petitions.timefmt import EARLIEST_YEAR, LATEST_YEAR, in_range

        if not in_range(at):
            raise InvalidInput("at", f"must fall in the years {EARLIEST_YEAR}–{LATEST_YEAR}",
                               kind="invalid")
        if at > now + CLOCK_SKEW:
            raise InvalidInput("at", "is in the future", kind="future")
        return at.astimezone(UTC)

    @property
    def timekeeper(self) -> Timekeeper:
        """Computes deadlines on the official calendar (:mod:`petitions.deadlines`)."""
        if self._timekeeper is None:
            from petitions.deadlines.clock import Timekeeper

            self._timekeeper = Timekeeper()
        return self._timekeeper

    # ------------------------------------------------------------ workflows
    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """A known workflow definition (the current version by default)."""
        try:
            return self.workflows.get(name, version)
        except UnknownWorkflow:
            raise WorkflowNotFound(name if version is None else f"{name} v{version}",
                                   tuple(self.workflows.names())) from None

    def workflow_of(self, petition: Petition) -> Workflow:
        """The exact definition ``petition`` was filed under."""
        return self.pinned(petition.workflow)

    def pinned(self, ref: values.WorkflowRef) -> Workflow:
        """The exact definition ``ref`` names (by its sha256): shipped, from an
        extra folder, or the copy kept in the store."""
        if self.workflows.has_hash(ref.sha256):
            return self.workflows.by_hash(ref.sha256)
        from petitions.domain.definitions import WorkflowDefinition, definition_id

        stored = self.find(definition_id(ref.sha256))
        if not isinstance(stored, WorkflowDefinition):
            raise WorkflowNotFound(f"{ref.name} v{ref.version} ({ref.sha256[:12]})")
        return self.workflows.add_text(stored.text, source_name=f"<stored {ref.name}>")

    def definition_to_keep(self, wf: Workflow) -> WorkflowDefinition | None:
        """A new ``WorkflowDefinition`` to save if ``wf``'s text is not stored yet."""
        if wf.sha256 in self.stored_hashes:
            return None
        from petitions.domain.definitions import WorkflowDefinition, definition_id

        if definition_id(wf.sha256) in self.repository:
            self.stored_hashes.add(wf.sha256)
            return None
        return WorkflowDefinition.register(wf.name, wf.version, wf.sha256, wf.source)

    # ----------------------------------------------------------- aggregates
    def find(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate with that id as it now stands, or ``None``.

        An id found absent before (e.g. the unit register, looked up by every
        ``assign``) is looked up again with one query for its first event
        instead of a snapshot and an event query: the events table decides,
        whichever process wrote to it."""
        absent = self._absent
        if aggregate_id in absent:
            if not self._has_events(aggregate_id):
                return None
            absent.discard(aggregate_id)
        try:
            found: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            if len(absent) >= ABSENT_MAX:
                absent.clear()
            absent.add(aggregate_id)
            return None
        return found

    def _has_events(self, aggregate_id: UUID) -> bool:
        """Whether the events table holds an event of ``aggregate_id``: on
        SQLite one statement on its own (auto-commit mode: a read transaction
        of its own, ended when its cursor closes), without the explicit
        ``BEGIN`` and ``ROLLBACK`` and the stored event a ``select_events``
        makes (the unit register's check, on every ``assign``)."""
        recorder: Any = self.recorder
        if self._has_events_sql is None:
            return bool(recorder.select_events(aggregate_id, limit=1))
        with recorder.datastore.get_connection(commit=False) as connection, \
                connection.cursor() as cursor:
            cursor.execute(self._has_events_sql, (aggregate_id.hex,))
            return cursor.fetchone() is not None

    def petition_id(self, value: UUID | str) -> UUID:
        """A petition's id from its id or its work-order number (工单号, e.g.
        ``2026-000123``): the one place where a number is resolved."""
        if isinstance(value, UUID):
            return value
        from petitions.sidetables import resolve_petition_id

        found: UUID = resolve_petition_id(self, value)
        return found

    def exists(self, aggregate_id: UUID | str) -> bool:
        return self.petition_id(aggregate_id) in self.repository

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have events in the store: one query per 500 ids (a
        bulk import's idempotency check) instead of a read of each aggregate."""
        recorder: Any = self.recorder
        table = getattr(recorder, "events_table_name", None)
        datastore = getattr(recorder, "datastore", None)
        if not isinstance(table, str) or datastore is None:
            return {i for i in ids if i in self.repository}
        from petitions.persistence import is_postgres

        postgres = is_postgres(self.url)
        if postgres:
            schema = '"' + str(datastore.schema).replace('"', '""') + '"'
            table = f'{schema}."{table}"'
        mark = "%s" if postgres else "?"
        found: set[UUID] = set()
        wanted = list(dict.fromkeys(ids))
        with datastore.transaction(commit=False) as cursor:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN "
                    f"({', '.join([mark] * len(chunk))})",
                    [i if postgres else i.hex for i in chunk])
                for row in cursor.fetchall():
                    value = row["originator_id"] if isinstance(row, dict) else row[0]
                    found.add(value if isinstance(value, UUID) else UUID(str(value)))
        return found

    def load(self, petition_id: UUID | str) -> Petition:
        """The petition as it now stands (a copy the caller may change), or
        :class:`PetitionNotFound`."""
        pid = self.petition_id(petition_id)
        saved = self._saved_head(pid)
        if saved is not None:
            return saved.__deepcopy__({})
        found = self.find(pid)
        if not isinstance(found, Petition):
            raise PetitionNotFound(petition_id)
        return found

    def current(self, petition_id: UUID | str) -> Petition:
        """The petition as it now stands, for reading only (the caller must not
        change it): the state this process saved last when the store holds no
        later event of it (one query), else as :meth:`load` gives it."""
        pid = self.petition_id(petition_id)
        saved = self._saved_head(pid)
        return saved if saved is not None else self.load(pid)

    def _saved_head(self, pid: UUID) -> Petition | None:
        """The state of ``pid`` this process saved last, if the store holds no
        later event of it (one query), else None."""
        try:
            saved = self._saved.get(pid)
        except KeyError:
            return None
        if isinstance(saved, Petition) and not self.recorder.select_events(
                pid, gt=saved.version, limit=1):
            return saved
        return None

    def load_version(self, petition_id: UUID | str, version: int) -> Petition:
        """The petition as it stood at ``version``."""
        try:
            found: Any = self.repository.get(self.petition_id(petition_id), version=version)
        except AggregateNotFoundError:
            raise PetitionNotFound(petition_id) from None
        if not isinstance(found, Petition):
            raise PetitionNotFound(petition_id)
        return found

    def petition_events(self, petition_id: UUID | str) -> list[Petition.Event]:
        """The stored domain events of a petition, oldest first."""
        pid = self.petition_id(petition_id)
        found = [e for e in self.events.get(pid) if isinstance(e, Petition.Event)]
        if not found:
            raise PetitionNotFound(petition_id)
        return found

    def remember(self, petition: Petition) -> None:
        """Keep ``petition``, just saved, as the state this process saved last.

        Only a shortcut: :meth:`execute` decides the next command on a copy of
        it first (its save confirms it was the store's head), and
        :meth:`load` and :meth:`current` give it (a copy, or itself to read)
        when the store holds no later event of it — one query, instead of
        reading back and applying the events just written.  Nothing changes
        it afterwards: the caller only reads it, and every command works on a
        copy — the view a command returns works its fields out from it when
        first read (``PetitionView.of_saved``), and relies on that.  (The
        aggregate cache, which loads fast-forward in place, holds what
        :meth:`find` read.)
        """
        if self.repository.cache is not None:
            self._saved.put(petition.id, petition)

    def _saved_copy(self, petition_id: UUID) -> Petition | None:
        """A copy of the state of ``petition_id`` this process saved last (None
        when it saved none, or forgot it)."""
        try:
            found = self._saved.get(petition_id)
        except KeyError:
            return None
        return found.__deepcopy__({}) if isinstance(found, Petition) else None

    # ------------------------------------------------------------- commands
    def execute(self, petition_id: UUID | str, command: Command, *, actor: Actor,
                at: datetime | None = None,
                expected_version: int | None = None) -> tuple[Petition, Workflow]:
        """Carry out ``command`` on the petition under its pinned workflow;
        return the petition as saved and that workflow.  Refused → nothing saved.

        When this process saved the petition last, the command is decided on
        that state without reading the store first: its save inserts the
        version after it, which the store refuses if any process wrote that
        version meanwhile — then (and whenever the command is refused, or
        writes nothing, on that state) it is decided again on the petition
        read from the store.  So a command is never saved, nor refused, nor
        its result shown, on a state other than the store's head."""
        from petitions.domain.commands import Command

        if not isinstance(command, Command):
            raise InvalidInput("command", f"{command!r} is not a command", kind="invalid")
        if not isinstance(actor, Actor):
            raise InvalidInput("actor", "must be an Actor (id and role)", kind="invalid")
        pid = self.petition_id(petition_id)
        when = self.when(at)
        saved = self._saved_copy(pid)
        if saved is not None:
            try:
                return self._execute(saved, command, actor, when, expected_version,
                                     verified=False)
            except _Unverified as exc:
                if exc.stale:  # another process wrote: not this state again
                    with suppress(KeyError):
                        self._saved.get(pid, evict=True)
        try:
            petition = self.load(pid)
        except PetitionNotFound:
            raise PetitionNotFound(petition_id) from None  # as it was given
        return self._execute(petition, command, actor, when, expected_version, verified=True)

    def _execute(self, petition: Petition, command: Command, actor: Actor, when: datetime,
                 expected_version: int | None, *, verified: bool) -> tuple[Petition, Workflow]:
        """Decide ``command`` on ``petition`` and save; with ``verified`` false
        (the state this process saved last, not read back), anything but a
        saved change raises :class:`_Unverified` instead (see :meth:`execute`)."""
        from petitions.domain.commands import Context

        if expected_version is not None and petition.version != expected_version:
            if not verified:
                raise _Unverified
            raise ConcurrentUpdate(petition.id, f"expected version {expected_version}, "
                                   f"found {petition.version}")
        try:
            wf = self.workflow_of(petition)
            stage_before = petition.stage
            ctx = Context(workflow=wf, actor=actor, at=when, check_time=self.when,
                          find=self.find, timekeeper=lambda: self.timekeeper)
            try:
                others: Sequence[Aggregate] = command.decide(petition, ctx)
            except PermissionDenied as exc:
                if verified:
                    log.warning("refused: %s (actor %s, petition %s)", exc, actor.id,
                                petition.id)
                raise
            # Entering a stage with a time limit starts its clock, in the same save.
            petition.keep_time(wf, lambda: self.timekeeper, actor, when, stage_before)
        except Exception:
            if verified:
                raise
            raise _Unverified from None
        if not verified and not petition.pending_events:
            raise _Unverified  # nothing to save would confirm the state
        try:
            self.save(petition, *others)
        except IntegrityError:
            if not verified:
                raise _Unverified(stale=True) from None
            raise ConcurrentUpdate(petition.id) from None
        self.remember(petition)
        return petition, wf


class _Unverified(Exception):
    """A command decided on the state this process saved last could not be
    confirmed by its save: decide it again on the state read from the store
    (``stale``: the save showed another process wrote meanwhile)."""

    def __init__(self, *, stale: bool = False) -> None:
        super().__init__()
        self.stale = stale


__all__ = ["CLOCK_SKEW", "AuditLog", "Store", "as_id", "retry_on_conflict", "utcnow"]
