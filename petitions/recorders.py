"""Event recorders that also write rows of ours in the events' own transaction.

``PetitionService.save(..., also_write=[write, ...])`` hands each ``write`` the
cursor of the transaction that inserts the events: what it writes commits
with them or not at all.  Filing uses it to store a new petitioner's data key
together with the events holding the data sealed under it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, StoredEvent
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
)
from eventsourcing.sqlite import SQLiteFactory as _SQLiteFactory
from eventsourcing.utils import Environment, EnvType

#: The keyword of ``save`` (and of the recorder's ``insert_events``).
ALSO_WRITE = "also_write"

#: The keyword of the chain heads' writer (:mod:`petitions.audit.heads`),
#: run after the events are inserted, in their transaction.
WRITE_AFTER = "write_after"

#: The keyword of stored events inserted after the others in their
#: transaction whose notification ids nobody needs (a bulk filing's, already
#: encoded): one statement for all, where the recorder can
#: (:func:`inserts_unnumbered`).
UNNUMBERED = "unnumbered"

#: The keyword of rows of stored events to insert as :data:`UNNUMBERED` ones
#: are, given as the recorder's parameters already (``(id hex, version,
#: topic, state)``): inserted after those.
UNNUMBERED_ROWS = "unnumbered_rows"

#: Writes one or more rows with the cursor it is given.
Write = Callable[[Any], None]


def inserts_unnumbered(recorder: object) -> bool:
    """Whether ``recorder`` takes :data:`UNNUMBERED` events."""
    check = getattr(recorder, "inserts_unnumbered", None)
    return bool(check()) if callable(check) else False


def writes_alongside(recorder: object) -> bool:
    """Whether ``recorder`` honours ``also_write`` (else the caller must write
    its rows in a transaction of their own)."""
    check = getattr(recorder, "writes_alongside", None)
    return bool(check()) if callable(check) else False


class BatchedWrite:
    """A write of one row (or a few) that can be made together with others of
    its kind: :func:`write_all` hands every write of one :meth:`group` in a
    transaction to one :meth:`write_many` call (one ``executemany`` instead
    of a statement per row), at the place of the group's first write, in the
    order they were given.  Writes of other kinds keep their places, so a
    batched write must not depend on a write given between two of its group.
    Called on its own, a batched write writes itself alone."""

    __slots__ = ()

    def group(self) -> Any:
        """What the writes made together share (default: their class)."""
        return type(self)

    @classmethod
    def write_many(cls, cursor: Any, writes: Sequence[Any]) -> None:
        raise NotImplementedError

    def __call__(self, cursor: Any) -> None:
        type(self).write_many(cursor, [self])


def write_all(cursor: Any, kwargs: dict[str, Any]) -> None:
    writes: Sequence[Write] = kwargs.get(ALSO_WRITE, ())
    # In the order given: a plain write where it is, a group of batched
    # writes where its first member is (one pass: a bulk import gives
    # thousands of writes per transaction).
    groups: dict[Any, list[BatchedWrite]] = {}
    steps: list[Write | list[BatchedWrite]] = []
    for write in writes:
        if isinstance(write, BatchedWrite):
            group = write.group()
            members = groups.get(group)
            if members is None:
                members = groups[group] = []
                steps.append(members)
            members.append(write)
        else:
            steps.append(write)
    for step in steps:
        if isinstance(step, list):
            type(step[0]).write_many(cursor, step)
        else:
            step(cursor)


def write_after(cursor: Any, kwargs: dict[str, Any]) -> None:
    writes: Sequence[Write] = kwargs.get(WRITE_AFTER, ())
    for write in writes:
        write(cursor)


class SQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, with ``also_write``."""

    def writes_alongside(self) -> bool:
        return True

    def inserts_unnumbered(self) -> bool:
        return True

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        write_all(c, kwargs)
        ids = super()._insert_events(c, stored_events, **kwargs)
        more: Sequence[StoredEvent] = kwargs.get(UNNUMBERED, ())
        if more:  # as eventsourcing inserts each, in one statement
            c.executemany(self.insert_events_statement, [
                (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                 s.originator_version, s.topic, s.state) for s in more])
        rows: Sequence[tuple[str, int, str, bytes]] = kwargs.get(UNNUMBERED_ROWS, ())
        if rows:
            c.executemany(self.insert_events_statement, rows)
        write_after(c, kwargs)
        return ids


#: How many prepared statements each SQLite connection keeps.  eventsourcing
#: opens its connections with a cache of one, so every statement but a repeat
#: of the last was prepared again: a command, a view catch-up and a read each
#: run several different statements (events, tracking, case index, keys).
STATEMENT_CACHE = 256


class StatementCachingPool(SQLiteConnectionPool):
    """eventsourcing's SQLite connection pool, whose connections keep their
    prepared statements (:data:`STATEMENT_CACHE`); otherwise the same
    connection: auto-commit mode (transactions begun explicitly), WAL for a
    file, ``sqlite3.Row`` rows."""

    def _create_connection(self) -> SQLiteConnection:
        try:
            c = sqlite3.connect(database=self.db_name, uri=True, check_same_thread=False,
                                isolation_level=None, cached_statements=STATEMENT_CACHE,
                                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            mode = c.execute("PRAGMA journal_mode;").fetchone()[0]
            if mode.lower() != "wal":
                c.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class SQLiteFactory(_SQLiteFactory):
    """eventsourcing's SQLite factory, with a :class:`StatementCachingPool`
    (the persistence topic :func:`petitions.persistence.env_for_url` sets)."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        old = self.datastore.pool
        self.datastore.pool = StatementCachingPool(
            db_name=old.db_name, lock_timeout=old.lock_timeout, pool_size=old.pool_size,
            max_overflow=old.max_overflow, pool_timeout=old.pool_timeout,
            max_age=old.max_age, pre_ping=old.pre_ping)
        old.close()  # made no connection yet
