"""The read models in the events' SQLite file (FTS5 trigram text search)."""

from __future__ import annotations

import contextlib
import functools
import operator
import re
import sqlite3
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, Tracking
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
    SQLiteTransaction,
)

from petitions.readmodels.store import (
    CASE_COLUMNS,
    COMMON_DDL,
    COUNT_DIMENSIONS,
    RATE_GROUPINGS,
    RETIRED_TABLES,
    TRACKING_TABLE,
    CaseValues,
    ViewStore,
    ViewTx,
    bulk_marker,
    case_table_sql,
    like_pattern,
)

#: A character pair the bigram index holds: FTS5's ``ascii`` tokenizer splits
#: on ASCII characters other than letters and digits (and on quotes).
_PAIR = re.compile(r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{2}")


_CASE_VALUES = operator.itemgetter(*CASE_COLUMNS)
_ID, _TITLE, _DESCRIPTION = (CASE_COLUMNS.index(c) for c in ("id", "title", "description"))
#: A new case row (its ``seq``: the largest one + 1, see ``_insert_case_values``).
_INSERT_CASE = (f"INSERT INTO petition_index ({', '.join(CASE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})")

#: Page cache (KiB) of a connection that writes the views.
VIEW_CACHE_KIB = 65536

#: Page cache (KiB) while the counters are counted again inside a writing
#: transaction (:meth:`SQLiteViewStore.finish_bulk`): SQLite gives each sort
#: as much memory as the page cache, and several of a counting statement's
#: groupings hold theirs at once: with :data:`VIEW_CACHE_KIB` a
#: million cases' rebuild peaked at 618 MB, with SQLite's default (2,000 KiB)
#: at 239 MB, for about 5 % more time counting (docs/benchmarks.md).
RECOUNT_CACHE_KIB = 2000

#: The write-ahead log's automatic checkpoint threshold (pages) while views
#: are written in bulk (:meth:`SQLiteViewStore.indexes_deferred`), instead of
#: the connection's own (SQLite's default: 1,000 pages, about the size of one
#: batch): a checkpoint after nearly every batch copied the pages that every
#: batch rewrites (the case index's id index, the text indexes' segments) into
#: the database file again and again.  Bounded (64 MiB of 4 KiB pages), not
#: off: a log of gigabytes is slow to read through (its index is searched per
#: page read) and to copy at once at the end.
BULK_CHECKPOINT_FRAMES = 16384

#: Each pooled connection's own ``synchronous`` setting (restored after a
#: view transaction), read the first time it writes views.
_SYNCHRONOUS: weakref.WeakKeyDictionary[SQLiteConnection, int] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1024)
def _fill(statement: str) -> str:
    """``statement`` with its table names filled in (the same text every time)."""
    names = (*ViewStore.TABLES, *ViewStore.SIDE_TABLES, *RETIRED_TABLES)
    return statement.format(tracking=TRACKING_TABLE, **{t: t for t in names})


