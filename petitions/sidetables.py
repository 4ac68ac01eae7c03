"""Tables beside the events: work-order numbers and the caller index.

Both live in the same database as the events (SQLite file or PostgreSQL
schema) and are written **in the filing's own transaction** through the
recorders' ``also_write`` (:mod:`petitions.recorders`), so a filing and its
rows commit together or not at all.

* ``work_orders`` — one readable work-order number (工单号) per petition,
  ``[PREFIX-]YYYY-NNNNNN``: unique per store and increasing per year.  The
  sequence comes from ``work_order_counters`` (one row per prefix and year),
  bumped with ``INSERT … ON CONFLICT DO UPDATE … RETURNING``: concurrent
  filings queue on that row, so two writers never get the same number, on
  SQLite (one writer at a time) as on PostgreSQL (row lock until commit).
* ``caller_index`` — a keyed blind index (HMAC-SHA256) of each petition's
  normalised phone and ID numbers (:mod:`petitions.privacy.callers`): no
  clear text, only digests, removed when the petitioner is erased.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from petitions import persistence

#: Numbers are counted per local (Asia/Shanghai) calendar year of filing.
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")

#: The configuration that sets an office prefix, e.g. ``JB`` → ``JB-2026-000123``.
PREFIX_ENV = "PETITIONS_OFFICE_PREFIX"

_PREFIX = re.compile(r"^[A-Za-z0-9]{1,12}$")
#: What a work-order number looks like (the prefix is optional).
NUMBER = re.compile(r"^(?:(?P<prefix>[A-Za-z0-9]{1,12})-)?(?P<year>\d{4})-(?P<seq>\d{6,})$")

#: Writes rows with the cursor of the events' transaction.
Write = Callable[[Any], None]


def office_prefix(environ: dict[str, str] | None = None) -> str:
    """The configured office prefix ('' for none); refuses a malformed one."""
    value = (os.environ if environ is None else environ).get(PREFIX_ENV, "").strip()
    if value and not _PREFIX.match(value):
        from petitions.errors import InvalidInput

        raise InvalidInput(PREFIX_ENV, "must be 1 to 12 letters or digits", kind="invalid")
    return value


def format_number(prefix: str, year: int, seq: int) -> str:
    """``2026-000123`` or ``JB-2026-000123``."""
    core = f"{year:04d}-{seq:06d}"
    return f"{prefix}-{core}" if prefix else core


def looks_like_number(text: str) -> bool:
    return bool(NUMBER.match(text.strip()))


def local_year(when: datetime) -> int:
    return when.astimezone(OFFICE_ZONE).year


class SideTables:
    """The work-order and caller-index tables of one database."""

    def __init__(self, datastore: Any, *, postgres: bool) -> None:
        self.datastore = datastore
        self.postgres = postgres
        self.p = "%s" if postgres else "?"
        if postgres:
            schema = '"' + str(datastore.schema).replace('"', '""') + '"'
            self.orders = f"{schema}.work_orders"
            self.counters = f"{schema}.work_order_counters"
            self.callers = f"{schema}.caller_index"
        else:
            self.orders = "work_orders"
            self.counters = "work_order_counters"
            self.callers = "caller_index"
        self._created = False

    # ----------------------------------------------------------------- DDL
    def statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.counters} ("
            "scope TEXT PRIMARY KEY, last BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.orders} ("
            "petition_id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, "
            "year INTEGER NOT NULL, serial BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.callers} ("
            "digest TEXT NOT NULL, kind TEXT NOT NULL, petitioner_id TEXT NOT NULL, "
            "petition_id TEXT NOT NULL, PRIMARY KEY (digest, petition_id))",
            f"CREATE INDEX IF NOT EXISTS caller_index_petitioner ON {self.callers} "
            "(petitioner_id)",
            f"CREATE INDEX IF NOT EXISTS caller_index_petition ON {self.callers} "
            "(petition_id)",
        ]

    def create(self) -> None:
        if self._created:
            return

        def create() -> None:
            with self.datastore.transaction(commit=True) as c:
                for statement in self.statements():
                    c.execute(statement)

        from eventsourcing.persistence import IntegrityError

        # PostgreSQL: two sessions creating the same table at once can both pass
        # IF NOT EXISTS; the loser's unique violation on the catalogue means
        # "exists" (tried again, it passes).
        persistence.retry_schema_change(create, also=(IntegrityError,))
        self._created = True

    @contextmanager
    def _tx(self, commit: bool) -> Iterator[Any]:
        self.create()
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    @staticmethod
    def _rows(cursor: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                for r in cursor.fetchall()]

    def _select(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._tx(commit=False) as c:
            c.execute(sql, tuple(params))
            return self._rows(c)

    # --------------------------------------------------------- work orders
    def number_writer(self, petition_id: str, year: int, prefix: str,
                      taken: list[str]) -> Write:
        """A write that allocates the next number of ``prefix``/``year`` for
        ``petition_id`` in the transaction it is given; the number is appended
        to ``taken`` (read it once the transaction has committed)."""
        p = self.p
        scope = f"{prefix}|{year}"

        def write(cursor: Any) -> None:
            cursor.execute(
                f"INSERT INTO {self.counters} (scope, last) VALUES ({p}, 1) "
                f"ON CONFLICT (scope) DO UPDATE SET last = {self.counters}.last + 1 "
                "RETURNING last", (scope,))
            seq = int(self._rows(cursor)[0][0])
            number = format_number(prefix, year, seq)
            cursor.execute(f"INSERT INTO {self.orders} (petition_id, number, year, serial) "
                           f"VALUES ({p}, {p}, {p}, {p})", (petition_id, number, year, seq))
            taken.append(number)

        return write

    def allocate(self, petition_id: str, year: int, prefix: str) -> str:
        """Give ``petition_id`` a number in a transaction of its own (a store
        whose recorder cannot write alongside, or a petition filed before
        numbers existed); returns the number it has."""
        existing = self.number_of(petition_id)
        if existing is not None:
            return existing
        taken: list[str] = []
        write = self.number_writer(petition_id, year, prefix, taken)
        from eventsourcing.persistence import IntegrityError

        try:
            with self._tx(commit=True) as c:
                write(c)
        except IntegrityError:  # numbered by another process meanwhile
            found = self.number_of(petition_id)
            if found is None:
                raise
            return found
        return taken[0]

    def number_of(self, petition_id: str) -> str | None:
        rows = self._select(f"SELECT number FROM {self.orders} WHERE petition_id = {self.p}",
                            (petition_id,))
        return str(rows[0][0]) if rows else None

    def numbers_of(self, petition_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(petition_ids))
        out: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join([self.p] * len(chunk))
            for pid, number in self._select(
                    f"SELECT petition_id, number FROM {self.orders} "
                    f"WHERE petition_id IN ({marks})", chunk):
                out[str(pid)] = str(number)
        return out

    def petition_of(self, number: str) -> str | None:
        rows = self._select(f"SELECT petition_id FROM {self.orders} WHERE number = {self.p}",
                            (number.strip(),))
        return str(rows[0][0]) if rows else None

    # -------------------------------------------------------- caller index
    def caller_writer(self, entries: Sequence[tuple[str, str]], petitioner_id: str,
                      petition_id: str) -> Write:
        """A write of ``(digest, kind)`` entries for one petition."""
        p = self.p

        def write(cursor: Any) -> None:
            for digest, kind in entries:
                cursor.execute(
                    f"INSERT INTO {self.callers} (digest, kind, petitioner_id, petition_id) "
                    f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                    (digest, kind, petitioner_id, petition_id))

        return write

    def add_callers(self, entries: Sequence[tuple[str, str]], petitioner_id: str,
                    petition_id: str) -> None:
        with self._tx(commit=True) as c:
            self.caller_writer(entries, petitioner_id, petition_id)(c)

    def petitions_of_digest(self, digest: str) -> list[str]:
        rows = self._select(f"SELECT petition_id FROM {self.callers} WHERE digest = {self.p} "
                            "ORDER BY petition_id", (digest,))
        return [str(r[0]) for r in rows]

    def digests_of_petition(self, petition_id: str) -> list[str]:
        rows = self._select(f"SELECT digest FROM {self.callers} WHERE petition_id = {self.p}",
                            (petition_id,))
        return [str(r[0]) for r in rows]

    def related(self, petition_id: str) -> list[str]:
        """Other petitions sharing a phone or ID digest with ``petition_id``."""
        p = self.p
        rows = self._select(
            f"SELECT DISTINCT b.petition_id FROM {self.callers} a JOIN {self.callers} b "
            f"ON a.digest = b.digest WHERE a.petition_id = {p} AND b.petition_id <> {p} "
            "ORDER BY b.petition_id", (petition_id, petition_id))
        return [str(r[0]) for r in rows]

    def forget_petitioner(self, petitioner_id: str) -> int:
        """Remove every index entry of ``petitioner_id`` (erasure); how many."""
        found = self.count_callers(petitioner_id)
        with self._tx(commit=True) as c:
            c.execute(f"DELETE FROM {self.callers} WHERE petitioner_id = {self.p}",
                      (petitioner_id,))
        return found

    def count_callers(self, petitioner_id: str) -> int:
        rows = self._select(f"SELECT COUNT(*) FROM {self.callers} "
                            f"WHERE petitioner_id = {self.p}", (petitioner_id,))
        return int(rows[0][0])


def side_tables(service: Any) -> SideTables:
    """The side tables of ``service``'s database (made once per service)."""
    found: SideTables | None = service.__dict__.get("_side_tables")
    if found is None:
        found = SideTables(service.recorder.datastore,
                           postgres=persistence.is_postgres(service.url))
        service.__dict__["_side_tables"] = found
    return found
