"""Tables beside the events: work-order numbers and the caller index.

Both live in the same database as the events (SQLite file or PostgreSQL
schema) and are written **in the filing's own transaction** through the
recorders' ``also_write`` (:mod:`petitions.recorders`), so a filing and its
rows commit together or not at all.

* ``work_orders`` — one readable work-order number (工单号) per petition,
  ``[PREFIX-]YYYY-NNNNNN``: unique per store and increasing per year.  The
  sequence comes from ``work_order_counters`` (one row per prefix and year),
  bumped with ``INSERT … ON CONFLICT DO UPDATE`` (``RETURNING`` the new value
  on PostgreSQL; read back in the same transaction on SQLite): concurrent
  filings queue on that row, so two writers never get the same number, on
  SQLite (one writer at a time) as on PostgreSQL (row lock until commit).
* ``caller_index`` — a keyed blind index (HMAC-SHA256) of each petition's
  normalised phone and ID numbers (:mod:`petitions.privacy.callers`): no
  clear text, only digests, removed when the petitioner is erased.

Each work-order row and counter row carries ``mac``: an HMAC-SHA256 under a
key derived (HKDF) from the master key, over the row with its identity bound
in (petition id, number, year, serial and whether the filing indexed its
caller; scope and last serial), so that ``audit verify`` can tell a row
changed, moved to another petition or inserted by whoever can write the
database but has not the master key (:mod:`petitions.audit.sidecheck`).
Rows written by older releases have none (``NULL``): verified as far as they
can be derived, reported as unauthenticated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from petitions.persistence import is_postgres, retry_schema_change
from petitions.recorders import BatchedWrite

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


#: The office year last found: its start and end (UTC) and its number.
_last_year: tuple[datetime, datetime, int] | None = None


def local_year(when: datetime) -> int:
    """The year of ``when`` in the office's zone (a time in UTC that falls in
    the year last found is not converted again: a bulk import numbers
    thousands of filings of one year)."""
    global _last_year
    found = _last_year
    if found is not None and when.tzinfo is UTC and found[0] <= when < found[1]:
        return found[2]
    year = when.astimezone(OFFICE_ZONE).year
    if when.tzinfo is UTC and 1 < year < 9999:
        _last_year = (datetime(year, 1, 1, tzinfo=OFFICE_ZONE).astimezone(UTC),
                      datetime(year + 1, 1, 1, tzinfo=OFFICE_ZONE).astimezone(UTC), year)
    return year


_SIDE_INFO = b"petitions side tables v1"


def side_key(master: Any) -> bytes:
    """The HMAC key of the side tables' rows, derived from a master key (once
    per master key and process: every filing authenticates its rows)."""
    return _side_key(master.key)


@lru_cache(maxsize=8)
def _side_key(master_key: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_SIDE_INFO).derive(master_key)


def order_mac(key: bytes, petition_id: str, number: str, year: int, serial: int,
              indexed: bool) -> str:
    """The authentication code of a work-order row (``indexed``: the filing
    wrote the caller-index entries of its petitioner in the same transaction)."""
    # Imported only when a row is written or checked: reading a petition needs none.
    from petitions.privacy.callers import hmac_hex

    text = f"petitions/work-order/v1\n{petition_id}\n{number}\n{year}\n{serial}\n{int(indexed)}"
    return hmac_hex(key, text.encode())


def counter_mac(key: bytes, scope: str, last: int) -> str:
    """The authentication code of a counter row."""
    from petitions.privacy.callers import hmac_hex

    text = f"petitions/work-order-counter/v1\n{scope}\n{last}"
    return hmac_hex(key, text.encode())


def configured_master(url: str | None) -> Any:
    """The master key if one is configured for ``url`` (environment, key file,
    or the key file beside a SQLite database), else None; never creates one."""
    from petitions.privacy.errors import MasterKeyInvalid, MasterKeyMissing
    from petitions.privacy.keys import load_master_key, master_key_configured

    if url is None or not master_key_configured(url):
        return None
    try:
        return load_master_key(url)
    except (MasterKeyInvalid, MasterKeyMissing):
        return None


class SideTables:
    """The work-order and caller-index tables of one database."""

    def __init__(self, datastore: Any, *, postgres: bool, url: str | None = None) -> None:
        self.datastore = datastore
        self.postgres = postgres
        self.url = url
        #: Gives the master key the rows are authenticated with (set by the
        #: store's :class:`~petitions.privacy.core.Privacy`); else the key
        #: configured for ``url``, if any.
        self.master_source: Callable[[], Any] | None = None
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
            "scope TEXT PRIMARY KEY, last BIGINT NOT NULL, mac TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.orders} ("
            "petition_id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, "
            "year INTEGER NOT NULL, serial BIGINT NOT NULL, mac TEXT)",
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
        retry_schema_change(create, also=(IntegrityError,))
        self._add_mac_columns()
        self._created = True

    def _add_mac_columns(self) -> None:
        """Tables made by a release before row authentication get ``mac``
        (NULL for their rows); a read-only store is left as it is."""
        from eventsourcing.persistence import PersistenceError

        with self.datastore.transaction(commit=False) as c:
            missing = [t for t in (self.counters, self.orders)
                       if "mac" not in self.columns(c, t)]
        if not missing:
            return
        try:
            with self.datastore.transaction(commit=True) as c:
                for table in missing:
                    if "mac" not in self.columns(c, table):
                        c.execute(f"ALTER TABLE {table} ADD COLUMN mac TEXT")
        except PersistenceError:
            pass  # read-only: nothing is written to it either

    def columns(self, cursor: Any, table: str) -> set[str]:
        """The column names of ``table`` (empty when it does not exist)."""
        name = table.rsplit(".", 1)[-1]
        if self.postgres:
            cursor.execute("SELECT column_name FROM information_schema.columns "
                           "WHERE table_schema = %s AND table_name = %s",
                           (str(self.datastore.schema), name))
        else:
            cursor.execute(f"SELECT name FROM pragma_table_info('{name}')")
        return {str(r[0]) for r in self._rows(cursor)}

    def master(self) -> Any:
        """The master key rows are authenticated with now (None: none configured)."""
        if self.master_source is not None:
            found = self.master_source()
            if found is not None:
                return found
        return configured_master(self.url)

    def mac_key(self) -> bytes | None:
        found = self.master()
        return side_key(found) if found is not None else None

    @contextmanager
    def _tx(self, commit: bool) -> Iterator[Any]:
        self.create()
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    @staticmethod
    def _rows(cursor: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                for r in cursor.fetchall()]

    #: The rows of the last query on ``cursor``, as tuples (either backend).
    fetch = _rows

    def _select(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        from eventsourcing.persistence import PersistenceError

        try:
            with self._tx(commit=False) as c:
                c.execute(sql, tuple(params))
                return self._rows(c)
        except PersistenceError as exc:
            text = str(exc)
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                return []  # a read-only store of before these tables (SQLite, PostgreSQL)
            raise

    # --------------------------------------------------------- work orders
    def number_writer(self, petition_id: str, year: int, prefix: str,
                      taken: list[str], *, key: bytes | None = None,
                      indexed: bool = False) -> Write:
        """A write that allocates the next number of ``prefix``/``year`` for
        ``petition_id`` in the transaction it is given; the number is appended
        to ``taken`` (read it once the transaction has committed).  Several
        given to one transaction (a batch of filings) take their numbers in
        the order given, with one counter update per prefix and year.  With
        ``key`` the rows and the counter are authenticated (``indexed``: the
        same transaction writes the petition's caller-index entries)."""
        return NumberWrite(self, petition_id, year, prefix, taken, key, indexed)

    def authenticate(self, petition_id: str, key: bytes, *, indexed: bool,
                     only_if: bytes | None = None) -> bool:
        """(Re)compute the MAC of ``petition_id``'s work-order row under ``key``
        (after its caller was indexed, or a master-key rotation: with
        ``only_if``, only a row whose MAC verifies under that old key is
        re-authenticated — a row that does not verify, or has none, stays as
        it is).  Whether a row was written."""
        p = self.p
        with self._tx(commit=True) as c:
            c.execute(f"SELECT number, year, serial, mac FROM {self.orders} "
                      f"WHERE petition_id = {p}", (petition_id,))
            found = self._rows(c)
            if not found:
                return False
            number, year, serial, mac = found[0]
            if only_if is not None and mac not in (
                    order_mac(only_if, petition_id, str(number), int(year), int(serial), f)
                    for f in (True, False)):
                return False
            c.execute(f"UPDATE {self.orders} SET mac = {p} WHERE petition_id = {p}",
                      (order_mac(key, petition_id, str(number), int(year), int(serial),
                                 indexed), petition_id))
        return True

    def reauthenticate(self, old: bytes, new: bytes) -> int:
        """Every row and counter authenticated under ``old`` is authenticated
        under ``new`` instead (a master-key rotation); the rows done."""
        p = self.p
        done = 0
        with self._tx(commit=True) as c:
            c.execute(f"SELECT petition_id, number, year, serial, mac FROM {self.orders}")
            for pid, number, year, serial, mac in self._rows(c):
                for flag in (True, False):
                    if mac == order_mac(old, str(pid), str(number), int(year), int(serial),
                                        flag):
                        c.execute(f"UPDATE {self.orders} SET mac = {p} "
                                  f"WHERE petition_id = {p}",
                                  (order_mac(new, str(pid), str(number), int(year),
                                             int(serial), flag), pid))
                        done += 1
                        break
            c.execute(f"SELECT scope, last, mac FROM {self.counters}")
            for scope, last, mac in self._rows(c):
                if mac == counter_mac(old, str(scope), int(last)):
                    c.execute(f"UPDATE {self.counters} SET mac = {p} WHERE scope = {p}",
                              (counter_mac(new, str(scope), int(last)), scope))
                    done += 1
        return done

    def allocate(self, petition_id: str, year: int, prefix: str) -> str:
        """Give ``petition_id`` a number in a transaction of its own (a store
        whose recorder cannot write alongside, or a petition filed before
        numbers existed); returns the number it has."""
        existing = self.number_of(petition_id)
        if existing is not None:
            return existing
        taken: list[str] = []
        write = self.number_writer(petition_id, year, prefix, taken, key=self.mac_key(),
                                   indexed=bool(self.digests_of_petition(petition_id)))
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
        """A write of ``(digest, kind)`` entries for one petition (the entries
        of a batch of filings are inserted together)."""
        return CallerWrite(self, tuple(entries), petitioner_id, petition_id)

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


class NumberWrite(BatchedWrite):
    """Numbers a petition (see :meth:`SideTables.number_writer`)."""

    __slots__ = ("indexed", "key", "petition_id", "prefix", "tables", "taken", "year")

    def __init__(self, tables: SideTables, petition_id: str, year: int, prefix: str,
                 taken: list[str], key: bytes | None = None, indexed: bool = False) -> None:
        self.tables, self.petition_id, self.year = tables, petition_id, year
        self.prefix, self.taken = prefix, taken
        self.key, self.indexed = key, indexed

    def group(self) -> Any:
        return (NumberWrite, id(self.tables))

    @classmethod
    def write_many(cls, cursor: Any, writes: Sequence[Any]) -> None:
        numbers = write_numbers(cursor, writes[0].tables, [
            (w.petition_id, w.year, w.prefix, w.key, w.indexed) for w in writes])
        for w, number in zip(writes, numbers, strict=True):
            w.taken.append(number)


def write_numbers(cursor: Any, tables: SideTables,
                  members: Sequence[tuple[str, int, str, bytes | None, bool]]) -> list[str]:
    """Number each of ``members`` (petition id, year, prefix, MAC key, whether
    its caller is indexed) in the transaction of ``cursor``, in the order
    given (see :meth:`SideTables.number_writer`); their numbers, in that order."""
    p = tables.p
    scopes: dict[str, list[int]] = {}
    for i, (_, year, prefix, _, _) in enumerate(members):
        scopes.setdefault(f"{prefix}|{year}", []).append(i)
    rows: list[tuple[str, str, int, int, str | None]] = []
    counters: list[tuple[str | None, str]] = []
    numbers: list[str] = [""] * len(members)
    for scope, indexes in scopes.items():
        # One bump of the counter by the batch's count: the rows queue on
        # it (SQLite: one writer; PostgreSQL: the row lock until commit),
        # so the batch's numbers are consecutive and nobody else's.
        bump = (f"INSERT INTO {tables.counters} (scope, last) VALUES ({p}, {p}) "
                f"ON CONFLICT (scope) DO UPDATE SET last = {tables.counters}.last + {p}")
        if tables.postgres:
            # On a cursor of its own: in the pipeline eventsourcing inserts
            # events in, results of statements sent before on ``cursor`` (the
            # key rows' ``executemany``) can arrive after this one was sent
            # and be taken for its own (psycopg 3.3: "the last operation
            # didn't produce records (command status: INSERT 0 1)").
            with cursor.connection.cursor() as own:
                own.execute(bump + " RETURNING last", (scope, len(indexes), len(indexes)))
                last = int(tables._rows(own)[0][0])
        else:
            # SQLite: the bump, then its row read back.  The bump took the
            # database's one write lock, held until the transaction ends, so
            # the row read is this transaction's.  (Not ``RETURNING``: SQLite
            # makes a temporary table for its rows, ~10-30 µs per filing.)
            cursor.execute(bump, (scope, len(indexes), len(indexes)))
            cursor.execute(f"SELECT last FROM {tables.counters} WHERE scope = ?", (scope,))
            last = int(tables._rows(cursor)[0][0])
        key: bytes | None = None
        for seq, i in enumerate(indexes, start=last - len(indexes) + 1):
            petition_id, year, prefix, key, indexed = members[i]
            number = format_number(prefix, year, seq)
            mac = (order_mac(key, petition_id, number, year, seq, indexed)
                   if key is not None else None)
            rows.append((petition_id, number, year, seq, mac))
            numbers[i] = number
        counters.append((counter_mac(key, scope, last) if key is not None else None, scope))
    _insert_many(cursor, f"INSERT INTO {tables.orders} (petition_id, number, year, serial, "
                 f"mac) VALUES ({p}, {p}, {p}, {p}, {p})", rows)
    _insert_many(cursor, f"UPDATE {tables.counters} SET mac = {p} WHERE scope = {p}",
                 counters)
    return numbers


class CallerWrite(BatchedWrite):
    """Indexes a petition's caller (see :meth:`SideTables.caller_writer`)."""

    __slots__ = ("entries", "petition_id", "petitioner_id", "tables")

    def __init__(self, tables: SideTables, entries: tuple[tuple[str, str], ...],
                 petitioner_id: str, petition_id: str) -> None:
        self.tables, self.entries = tables, entries
        self.petitioner_id, self.petition_id = petitioner_id, petition_id

    def group(self) -> Any:
        return (CallerWrite, id(self.tables))

    @classmethod
    def write_many(cls, cursor: Any, writes: Sequence[Any]) -> None:
        write_callers(cursor, writes[0].tables, [
            (digest, kind, w.petitioner_id, w.petition_id)
            for w in writes for digest, kind in w.entries])


def write_callers(cursor: Any, tables: SideTables,
                  rows: Sequence[tuple[str, str, str, str]]) -> None:
    """Insert caller-index ``rows`` (digest, kind, petitioner id, petition id)
    in the transaction of ``cursor``."""
    p = tables.p
    _insert_many(cursor, f"INSERT INTO {tables.callers} (digest, kind, petitioner_id, "
                 f"petition_id) VALUES ({p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING", rows)


def _insert_many(cursor: Any, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``statement`` for each of ``rows`` (one ``executemany`` for many)."""
    if len(rows) == 1:
        cursor.execute(statement, rows[0])
    elif rows:
        cursor.executemany(statement, rows)


def side_tables(service: Any) -> SideTables:
    """The side tables of ``service``'s database (made once per service)."""
    found: SideTables | None = service.__dict__.get("_side_tables")
    if found is None:
        found = SideTables(service.recorder.datastore,
                           postgres=is_postgres(service.url), url=service.url)
        service.__dict__["_side_tables"] = found
    return found


# ------------------------------------------------------------------------
# What the store and the service do with them (one place for each rule).
# ``store`` is a :class:`petitions.core.Store` (or anything with its
# ``recorder``, ``url``, ``mapper``, ``load`` and ``workflow_of``).
# ------------------------------------------------------------------------
def _numbers(store: Any) -> dict[Any, str]:
    found: dict[Any, str] | None = store.__dict__.get("_work_order_numbers")
    if found is None:
        found = {}
        store.__dict__["_work_order_numbers"] = found
    return found


def remember_number(store: Any, petition_id: Any, number: str) -> None:
    cache = _numbers(store)
    if len(cache) > 100_000:
        cache.clear()
    cache[petition_id] = number


def number_of(store: Any, petition_id: Any) -> str | None:
    """The petition's work-order number; a petition filed before numbers
    existed gets the next one of its filing year when first asked."""
    found = _numbers(store).get(petition_id)
    if found is not None:
        return found
    tables = side_tables(store)
    found = tables.number_of(str(petition_id))
    if found is None and getattr(store, "read_only", False):
        return None  # none given yet, and none can be given in a read-only store
    if found is None:
        from petitions.errors import PetitionNotFound

        try:
            filed = store.load(petition_id).filed_at
        except PetitionNotFound:
            return None
        found = tables.allocate(str(petition_id), local_year(filed), office_prefix())
    remember_number(store, petition_id, found)
    return found


def resolve_petition_id(store: Any, value: Any) -> Any:
    """A petition id from an id or a work-order number: every command and
    query resolves what it is given here."""
    from uuid import UUID

    from petitions.errors import InvalidInput, PetitionNotFound

    if isinstance(value, UUID):
        return value
    text = str(value).strip()
    try:
        return UUID(text)
    except ValueError:
        pass
    if looks_like_number(text):
        found = side_tables(store).petition_of(text)
        if found is None:
            raise PetitionNotFound(text)
        return UUID(found)
    raise InvalidInput("id", f"{value!r} is not a petition id or work-order number",
                       kind="bad_id")


def caller_key(privacy: Any) -> bytes:
    """The caller index's HMAC key (derived from the master key), per privacy."""
    found: bytes | None = privacy.__dict__.get("_caller_key_bytes")
    if found is None:
        from petitions.privacy.callers import index_key

        found = index_key(privacy.keyring.master)
        privacy.__dict__["_caller_key_bytes"] = found
    return found


def caller_entries(privacy: Any, phone: Any, id_number: Any) -> list[tuple[str, str]]:
    from petitions.privacy.callers import entries

    if not (isinstance(phone, str) and isinstance(id_number, str)):
        return []
    if not phone.strip() and not id_number.strip():
        return []
    return entries(caller_key(privacy), phone, id_number)


def filing_writes(store: Any, privacy: Any, petition_id: Any, petitioner: Any,
                  occurred_at: datetime, *, petitioner_id: str | None = None,
                  prefix: str | None = None, callers: list[tuple[str, str]] | None = None,
                  ) -> tuple[list[Write], Callable[[bool], None]]:
    """The rows a filing writes in its transaction (work-order number, caller
    index), and what to do once it committed (``alongside``: whether they were
    written with the events; if not, they are written now).  ``petitioner_id``:
    the petitioner's id when ``petitioner`` does not hold it (minted now);
    ``prefix``: the office prefix in force (None: read now); ``callers``: the
    caller-index entries of ``petitioner`` made already (``petitioner`` is
    then not read: it may be None)."""
    if petitioner_id is None:
        petitioner_id = petitioner.id
    tables = side_tables(store)
    tables.create()
    year = local_year(occurred_at)
    if prefix is None:
        prefix = office_prefix()
    if callers is None:
        callers = caller_entries(privacy, petitioner.phone, petitioner.id_number)
    numbered: list[str] = []
    pid = str(petition_id)
    writes = [tables.number_writer(pid, year, prefix, numbered,
                                   key=side_key(privacy.keyring.master),
                                   indexed=bool(callers))]
    if callers:
        writes.append(tables.caller_writer(callers, petitioner_id, pid))

    def committed(alongside: bool) -> None:
        if alongside and numbered:
            remember_number(store, petition_id, numbered[0])
            return
        remember_number(store, petition_id, tables.allocate(pid, year, prefix))
        if callers:
            tables.add_callers(callers, petitioner_id, pid)

    return writes, committed


def caller_petitions(store: Any, privacy: Any, *, phone: str | None = None,
                     id_number: str | None = None) -> list[Any]:
    """Every petition of the caller with this phone and/or ID number."""
    from uuid import UUID

    from petitions.errors import InvalidInput
    from petitions.privacy.callers import ID_NUMBER, PHONE, digest

    key = caller_key(privacy)
    ids: set[str] = set()
    for kind, value in ((PHONE, phone), (ID_NUMBER, id_number)):
        if value is None:
            continue
        found = digest(key, kind, value)
        if found is None:
            raise InvalidInput(kind, "must contain digits", kind="empty")
        ids.update(side_tables(store).petitions_of_digest(found))
    return sorted(UUID(i) for i in ids)


#: What applying a stored event that decoded (its JSON and value types read)
#: but holds values of the wrong shape raises — damage, when a replay of the
#: petition's events (:func:`damaged_event`) locates the event that raises it.
APPLY_ERRORS: tuple[type[Exception], ...] = (
    TypeError, ValueError, KeyError, AttributeError, IndexError)


def damaged_event(store: Any, petition_id: Any) -> Any:
    """The first stored event of ``petition_id`` that cannot be read or applied,
    as a :class:`~petitions.errors.CorruptEvent` naming petition, version and
    position; ``None`` when every event replays."""
    from petitions.audit.chain import stored_position
    from petitions.errors import CorruptEvent

    aggregate: Any = None
    for record in store.recorder.select_events(petition_id):
        try:
            aggregate = store.mapper.to_domain_event(record).mutate(aggregate)
        except CorruptEvent as exc:
            return exc
        except APPLY_ERRORS as exc:
            version = record.originator_version
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            return CorruptEvent(petition_id, version,
                                stored_position(store.recorder, petition_id, version), detail)
    return None


def related_cases(store: Any, petition_id: Any) -> tuple[Any, ...]:
    """The same caller's other open cases (by phone or ID number).

    A related case whose stored history is damaged is not listed: it is
    reported (a warning naming petition, version and position, as the views
    report the events they skip) and fails only when it is itself read."""
    from uuid import UUID

    from petitions.errors import CorruptEvent, PetitionNotFound
    from petitions.logs import get_logger
    from petitions.views import RelatedCase

    out = []
    for other in side_tables(store).related(str(petition_id)):
        oid = UUID(other)
        try:
            p = store.load(oid)
        except PetitionNotFound:
            continue
        except CorruptEvent as exc:  # bytes that do not decode
            get_logger(__name__).warning("%s", exc)
            continue
        except APPLY_ERRORS:  # bytes that decode, then fail to apply?
            damaged = damaged_event(store, oid)
            if damaged is None:
                raise  # not the stored history: a fault to see, not to hide
            get_logger(__name__).warning("%s", damaged)
            continue
        wf = store.workflow_of(p)
        if wf.is_terminal(p.stage):
            continue
        out.append(RelatedCase(id=p.id, number=number_of(store, p.id), stage=p.stage,
                               title=p.title, stage_label=wf.stage(p.stage).label))
    return tuple(out)


def reindex(store: Any, privacy: Any, *, callers_afresh: bool = False) -> tuple[int, int]:
    """Number every petition without a work-order number, in stored order
    (after ``audit import`` this gives the source's numbers), and index the
    callers of petitions without index entries whose personal data can be read
    (after a key import; with ``callers_afresh`` every entry is made again,
    after a master-key rotation).  Returns (numbered, indexed)."""
    from petitions.domain.petition import Petition

    tables = side_tables(store)
    tables.create()
    if callers_afresh:
        with tables._tx(commit=True) as c:
            c.execute(f"DELETE FROM {tables.callers}")
        privacy.__dict__.pop("_caller_key_bytes", None)
    privacy.sync()
    numbered = indexed = 0
    start = 0
    prefix = office_prefix()
    while True:
        notifications = store.recorder.select_notifications(
            start=start, limit=500, inclusive_of_start=False)
        if not notifications:
            break
        start = notifications[-1].id
        for n in notifications:
            if not n.topic.endswith("Petition.Filed"):
                continue
            try:
                event = store.mapper.to_domain_event(n)
            except Exception:  # a damaged event: audit verify names it; the rest goes on
                continue
            if not isinstance(event, Petition.Filed):
                continue
            pid = str(event.originator_id)
            if tables.number_of(pid) is None:
                tables.allocate(pid, local_year(event.occurred_at), prefix)
                numbered += 1
            if tables.digests_of_petition(pid):
                continue
            sealed = event.petitioner
            phone = privacy.open_field("phone", sealed.phone)
            id_number = privacy.open_field("id_number", sealed.id_number)
            callers = caller_entries(privacy, phone or "", id_number or "")
            if callers:
                tables.add_callers(callers, sealed.id, pid)
                # The number now says its caller is indexed (a deletion is seen).
                key = side_key(privacy.keyring.master)
                tables.authenticate(pid, key, indexed=True, only_if=key)
                indexed += 1
    _numbers(store).clear()
    return numbered, indexed