#: Runs of two or more characters the bigram index holds pairs of.
_RUNS = re.compile(r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{2,}")


def bigrams(*texts: str | None) -> str:
    """The distinct character pairs of ``texts`` (lower case), as FTS5 tokens,
    in the order they first occur: every overlapping pair inside each run of
    characters the index holds (cheaper than a look-ahead at every position)."""
    pairs: list[str] = []
    for text in texts:
        if text:
            for run in _RUNS.findall(text.lower()):
                pairs += map(operator.add, run, run[1:])  # each character and the next
    return " ".join(dict.fromkeys(pairs))


#: Case rows whose bigrams are computed per statement when a bulk writing ends.
_CHUNK = 10_000

#: ``stats`` groupings → the group of a case's valid call-back, and of its
#: call-back recorded as impossible (as ``_rate_keys`` in the projection).
_RATE_GROUPS = {
    "street": ("COALESCE(street, '')", "COALESCE(street, '')"),
    "community": ("COALESCE(community, '')", "COALESCE(community, '')"),
    "grid": ("COALESCE(grid, '')", "COALESCE(grid, '')"),
    "category": ("COALESCE(category, '')", "COALESCE(category, '')"),
    "unit": ("COALESCE(lead_unit, '')", "COALESCE(lead_unit, '')"),
    "month": ("substr(cb_day, 1, 7)", "substr(cb_impossible, 1, 7)"),
    "year": ("substr(cb_day, 1, 4)", "substr(cb_impossible, 1, 4)"),
}
assert tuple(_RATE_GROUPS) == RATE_GROUPINGS

_NOT_EXCLUDED = "(excluded IS NULL OR excluded = 0)"

#: The columns the counters are counted from, copied once: the groupings
#: below then each read narrow rows, not the case index's wide ones (with
#: their text).
_RECOUNT_COPY = (
    "DROP TABLE IF EXISTS temp.petitions_recount",
    "CREATE TEMP TABLE petitions_recount AS SELECT status, "
    f"{', '.join(COUNT_DIMENSIONS)}, cb_day, cb_impossible, excluded, cb_contacted, "
    "cb_resolved, last_rating, sign_state, contact_state, escalation_levels, returns, "
    "reminders, escalations, assignee, mediator, campaign_id FROM petition_index",
)

#: Every counter table, its columns and the query counting its rows again
#: from the copy (what the projection's per-batch changes sum to; rows that
#: sum to nothing are left out).
_RECOUNTS = (
    ("case_counts", "dim, value, status, n",
     "SELECT '*', '', status, COUNT(*) FROM temp.petitions_recount GROUP BY status"
     + "".join(f" UNION ALL SELECT '{dim}', COALESCE({dim}, ''), status, COUNT(*) "
               f"FROM temp.petitions_recount GROUP BY COALESCE({dim}, ''), status"
               for dim in COUNT_DIMENSIONS)),
    ("rate_tallies", "grouping, grp, kind, outcome, contacted, resolved, rating, "
     "sign_state, contact_state, levels, n, returns, reminders, escalations",
     " UNION ALL ".join(
         f"SELECT '{by}', {valid}, 'valid', COALESCE(outcome, ''), COALESCE(cb_contacted, 0), "
         "COALESCE(cb_resolved, 0), COALESCE(last_rating, ''), COALESCE(sign_state, ''), "
         "COALESCE(contact_state, ''), COALESCE(escalation_levels, ''), COUNT(*), "
         "SUM(COALESCE(returns, 0)), SUM(COALESCE(reminders, 0)), "
         "SUM(COALESCE(escalations, 0)) FROM temp.petitions_recount "
         f"WHERE cb_day IS NOT NULL AND {_NOT_EXCLUDED} GROUP BY {valid}, "
         "COALESCE(outcome, ''), COALESCE(cb_contacted, 0), COALESCE(cb_resolved, 0), "
         "COALESCE(last_rating, ''), COALESCE(sign_state, ''), COALESCE(contact_state, ''), "
         "COALESCE(escalation_levels, '') "
         f"UNION ALL SELECT '{by}', {impossible}, 'impossible', '', 0, 0, '', '', '', '', "
         "COUNT(*), 0, 0, 0 FROM temp.petitions_recount "
         f"WHERE cb_impossible IS NOT NULL AND {_NOT_EXCLUDED} GROUP BY {impossible}"
         for by, (valid, impossible) in _RATE_GROUPS.items())),
    ("caseload", "role, person, open_count, closed_count",
     " UNION ALL ".join(
         f"SELECT '{role}', {role}, SUM(status = 'open'), SUM(status <> 'open') "
         f"FROM temp.petitions_recount WHERE {role} IS NOT NULL AND {role} <> '' "
         f"GROUP BY {role}" for role in ("assignee", "mediator"))),
    ("campaign_progress", "campaign_id, total, open_count, closed_count, resolved_count",
     "SELECT campaign_id, COUNT(*), SUM(status = 'open'), "
     "SUM(status <> 'open'), SUM(CASE WHEN outcome = 'resolved' THEN 1 ELSE 0 END) "
     "FROM temp.petitions_recount WHERE campaign_id IS NOT NULL AND campaign_id <> '' "
     "GROUP BY campaign_id"),
)

#: Every counter counted again from the case index, in the writing transaction.
_RECOUNT = (
    *_RECOUNT_COPY,
    *(f"DELETE FROM {table}" for table, _, _ in _RECOUNTS),
    *(f"INSERT INTO {table} ({columns}) {query}" for table, columns, query in _RECOUNTS),
    "DROP TABLE temp.petitions_recount",
)

#: The counters counted by another process (:func:`recount`): the views'
#: position they were counted at, and each counter table's rows.
Counted = tuple[int | None, dict[str, list[tuple[Any, ...]]]]


def recount(conn: sqlite3.Connection, application_name: str) -> Counted:
    """Every counter's rows counted from the case index as one read
    transaction of ``conn`` saw it (a plain connection of its own: only a
    temporary table is written), with the views' position they stand for.

    The transaction ends once the columns are copied (the groupings read the
    temporary copy only): holding the views' snapshot no longer, this process
    does not keep the writer's next checkpoint from copying every page of the
    log (the indexes it builds meanwhile) into the database file."""
    conn.execute("BEGIN")
    try:
        position = conn.execute(
            f"SELECT MAX(notification_id) FROM {TRACKING_TABLE} WHERE application_name = ?",
            (application_name,)).fetchone()[0]
        for statement in _RECOUNT_COPY:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        rows = {table: conn.execute(query).fetchall() for table, _, query in _RECOUNTS}
    finally:
        conn.execute("DROP TABLE temp.petitions_recount")
    return position, rows


#: The full-text tables, as created.
_TEXT_TABLES = {
    # ``columnsize=0``: no row per case in a ``_docsize`` table (the token
    # counts only ranking functions read; searches here order by rowid).  A
    # store made before keeps its tables as they are (both work the same)
    # until its views are rebuilt.
    "petition_text": "CREATE VIRTUAL TABLE IF NOT EXISTS petition_text "
                     "USING fts5(title, description, tokenize='trigram', columnsize=0)",
    # Two-character words (most Chinese words): each case's distinct
    # character pairs as tokens, matched exactly (trigrams need three).
    "petition_bigrams": "CREATE VIRTUAL TABLE IF NOT EXISTS petition_bigrams "
                        "USING fts5(grams, tokenize='ascii', detail='none', columnsize=0)",
}


class _WriteTransaction(SQLiteTransaction):
    """A transaction that takes the write lock when it begins.

    A view update first reads the tracked position, then writes.  In a plain
    (deferred) transaction that upgrade fails at once with "database is
    locked" when another process committed in between; ``BEGIN IMMEDIATE``
    waits for the lock (up to the busy timeout) before reading instead.
    """

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc
        return cursor


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    """The views in the events' SQLite file, searched with FTS5 trigrams."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        # Our own tracking table, so other projections in the file keep theirs.
        if self.datastore.single_row_tracking:
            self.insert_tracking_statement = (
                f"INSERT INTO {TRACKING_TABLE} "
                "VALUES (:application_name, :notification_id) "
                "ON CONFLICT (application_name) DO UPDATE "
                "SET notification_id = :notification_id "
                f"WHERE {TRACKING_TABLE}.notification_id < :notification_id "
                "RETURNING notification_id")
        else:  # pragma: no cover - legacy multi-row tracking
            self.insert_tracking_statement = (
                f"INSERT INTO {TRACKING_TABLE} VALUES (:application_name, :notification_id)")
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {TRACKING_TABLE} WHERE application_name=?")

    def construct_create_table_statements(self) -> list[str]:
        key = ("PRIMARY KEY (application_name)" if self.datastore.single_row_tracking
               else "PRIMARY KEY (application_name, notification_id)")
        return [
            f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (application_name TEXT, "
            f"notification_id INTEGER, {key}) WITHOUT ROWID",
            self._sql(case_table_sql("seq INTEGER PRIMARY KEY")),
            *_TEXT_TABLES.values(),
            *(self._sql(s) for s in COMMON_DDL),
        ]

    @contextlib.contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        if not commit:
            with self.datastore.transaction(commit=False) as cursor:
                yield cursor
            return
        # A view update and its tracking record commit together without
        # waiting for the disk (synchronous=NORMAL, WAL): a crash or power cut
        # can lose only the latest such transactions, both halves together, and
        # the views then catch up again from the tracked position.  The events
        # themselves keep the connection's full durability.
        with self.datastore.get_connection(commit=True) as conn:
            raw = conn._sqlite_conn
            # Read once per connection (a query after each command writes a
            # small batch each time: two pragmas, not four).
            before = _SYNCHRONOUS.get(conn)
            if before is None:
                before = _SYNCHRONOUS[conn] = raw.execute("PRAGMA synchronous").fetchone()[0]
                if raw.execute("PRAGMA cache_size").fetchone()[0] > -VIEW_CACHE_KIB:
                    # A batch touches the case index's many indexes all over: keep
                    # more of them in memory than SQLite's default 2 MB.
                    raw.execute(f"PRAGMA cache_size=-{VIEW_CACHE_KIB}")
            raw.execute("PRAGMA synchronous=NORMAL")
            checkpoints = None
            if self._deferring:
                # A bulk writing: the log is copied into the database file
                # once it holds BULK_CHECKPOINT_FRAMES pages, not after every
                # batch (see the constant).
                checkpoints = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                raw.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_FRAMES}")
            try:
                with _WriteTransaction(conn, commit=True) as cursor, cursor:
                    yield cursor
            finally:
                raw.execute(f"PRAGMA synchronous={int(before)}")
                if checkpoints is not None:
                    raw.execute(f"PRAGMA wal_autocheckpoint={int(checkpoints)}")

    @contextlib.contextmanager
    def indexes_deferred(self) -> Iterator[None]:
        found = self._all("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                          "AND tbl_name = 'petition_index' AND sql IS NOT NULL")
        saved = [(str(r["name"]), str(r["sql"])) for r in found]
        with self._cursor(commit=True) as cursor:
            for name, _ in saved:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            with self._cursor(commit=True) as cursor:
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
                have = {row["name"] for row in cursor.fetchall()}
                for name, sql in saved:
                    if name not in have:
                        cursor.execute(sql)

    #: Inside :meth:`indexes_deferred` (a bulk writing): view transactions
    #: checkpoint the write-ahead log less often (:data:`BULK_CHECKPOINT_FRAMES`).
    _deferring = 0

    def _sql(self, statement: str) -> str:
        return _fill(statement)

    def _empty_in(self, cursor: Any, table: str) -> None:
        if table in _TEXT_TABLES:
            # Dropped and created again (in the same transaction): deleting a
            # full-text table's rows takes each one out of its index in turn.
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(_TEXT_TABLES[table])
        else:
            super()._empty_in(cursor, table)

    def _case_columns(self) -> set[str]:
        rows = self._all("SELECT name FROM pragma_table_info('petition_index')")
        return {r["name"] for r in rows}

    def _view_tables(self) -> tuple[str, ...]:
        return self.TABLES

    def _has_table(self, table: str) -> bool:
        return bool(self._all("SELECT 1 FROM sqlite_master WHERE name = :t", {"t": table}))

    def _insert_cases(self, tx: ViewTx, rows: Sequence[Mapping[str, Any]]) -> None:
        values = _CASE_VALUES
        self._insert_case_values(tx, [values(row) for row in rows])

    def _insert_case_values(self, tx: ViewTx, values: Sequence[CaseValues]) -> None:
        # The write lock is held (BEGIN IMMEDIATE): the rows are numbered from
        # the last seq + 1, in order (SQLite gives a row without a rowid the
        # largest one + 1), so that the text indexes can be filled from them.
        raw = tx.cursor.sqlite_cursor
        raw.execute("SELECT COALESCE(MAX(seq), 0) FROM petition_index")
        top = int(raw.fetchone()[0])
        raw.executemany(_INSERT_CASE, values)
        if tx.bulk and not tx.bulk_text:
            return  # the text indexes are filled by finish_bulk
        # The text rows read back from the case rows just written (no
        # parameters to bind: the rows are in the page cache).
        raw.execute("INSERT INTO petition_text (rowid, title, description) "
                    "SELECT seq, title, description FROM petition_index WHERE seq > ? "
                    "ORDER BY seq", (top,))
        given = tx.grams or {}
        raw.executemany("INSERT INTO petition_bigrams (rowid, grams) VALUES (?, ?)",
                        [(seq, given.get(row[_ID]) or bigrams(row[_TITLE], row[_DESCRIPTION]))
                         for seq, row in enumerate(values, top + 1)])

    def _text_index(self, text: str, params: dict[str, Any]) -> tuple[str, str] | None:
        """The full-text table that finds ``text`` and its MATCH parameter's
        name (set in ``params``), or ``None`` when only ``LIKE`` finds it."""
        if len(text) >= 3:
            # Trigrams need three characters; a phrase query matches a substring.
            params["fts"] = '"' + text.replace('"', '""') + '"'
            return "petition_text", "fts"
        pair = text.lower()
        if len(pair) == 2 and _PAIR.fullmatch(pair):
            params["pair"] = '"' + pair + '"'
            return "petition_bigrams", "pair"
        return None

    #: SQLite reads a page in index order and stops after it, joining each
    #: row's number as it goes: finding the page first was 2–5% slower here
    #: (bench/queries.py, 200,000 cases).
    PAGE_FIRST = False

    def _search_source(self, filters: Mapping[str, str | None], text: str,
                       params: dict[str, Any], ids: Sequence[str] | None = None
                       ) -> tuple[str, str, str]:
        # The full-text table drives the join, read newest row first (FTS5
        # returns rowids in descending order itself), each hit's case row
        # found by its seq (= the text row's rowid): a page stops after its hits.
        found = self._text_index(text, params)
        if found is None:
            return super()._search_source(filters, text, params, ids)
        table, name = found
        where = self._where(filters, None, params, ids=ids)
        where += (" AND " if where else " WHERE ") + f"{table} MATCH :{name}"
        # The text row's rowid is its case row's seq (see _insert_cases).
        return (f"{table} CROSS JOIN petition_index ON petition_index.seq = {table}.rowid",
                where, f"{table}.rowid DESC")

    def _text_condition(self, text: str, params: dict[str, Any]) -> str:
        if len(text) >= 3:
            # Trigrams need three characters; a phrase query matches a substring.
            params["fts"] = '"' + text.replace('"', '""') + '"'
            return "seq IN (SELECT rowid FROM petition_text WHERE petition_text MATCH :fts)"
        pair = text.lower()
        if len(pair) == 2 and _PAIR.fullmatch(pair):
            params["pair"] = '"' + pair + '"'
            return "seq IN (SELECT rowid FROM petition_bigrams WHERE petition_bigrams MATCH :pair)"
        params["like"] = like_pattern(text)
        return "(title LIKE :like ESCAPE '\\' OR description LIKE :like ESCAPE '\\')"

    #: The views' tracking row written (single-row tracking), told apart from
    #: a refused one by the rows it changed: eventsourcing's statement asks
    #: ``RETURNING``, for which SQLite makes and drops a temporary table each
    #: time (about 14 µs of each view transaction here).
    _track_statement = (
        f"INSERT INTO {TRACKING_TABLE} VALUES (?, ?) "
        "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id "
        f"WHERE {TRACKING_TABLE}.notification_id < excluded.notification_id")

    def _insert_tracking_in(self, cursor: Any, tracking: Tracking) -> None:
        if not self.datastore.single_row_tracking:  # pragma: no cover - legacy
            self._insert_tracking(cursor, tracking)
            return
        raw = cursor.sqlite_cursor
        raw.execute(self._track_statement, (tracking.application_name, tracking.notification_id))
        if raw.rowcount != 1:  # at or past this position already: not applied twice
            msg = (f"Failed to record tracking for {tracking.application_name} "
                   f"{tracking.notification_id}")
            raise IntegrityError(msg)

    def _tracked_in(self, cursor: Any, application_name: str) -> int | None:
        found: int | None = self._max_tracking_id(application_name, cursor)
        return found

    # ------------------------------------------------------------ bulk
    bulk_supported = True

    #: The views' position and whether a bulk writing's marker is there (one
    #: statement, two lookups by key: a query after a command runs it).
    select_tracked_and_marker_statement = (
        f"SELECT (SELECT MAX(notification_id) FROM {TRACKING_TABLE} "
        f"WHERE application_name = ?), EXISTS (SELECT 1 FROM {TRACKING_TABLE} "
        "WHERE application_name = ?)")

    def tracked_and_marked(self, cursor: Any, application_name: str
                           ) -> tuple[int | None, bool]:
        """The tracked position and whether a bulk writing is unfinished, read
        with ``cursor`` (a plain ``sqlite3`` cursor or eventsourcing's)."""
        cursor.execute(self.select_tracked_and_marker_statement,
                       (application_name, bulk_marker(application_name)))
        position, marked = cursor.fetchone()
        return position, bool(marked)

    def _tracked_and_marked_in(self, cursor: Any, application_name: str
                               ) -> tuple[int | None, bool]:
        return self.tracked_and_marked(cursor.sqlite_cursor, application_name)

    def _mark_bulk_in(self, tx: ViewTx, application_name: str) -> None:
        # The write lock is held: no case is inserted between reading the last
        # seq and recording it.  A marker already there (an unfinished bulk
        # writing) is kept: it names the earlier seq.
        marker = bulk_marker(application_name)
        tx.cursor.execute(
            f"INSERT INTO {TRACKING_TABLE} (application_name, notification_id) "
            "SELECT ?, (SELECT COALESCE(MAX(seq), 0) FROM petition_index) WHERE NOT EXISTS "
            f"(SELECT 1 FROM {TRACKING_TABLE} WHERE application_name = ?)",
            (marker, marker))

    def bulk_unfinished(self, application_name: str) -> bool:
        with self._cursor(commit=False) as cursor:
            return self._tracked_and_marked_in(cursor, application_name)[1]

    def finish_bulk(self, application_name: str, counted: Counted | None = None) -> None:
        """See :meth:`ViewStore.finish_bulk`; ``counted``: the counters as
        :func:`recount` counted them in another process, taken if the views
        still stand where they were counted (else counted here)."""
        marker = bulk_marker(application_name)
        with self._cursor(commit=True) as cursor:
            cursor.execute(f"SELECT MIN(notification_id) AS n FROM {TRACKING_TABLE} "
                           "WHERE application_name = ?", (marker,))
            found = cursor.fetchone()
            if found is None or found["n"] is None:
                return  # finished already (by another process, perhaps)
            top = int(found["n"])
            # The cases inserted since: those without text rows (a batch
            # written meanwhile the usual way indexed its own, and a bulk
            # writing beside decoders batch by batch).  Text rows are only
            # ever added for cases, so a table holding as many rows after
            # ``top`` as there are cases misses none: counting both (rowids
            # only) costs less than looking each case up.  The ids are read
            # from the full-text tables' content tables: through the
            # full-text table itself a scan reads every row's text too.
            raw = cursor.sqlite_cursor
            cases = raw.execute("SELECT COUNT(*) FROM petition_index WHERE seq > ?",
                                (top,)).fetchone()[0]
            if raw.execute("SELECT COUNT(*) FROM petition_text_content WHERE id > ?",
                           (top,)).fetchone()[0] != cases:
                raw.execute("INSERT INTO petition_text (rowid, title, description) "
                            "SELECT seq, title, description FROM petition_index WHERE seq > ? "
                            "AND seq NOT IN (SELECT id FROM petition_text_content WHERE id > ?) "
                            "ORDER BY seq", (top, top))
            after = top
            # Counted once, not per chunk: each count reads the table's rows
            # after ``top``, and a million cases' bigrams are many chunks.
            missing = raw.execute("SELECT COUNT(*) FROM petition_bigrams_content WHERE id > ?",
                                  (top,)).fetchone()[0] != cases
            while missing:  # a chunk at a time (held in memory)
                raw.execute("SELECT seq, title, description FROM petition_index WHERE seq > ? "
                            "AND seq NOT IN (SELECT id FROM petition_bigrams_content "
                            "WHERE id > ?) ORDER BY seq LIMIT ?", (after, after, _CHUNK))
                chunk = raw.fetchall()
                if not chunk:
                    break
                raw.executemany("INSERT INTO petition_bigrams (rowid, grams) VALUES (?, ?)",
                                [(seq, bigrams(title, description))
                                 for seq, title, description in chunk])
                after = chunk[-1][0]
            cursor.execute(self.select_max_tracking_id_statement, (application_name,))
            position = cursor.fetchone()[0]
            if counted is not None and counted[0] == position:
                # Counted by another process at this very position (the
                # write lock is held: no case row changed since).
                for table, columns, _ in _RECOUNTS:
                    raw.execute(f"DELETE FROM {table}")
                    rows = counted[1][table]
                    if rows:
                        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES "
                                        f"({', '.join('?' * len(rows[0]))})", rows)
            else:
                cache = raw.execute("PRAGMA cache_size").fetchone()[0]
                raw.execute(f"PRAGMA cache_size=-{RECOUNT_CACHE_KIB}")
                try:
                    for statement in _RECOUNT:
                        cursor.execute(statement)
                finally:
                    raw.execute(f"PRAGMA cache_size={int(cache)}")
            cursor.execute(f"DELETE FROM {TRACKING_TABLE} WHERE application_name = ?",
                           (marker,))
