"""PostgreSQL storage: eventsourcing's own ``eventsourcing.postgres`` module.

:class:`Factory` is eventsourcing's ``PostgresFactory`` (connection pool,
``LISTEN/NOTIFY`` subscriptions, table lock so that positions are handed out in
commit order) with one addition: when the URL names a schema
(``postgresql://…/db?schema=office_jb``), the schema is created on first use,
so a fresh schema needs no manual step.  eventsourcing creates its tables
(``petitions_events``, ``petitions_snapshots``) inside it.

Imported only when a ``postgresql://`` URL is opened, so SQLite users do not
need ``psycopg``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, StoredEvent
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
        if schema != "public" and self.env_create_table():
            with self.creating():
                create_schema(self, schema)

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
