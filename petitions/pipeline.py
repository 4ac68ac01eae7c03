"""Two processes for a large import: a worker decides, the writer writes.

A bulk import spends most of its time on work that needs nothing of the
database — parsing lines, sealing personal data under new keys, digests,
encoding and chaining events — and the rest writing rows in one transaction
per batch.  :class:`Producer` runs the first part in a worker process while
the calling process writes the batch before: on a machine with two cores the
two overlap.

The worker is forked where it safely can be (:func:`forkable`: a platform
that forks, and a calling process with no other thread — the command line's
— so that no lock can be held for ever in the child by a thread it does not
have, SQLite's own included): it starts at once, every module loaded, with
what it is given as the writer holds it (nothing pickled).  It is a
:mod:`multiprocessing` process started with ``fork``, as the read models'
decoders are: the child never uses the database connections it inherits (it
decides with a store of its own in memory) and ends with ``os._exit``,
closing nothing it inherited.  Elsewhere (a server's threads,
a PostgreSQL connection pool's) it is a new interpreter (``python -c``):
nothing of the parent's state is shared but what it is given, pickled; it
imports the library first, about 0.4 s before its first batch.

What the worker hands over is what the writer would have decided itself (the
same functions make it); everything that depends on the database — whether a
filing is present already, work-order numbers, stored workflow texts, a
petitioner's keys — is done by the writer, in the batch's transaction
(:func:`petitions.filing.file_petitions`).  The worker writes nothing, so a
worker that dies, or a writer that fails, leaves whole batches only: each
batch is one transaction.

The worker sends its batches in order through a pipe (a new interpreter's
standard output), each one message (its length, then its pickle), a few
ahead of the writer at most (:data:`AHEAD`); a thread of the writer reads
them as they come (so the worker does not wait on the pipe while the writer
writes), up to :data:`AHEAD` more.  The writer may tell the worker to skip a
batch (:meth:`Producer.skip`, through another pipe: a new interpreter's
standard input): it decides that one itself, when it would otherwise wait
(see :mod:`petitions.importer`).  The worker exits once it has sent its end;
it also stops when the writer exits (its next send fails), and the writer
kills it when it stops early (a refusal, an error: the worker writes
nothing).
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from petitions.errors import PetitionError

#: Batches the worker may have decided and not yet sent, and batches the
#: writer's reading thread may hold that the writer has not taken.
AHEAD = 3
#: The size asked for the pipes between the two processes (Linux: at most
#: ``/proc/sys/fs/pipe-max-size``, 1 MiB by default; else left as it is), so
#: that a batch (about a megabyte at 500 filings) passes in a write or two.
PIPE_SIZE = 1 << 20
#: The thread switch interval (seconds; Python's default 0.005) of the worker,
#: and of the writer while it has a worker: a thread that was waiting on the
#: pipe (the worker's sender, the writer's reader) takes the interpreter's
#: lock back this soon, so a batch made is not held up behind the next.
SWITCH_INTERVAL = 0.0005
#: A message's length, before its pickle; a batch the worker is to skip.
_LENGTH = struct.Struct("<Q")
#: How the worker starts: ``"auto"`` forked where :func:`forkable` (else a
#: new interpreter), ``"interpreter"`` always a new interpreter (the tests
#: run both).
START = "auto"


def fork_safe() -> bool:
    """Whether a child may be forked from this process (without ``exec``): a
    platform that forks (not macOS: its system libraries are not fork-safe)
    and no other thread in this process — a forked child could find a lock
    held for ever by a thread it does not have, SQLite's own included.  The
    rule of both pipelines: this one's worker, the read models' decoders
    (:func:`petitions.readmodels.pipeline.available`)."""
    import multiprocessing

    return ("fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
            and threading.active_count() == 1)


def forkable() -> bool:
    """Whether the worker is forked (:func:`fork_safe`, and :data:`START`
    not asking for a new interpreter)."""
    return START != "interpreter" and fork_safe()


class WorkerFailed(PetitionError):
    """The worker process stopped before it handed over every batch (killed,
    or an error of its own): what was written before stays, in whole batches.
    A :class:`PetitionError` (code ``import_worker_failed``), so the command
    line shows it as one line in the user's language and exits 1."""

    code = "import_worker_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(f"the import's worker process stopped ({detail}); whole batches "
                         "were written before it: run the import again to file the rest",
                         detail=detail)


def _widen(fd: int) -> None:
    """Ask for a pipe of :data:`PIPE_SIZE` bytes (where the system allows)."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: as it is
        return
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setsize, PIPE_SIZE)


def _read_exactly(source: Any, size: int) -> bytes | None:
    """``size`` bytes from the raw file ``source``; None at its end (before
    any byte; a message cut short is its end too)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = source.readinto(view[got:])
        if not n:
            return None
        got += n
    return bytes(buffer)


