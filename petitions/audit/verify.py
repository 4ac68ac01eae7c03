"""Check every hash chain and the notification log; optionally against a seal.

:class:`ChainVerifier` consumes stored events in notification order — from a
database (:func:`verify_store`) or from an export file — and records every
problem with the petition id, version and position it concerns.  What is
checked is listed in ``docs/audit.md`` ("What verify checks").
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from petitions.audit.chain import (
    EVENT_PREFIX,
    GENESIS,
    STATE_PREFIX,
    is_hash,
    prev_hash_of,
)
from petitions.audit.merkle import merkle_root
from petitions.audit.seal import Seal, check_signature, key_id, load_private_key
from petitions.persistence import EventLog, is_postgres_recorder, is_sqlite_recorder

if TYPE_CHECKING:

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: Problems kept in a report (the first is what matters; the count is exact).
MAX_PROBLEMS = 1000
PAGE = 20_000
_FIRST = STATE_PREFIX + GENESIS.encode() + b'"'
_sha256 = hashlib.sha256


@attrs.frozen
class Problem:
    """One thing wrong with the stored history, located as precisely as possible."""

    kind: str
    message: str
    petition_id: str | None = None
    version: int | None = None
    position: int | None = None

    def __str__(self) -> str:
        where = []
        if self.petition_id is not None:
            where.append(f"petition {self.petition_id}")
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return (", ".join(where) + ": " if where else "") + self.message

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Report:
    """The outcome of a verification."""

    events: int
    chains: int
    last_position: int
    merkle_root: str
    problems: tuple[Problem, ...]
    problem_count: int
    seal: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def raise_for_problems(self) -> None:
        from petitions.audit.errors import ChainBroken

        if self.problems:
            raise ChainBroken(self.problems[0], self.problem_count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "chains": self.chains,
            "last_position": self.last_position,
            "merkle_root": self.merkle_root,
            "problem_count": self.problem_count,
            "first_problem": self.problems[0].to_dict() if self.problems else None,
            "problems": [p.to_dict() for p in self.problems],
            "seal": self.seal,
        }


def _uuid_text(oid: str) -> str:
    try:
        return str(UUID(oid))
    except ValueError:
        return oid


class ChainVerifier:
    """Feed stored events in notification order; :meth:`finish` returns the report.

    ``gapless``: the backend never leaves gaps in notification positions
    (SQLite), so a missing position means a deleted row.  ``seal``: also
    compute the Merkle root and event count at the seal's position and
    compare them with it.
    """

    def __init__(self, *, gapless: bool, seal: Seal | None = None) -> None:
        self.gapless = gapless
        self.seal = seal
        #: chain → (version, hash, position, the state prefix its successor must have)
        self.heads: dict[str, tuple[int, str, int, bytes]] = {}
        self.events = 0
        self.last_position = 0
        self.problems: list[Problem] = []
        self.problem_count = 0
        self._sealed_heads: dict[str, tuple[int, str, int, bytes]] | None = None
        #: chain → (version, position, position of version - 1) of a link that broke
        #: into that version; resolved by the next event of the chain.
        self.pending: dict[str, tuple[int, int, int | None]] = {}
        #: chain → last version already reported as altered.
        self.explained: dict[str, int] = {}
        self._sealed_events = 0

    def problem(self, kind: str, message: str, oid: str | None = None,
                version: int | None = None, position: int | None = None) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, message,
                                         _uuid_text(oid) if oid is not None else None,
                                         version, position))

    def feed(self, position: int, oid: str, version: int, topic: str, state: bytes) -> str:
        """Check one stored event (``oid``: 32 lowercase hex digits); return its hash."""
        seal = self.seal
        if seal is not None and self._sealed_heads is None and position > seal.position:
            self._sealed_heads = dict(self.heads)
            self._sealed_events = self.events
        # Fast path: an intact link at the expected place.
        head = self.heads.get(oid)
        last = self.last_position
        if ((state[:79] == head[3] and version == head[0] + 1) if head is not None
                else (version == 1 and state[:79] == _FIRST)) and (
                position == last + 1 if self.gapless else position > last) and (
                not self.pending or oid not in self.pending):
            h = _sha256(b"petitions/event/v1\n%s\n%d\n%s\n%s" % (
                oid.encode(), version, topic.encode(), state)).hexdigest()
            self.heads[oid] = (version, h, position, b'{"prev_hash":"%s"' % h.encode())
            self.events += 1
            self.last_position = position
            return h
        self.events += 1
        try:
            return self._link(position, oid, version, topic, state)
        finally:
            # Position problems come after the chain's own (which name the event).
            last = self.last_position
            if position <= last:
                self.problem("position_order", f"notification position {position} does not "
                             f"follow position {last}", oid, version, position)
            elif self.gapless and position != last + 1:
                missing = (f"{last + 1}" if position == last + 2
                           else f"{last + 1}–{position - 1}")
                self.problem("position_gap", f"notification position {missing} is missing "
                             "(stored events were deleted)", None, None, last + 1)
            self.last_position = position

    def _link(self, position: int, oid: str, version: int, topic: str, state: bytes) -> str:
        head = self.heads.get(oid)
        expected_version = head[0] + 1 if head is not None else 1
        h = _sha256(b"".join((EVENT_PREFIX, oid.encode(), b"\n", str(version).encode(),
                              b"\n", topic.encode(), b"\n", state))).hexdigest()
        if version != expected_version:
            if version > expected_version:
                self.problem("version_missing",
                             f"version {expected_version} is missing (found version "
                             f"{version} next)", oid, expected_version, position)
            else:
                self.problem("version_order",
                             f"version {version} is stored after version "
                             f"{expected_version - 1} (duplicated, swapped or forged)",
                             oid, version, position)
            if head is None or version > head[0]:
                self._set_head(oid, version, h, position)
            return h

        if state[:14] == STATE_PREFIX and state[78:79] == b'"':
            prev: str | None = state[14:78].decode("ascii", "replace")
        else:
            prev = prev_hash_of(state)
        expected_prev = head[1] if head is not None else GENESIS
        pending = self.pending.pop(oid, None) if self.pending else None
        if prev == expected_prev:
            if pending is not None:
                # Only the link into the previous event broke: the event before it
                # no longer hashes to what its successor recorded.
                self.problem("altered", f"the stored event no longer hashes to the "
                             f"prev_hash recorded by version {pending[0]} (the event was "
                             "altered)", oid, pending[0] - 1, pending[2])
        elif prev is None or not is_hash(prev):
            self.problem("unreadable", "the stored state has no readable prev_hash "
                         "(the event was altered)", oid, version, position)
            self.explained[oid] = version
        elif head is None:
            self.problem("link", "a first version must record prev_hash 0…0; this one "
                         f"records {prev[:16]}… (forged or altered)", oid, version, position)
            self.explained[oid] = version
        elif pending is not None:
            # Both links of the previous event broke: it was altered or replaced.
            self.problem("altered", "the stored event no longer matches its chain on "
                         "either side (it was altered, replaced or swapped)",
                         oid, pending[0], pending[1])
        elif self.explained.get(oid) == version - 1:
            pass  # the break follows from the event already reported
        else:
            self.pending[oid] = (version, position, head[2])
        self._set_head(oid, version, h, position)
        return h

    def _set_head(self, oid: str, version: int, h: str, position: int) -> None:
        self.heads[oid] = (version, h, position, STATE_PREFIX + h.encode() + b'"')

    def finish(self) -> Report:
        for oid, (version, position, _) in self.pending.items():
            self.problem("link", f"prev_hash does not match the hash of version {version - 1}"
                         f": this last event was forged or altered, or version "
                         f"{version - 1} was", oid, version, position)
        self.pending.clear()
        seal_info: dict[str, Any] | None = None
        if self.seal is not None:
            seal = self.seal
            heads = self._sealed_heads if self._sealed_heads is not None else self.heads
            events = self._sealed_events if self._sealed_heads is not None else self.events
            root = merkle_root(heads)
            seal_info = {"position": seal.position, "sealed_at": seal.sealed_at,
                         "merkle_root": seal.merkle_root, "events": seal.events,
                         "key_id": seal.key_id, "matches": True}
            if self.last_position < seal.position:
                seal_info["matches"] = False
                self.problem("seal", f"the store ends at position {self.last_position}, "
                             f"before the seal's position {seal.position}: events sealed "
                             "then were removed", None, None, self.last_position)
            elif events != seal.events:
                seal_info["matches"] = False
                self.problem("seal", f"{events} events are stored up to position "
                             f"{seal.position}; the seal counted {seal.events}: events "
                             "were removed or added before the seal's position",
                             None, None, seal.position)
            elif root != seal.merkle_root:
                seal_info["matches"] = False
                self.problem("seal", "the chains up to the seal's position no longer "
                             f"match it (Merkle root {root[:16]}…, sealed "
                             f"{seal.merkle_root[:16]}…): history sealed then was "
                             "rewritten", None, None, seal.position)
        return Report(events=self.events, chains=len(self.heads),
                      last_position=self.last_position, merkle_root=merkle_root(self.heads),
                      problems=tuple(self.problems), problem_count=self.problem_count,
                      seal=seal_info)


def is_gapless(app: EventLog) -> bool:
    """Whether the application's backend never leaves gaps in positions (SQLite)."""
    return is_sqlite_recorder(app.recorder)


