"""The tables the read models live in, on SQLite and on PostgreSQL.

Each store is an eventsourcing *tracking recorder*: every change to the view
tables is written in the same database transaction as the tracking record of
the event that caused it, so each event is applied exactly once and a crash
leaves the views at a consistent position from which they resume.  The views
live in the same database (SQLite file, PostgreSQL schema) as the events.

The SQL is shared between the two dialects, written with ``:name``
parameters and ``{table}`` placeholders; :class:`ViewTx` is the unit of work
the projection writes through.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder

#: Name of the projection: its tracking table is ``<name>_tracking``.
VIEWS_NAME = "petition_views"
TRACKING_TABLE = f"{VIEWS_NAME}_tracking"

#: Columns of the case index, in order (``seq`` is the store's row number).
CASE_COLUMNS = (
    "id", "version", "title", "description", "workflow", "stage", "status", "outcome",
    "category", "channel", "petitioner_kind", "street", "community", "grid",
    "lead_unit", "assignee", "mediator", "filed_at", "updated_at", "last_rating",
    "campaign_id", "cb_day", "cb_contacted", "cb_resolved",
    # The running clock (time limit): its deadline and state, the recorded
    # mark without pauses, when its warning is due (until recorded), and the
    # next moment a sweep has something to record (indexed: the sweep's query).
    "deadline", "deadline_state", "clock_mark", "warn_due", "next_due",
    # Supervision and assessment (issue 14): reminders (催办), escalations
    # (督办), and whether it is excluded from the rates (核减).
    "reminders", "escalations", "excluded",
    # The workflow version the petition was filed under (its sha256): a queue
    # row's labels come from it, not from the current version (issue 12).
    "workflow_sha256",
    # Sign-for (签收) and first contact (先行联系) of the current dispatch:
    # NULL (not asked by the workflow), 'due', 'in_time' or 'late'; how many
    # times the order was returned (退单); supervision levels given, as
    # "red:1;yellow:2" (督办 黄牌/红牌).
    "sign_state", "contact_state", "returns", "escalation_levels",
    # Request type (诉求类型), urgency, anonymous filing, and the local day a
    # call-back was recorded as impossible (anonymous: counted apart).
    "request_type", "urgency", "anonymous", "cb_impossible",
    # For exports (issue 17): the matter type, when it was closed, and how
    # many times it was reopened.
    "matter_type", "closed_at", "reopens",
    # The petitioner's id, and their name and phone *as sealed* (ciphertext,
    # as in the events: erasing their key makes these unreadable too), so an
    # export shows them without reading each petition's events.
    "petitioner_id", "petitioner_name", "petitioner_phone",
)

#: A case row as the values of :data:`CASE_COLUMNS`, in order.
CaseValues = tuple[Any, ...]

#: ``list`` filters → case index columns.
FILTER_COLUMNS: Mapping[str, str] = {
    "status": "status", "stage": "stage", "workflow": "workflow", "street": "street",
    "community": "community", "grid": "grid", "unit": "lead_unit", "assignee": "assignee",
    "mediator": "mediator", "category": "category", "channel": "channel",
    "campaign": "campaign_id", "outcome": "outcome", "kind": "petitioner_kind",
    "type": "request_type", "urgency": "urgency",
}

#: ``stats --by`` → SQL expression of the group.
GROUP_EXPRESSIONS: Mapping[str, str] = {
    "street": "street", "community": "community", "grid": "grid", "category": "category",
    "unit": "COALESCE(lead_unit, '')", "month": "substr(cb_day, 1, 7)",
    "year": "substr(cb_day, 1, 4)",
}

#: What the report (``petitions report``) counts cases by → SQL expression; ``hour``
#: is the UTC hour filed (``YYYY-MM-DDTHH``), turned into local days and months.
REPORT_GROUPS: Mapping[str, str] = {
    "street": "street", "community": "community", "grid": "grid", "category": "category",
    "unit": "COALESCE(lead_unit, '')", "workflow": "workflow", "stage": "stage",
    "hour": "substr(filed_at, 1, 13)",
}

#: Columns whose counts are kept per value and status (``count`` with one of
#: these filters, with or without ``status``, reads a counter, not the rows).
COUNT_DIMENSIONS = ("street", "community", "grid", "category", "stage", "workflow",
                    "channel", "lead_unit", "petitioner_kind", "outcome")
#: ``stats --by`` groupings kept as counters (over all days).
RATE_GROUPINGS = ("street", "community", "grid", "category", "unit", "month", "year")

#: Filter columns: each indexed with the list order (newest first), so that a
#: page of a filtered queue reads its rows in order and stops after the page.
_QUEUE_INDEXED = ("status", "stage", "workflow", "street", "community", "grid", "lead_unit",
                  "assignee", "mediator", "category", "channel", "campaign_id")
_INDEXED = ("filed_at", "cb_day", "next_due")

_TEXT_COLS = {c: "TEXT" for c in CASE_COLUMNS}
_TEXT_COLS.update(version="INTEGER NOT NULL", id="TEXT NOT NULL UNIQUE",
                  cb_contacted="INTEGER", cb_resolved="INTEGER", reminders="INTEGER",
                  escalations="INTEGER", excluded="INTEGER", returns="INTEGER",
                  anonymous="INTEGER", reopens="INTEGER")


def case_table_sql(seq: str) -> str:
    cols = ", ".join(f"{c} {_TEXT_COLS[c]}" for c in CASE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {{petition_index}} ({seq}, {cols})"


COMMON_DDL = (
    "CREATE TABLE IF NOT EXISTS {caseload} (role TEXT NOT NULL, person TEXT NOT NULL, "
    "open_count INTEGER NOT NULL, closed_count INTEGER NOT NULL, "
    "PRIMARY KEY (role, person))",
    "CREATE TABLE IF NOT EXISTS {campaign_progress} (campaign_id TEXT PRIMARY KEY, "
    "total INTEGER NOT NULL, open_count INTEGER NOT NULL, closed_count INTEGER NOT NULL, "
    "resolved_count INTEGER NOT NULL)",
    # Counters kept by the projection: cases per (column, value, status), and
    # valid call-backs per rate group and answer, so that ``count`` with one
    # filter and ``stats`` over all days read a few rows, not the case index.
    "CREATE TABLE IF NOT EXISTS {case_counts} (dim TEXT NOT NULL, value TEXT NOT NULL, "
    "status TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dim, value, status))",
    # Per grouping of ``stats``, group and every column the rates read: how
    # many valid call-backs (kind 'valid') or call-backs recorded as impossible
    # (kind 'impossible'), with their returns, reminders and escalations
    # summed; NULL is stored as ''.  ``stats`` over all days reads these.
    "CREATE TABLE IF NOT EXISTS {rate_tallies} (grouping TEXT NOT NULL, grp TEXT NOT NULL, "
    "kind TEXT NOT NULL, outcome TEXT NOT NULL, contacted INTEGER NOT NULL, "
    "resolved INTEGER NOT NULL, rating TEXT NOT NULL, sign_state TEXT NOT NULL, "
    "contact_state TEXT NOT NULL, levels TEXT NOT NULL, n INTEGER NOT NULL, "
    "returns INTEGER NOT NULL, reminders INTEGER NOT NULL, escalations INTEGER NOT NULL, "
    "PRIMARY KEY (grouping, grp, kind, outcome, contacted, resolved, rating, sign_state, "
    "contact_state, levels))",
    *(f"CREATE INDEX IF NOT EXISTS petition_index_{c} ON {{petition_index}} ({c})"
      for c in _INDEXED),
    *(f"CREATE INDEX IF NOT EXISTS petition_index_{c}_queue ON {{petition_index}} "
      f"({c}, filed_at DESC, id)" for c in _QUEUE_INDEXED),
    # The overdue queue and ``deadline`` ranges (soonest first).
    "CREATE INDEX IF NOT EXISTS petition_index_deadline_queue ON {petition_index} "
    "(deadline, id)",
)

#: View tables of earlier versions (dropped with the views: a store that has
#: them lacks a current one, so its views are dropped and rebuilt on opening).
RETIRED_TABLES = ("rate_counts",)

#: Text search: the most recently recorded matches first (the case index's
#: ``seq``, the order the full-text index keeps), so that a page of hits is
#: read in order from the index and the search stops after the page.
SEARCH_ORDER = "seq DESC"

def bulk_marker(application_name: str) -> str:
    """The tracking row of views written in bulk whose text indexes and
    counters are still to be filled (:meth:`ViewStore.finish_bulk`): its
    number is the case index's last ``seq`` before the bulk writing began."""
    return f"{application_name}#bulk"