def _write_all(sink: Any, data: bytes) -> None:
    """All of ``data`` to the raw file ``sink``."""
    view = memoryview(data)
    while view:
        view = view[sink.write(view):]


def _serve(target: Callable[..., Iterable[Any]], args: tuple[Any, ...], out: Any,
           skipped: Callable[[int], bool]) -> None:
    """Send each batch ``target(*args, skipped=skipped)`` yields to ``out`` as
    one message (``("batch", index, batch)``; a batch it skipped, yielded as
    None, is not sent), then the end (``("end", batches, None)``).  A batch
    begun before the writer asked to skip it is sent, and the writer drops it.

    A batch is pickled as soon as it is made, by the thread that made it; a
    thread of its own writes it (the pipe takes it while the next is made),
    and takes the interpreter's lock back quickly (:data:`SWITCH_INTERVAL`):
    the writer may be waiting for it."""
    import pickle

    sys.setswitchinterval(SWITCH_INTERVAL)
    ahead: queue.Queue[tuple[bytes, bool]] = queue.Queue(maxsize=AHEAD)

    def send() -> None:
        while True:
            data, last = ahead.get()
            try:
                out.write(_LENGTH.pack(len(data)))
                out.write(data)
                out.flush()
            except OSError:  # the writer is gone: nothing to decide for
                os._exit(1)
            if last:
                return

    def put(message: tuple[str, int, Any]) -> None:
        ahead.put((pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL),
                   message[0] != "batch"))

    sender = threading.Thread(target=send, name="petitions-import-sender", daemon=True)
    sender.start()
    index = 0
    try:
        for batch in target(*args, skipped=skipped):
            if batch is not None:
                put(("batch", index, batch))
            index += 1
        put(("end", index, None))
    except BaseException as exc:  # reported to the writer, which raises it
        put(("error", index, f"{type(exc).__name__}: {exc}"))
    sender.join()


def _skips(source: Any, skips: set[int]) -> None:
    """Add to ``skips`` each batch the writer asks to skip on ``source`` (the
    worker's standard input, after what it was given)."""
    while True:
        data = _read_exactly(source, _LENGTH.size)
        if data is None:
            return
        skips.add(_LENGTH.unpack(data)[0])


def worker_main() -> None:
    """The worker process's entry: read the import path, the function and its
    arguments from standard input, send the batches on standard output (what
    the worker would print goes to standard error); then the batches to
    skip, from standard input."""
    import pickle
    import sys

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _widen(out.fileno())
    source = sys.stdin.buffer  # the import path was read from it already (:data:`_BOOT`)
    target, args = pickle.load(source)
    _work(target, args, out, source)
    os._exit(0)  # sent and closed: nothing else to wait for (the writer is waiting)


def _work(target: Callable[..., Iterable[Any]], args: tuple[Any, ...], out: Any,
          source: Any) -> None:
    """The worker's work, however it started: the batches sent on ``out``
    (:func:`_serve`) while a thread reads the batches to skip from
    ``source`` (:func:`_skips`); ``out`` closed at the end."""
    skips: set[int] = set()
    threading.Thread(target=_skips, args=(source, skips), name="petitions-import-skips",
                     daemon=True).start()
    _serve(target, args, out, skips.__contains__)
    with contextlib.suppress(OSError):  # the writer is gone: nothing to tell it
        out.close()


#: The worker's first code: the writer's import path before anything of
#: ``petitions`` is imported (so that it is the same code as the writer's,
#: whatever the working directory holds: ``python -c`` puts it first).
_BOOT = ("import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
         "from petitions.pipeline import worker_main; worker_main()")


