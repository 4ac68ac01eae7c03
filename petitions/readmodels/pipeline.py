"""Reading and decoding stored events in other processes while this one
writes the views (a bulk catch-up on SQLite).

A catch-up spends more than half its time reading the stored rows and taking
the fields the views need out of their JSON (:func:`fast_item`), the rest
writing the views.  The reading needs nothing of the views: *decoder*
processes (forked, so they start at once with every module loaded) read the
stored rows of fixed ranges of positions through their own read-only
connections, decode them, and send each range's items through a pipe, while
this process applies the ranges before.  Range ``j`` holds the positions
``start + j * size`` exclusive to ``start + (j + 1) * size`` inclusive; whoever
is free claims the next one nobody has claimed (a counter the processes
share): a decoder as soon as it has sent its last, this process only while it
would otherwise wait for the range it is to write next (:class:`Decoders`).

A decoder also applies the events of the cases *filed in the range it reads*
to their rows itself (:func:`apply_to_row`, what the writer would do): a
filing is a case's first event (version 1), so no earlier event can be
missing from such a row, and the case's later events of the range change
only it.  It sends the row (the values of ``CASE_COLUMNS``) in the filing's
place instead of the events, and the writer inserts it as it comes.  An event
of such a case it does not read the fast way (a transfer, say) ends the
folding for that case: that event and the case's later ones of the range go
to the writer, after the row folded so far, in their order.  Where a case's
events fall in several ranges, those of the later ranges go to the writer,
which applies them to the stored row, as before.

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
import multiprocessing.connection
import operator
import os
import pickle
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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

#: What a decoder sends per range: the range's number, its last position
#: (``None``: no row), how many stored rows it holds, its items: the
#: :func:`fast_item` of an event it read that way (its update sent as an
#: :class:`_Update`, taken in as the update itself; a filing's values: its
#: case row as the values of ``CASE_COLUMNS``, the case's later events of the
#: range folded in, see :func:`_decode`), the stored row itself (five fields)
#: where it declined; where those stored rows stand among the items; the
#: bigrams of its filings (by petition id); the decoder's
#: CPU seconds so far, and when it sent the range (``time.monotonic``, the
#: same clock in every process).  After its last range: ``("cpu", seconds)``.
Message = tuple[int, int | None, int, list[Any], list[int], dict[str, str], float, float]


class _Update:
    """A :data:`FastItem`'s update as a decoder sends it: pickled as the
    topic it is the update of (once a range: pickle sends an object again as
    a reference), taken in as the update itself (:func:`plan_update`), by the
    unpickling, in C: the writer does not go through the items again."""

    __slots__ = ("topic",)

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return plan_update, (self.topic,)


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


def writer_reads() -> bool:
    """Whether the writer reads and decodes a range itself whenever the one it
    is to write next is not decoded yet (see :meth:`Decoders.batches`):
    unless ``PETITIONS_VIEWS_WRITER_READS`` is ``0`` (it then waits)."""
    return os.environ.get("PETITIONS_VIEWS_WRITER_READS", "").strip() != "0"


def available(db_name: str) -> bool:
    """Whether decoder processes can read the SQLite database ``db_name``: a
    file, and a process they may be forked from (:func:`petitions.pipeline.fork_safe`:
    a server's catch-up stays in-process)."""
    from petitions.pipeline import fork_safe

    return (bool(db_name) and ":memory:" not in db_name and "mode=memory" not in db_name
            and fork_safe())


def _query(table: str) -> str:
    return (f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid")


def _claim(claim: Any, only: int | None = None) -> int | None:
    """The number of the next range nobody has claimed, claimed now (with
    ``only``: that range, if nobody has claimed it yet, else ``None``)."""
    with claim.get_lock():
        j = int(claim.value)
        if only is not None and j != only:
            return None
        claim.value = j + 1
    return j


#: Ranges a decoder keeps decoded (pickled) ahead of the one it is sending.
AHEAD = 2

#: A decoder's thread switch interval (seconds; Python's default: 0.005).
SWITCH_INTERVAL = 0.0002


class _Sender:
    """A decoder's thread sending its pickled ranges through the pipe ``send``
    in the order given (:meth:`put`), so that the decoder reads and decodes
    the next range meanwhile: a range is larger than the pipe holds, and the
    writer takes it in only when it is done with the one before.  At most
    :data:`AHEAD` ranges wait to be sent (memory stays bounded); ``None``
    sends the decoder's CPU seconds (its last words); :meth:`close` ends it."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
        #: Set when the pipe is closed at the other end (the writer stopped).
        self.broken = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def put(self, data: bytes | None) -> bool:
        """Queue ``data`` to be sent (waiting while :data:`AHEAD` wait);
        ``False`` if the writer stopped taking them."""
        while not self.broken.is_set():
            try:
                self._queue.put(data, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while True:
                data = self._queue.get()
                if data is None:
                    self._send.send_bytes(pickle.dumps(("cpu", time.process_time())))
                elif not data:
                    return  # closed
                else:
                    self._send.send_bytes(data)
                del data
        except OSError:  # BrokenPipeError: the writer stopped (or died)
            self.broken.set()

    def close(self) -> None:
        """Send what is queued (unless the pipe broke), then end the thread."""
        self.put(b"")
        self._thread.join()


def _decode(db_name: str, table: str, start: int, end: int, size: int, claim: Any,
            send: Any) -> None:
    """A decoder: claim the next range of ``(start, end]`` nobody has claimed
    (see :class:`Decoders`), read and decode its stored rows, fold the events
    of the cases filed in it into their rows (see the module's doc) and send
    it; until none is left (then send its CPU time)."""
    # The threads hand over quickly: the sending thread is woken for each
    # piece of a range the pipe takes, the decoding one holds on meanwhile.
    sys.setswitchinterval(SWITCH_INTERVAL)
    sender = _Sender(send)
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA query_only = 1")
        # Each topic's update as sent, and whether it is a filing's.
        updates: dict[str, tuple[_Update, bool]] = {}
        query = _query(table)
        while True:
            j = _claim(claim)
            assert j is not None
            low = start + j * size
            if low >= end:
                break
            rows: list[StoredRow] = conn.execute(query, (low, min(low + size, end))).fetchall()
            items: list[Any] = []
            declined: list[int] = []
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
                    declined.append(len(items))
                    append(row)
                    continue
                topic = row[3]
                found = updates.get(topic)
                if found is None:
                    found = updates[topic] = (_Update(topic), is_filing(topic))
                update, filing = found
                if filing:  # the filing's bigrams, worked out here
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
                append((update, *item[1:]))
            for i in filed:  # each filing's row, its case's events folded in, as values
                item = items[i]
                items[i] = (*item[:5], _CASE_VALUES(item[5]))
            last = rows[-1][0] if rows else None
            if not sender.put(pickle.dumps((j, last, len(rows), items, declined, grams,
                                            time.process_time(), time.monotonic()),
                                           protocol=pickle.HIGHEST_PROTOCOL)):
                break  # the writer stopped (or died): nothing more to do
            del rows, items, folded, grams, declined  # not held while the next is read
        sender.put(None)  # then its CPU time, once the ranges are sent
    finally:
        sender.close()
        conn.close()
        send.close()


#: A range as :meth:`Decoders.batches` yields it: its last position, how many
#: stored rows it holds, its events, and the bigrams of its filings by id.
Batch = tuple[int, int, list[Any], dict[str, str] | None]


class Decoders:
    """``n`` decoder processes over the stored rows in ``(start, end]`` of the
    events table ``table`` in ``db_name``, in ranges of ``size`` positions
    (range ``j``: positions ``start + j * size`` exclusive to ``start + (j +
    1) * size`` inclusive); iterate over :meth:`batches` for them in order.

    Whoever is free claims the next range nobody has claimed (a counter
    shared with the decoders): each decoder as soon as it has sent its last
    one, this process (with ``reads``) whenever the range it is to write next
    is not decoded yet — so it decodes only while it would otherwise wait, and
    the work shares itself out by how fast each process is, whatever decoding
    and writing cost on the machine at the time.  Use it with ``with``:
    leaving stops the processes."""

    def __init__(self, db_name: str, table: str, start: int, end: int, size: int,
                 n: int, reads: bool = True, first: Sequence[StoredRow] | None = None
                 ) -> None:
        ctx = multiprocessing.get_context("fork")
        self._db_name, self._table = db_name, table
        self._start, self._end, self._size, self._reads = start, end, size, reads
        # The stored rows of range 0, where the caller has read them already
        # (the first stored rows after ``start``, in order, at least every
        # one of the range): this process decodes them, nobody reads them again.
        self._first = None
        if reads and first is not None:
            top = min(start + size, end)
            self._first = [row for row in first if row[0] <= top]
        self._claim = ctx.Value("q", 0 if self._first is None else 1)
        self._receive: list[Any] = []
        self._processes: list[Any] = []
        for _ in range(n):
            receive, send = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_decode, daemon=True,
                                  args=(db_name, table, start, end, size, self._claim, send))
            process.start()
            send.close()  # the child's end: this process only reads
            self._receive.append(receive)
            self._processes.append(process)
        #: Each decoder's CPU seconds, once it has sent its last range.
        self.cpu: list[float] = []
        # When each decoder sent its last range, how long it took for its
        # last ones, and how long this process took for its own (seconds).
        self._sent = dict.fromkeys(range(n), time.monotonic())
        self._took: dict[int, float] = {}
        self._own: float | None = None
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

    def batches(self, lite: Callable[[StoredRow], Any]) -> Iterator[Batch]:
        """Each range's last position, how many stored rows it holds, its
        events as :func:`apply_events` takes them (:func:`fast_item` tuples —
        a decoder's filings with their case's later events of the range
        folded into the row, see :func:`_decode` — and ``lite`` of the
        stored rows it declined, read here) and the bigrams of its filings by
        id (``None``: not worked out); ranges without rows are left out.
        Stops early (without an error) if a decoder fails."""
        n = len(self._receive)
        sending = dict(enumerate(self._receive))  # the decoders not finished yet
        # Ranges decoded ahead of their turn: by number, who read it (-1: this
        # process), that decoder's CPU seconds, the range (None: no rows) and
        # where the stored rows the decoder declined stand in its events.
        ready: dict[int, tuple[int, float, Batch | None, list[int]]] = {}
        own: list[sqlite3.Connection] = []
        if self._first is not None:
            ready[0] = (-1, 0.0, self._decoded(time.monotonic(), self._first, lite), [])
            self._first = None
        try:
            j = 0
            while self._start + j * self._size < self._end:
                found = ready.pop(j, None)
                if found is None:
                    if self._reads and _claim(self._claim, j) is not None:
                        found = (-1, 0.0, self._read(own, j, lite), [])
                    else:  # a decoder has it: take what has come
                        if not self._receive_ready(sending, ready, block=False):
                            return  # a decoder died: the caller reads the rest itself
                        if j in ready:
                            continue
                        ahead = (_claim(self._claim) if self._reads and len(ready) <= n
                                 and self._worth_reading(sending) else None)
                        if ahead is not None and self._start + ahead * self._size < self._end:
                            # Nothing to write yet: read a later range meanwhile.
                            ready[ahead] = (-1, 0.0, self._read(own, ahead, lite), [])
                        elif not self._receive_ready(sending, ready, block=True):
                            return
                        continue
                k, cpu, batch, declined = found
                self.ranges.append((k, cpu))
                if batch is not None:
                    events = batch[2]
                    for i in declined:  # the stored rows the decoder declined, read now
                        events[i] = lite(events[i])
                    yield batch
                j += 1
            while sending:  # each decoder's last words
                if not self._receive_ready(sending, ready, block=True):
                    break
        finally:
            for conn in own:
                conn.close()

    def _worth_reading(self, sending: dict[int, Any]) -> bool:
        """Whether this process, waiting for a range a decoder has, should
        read a later one meanwhile: if the decoders (by how long each took
        for its last ranges, and when it sent its last) will likely send
        nothing for longer than half the time this process takes a range.
        Reading one takes this process away from writing for that long: for
        a short wait it would only keep the next range from being written."""
        if self._own is None:
            return True  # pragma: no cover - it read the first range
        now = time.monotonic()
        soonest = min((self._sent[k] + self._took[k] - now for k in sending
                       if k in self._took), default=None)
        return soonest is not None and soonest > self._own / 2

    def _read(self, own: list[sqlite3.Connection], j: int,
              lite: Callable[[StoredRow], Any]) -> Batch | None:
        """Range ``j`` read and decoded by this process (through a connection
        of its own, kept in ``own``)."""
        began = time.monotonic()
        if not own:
            own.append(sqlite3.connect(self._db_name, uri=True, isolation_level=None))
        low = self._start + j * self._size
        rows: list[StoredRow] = own[0].execute(
            _query(self._table), (low, min(low + self._size, self._end))).fetchall()
        return self._decoded(began, rows, lite)

    def _decoded(self, began: float, rows: list[StoredRow],
                 lite: Callable[[StoredRow], Any]) -> Batch | None:
        """A range's stored ``rows`` decoded by this process (the reading
        began at ``began``, ``time.monotonic``)."""
        found = (None if not rows else (
            rows[-1][0], len(rows), [fast_item(row) or lite(row) for row in rows], None))
        took = time.monotonic() - began
        self._own = took if self._own is None else (self._own + took) / 2
        return found

    def _receive_ready(self, sending: dict[int, Any], ready: dict[int, Any],
                       block: bool) -> bool:
        """Take in what the decoders still sending have sent (``block``: wait
        for at least one message); ``False`` if a decoder died."""
        pipes = list(sending.values())
        if not pipes:
            return not block  # pragma: no cover - a claimed range always comes
        found = multiprocessing.connection.wait(pipes, None if block else 0)
        for k in [k for k, pipe in sending.items() if pipe in found]:
            try:
                message: Any = pickle.loads(sending[k].recv_bytes())
            except (EOFError, OSError):
                return False
            if message[0] == "cpu":
                self.cpu.append(float(message[1]))
                del sending[k]
                continue
            j, last, count, items, declined, grams, cpu, sent = message
            took = sent - self._sent[k]  # how long the decoder takes a range, lately
            was = self._took.get(k)
            self._took[k] = took if was is None else (was + took) / 2
            self._sent[k] = sent
            # The items as apply_events takes them (each update unpickled as
            # itself), but for the stored rows the decoder declined (read when
            # the range's turn comes).
            ready[j] = (k, cpu, None if last is None else (last, count, items, grams),
                        declined)
        return True

def _checkpoint(db_name: str) -> None:
    """The write-ahead log copied into the database file as far as it can be
    without waiting for anyone (a passive checkpoint), through a connection
    of its own."""
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:  # pragma: no cover - the writer's checkpoint does it then
        pass
    finally:
        conn.close()


def _count(db_name: str, application_name: str, send: Any, go: Any = None,
           others: Any = None) -> None:
    """The counting process: once told to (a message through ``go``; it
    ends if the pipe closes first), every counter counted again
    (:func:`recount`), sent.  Meanwhile a thread of its own copies the
    write-ahead log (every batch written) into the database file
    (:func:`_checkpoint`, mostly waiting for the disk, the lock on Python's
    objects let go), while the writer builds the indexes: the writer's
    checkpoint after them then copies only what was written since (the
    indexes), not every batch's pages too.  ``others``: the writer's end of
    ``go``, closed here (the pipe closes when the writer ends)."""
    if others is not None:
        others.close()
    if go is not None:
        try:
            go.recv_bytes()
        except (EOFError, OSError):
            return  # the writer counts nothing after all, or ended
        finally:
            go.close()
    copying = threading.Thread(target=_checkpoint, args=(db_name,), daemon=True)
    copying.start()
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
        copying.join()


class Counting:
    """A process counting every counter again from the case index (read
    only), once told to (:meth:`start`), while this one builds the case
    index's indexes; :meth:`result` waits for them.  Use it with ``with``:
    leaving stops the process.

    It is forked before the batches are written, beside the decoders (before
    them: it holds none of their pipes), and waits: forked after them, the
    pages of this process (its page cache above all) would be shared with it
    again and each one this process writes to while it builds the indexes
    copied first, some 17,000 page faults more in the tail of a 20,000-case
    catch-up."""

    def __init__(self, db_name: str, application_name: str) -> None:
        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        go, self._go = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_count, daemon=True,
                                    args=(db_name, application_name, send, go, self._go))
        self._process.start()
        send.close()
        go.close()
        #: The counting process's CPU seconds, once it has sent the counters.
        self.cpu = 0.0

    def __enter__(self) -> Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self._go.close()
        self._receive.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()

    def start(self) -> None:
        """Count the counters now (the views as the last batch left them)."""
        with contextlib.suppress(OSError):  # it died: result() says so
            self._go.send_bytes(b"go")

    def result(self) -> Counted | None:
        """The counters and the position they were counted at (``None`` if
        the process failed: then the writer counts them itself)."""
        try:
            found: Counted
            found, self.cpu = pickle.loads(self._receive.recv_bytes())
        except (EOFError, OSError):
            return None
        return found
