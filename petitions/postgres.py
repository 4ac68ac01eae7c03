"""PostgreSQL storage: eventsourcing's own ``eventsourcing.postgres`` module.

:class:`Factory` is eventsourcing's ``PostgresFactory`` (connection pool,
``LISTEN/NOTIFY`` subscriptions, table lock so that positions are handed out in
commit order) with one addition: when the URL names a schema
(``postgresql://…/db?schema=office_jb``), the schema is created on first use,
so a fresh schema needs no manual step.  eventsourcing creates its tables
(``petitions_events``, ``petitions_snapshots``) inside it.

A role that may not write the store (an auditor granted only ``USAGE`` on the
schema and ``SELECT`` on its tables), a hot standby, or a URL with
``?mode=ro`` opens it **read-only**: nothing is created, and every connection
is a read-only session (``default_transaction_read_only``), so any write fails
as a whole with PostgreSQL's "read-only transaction" and nothing is written.

Imported only when a ``postgresql://`` URL is opened, so SQLite users do not
need ``psycopg``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    TPostgresTrackingRecorder,
)
from eventsourcing.utils import Environment
from psycopg import Cursor, errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from petitions.recorders import write_after, write_all

#: The persistence topic that :func:`petitions.persistence.env_for_url` sets.
TOPIC = "petitions.postgres:Factory"


class Recorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, with ``also_write``
    (see :mod:`petitions.recorders`)."""

    def writes_alongside(self) -> bool:
        # With the database functions enabled, events are inserted by a
        # function call that never reaches ``_insert_events``.
        return not self.datastore.enable_db_functions

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> None:
        write_all(curs, kwargs)
        super()._insert_events(curs, stored_events, **kwargs)
        write_after(curs, kwargs)


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL factory that also creates a named schema.

    Creating tables is serialised across processes with an advisory lock:
    eventsourcing's ``CREATE … IF NOT EXISTS`` / ``CREATE OR REPLACE FUNCTION``
    statements fail with "tuple concurrently updated" when many processes
    start at the same moment.  Its application recorder is :class:`Recorder`.
    """

    application_recorder_class = Recorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        schema = self.datastore.schema
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        events = f"{env.name.lower() or 'stored'}_events"
        access = role_access(kwargs, schema, events,
                             timeout=float(self.env.get(self.POSTGRES_CONNECT_TIMEOUT) or 5))
        #: Whether this store is read-only: the role may not write it (see
        #: :func:`role_access`), or ``?mode=ro`` asked for it.
        self.read_only = access.read_only or self.env.get(READ_ONLY_ENV, "") == "y"
        if self.read_only:
            if not access.has_events:
                self.close()
                raise OperationalError(
                    f"schema {schema!r} has no table {events}, which may not be created with "
                    f"read access only: nothing was written / 模式 {schema!r} 中没有表 "
                    f"{events}，只读访问不能创建它，未写入任何内容")
            # Every connection of the pool (none is open yet) is a read-only session.
            kwargs["options"] = " ".join(filter(None, [
                kwargs.get("options"), "-c default_transaction_read_only=on"]))
        if schema != "public" and self.env_create_table():
            with self.creating():
                create_schema(self, schema)

    def env_create_table(self) -> bool:
        return not getattr(self, "read_only", False) and super().env_create_table()

    @contextmanager
    def creating(self) -> Iterator[None]:
        if not self.env_create_table():
            yield
            return
        key = f"petitions-ddl:{self.datastore.schema}"
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        with self.creating():
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> ApplicationRecorder:
        with self.creating():
            return super().application_recorder()

    def tracking_recorder(
        self, tracking_recorder_class: type[TPostgresTrackingRecorder] | None = None
    ) -> TPostgresTrackingRecorder:
        with self.creating():
            return super().tracking_recorder(tracking_recorder_class)


#: The environment key :func:`petitions.persistence.env_for_url` sets for ``?mode=ro``.
READ_ONLY_ENV = "POSTGRES_READ_ONLY"


class Access(NamedTuple):
    """What a role may do with a store's schema (:func:`role_access`)."""

    #: The server is a hot standby, or the role may not insert into the events
    #: table, or (with no events table yet) may not create it — nor the
    #: schema, where that is missing.
    read_only: bool
    #: Whether the events table exists.
    has_events: bool


def role_access(connect: dict[str, Any], schema: str, events_table: str, *,
                timeout: float = 5) -> Access:
    """What the role connecting with ``connect`` (psycopg's keyword arguments)
    may do with the store in ``schema``: one short query on a connection of
    its own, made before the pool opens."""
    import psycopg

    try:
        with psycopg.connect(**{k: v for k, v in connect.items() if k != "row_factory"},
                             connect_timeout=max(1, round(timeout))) as conn:
            row = conn.execute(
                "SELECT pg_is_in_recovery(), "
                "  CASE WHEN to_regnamespace(%(s)s) IS NULL "
                "       THEN has_database_privilege(current_database(), 'CREATE') "
                "       ELSE has_schema_privilege(%(s)s, 'CREATE') END, "
                "  to_regclass(%(t)s) IS NOT NULL, "
                "  COALESCE(has_table_privilege(to_regclass(%(t)s), 'INSERT'), false)",
                {"s": schema, "t": Identifier(schema, events_table).as_string(conn)},
            ).fetchone()
    except psycopg.OperationalError as exc:  # as eventsourcing's own connections say it
        raise OperationalError(str(exc)) from exc
    except psycopg.Error as exc:
        raise PersistenceError(str(exc)) from exc
    assert row is not None
    standby, can_create, has_events, can_insert = row
    return Access(bool(standby or (not can_insert if has_events else not can_create)),
                  bool(has_events))


def create_schema(factory: PostgresFactory, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS``, tolerating another process doing the same."""
    # Two sessions creating the same schema at once can both pass IF NOT EXISTS;
    # the loser gets a unique violation on the catalogue, which means "exists".
    with contextlib.suppress(errors.UniqueViolation, errors.DuplicateSchema), \
            factory.datastore.transaction(commit=True) as curs:
        curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))


def drop_schema(url: str) -> None:
    """Drop the schema named by ``url`` and everything in it (tests, benchmarks)."""
    import psycopg

    from petitions.persistence import postgres_conninfo, postgres_schema

    schema = postgres_schema(url)
    if schema in (None, "public"):
        raise ValueError("refusing to drop the public schema")
    with psycopg.connect(postgres_conninfo(url), autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
