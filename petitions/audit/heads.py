"""Chain heads: the hash of each aggregate's newest event, anchored in the store.

A hash chain protects every event but its newest one: nothing records the
newest event's hash.  The heads table does: one row per aggregate
(``originator_id`` as 32 lowercase hex digits, ``version``, ``hash``), written
with the cursor of the very transaction that inserts the events (see
:mod:`petitions.recorders`), so a head is recorded exactly when its event is.
``audit verify`` compares every chain's computed head with its row: a changed
byte in the newest event, a removed newest event, an event appended outside
the application or a changed row are all reported and located.

SQLite: table ``chain_heads`` in the database file.  PostgreSQL: table
``petitions_heads`` in the store's schema.

A store created before this table existed is anchored when the table is
created (in the same transaction): its current heads are recorded then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from petitions.persistence import is_postgres_recorder, is_sqlite_recorder, retry_schema_change

#: Upper bound of rows written per statement.
_BATCH = 500


class HeadsTable:
    """The heads table of one recorder's database (SQLite or PostgreSQL)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.postgres = is_postgres_recorder(recorder)
        events = recorder.events_table_name
        if self.postgres:
            schema = '"' + str(recorder.datastore.schema).replace('"', '""') + '"'
            self.name = f"{schema}.petitions_heads"
            self.events = f'{schema}."{events}"'
            self.p = "%s"
        else:
            self.name = "chain_heads"
            self.events = events
            self.p = "?"

    @staticmethod
    def supported(recorder: object) -> bool:
        return (is_sqlite_recorder(recorder)
                or is_postgres_recorder(recorder))

    def _exists(self, cursor: Any) -> bool:
        if self.postgres:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (self.name,))
            row = cursor.fetchone()
            return bool(row["found"] if isinstance(row, dict) else row[0])
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'chain_heads'")
        row = cursor.fetchone()
        return bool(next(iter(row.values())) if isinstance(row, dict) else row[0])

    def create(self) -> None:
        """Create the table; anchor the store's current heads if it is new."""
        from eventsourcing.persistence import IntegrityError, ProgrammingError

        also: tuple[type[Exception], ...] = (IntegrityError, ProgrammingError)
        if self.postgres:
            from psycopg import errors

            also = (*also, errors.UniqueViolation, errors.DuplicateTable)

        def create() -> None:
            with self.recorder.datastore.transaction(commit=True) as c:
                if self._exists(c):
                    return
                c.execute(f"CREATE TABLE IF NOT EXISTS {self.name} ("
                          "originator_id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
                          "hash TEXT NOT NULL)")
                self.upsert(c, self._current_heads(c))

        retry_schema_change(create, also=also)

    def _current_heads(self, cursor: Any) -> dict[str, tuple[int, str]]:
        from petitions.audit.hashing import event_hash, id_hex

        cursor.execute(
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state "
            f"FROM {self.events} e JOIN (SELECT originator_id, MAX(originator_version) AS v "
            f"FROM {self.events} GROUP BY originator_id) m "
            "ON e.originator_id = m.originator_id AND e.originator_version = m.v")
        found: dict[str, tuple[int, str]] = {}
        for row in cursor.fetchall():
            oid, version, topic, state = (tuple(row.values()) if isinstance(row, dict)
                                          else tuple(row))
            h = id_hex(oid if isinstance(oid, UUID) else str(oid))
            found[h] = (int(version), event_hash(h, int(version), str(topic), bytes(state)))
        return found

    def upsert(self, cursor: Any, heads: Mapping[str, tuple[int, str]]) -> None:
        """Record ``heads`` (id hex → (version, hash)) with ``cursor``, in id order
        (so concurrent writers lock rows in the same order)."""
        if not heads:
            return
        p = self.p
        items = sorted(heads.items())
        for start in range(0, len(items), _BATCH):
            chunk = items[start:start + _BATCH]
            values = ", ".join(f"({p}, {p}, {p})" for _ in chunk)
            params: list[Any] = []
            for oid, (version, digest) in chunk:
                params.extend((oid, version, digest))
            cursor.execute(
                f"INSERT INTO {self.name} (originator_id, version, hash) VALUES {values} "
                "ON CONFLICT (originator_id) DO UPDATE SET version = excluded.version, "
                "hash = excluded.hash", params)

    def read(self, cursor: Any) -> dict[str, tuple[int, str]] | None:
        """Every recorded head, or None when the store has no heads table."""
        if not self._exists(cursor):
            return None
        cursor.execute(f"SELECT originator_id, version, hash FROM {self.name}")
        out: dict[str, tuple[int, str]] = {}
        for row in cursor.fetchall():
            oid, version, digest = (tuple(row.values()) if isinstance(row, dict)
                                    else tuple(row))
            out[str(oid)] = (int(version), str(digest))
        return out

    def write_separately(self, heads: Mapping[str, tuple[int, str]]) -> None:
        """Record ``heads`` in a transaction of their own (a recorder that cannot
        write alongside its events)."""
        with self.recorder.datastore.transaction(commit=True) as c:
            self.upsert(c, heads)