#: Ids per ``IN (...)`` when a batch reads the rows it changes.
_IN_CHUNK = 400

_LIKE_ESCAPE = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def like_pattern(text: str) -> str:
    return "%" + text.translate(_LIKE_ESCAPE) + "%"


class ViewStore(TrackingRecorder):
    """Dialect-neutral reading and writing of the view tables (the concrete
    stores mix it with eventsourcing's SQLite or PostgreSQL tracking recorder)."""

    #: Table names used in the shared SQL.
    TABLES = ("petition_index", "petition_text", "petition_bigrams", "caseload",
              "campaign_progress", "case_counts", "rate_tallies")
    #: Tables beside the events that queries join (:mod:`petitions.sidetables`);
    #: not views: never emptied or dropped with them.
    SIDE_TABLES = ("work_orders",)

    @abstractmethod
    def _cursor(self, *, commit: bool) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside a transaction (committed at the end if ``commit``)."""

    @abstractmethod
    def _sql(self, statement: str) -> str:
        """``statement`` with table names and parameters in this dialect."""

    @abstractmethod
    def _insert_cases(self, tx: ViewTx, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert new cases (and index their text)."""

    def _insert_case_values(self, tx: ViewTx, values: Sequence[CaseValues]) -> None:
        """:meth:`_insert_cases` of rows given as :data:`CaseValues`."""
        self._insert_cases(tx, [dict(zip(CASE_COLUMNS, v, strict=True)) for v in values])

    @abstractmethod
    def _text_condition(self, text: str, params: dict[str, Any]) -> str:
        """SQL condition selecting cases whose title or description contains ``text``."""

    @abstractmethod
    def _insert_tracking_in(self, cursor: Any, tracking: Tracking) -> None: ...

    @abstractmethod
    def _tracked_in(self, cursor: Any, application_name: str) -> int | None:
        """The tracked position, read inside a view transaction."""

    #: Whether batches may be written in bulk (:meth:`transaction` with
    #: ``bulk``): the case index only, its text indexes and counters filled by
    #: :meth:`finish_bulk`.  Only the SQLite store does.
    bulk_supported = False

    def _tracked_and_marked_in(self, cursor: Any, application_name: str
                               ) -> tuple[int | None, bool]:
        """The tracked position, and whether a bulk writing is unfinished (see
        :func:`bulk_marker`), read inside a view transaction."""
        return self._tracked_in(cursor, application_name), False

    def _mark_bulk_in(self, tx: ViewTx, application_name: str) -> None:
        raise NotImplementedError  # pragma: no cover - only where bulk_supported

    def bulk_unfinished(self, application_name: str) -> bool:
        """Whether views were written in bulk and not finished yet."""
        return False

    def finish_bulk(self, application_name: str, counted: Any = None) -> None:
        """Fill what a bulk writing left out (the text indexes of the cases it
        inserted; every counter, counted again from the case index), in one
        transaction, if a bulk writing is unfinished; else nothing
        (``counted``: the counters counted by another process, where the
        store can take them)."""

    @abstractmethod
    def _view_tables(self) -> tuple[str, ...]: ...

    # ------------------------------------------------------------- writing
    @contextlib.contextmanager
    def transaction(self, bulk: bool = False, bulk_text: bool = False,
                    grams: Mapping[str, str] | None = None) -> Iterator[ViewTx]:
        """A unit of work: view changes and tracking records commit together
        (``bulk``: the case index only, see :attr:`bulk_supported`; with
        ``bulk_text``, its text indexes too; ``grams``: the bigrams of cases
        inserted, by id, worked out beforehand)."""
        with self._cursor(commit=True) as cursor:
            yield ViewTx(self, cursor, bulk and self.bulk_supported, bulk_text, grams)

    def reset(self, application_name: str) -> None:
        """Empty every view and forget the tracked position (before a rebuild)."""
        with self._cursor(commit=True) as cursor:
            for table in self._view_tables():
                self._empty_in(cursor, table)
            cursor.execute(self._sql("DELETE FROM {tracking} WHERE application_name = :app "
                                     "OR application_name = :marker"),
                           {"app": application_name, "marker": bulk_marker(application_name)})

    def _empty_in(self, cursor: Any, table: str) -> None:
        """Delete every row of view table ``table`` (inside :meth:`reset`)."""
        cursor.execute(self._sql(f"DELETE FROM {{{table}}}"))

    @contextlib.contextmanager
    def indexes_deferred(self) -> Iterator[None]:
        """Write many cases without the case index's secondary indexes, built
        again (sorted, at once) when the block ends.  The views stay correct
        throughout (queries are only slower); if the process dies inside the
        block, opening the store creates the missing indexes again.  This base
        version changes nothing (the SQLite store drops and re-creates them)."""
        yield

    # ------------------------------------------------------------- reading
    def _all(self, statement: str, params: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        with self._cursor(commit=False) as cursor:
            cursor.execute(self._sql(statement), dict(params or {}))
            return [dict(row) for row in cursor.fetchall()]

    #: The case index with each case's work-order number.
    _CASES = ("SELECT {petition_index}.*, work_orders.number AS number FROM {petition_index} "
              "LEFT JOIN {work_orders} work_orders ON work_orders.petition_id = "
              "{petition_index}.id")

    def get_case(self, petition_id: str) -> dict[str, Any] | None:
        rows = self._all(self._CASES + " WHERE id = :id", {"id": petition_id})
        return rows[0] if rows else None

    @abstractmethod
    def _case_columns(self) -> set[str]:
        """The columns the case index has (empty when there is no case index yet)."""

    @abstractmethod
    def _has_table(self, table: str) -> bool: ...

    def outdated(self) -> bool:
        """Whether a case index exists without every column or counter table
        of this version (then it is dropped and rebuilt; see ``open_store``)."""
        found = self._case_columns()
        if not found:
            return False
        return not set(CASE_COLUMNS) <= found or not all(
            self._has_table(t) for t in self._view_tables())

    def drop_views(self, application_name: str) -> None:
        """Drop the view tables and forget the position: the next catch-up rebuilds."""
        with self._cursor(commit=True) as cursor:
            for table in (*self._view_tables(), *RETIRED_TABLES):
                cursor.execute(self._sql(f"DROP TABLE IF EXISTS {{{table}}}"))
            cursor.execute(self._sql("DELETE FROM {tracking} WHERE application_name = :app "
                                     "OR application_name = :marker"),
                           {"app": application_name, "marker": bulk_marker(application_name)})

    def due_cases(self, now: str, limit: int | None = None) -> list[str]:
        """Ids of open cases whose clock has something due at ``now`` (a
        warning or a breach to record), from the ``next_due`` index."""
        page = "" if limit is None else " LIMIT :limit"
        rows = self._all("SELECT id FROM {petition_index} WHERE next_due <= :now "
                         f"ORDER BY next_due{page}", {"now": now, "limit": limit})
        return [r["id"] for r in rows]

    def clock_cases(self) -> list[str]:
        """Ids of open cases with a running clock (a deadline)."""
        rows = self._all("SELECT id FROM {petition_index} WHERE deadline IS NOT NULL "
                         "ORDER BY deadline")
        return [r["id"] for r in rows]

    def _where(self, filters: Mapping[str, str | None], text: str | None,
               params: dict[str, Any], deadline: tuple[str | None, str | None] = (None, None),
               ids: Sequence[str] | None = None) -> str:
        conditions = []
        if ids is not None:
            if not ids:
                conditions.append("1 = 0")
            else:
                names = []
                for i, pid in enumerate(ids):
                    params[f"id{i}"] = pid
                    names.append(f":id{i}")
                conditions.append(f"id IN ({', '.join(names)})")
        for key, value in filters.items():
            if value is None:
                continue
            column = FILTER_COLUMNS[key]
            params[key] = value
            conditions.append(f"{column} = :{key}")
        if text:
            conditions.append(self._text_condition(text, params))
        after, before = deadline
        if after is not None or before is not None:
            # Running, unpaused clocks only (the deadline column is indexed).
            conditions.append("deadline IS NOT NULL AND deadline_state <> 'paused'")
            if after is not None:
                params["deadline_after"] = after
                conditions.append("deadline >= :deadline_after")
            if before is not None:
                params["deadline_before"] = before
                conditions.append("deadline <= :deadline_before")
        return (" WHERE " + " AND ".join(conditions)) if conditions else ""

    def list_cases(self, filters: Mapping[str, str | None], text: str | None = None,
                   limit: int | None = 50, offset: int = 0,
                   deadline: tuple[str | None, str | None] = (None, None),
                   ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Cases matching ``filters`` and ``text`` (and among ``ids`` when
        given); with ``deadline`` (from, to: sortable UTC texts, either open)
        those whose running clock's deadline lies in that range, soonest first."""
        params: dict[str, Any] = {}
        page = ""
        if limit is not None:
            params["limit"], params["offset"] = limit, offset
            page = " LIMIT :limit OFFSET :offset"
        if text and deadline == (None, None):
            # Text search: most recently recorded first, read in index order.
            source, where, order = self._search_source(filters, text, params, ids)
            return self._page(source, where, order, SEARCH_ORDER, page, params)
        where = self._where(filters, text, params, deadline, ids)
        order = ("deadline, id" if deadline != (None, None) else "filed_at DESC, id")
        return self._page("{petition_index}", where, order, order, page, params)

    #: Whether a page of cases is found before their work-order numbers are
    #: joined (:meth:`_page`), else in one join.
    PAGE_FIRST = True

    def _page(self, source: str, where: str, order: str, same_order: str, page: str,
              params: dict[str, Any]) -> list[dict[str, Any]]:
        """The page of case rows of ``source`` (the case index, or a join with a
        text index) that ``where`` selects in ``order``, each with its work-order
        number: the page is found first and the numbers are looked up for its
        rows only (a planner that joins first looks up every matching row's
        before it sorts: PostgreSQL did, 34 ms for a page of a two-filter list
        at 51,000 cases; 8.5 ms instead of 12–14 at 20,000 cases, found first).
        ``same_order``: ``order`` in the case rows' own columns."""
        if not self.PAGE_FIRST:
            return self._all(
                f"SELECT {{petition_index}}.*, work_orders.number AS number FROM {source} "
                f"LEFT JOIN {{work_orders}} work_orders ON work_orders.petition_id = "
                f"{{petition_index}}.id{where} ORDER BY {order}{page}", params)
        outer = ", ".join(f"cases.{term.strip()}" for term in same_order.split(","))
        return self._all(
            f"SELECT cases.*, work_orders.number AS number FROM (SELECT {{petition_index}}.seq "
            f"FROM {source}{where} ORDER BY {order}{page}) page "
            f"JOIN {{petition_index}} cases ON cases.seq = page.seq "
            f"LEFT JOIN {{work_orders}} work_orders ON work_orders.petition_id = cases.id "
            f"ORDER BY {outer}", params)

    def _search_source(self, filters: Mapping[str, str | None], text: str,
                       params: dict[str, Any], ids: Sequence[str] | None = None
                       ) -> tuple[str, str, str]:
        """The FROM source, WHERE clause and ORDER BY of a text search (a dialect
        may join its full-text index so that hits come in :data:`SEARCH_ORDER`
        straight from it)."""
        return "{petition_index}", self._where(filters, text, params, ids=ids), SEARCH_ORDER

    def iter_cases(self, filters: Mapping[str, str | None], text: str | None = None,
                   deadline: tuple[str | None, str | None] = (None, None),
                   ids: Sequence[str] | None = None, batch: int = 1000
                   ) -> Iterator[dict[str, Any]]:
        """Every case matching (as :meth:`list_cases`), oldest filing first, read
        ``batch`` rows at a time by keyset (filed_at, id): never all in memory."""
        after: tuple[str, str] | None = None
        while True:
            params: dict[str, Any] = {"batch": batch}
            where = self._where(filters, text, params, deadline, ids)
            if after is not None:
                params["after_filed"], params["after_id"] = after
                where += (" AND " if where else " WHERE ") + (
                    "(filed_at > :after_filed OR (filed_at = :after_filed AND id > :after_id))")
            rows = self._all(f"{self._CASES}{where} ORDER BY filed_at, id LIMIT :batch", params)
            yield from rows
            if len(rows) < batch:
                return
            after = (rows[-1]["filed_at"], rows[-1]["id"])

    def count_cases(self, filters: Mapping[str, str | None], text: str | None = None,
                    deadline: tuple[str | None, str | None] = (None, None),
                    ids: Sequence[str] | None = None, cap: int | None = None) -> int:
        """How many cases match (as :meth:`list_cases`).  With ``cap`` and a
        ``text``, counting stops after ``cap + 1`` hits (a search shows "1,000+"
        instead of reading every hit)."""
        if text is None and deadline == (None, None) and ids is None:
            counted = self._counted(filters)
            if counted is not None:
                return counted
        params: dict[str, Any] = {}
        if text and cap is not None and deadline == (None, None):
            source, where, _ = self._search_source(filters, text, params, ids)
            params["cap"] = cap + 1
            rows = self._all(f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {source}{where} "
                             "LIMIT :cap) hits", params)
            return int(rows[0]["n"])
        where = self._where(filters, text, params, deadline, ids)
        rows = self._all(f"SELECT COUNT(*) AS n FROM {{petition_index}}{where}", params)
        return int(rows[0]["n"])

    def _counted(self, filters: Mapping[str, str | None]) -> int | None:
        """The count from the counters kept by the projection, when the
        filters are at most one counted column and the status."""
        active = {k: v for k, v in filters.items() if v is not None}
        status = active.pop("status", None)
        if len(active) > 1 or "" in active.values():
            return None
        params: dict[str, Any] = {"dim": "*", "value": ""}
        if active:
            ((key, value),) = active.items()
            if FILTER_COLUMNS[key] not in COUNT_DIMENSIONS:
                return None
            params.update(dim=FILTER_COLUMNS[key], value=value)
        condition = ""
        if status is not None:
            params["status"] = status
            condition = " AND status = :status"
        rows = self._all("SELECT COALESCE(SUM(n), 0) AS n FROM {case_counts} "
                         f"WHERE dim = :dim AND value = :value{condition}", params)
        return int(rows[0]["n"])

    def caseload(self, role: str) -> list[dict[str, Any]]:
        return self._all("SELECT person, open_count, closed_count FROM {caseload} "
                         "WHERE role = :role ORDER BY open_count DESC, person", {"role": role})

    def campaigns(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM {campaign_progress} ORDER BY campaign_id")

    def rate_rows(self, by: str, exclude_outcomes: Sequence[str], date_from: str | None,
                  date_to: str | None) -> list[tuple[Any, ...]]:
        """``(group, contacted, resolved, rating, count, sign_state,
        contact_state, returns, reminders, escalations, escalation_levels)``
        per distinct combination over valid call-backs (the counts summed)."""
        if not date_from and not date_to:
            return self._counted_rate_rows(by, exclude_outcomes)
        group = GROUP_EXPRESSIONS[by]
        params: dict[str, Any] = {}
        conditions = ["cb_day IS NOT NULL", "(excluded IS NULL OR excluded = 0)"]
        if exclude_outcomes:
            names = []
            for i, outcome in enumerate(exclude_outcomes):
                params[f"x{i}"] = outcome
                names.append(f":x{i}")
            conditions.append(f"(outcome IS NULL OR outcome NOT IN ({', '.join(names)}))")
        if date_from:
            params["date_from"] = date_from
            conditions.append("cb_day >= :date_from")
        if date_to:
            params["date_to"] = date_to
            conditions.append("cb_day <= :date_to")
        rows = self._all(
            f"SELECT {group} AS grp, cb_contacted, cb_resolved, last_rating, COUNT(*) AS n, "
            "sign_state, contact_state, SUM(COALESCE(returns, 0)) AS ret, "
            "SUM(COALESCE(reminders, 0)) AS rem, SUM(COALESCE(escalations, 0)) AS esc, "
            "escalation_levels "
            f"FROM {self._rates_source()} WHERE {' AND '.join(conditions)} "
            f"GROUP BY {group}, cb_contacted, cb_resolved, last_rating, sign_state, "
            "contact_state, escalation_levels", params)
        return [(str(r["grp"] or ""), bool(r["cb_contacted"]), bool(r["cb_resolved"]),
                 r["last_rating"], int(r["n"]), r["sign_state"], r["contact_state"],
                 int(r["ret"] or 0), int(r["rem"] or 0), int(r["esc"] or 0),
                 r["escalation_levels"]) for r in rows]

    def _counted_rate_rows(self, by: str, exclude_outcomes: Sequence[str]
                           ) -> list[tuple[Any, ...]]:
        """:meth:`rate_rows` over all days, from the rate counters."""
        params: dict[str, Any] = {"by": by}
        condition = ""
        if exclude_outcomes:
            names = []
            for i, outcome in enumerate(exclude_outcomes):
                params[f"x{i}"] = outcome
                names.append(f":x{i}")
            condition = f" AND outcome NOT IN ({', '.join(names)})"
        rows = self._all(
            "SELECT grp, contacted, resolved, rating, SUM(n) AS n, sign_state, contact_state, "
            "SUM(returns) AS ret, SUM(reminders) AS rem, SUM(escalations) AS esc, levels "
            "FROM {rate_tallies} WHERE grouping = :by AND kind = 'valid' AND n <> 0"
            f"{condition} GROUP BY grp, contacted, resolved, rating, sign_state, "
            "contact_state, levels", params)
        return [(str(r["grp"]), bool(r["contacted"]), bool(r["resolved"]),
                 r["rating"] or None, int(r["n"]), r["sign_state"] or None,
                 r["contact_state"] or None, int(r["ret"]), int(r["rem"]), int(r["esc"]),
                 r["levels"] or None) for r in rows if int(r["n"])]

    def impossible_rows(self, by: str, date_from: str | None,
                        date_to: str | None) -> list[tuple[str, int]]:
        """``(group, count)`` of call-backs recorded as impossible (anonymous
        petitioners), grouped as ``rate_rows``; not part of any rate."""
        if not date_from and not date_to:
            rows = self._all("SELECT grp, SUM(n) AS n FROM {rate_tallies} WHERE grouping = :by "
                             "AND kind = 'impossible' AND n <> 0 GROUP BY grp", {"by": by})
            return [(str(r["grp"]), int(r["n"])) for r in rows if int(r["n"])]
        group = GROUP_EXPRESSIONS[by].replace("cb_day", "cb_impossible")
        params: dict[str, Any] = {}
        conditions = ["cb_impossible IS NOT NULL", "(excluded IS NULL OR excluded = 0)"]
        if date_from:
            params["date_from"] = date_from
            conditions.append("cb_impossible >= :date_from")
        if date_to:
            params["date_to"] = date_to
            conditions.append("cb_impossible <= :date_to")
        rows = self._all(f"SELECT {group} AS grp, COUNT(*) AS n FROM {{petition_index}} "
                         f"WHERE {' AND '.join(conditions)} GROUP BY {group}", params)
        return [(str(r["grp"] or ""), int(r["n"])) for r in rows]

    def supervision_counts(self) -> list[tuple[str, int, int]]:
        """``(lead unit, reminders, escalations)`` over dispatched cases."""
        rows = self._all("SELECT lead_unit, SUM(COALESCE(reminders, 0)) AS r, "
                         "SUM(COALESCE(escalations, 0)) AS e FROM {petition_index} "
                         "WHERE lead_unit IS NOT NULL GROUP BY lead_unit")
        return [(str(r["lead_unit"]), int(r["r"] or 0), int(r["e"] or 0)) for r in rows]

    def unit_counts(self) -> list[tuple[str, bool, int]]:
        rows = self._all("SELECT lead_unit, status, COUNT(*) AS n FROM {petition_index} "
                         "WHERE lead_unit IS NOT NULL GROUP BY lead_unit, status")
        return [(str(r["lead_unit"]), r["status"] == "open", int(r["n"])) for r in rows]

    def group_counts(self, groups: Sequence[str], *, open_only: bool = False,
                     filed: tuple[str | None, str | None] = (None, None),
                     deadline: tuple[str | None, str | None] = (None, None)
                     ) -> list[tuple[tuple[str, ...], int]]:
        """``((value, …), count)`` of cases per combination of ``groups`` (names of
        :data:`REPORT_GROUPS`), of open cases only if ``open_only``, filed within
        ``filed`` (from inclusive, to exclusive: sortable UTC texts, either open) and
        with a running clock's deadline within ``deadline`` (as :meth:`list_cases`)."""
        params: dict[str, Any] = {}
        where = self._where({"status": "open"} if open_only else {}, None, params, deadline)
        conditions = [where[len(" WHERE "):]] if where else []
        after, before = filed
        if after is not None:
            params["filed_after"] = after
            conditions.append("filed_at >= :filed_after")
        if before is not None:
            params["filed_before"] = before
            conditions.append("filed_at < :filed_before")
        exprs = [REPORT_GROUPS[g] for g in groups]
        cols = ", ".join(f"{e} AS g{i}" for i, e in enumerate(exprs))
        clause = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        rows = self._all(f"SELECT {cols}, COUNT(*) AS n FROM {{petition_index}}{clause} "
                         f"GROUP BY {', '.join(exprs)}", params)
        return [(tuple(str(r[f"g{i}"] or "") for i in range(len(exprs))), int(r["n"]))
                for r in rows]

    def _rates_source(self) -> str:
        """The FROM clause of the rates query (a dialect may add an index hint)."""
        return "{petition_index}"

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view, in a stable order (to compare two builds)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        cols = ", ".join(CASE_COLUMNS)
        out["petition_index"] = [tuple(r.values()) for r in self._all(
            f"SELECT {cols} FROM {{petition_index}} ORDER BY id")]
        out["caseload"] = [tuple(r.values()) for r in self._all(
            "SELECT * FROM {caseload} WHERE open_count <> 0 OR closed_count <> 0 "
            "ORDER BY role, person")]
        out["campaign_progress"] = [tuple(r.values()) for r in self._all(
            "SELECT * FROM {campaign_progress} ORDER BY campaign_id")]
        out["case_counts"] = [tuple(r.values()) for r in self._all(
            "SELECT * FROM {case_counts} WHERE n <> 0 ORDER BY dim, value, status")]
        out["rate_tallies"] = [tuple(r.values()) for r in self._all(
            "SELECT * FROM {rate_tallies} WHERE n <> 0 OR returns <> 0 OR reminders <> 0 "
            "OR escalations <> 0 ORDER BY grouping, grp, kind, outcome, contacted, resolved, "
            "rating, sign_state, contact_state, levels")]
        return out


class ViewTx:
    """The view changes of one transaction (one event, or a batch of them),
    written set-wise: one statement (``executemany``) per kind of change."""

    def __init__(self, store: ViewStore, cursor: Any, bulk: bool = False,
                 bulk_text: bool = False, grams: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.cursor = cursor
        #: Written in bulk: the case index only (its text indexes and the
        #: counters are filled by :meth:`ViewStore.finish_bulk`).
        self.bulk = bulk
        #: Written in bulk, the text indexes of the cases it inserts
        #: nevertheless (the counters only are left to ``finish_bulk``):
        #: written while decoder processes decode the next batches, not after.
        self.bulk_text = bulk_text
        #: The bigram tokens of cases this transaction inserts, by id, where a
        #: decoder process worked them out (:func:`petitions.readmodels.sqlite.bigrams`).
        self.grams = grams
        #: Whether the last :meth:`tracked` found a bulk writing unfinished.
        self.unfinished = False

    def execute(self, statement: str, params: Mapping[str, Any]) -> None:
        self.cursor.execute(self.store._sql(statement), dict(params))

    def executemany(self, statement: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            self.cursor.executemany(self.store._sql(statement), params)

    def get_case(self, petition_id: str) -> dict[str, Any] | None:
        return self.get_cases([petition_id]).get(petition_id)

    def get_cases(self, petition_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of ``petition_ids`` (those that exist), by id."""
        found: dict[str, dict[str, Any]] = {}
        cols = ", ".join(CASE_COLUMNS)
        for i in range(0, len(petition_ids), _IN_CHUNK):
            chunk = petition_ids[i:i + _IN_CHUNK]
            names = ", ".join(f":i{j}" for j in range(len(chunk)))
            self.execute(f"SELECT {cols} FROM {{petition_index}} WHERE id IN ({names})",
                         {f"i{j}": pid for j, pid in enumerate(chunk)})
            for row in self.cursor.fetchall():
                found[row["id"]] = dict(row)
        return found

    def insert_case(self, row: Mapping[str, Any]) -> None:
        self.insert_cases([row])

    def insert_cases(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.store._insert_cases(self, rows)

    def insert_case_values(self, values: Sequence[CaseValues]) -> None:
        """Insert new cases given as the values of :data:`CASE_COLUMNS`."""
        self.store._insert_case_values(self, values)

    def update_cases(self, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        """Write ``columns`` of ``rows`` (each the new state of a stored case):
        an index is touched only when its columns change, and most events change few."""
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        self.executemany(f"UPDATE {{petition_index}} SET {sets} WHERE id = :id",
                         [{c: row[c] for c in (*columns, "id")} for row in rows])

    def bump_caseloads(self, changes: Sequence[tuple[str, str, int, int]]) -> None:
        self.executemany(
            "INSERT INTO {caseload} (role, person, open_count, closed_count) "
            "VALUES (:role, :person, :o, :c) ON CONFLICT (role, person) DO UPDATE SET "
            "open_count = {caseload}.open_count + :o, "
            "closed_count = {caseload}.closed_count + :c",
            [{"role": r, "person": p, "o": o, "c": c} for r, p, o, c in changes])

    def bump_campaigns(self, changes: Sequence[tuple[str, int, int, int, int]]) -> None:
        self.executemany(
            "INSERT INTO {campaign_progress} "
            "(campaign_id, total, open_count, closed_count, resolved_count) "
            "VALUES (:id, :t, :o, :c, :r) ON CONFLICT (campaign_id) DO UPDATE SET "
            "total = {campaign_progress}.total + :t, "
            "open_count = {campaign_progress}.open_count + :o, "
            "closed_count = {campaign_progress}.closed_count + :c, "
            "resolved_count = {campaign_progress}.resolved_count + :r",
            [{"id": k, "t": t, "o": o, "c": c, "r": r} for k, t, o, c, r in changes])

    def bump_counts(self, changes: Sequence[tuple[str, str, str, int]]) -> None:
        self.executemany(
            "INSERT INTO {case_counts} (dim, value, status, n) VALUES (:d, :v, :s, :n) "
            "ON CONFLICT (dim, value, status) DO UPDATE SET n = {case_counts}.n + :n",
            [{"d": d, "v": v, "s": s, "n": n} for d, v, s, n in changes])

    def bump_rates(self, changes: Sequence[tuple[tuple[Any, ...], tuple[int, int, int, int]]]
                   ) -> None:
        """Move rate counters (keys as :data:`~petitions.readmodels.projection.RateKey`)
        by (cases, returns, reminders, escalations)."""
        self.executemany(
            "INSERT INTO {rate_tallies} (grouping, grp, kind, outcome, contacted, resolved, "
            "rating, sign_state, contact_state, levels, n, returns, reminders, escalations) "
            "VALUES (:g, :v, :k, :o, :c, :r, :t, :s, :f, :l, :n, :ret, :rem, :esc) "
            "ON CONFLICT (grouping, grp, kind, outcome, contacted, resolved, rating, "
            "sign_state, contact_state, levels) DO UPDATE SET n = {rate_tallies}.n + :n, "
            "returns = {rate_tallies}.returns + :ret, "
            "reminders = {rate_tallies}.reminders + :rem, "
            "escalations = {rate_tallies}.escalations + :esc",
            [{"g": g, "v": v, "k": k, "o": o, "c": c, "r": r, "t": t, "s": st, "f": ct, "l": lv,
              "n": n, "ret": ret, "rem": rem, "esc": esc}
             for (g, v, k, o, c, r, t, st, ct, lv), (n, ret, rem, esc) in changes])

    def track(self, tracking: Tracking) -> None:
        self.store._insert_tracking_in(self.cursor, tracking)

    def tracked(self, application_name: str) -> int | None:
        found, self.unfinished = self.store._tracked_and_marked_in(self.cursor,
                                                                   application_name)
        return found

    def mark_bulk(self, application_name: str) -> None:
        """Record (once) that views are being written in bulk, before this
        transaction inserts any case (see :func:`bulk_marker`)."""
        self.store._mark_bulk_in(self, application_name)
        self.unfinished = True
