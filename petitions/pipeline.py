"""Two processes for a large import: a worker decides, the writer writes.

A bulk import spends most of its time on work that needs nothing of the
database — parsing lines, sealing personal data under new keys, digests,
encoding and chaining events — and the rest writing rows in one transaction
per batch.  :class:`Producer` runs the first part in a worker process (a new
interpreter: nothing of the parent's state is shared but what it is given,
pickled) while the calling process writes the batch before: on a machine with
two cores the two overlap.

What the worker hands over is what the writer would have decided itself (the
same functions make it); everything that depends on the database — whether a
filing is present already, work-order numbers, stored workflow texts, a
petitioner's keys — is done by the writer, in the batch's transaction
(:func:`petitions.filing.file_petitions`).  The worker writes nothing, so a
worker that dies, or a writer that fails, leaves whole batches only: each
batch is one transaction.

The worker sends its batches in order through a pipe (its standard output), a few ahead of the
writer at most (:data:`AHEAD`); it stops when the writer closes the pipe or
exits (its next send fails), and the writer stops it when it is done or
stops early (a refusal, an error).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from petitions.errors import PetitionError

#: Batches the worker may have decided and not yet handed over.
AHEAD = 3


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


def _serve(target: Callable[..., Iterable[Any]], args: tuple[Any, ...], out: Any) -> None:
    """Send each batch ``target(*args)`` yields to ``out``, then the end."""
    import pickle

    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AHEAD)

    def send() -> None:
        while True:
            message = ahead.get()
            try:
                pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
            except OSError:  # the writer is gone: nothing to decide for
                os._exit(1)
            if message[0] != "batch":
                return

    sender = threading.Thread(target=send, name="petitions-import-sender", daemon=True)
    sender.start()
    try:
        for batch in target(*args):
            ahead.put(("batch", batch))
        ahead.put(("end", None))
    except BaseException as exc:  # reported to the writer, which raises it
        ahead.put(("error", f"{type(exc).__name__}: {exc}"))
    sender.join()


def worker_main() -> None:
    """The worker process's entry: read the import path, the function and its
    arguments from standard input, send the batches on standard output (what
    the worker would print goes to standard error)."""
    import pickle
    import sys

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    source = sys.stdin.buffer
    sys.path[:] = pickle.load(source)
    target, args = pickle.load(source)
    _serve(target, args, out)
    out.close()


class Producer:
    """Batches made by ``target(*args)`` (a function importable by name, its
    arguments picklable) in a worker process, read in order by iterating.

    The worker is a new interpreter (``python -c``), not a fork and not
    :mod:`multiprocessing`'s ``spawn``, which would import the caller's main
    script again: it imports only ``petitions`` and what it is given."""

    def __init__(self, target: Callable[..., Iterable[Any]], args: tuple[Any, ...]) -> None:
        import pickle
        import subprocess
        import sys

        self._process = subprocess.Popen(
            [sys.executable, "-c", "from petitions.pipeline import worker_main; worker_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        stdin = self._process.stdin
        assert stdin is not None
        try:
            pickle.dump(list(sys.path), stdin)
            pickle.dump((target, args), stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.close()
        except BaseException:
            self.close()
            raise
        out = self._process.stdout
        assert out is not None
        self._out = out

    def batches(self) -> Iterator[list[Any]]:
        """Each batch, in order; :class:`WorkerFailed` if the worker stops first."""
        import pickle

        while True:
            try:
                kind, payload = pickle.load(self._out)
            except (EOFError, OSError, pickle.UnpicklingError):
                code = self._process.wait(5)
                raise WorkerFailed(f"exit code {code}") from None
            if kind == "batch":
                yield payload
            elif kind == "end":
                return
            else:
                raise WorkerFailed(f"error: {payload}")

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch

    @property
    def pid(self) -> int:
        return self._process.pid

    def close(self) -> None:
        """Stop the worker (if still at work) and wait for it."""
        import subprocess

        if self._process.stdout is not None:
            self._process.stdout.close()  # its next send fails: it exits
        try:
            self._process.wait(2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
