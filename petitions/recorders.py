"""Event recorders that also write rows of ours in the events' own transaction.

``PetitionService.save(..., also_write=[write, ...])`` hands each ``write`` the
cursor of the transaction that inserts the events: what it writes commits
with them or not at all.  Filing uses it to store a new petitioner's data key
together with the events holding the data sealed under it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

#: The keyword of ``save`` (and of the recorder's ``insert_events``).
ALSO_WRITE = "also_write"

#: The keyword of the chain heads' writer (:mod:`petitions.audit.heads`),
#: run after the events are inserted, in their transaction.
WRITE_AFTER = "write_after"

#: Writes one or more rows with the cursor it is given.
Write = Callable[[Any], None]


def writes_alongside(recorder: object) -> bool:
    """Whether ``recorder`` honours ``also_write`` (else the caller must write
    its rows in a transaction of their own)."""
    check = getattr(recorder, "writes_alongside", None)
    return bool(check()) if callable(check) else False


def write_all(cursor: Any, kwargs: dict[str, Any]) -> None:
    writes: Sequence[Write] = kwargs.get(ALSO_WRITE, ())
    for write in writes:
        write(cursor)


def write_after(cursor: Any, kwargs: dict[str, Any]) -> None:
    writes: Sequence[Write] = kwargs.get(WRITE_AFTER, ())
    for write in writes:
        write(cursor)


class SQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, with ``also_write``."""

    def writes_alongside(self) -> bool:
        return True

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        write_all(c, kwargs)
        ids = super()._insert_events(c, stored_events, **kwargs)
        write_after(c, kwargs)
        return ids
