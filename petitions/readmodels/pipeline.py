"""Reading and decoding stored events in other processes while this one
writes the views (a bulk catch-up on SQLite).

A catch-up spends more than half its time reading the stored rows and taking
the fields the views need out of their JSON (:func:`fast_item`), the rest
writing the views.  The reading needs nothing of the views: *decoder*
processes (forked, so they start at once with every module loaded) read the
stored rows of fixed ranges of positions through their own read-only
connections, decode them, and send each range's items through a pipe, while
this process applies the ranges before.  With ``n`` decoders, range ``j``
(positions ``start + j * size`` exclusive to ``start + (j + 1) * size``
inclusive) is read by decoder ``j % n``.

The decoders write nothing.  Every view change is still made by this process,
range after range in order, each in one transaction with its tracking record
and only if the views still stand where the range begins
(:meth:`ViewProjection.apply_after`): exactly once and crash-safe as before.
A decoder that fails or dies only ends the pipeline early (the catch-up goes
on reading in-process); a writer that dies ends its decoders (their next send
finds the pipe closed).

Forking: the processes are forked while this one has no SQLite transaction
open and no other thread (:func:`available`); a child never uses the
connections it inherits (it opens its own, only reads, and ends with
``os._exit`` as ``multiprocessing`` ends a forked child, closing nothing it
inherited), and the writer keeps its own open until the children have ended.
SQLite advises against carrying a connection across ``fork``; starting the
children afresh (``spawn``, about 0.23 s each to import) would avoid even the
inherited bookkeeping, at that cost.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import operator
import os
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from petitions.readmodels.projection import (
    Row,
    StoredRow,
    apply_to_row,
    fast_item,
    is_filing,
    plan_update,
)
from petitions.readmodels.sqlite import Counted, bigrams, recount
from petitions.readmodels.store import CASE_COLUMNS

_CASE_VALUES = operator.itemgetter(*CASE_COLUMNS)

#: What a decoder sends per range: its last position (``None``: no row), the
#: topics first seen in it (by code), its items: ``(code, pid, version, time,
#: stage, values)`` for an event :func:`fast_item` read, the stored row itself
#: (five fields) where it declined; the bigrams of its filings (by petition
#: id); and the decoder's CPU seconds so far.  After the last range:
#: ``("cpu", seconds)``.
Message = tuple[int | None, dict[int, str], list[Any], dict[str, str], float]


#: With one decoder, this process reads and decodes the first of every so
#: many ranges itself: a decoder spends longer on a range (reading, decoding,
#: working out the bigrams, sending) than the writer writing it, so both end
#: about equally busy (measured, alternating: 4 gave a critical path of
#: 1.95-2.31 s, 8 gave 2.15-2.81 s; see docs/benchmarks.md).
WRITER_EVERY = 4


#: At most so many decoder processes, whatever ``PETITIONS_VIEWS_DECODERS``
#: asks for (a typo of many digits must not fork without end).
MAX_DECODERS = 16


def decoders_wanted() -> int:
    """How many decoder processes a bulk catch-up starts (0: none):
    ``PETITIONS_VIEWS_DECODERS``, else one (this process writes meanwhile) if
    the machine has a core to spare: more than one core, and a load average
    (this process's own run included) half a core below their number.  On a
    machine whose cores are all busy the processes would only take turns on
    them, and the handing over costs more than it saves."""
    found = os.environ.get("PETITIONS_VIEWS_DECODERS", "")
    if found.strip().isdigit():
        return min(int(found), MAX_DECODERS)
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not known on this platform
        load = 0.0
    return 1 if cores > 1 and load < cores - 0.5 else 0


def writer_every(n: int) -> int:
    """Every how many ranges the writer reads itself with ``n`` decoders
    (0: never): ``PETITIONS_VIEWS_WRITER_EVERY``, else :data:`WRITER_EVERY`
    with one decoder."""
    found = os.environ.get("PETITIONS_VIEWS_WRITER_EVERY", "")
    if found.strip().isdigit() and len(found.strip()) < 10:
        return int(found)
    return WRITER_EVERY if n == 1 else 0


def available(db_name: str) -> bool:
    """Whether decoder processes can read the SQLite database ``db_name``: a
    file, on a platform that forks, from a process without other threads
    (a server's catch-up stays in-process: a forked child could find a lock
    held for ever by a thread it does not have, SQLite's own included)."""
    return (bool(db_name) and ":memory:" not in db_name and "mode=memory" not in db_name
            and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def owner(j: int, n: int, every: int) -> int:
    """Who reads range ``j`` with ``n`` decoders: the writer (``-1``) if
    ``every`` and ``j`` is the first of each ``every`` ranges (so the writer
    starts at once, while the decoders read the next ones), else decoder
    ``0`` … ``n - 1`` in turn."""
    if every:
        if j % every == 0:
            return -1
        j -= j // every + 1
    return j % n


def _query(table: str) -> str:
    return (f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")


def _decode(db_name: str, table: str, start: int, end: int, size: int, k: int, n: int,
            every: int, send: Any) -> None:
    """Decoder ``k`` of ``n``: read and decode the stored rows of its ranges
    of ``(start, end]`` (see :func:`owner`) and send each (then its CPU time)."""
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA query_only = 1")
        codes: dict[str, int] = {}
        filings: dict[int, bool] = {}
        query = _query(table)
        j = 0
        while start + j * size < end:
            if owner(j, n, every) != k:
                j += 1
                continue
            low = start + j * size
            rows: list[StoredRow] = conn.execute(
                query, (low, min(low + size, end))).fetchall()
            new: dict[int, str] = {}
            items: list[Any] = []
            grams: dict[str, str] = {}
            # The rows of the cases filed in this range, by stored originator
            # id (their later events here are applied to them here), and where
            # each filing stands in ``items``.
            folded: dict[Any, Row] = {}
            filed: list[int] = []
            append = items.append
            for row in rows:
                item = fast_item(row)
                if item is None:
                    if folded:  # its case's later events go to the writer, after it
                        folded.pop(row[1], None)
                    append(row)
                    continue
                topic = row[3]
                code = codes.get(topic)
                if code is None:
                    code = codes[topic] = len(codes)
                    new[code] = topic
                    filings[code] = is_filing(topic)
                if filings[code]:  # the filing's bigrams, worked out here
                    values = item[5]
                    grams[values["id"]] = bigrams(values["title"], values["description"])
                    if item[2] == 1:  # the case's first event: none came before
                        folded[row[1]] = values
                    else:  # pragma: no cover - a filing is a case's first event
                        folded.pop(row[1], None)
                    filed.append(len(items))
                elif folded:
                    case = folded.get(row[1])
                    if case is not None:
                        apply_to_row(case, item)
                        continue
                append((code, *item[1:]))
            for i in filed:  # each filing's row, its case's events folded in, as values
                item = items[i]
                items[i] = (*item[:5], _CASE_VALUES(item[5]))
            last = rows[-1][0] if rows else None
            send.send_bytes(pickle.dumps((last, len(rows), new, items, grams,
                                          time.process_time()),
                                         protocol=pickle.HIGHEST_PROTOCOL))
            j += 1
        send.send_bytes(pickle.dumps(("cpu", time.process_time())))
    except BrokenPipeError:
        pass  # the writer stopped (or died): nothing more to do
    finally:
        conn.close()
        send.close()


class Decoders:
    """``n`` decoder processes over the stored rows in ``(start, end]`` of the
    events table ``table`` in ``db_name``, ``size`` positions a range (every
    ``every``-th range read by this process itself, see :func:`owner`);
    iterate over :meth:`batches` for them in order.  Use it with ``with``:
    leaving stops the processes."""

    def __init__(self, db_name: str, table: str, start: int, end: int, size: int,
                 n: int, every: int = 0) -> None:
        ctx = multiprocessing.get_context("fork")
        self._db_name, self._table = db_name, table
        self._start, self._end, self._size, self._every = start, end, size, every
        self._receive: list[Any] = []
        self._processes: list[Any] = []
        for k in range(n):
            receive, send = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_decode, daemon=True,
                                  args=(db_name, table, start, end, size, k, n, every, send))
            process.start()
            send.close()  # the child's end: this process only reads
            self._receive.append(receive)
            self._processes.append(process)
        #: Each decoder's CPU seconds, once it has sent its last range.
        self.cpu: list[float] = []
        #: Per range (in order): who read it (``-1``: this process) and that
        #: decoder's CPU seconds when it had (to work out a run's critical path).
        self.ranges: list[tuple[int, float]] = []

    def __enter__(self) -> Decoders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for receive in self._receive:
            receive.close()
        for process in self._processes:
            if process.is_alive():
                process.terminate()
            process.join()

    def batches(self, lite: Callable[[StoredRow], Any]
                ) -> Iterator[tuple[int, int, list[Any], dict[str, str] | None]]:
        """Each range's last position, how many stored rows it holds, its
        events as :func:`apply_events` takes them (:func:`fast_item` tuples —
        a decoder's filings with their case's later events of the range
        folded into the row, see :func:`_decode` — and ``lite`` of the
        stored rows it declined, read here) and the bigrams of its filings by
        id (``None``: not worked out); ranges without rows are left out.
        Stops early (without an error) if a decoder fails."""
        n, every = len(self._receive), self._every
        tables: list[list[Any]] = [[] for _ in range(n)]
        own: sqlite3.Connection | None = None
        try:
            j = 0
            while self._start + j * self._size < self._end:
                k = owner(j, n, every)
                if k < 0:
                    if own is None:
                        own = sqlite3.connect(self._db_name, uri=True, isolation_level=None)
                    low = self._start + j * self._size
                    rows: list[StoredRow] = own.execute(
                        _query(self._table), (low, min(low + self._size, self._end))
                    ).fetchall()
                    self.ranges.append((k, 0.0))
                    if rows:
                        yield (rows[-1][0], len(rows),
                               [fast_item(row) or lite(row) for row in rows], None)
                    j += 1
                    continue
                try:
                    found: Any = pickle.loads(self._receive[k].recv_bytes())
                except (EOFError, OSError):
                    return  # a decoder died: the caller reads the rest itself
                last, count, new, items, grams, cpu = found
                self.ranges.append((k, cpu))
                table = tables[k]
                for code, topic in new.items():
                    table.extend([None] * (code + 1 - len(table)))
                    table[code] = plan_update(topic)
                if last is not None:
                    # A decoded item has six fields (its update by code), a
                    # stored row the decoder declined five.
                    yield last, count, [(table[i[0]], *i[1:]) if len(i) == 6 else lite(i)
                                        for i in items], grams
                j += 1
            for receive in self._receive:  # each decoder's last words
                with contextlib.suppress(EOFError, OSError):
                    self.cpu.append(float(pickle.loads(receive.recv_bytes())[1]))
        finally:
            if own is not None:
                own.close()


def _count(db_name: str, application_name: str, send: Any) -> None:
    """The counting process: every counter counted again (:func:`recount`), sent."""
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None)
    try:
        counted = recount(conn, application_name)
        send.send_bytes(pickle.dumps((counted, time.process_time()),
                                     protocol=pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:
        pass
    finally:
        conn.close()
        send.close()


class Counting:
    """A process counting every counter again from the case index (read
    only) while this one builds the case index's indexes; :meth:`result`
    waits for them.  Use it with ``with``: leaving stops the process."""

    def __init__(self, db_name: str, application_name: str) -> None:
        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_count, args=(db_name, application_name, send),
                                    daemon=True)
        self._process.start()
        send.close()
        #: The counting process's CPU seconds, once it has sent the counters.
        self.cpu = 0.0

    def __enter__(self) -> Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self._receive.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()

    def result(self) -> Counted | None:
        """The counters and the position they were counted at (``None`` if
        the process failed: then the writer counts them itself)."""
        try:
            found: Counted
            found, self.cpu = pickle.loads(self._receive.recv_bytes())
        except (EOFError, OSError):
            return None
        return found
