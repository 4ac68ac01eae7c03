"""The read models in the events' PostgreSQL schema (pg_trgm text search).

Imported only for ``postgresql://`` URLs: it needs ``eventsourcing[postgres]``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder

from petitions.readmodels.store import (
    CASE_COLUMNS,
    COMMON_DDL,
    TRACKING_TABLE,
    ViewStore,
    ViewTx,
    case_table_sql,
    like_pattern,
)
from petitions.readmodels.tallies import TALLY_TABLES

_PG_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    """The views in the events' PostgreSQL schema, searched with pg_trgm."""

    def __init__(self, datastore: PostgresDatastore, *,
                 tracking_table_name: str = TRACKING_TABLE, **kwargs: Any) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        from psycopg.sql import SQL

        self.sql_create_statements.append(
            SQL(self._sql(case_table_sql("seq BIGSERIAL PRIMARY KEY"))))  # type: ignore[arg-type]
        for statement in COMMON_DDL:
            self.sql_create_statements.append(SQL(self._sql(statement)))  # type: ignore[arg-type]

    def create_table(self) -> None:
        super().create_table()
        # Trigram index for text search; the search works (more slowly) without it.
        for statement in (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            self._sql("CREATE INDEX IF NOT EXISTS petition_index_text_trgm ON "
                      "{petition_index} USING gin ((title || ' ' || description) "
                      "public.gin_trgm_ops)"),
        ):
            with contextlib.suppress(Exception), self._cursor(commit=True) as cursor:
                cursor.execute(statement)

    def _qualified(self, table: str) -> str:
        schema = self.datastore.schema.replace('"', '""')
        return f'"{schema}"."{table}"'

    @contextlib.contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        names = {t: self._qualified(t) for t in self.TABLES + self.SIDE_TABLES}
        text = statement.format(tracking=self._qualified(self.tracking_table_name), **names)
        return _PG_PARAM.sub(r"%(\1)s", text)

    def _case_columns(self) -> set[str]:
        rows = self._all("SELECT column_name FROM information_schema.columns "
                         "WHERE table_schema = COALESCE(NULLIF(:schema, ''), current_schema()) "
                         "AND table_name = 'petition_index'",
                         {"schema": self.datastore.schema})
        return {r["column_name"] for r in rows}

    def _view_tables(self) -> tuple[str, ...]:
        return ("petition_index", "caseload", "campaign_progress", "case_counts",
                "rate_counts", *TALLY_TABLES)

    def _has_table(self, table: str) -> bool:
        return bool(self._all("SELECT 1 FROM information_schema.tables WHERE table_schema = "
                              "COALESCE(NULLIF(:schema, ''), current_schema()) "
                              "AND table_name = :t", {"schema": self.datastore.schema,
                                                      "t": table}))

    def _insert_cases(self, tx: ViewTx, rows: Sequence[Mapping[str, Any]]) -> None:
        cols = ", ".join(CASE_COLUMNS)
        values = ", ".join(f":{c}" for c in CASE_COLUMNS)
        tx.executemany(f"INSERT INTO {{petition_index}} ({cols}) VALUES ({values})",
                       [{c: row[c] for c in CASE_COLUMNS} for row in rows])

    def _text_condition(self, text: str, params: dict[str, Any]) -> str:
        params["like"] = like_pattern(text)
        return "(title || ' ' || description) ILIKE :like"

    def _insert_tracking_in(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def _tracked_in(self, cursor: Any, application_name: str) -> int | None:
        # One view transaction at a time per schema and application: without
        # this, two processes catching up under READ COMMITTED could both see
        # the same position and both apply the events after it (the tracking
        # upsert only refuses a position that does not move forward).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       (f"{self.datastore.schema}.{application_name}.views",))
        found: int | None = self._max_tracking_id(application_name, cursor)
        return found