def stored_records(app: EventLog) -> Iterator[tuple[int, str, int, str, bytes]]:
    """Every stored event as ``(position, id hex, version, topic, state)``, in order.

    SQLite and PostgreSQL are read in one read transaction (a consistent
    snapshot of the log); other recorders through ``select_notifications``.
    """
    recorder: Any = app.recorder
    if is_sqlite_recorder(recorder):
        yield from _sqlite_records(recorder)
    elif is_postgres_recorder(recorder):
        yield from _postgres_records(recorder)
    else:
        yield from _generic_records(recorder)


def _sqlite_records(recorder: Any) -> Iterator[tuple[int, str, int, str, bytes]]:
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=False) as c:
        cursor = c.sqlite_cursor
        cursor.row_factory = None
        cursor.execute("SELECT rowid, originator_id, originator_version, topic, state "
                       f"FROM {table} ORDER BY rowid")
        while True:
            rows = cursor.fetchmany(PAGE)
            if not rows:
                return
            for position, oid, version, topic, state in rows:
                yield position, oid if len(oid) == 32 else UUID(oid).hex, version, topic, state


def _postgres_records(recorder: Any) -> Iterator[tuple[int, str, int, str, bytes]]:
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    datastore = recorder.datastore
    query = SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {}.{} ORDER BY notification_id").format(
        Identifier(datastore.schema), Identifier(recorder.events_table_name))
    with datastore.get_connection() as conn, conn.transaction(), conn.cursor(
            name="petitions_audit_read", row_factory=tuple_row) as cursor:
        cursor.itersize = PAGE
        cursor.execute(query)
        for position, oid, version, topic, state in cursor:
            yield (position, oid.hex if isinstance(oid, UUID) else UUID(str(oid)).hex,
                   version, topic, bytes(state))