class Producer:
    """Batches made by ``target(*args, skipped=…)`` (a function importable by
    name, its arguments picklable; ``skipped(index)``: whether the writer
    decides that batch itself, when the worker comes to it: it yields None
    for it) in a worker process, read in order (:meth:`get`).

    The worker is forked where :func:`forkable`, else a new interpreter
    (``python -c``), not :mod:`multiprocessing`'s ``spawn``, which would
    import the caller's main script again: it imports only ``petitions`` and
    what it is given."""

    def __init__(self, target: Callable[..., Iterable[Any]], args: tuple[Any, ...]) -> None:
        #: What the reading thread took from the pipe: messages (pickled),
        #: then None at the pipe's end.
        self._ready: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
        self._ended = False
        #: Whether the worker was forked (else a new interpreter).
        self.forked = forkable()
        self._process: _Forked | Any
        if self.forked:
            self._process, self._stdin, self._out = _fork(target, args)
        else:
            self._process, self._stdin, self._out = self._interpreter()
        # Started after the fork: the child has no thread of ours.
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
        self._reader = threading.Thread(target=self._read, name="petitions-import-reader",
                                        daemon=True)
        self._reader.start()
        if not self.forked:
            import pickle

            try:
                _write_all(self._stdin, pickle.dumps(list(sys.path))
                           + pickle.dumps((target, args), protocol=pickle.HIGHEST_PROTOCOL))
            except BaseException:
                self.close()
                raise

    @staticmethod
    def _interpreter() -> tuple[Any, Any, Any]:
        """A new interpreter running :func:`worker_main`: it, its standard
        input and its standard output."""
        import subprocess

        process = subprocess.Popen([sys.executable, "-c", _BOOT],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        stdin, out = process.stdin, process.stdout
        assert stdin is not None and out is not None
        _widen(out.fileno())
        return process, stdin, out

    def _read(self) -> None:
        """The reading thread: each message as it comes, then None."""
        try:
            while True:
                head = _read_exactly(self._out, _LENGTH.size)
                data = None if head is None else _read_exactly(
                    self._out, _LENGTH.unpack(head)[0])
                self._ready.put(data)
                if data is None:
                    return
        except (OSError, ValueError):  # closed by :meth:`close`
            self._ready.put(None)

    def ready(self) -> bool:
        """Whether the next message is here (:meth:`get` would not wait)."""
        return self._ended or not self._ready.empty()

    def get(self) -> tuple[str, int, Any]:
        """The next message: ``("batch", index, batch)`` in order, then
        ``("end", batches, None)``; :class:`WorkerFailed` if the worker stopped
        first (ended, or reported an error)."""
        import pickle

        data = None if self._ended else self._ready.get()
        if data is None:
            self._ended = True
            code = self._process.wait(5)
            raise WorkerFailed(f"exit code {code}")
        kind, index, payload = pickle.loads(data)
        if kind == "error":
            self._ended = True
            raise WorkerFailed(f"error: {payload}")
        if kind == "end":
            self._ended = True
        return kind, index, payload

    def batches(self) -> Iterator[list[Any]]:
        """Each batch, in order; :class:`WorkerFailed` if the worker stops first."""
        while True:
            kind, _, payload = self.get()
            if kind == "end":
                return
            yield payload

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch

    def skip(self, index: int) -> None:
        """Tell the worker to skip batch ``index`` (the writer decides it);
        if it began it before it heard, it sends it all the same."""
        with contextlib.suppress(OSError):  # it has ended
            _write_all(self._stdin, _LENGTH.pack(index))

    @property
    def pid(self) -> int:
        return self._process.pid

    def close(self) -> None:
        """Stop the worker (if still at work: it writes nothing, so it is
        killed) and wait for it and the reading thread."""
        import subprocess

        try:
            if self._process.poll() is None and not self._ended:
                self._process.kill()
            try:
                self._process.wait(2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            # The reading thread meets the pipe's end: let it put it.
            while self._reader.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._ready.get(timeout=0.05)
            for pipe in (self._stdin, self._out):
                with contextlib.suppress(OSError):
                    pipe.close()
        finally:
            sys.setswitchinterval(self._switch)  # (the writer's again)


class _Forked:
    """A forked worker (a :mod:`multiprocessing` process, started with
    ``fork``), as much of :class:`subprocess.Popen` as :class:`Producer`
    uses: its exit code as both give it (minus the signal that ended it)."""

    def __init__(self, process: Any) -> None:
        self._process = process
        self.pid: int = process.pid

    def poll(self) -> int | None:
        code: int | None = self._process.exitcode
        return code

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        self._process.join(timeout)
        code: int | None = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        return code

    def kill(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()


def _forked(target: Callable[..., Iterable[Any]], args: tuple[Any, ...], out: int,
            skips: int, others: tuple[int, int]) -> None:
    """The forked worker: :func:`_work`, on the pipe ends ``out`` (batches)
    and ``skips``; ``others``, the writer's ends, closed first (so that each
    pipe ends when the writer's end closes)."""
    for fd in others:
        os.close(fd)
    _work(target, args, os.fdopen(out, "wb"), os.fdopen(skips, "rb", buffering=0))


def _fork(target: Callable[..., Iterable[Any]], args: tuple[Any, ...],
          ) -> tuple[_Forked, Any, Any]:
    """A forked worker serving ``target(*args)`` (:mod:`multiprocessing`'s
    ``fork`` start, as the read models' decoders: it ends with ``os._exit``,
    and a daemon, it is ended with this process): it, the pipe to tell it
    the batches to skip and the pipe it sends its batches on."""
    import multiprocessing

    out_r, out_w = os.pipe()
    skip_r, skip_w = os.pipe()
    _widen(out_w)
    try:
        process = multiprocessing.get_context("fork").Process(
            target=_forked, args=(target, args, out_w, skip_r, (out_r, skip_w)),
            name="petitions-import-worker", daemon=True)
        process.start()
    except BaseException:
        for fd in (out_r, out_w, skip_r, skip_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(skip_r)
    return (_Forked(process), os.fdopen(skip_w, "wb", buffering=0),
            os.fdopen(out_r, "rb", buffering=0))