def _generic_records(recorder: Any) -> Iterator[tuple[int, str, int, str, bytes]]:
    last = 0
    while True:
        page = recorder.select_notifications(start=last, limit=PAGE, inclusive_of_start=False)
        if not page:
            return
        for n in page:
            oid = n.originator_id
            yield (n.id, oid.hex if isinstance(oid, UUID) else UUID(str(oid)).hex,
                   n.originator_version, n.topic, bytes(n.state))
        last = page[-1].id
        if len(page) < PAGE:
            return


def verify_store(app: EventLog, *, seal: Seal | None = None,
                 public_key: Any = None) -> Report:
    """Verify every chain of ``app``'s store (and, with ``seal``, the seal).

    With a seal, ``public_key`` (a path or an Ed25519 public key) is required
    and the seal's signature is checked first (:class:`SealInvalid` if wrong).
    """
    if seal is not None:
        check_signature(seal, public_key)
    verifier = ChainVerifier(gapless=is_gapless(app), seal=seal)
    feed = verifier.feed
    for record in stored_records(app):
        feed(*record)
    return verifier.finish()


def make_seal(app: EventLog, private_key: str | Path | Ed25519PrivateKey, *,
              clock: Callable[[], datetime] | None = None) -> Seal:
    """Verify the store, then seal its current state.  A broken store is not sealed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = (private_key if isinstance(private_key, Ed25519PrivateKey)
           else load_private_key(private_key))
    report = verify_store(app)
    report.raise_for_problems()
    now = (clock or (lambda: datetime.now(UTC)))().astimezone(UTC)
    unsigned = Seal(position=report.last_position, events=report.events,
                    chains=report.chains, merkle_root=report.merkle_root,
                    sealed_at=now.isoformat(), key_id=key_id(key.public_key()))
    signature = key.sign(unsigned.signed_bytes())
    return attrs.evolve(unsigned, signature=base64.b64encode(signature).decode())
