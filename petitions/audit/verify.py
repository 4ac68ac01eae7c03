"""Check every hash chain and the notification log; optionally against a seal.

:class:`ChainVerifier` consumes stored events in notification order — from a
database (:func:`verify_store`) or from an export file — and records every
problem with the petition id, version and position it concerns.  What is
checked is listed in ``docs/audit.md`` ("What verify checks").
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from petitions.audit.chain import GENESIS, STATE_PREFIX, is_hash, prev_hash_of
from petitions.audit.hashing import EVENT_PREFIX
from petitions.audit.heads import HeadsTable
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
    #: For a row of a side table (``work_orders``, ``work_order_counters``,
    #: ``caller_index``): the table and the row's key.
    table: str | None = None
    row: str | None = None

    def __str__(self) -> str:
        where = []
        if self.table is not None:  # the row's key names the petition, if any
            where.append(f"{self.table} [{self.row}]")
        elif self.petition_id is not None:
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
    #: Stored snapshots checked (against the chain and a replay of their events).
    snapshots: int = 0
    #: Petitioner key rows checked; None when no master key was configured.
    keys: int | None = None
    #: The position up to which the read models were compared with a rebuild
    #: (None: not compared).
    views: int | None = None
    #: Stored events written by older releases that hold personal data in
    #: clear (a location's ``address``): not tampering, but beyond erasure.
    legacy_clear_text: tuple[LegacyClearText, ...] = ()
    #: What the side tables' check covered (:mod:`petitions.audit.sidecheck`);
    #: None when they were not read (a backend other than SQLite/PostgreSQL).
    side_tables: dict[str, Any] | None = None

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
            "snapshots": self.snapshots,
            "keys": self.keys,
            "views": self.views,
            "legacy_clear_text": [attrs.asdict(f) for f in self.legacy_clear_text],
            "side_tables": self.side_tables,
        }


@attrs.frozen
class LegacyClearText:
    """A field of a stored event, written by an older release, that may hold
    personal data in clear (docs/security.md, "Stores written by older releases")."""

    petition_id: str
    version: int
    position: int
    field: str


#: Marks of a value that older releases stored in clear, in a stored event's bytes.
_LEGACY_MARK = b'"address"'
#: A location holding a non-empty address (strings may hold braces and escapes).
_LOCATION_ADDRESS = re.compile(
    rb'"attrs:Location","_data_":\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*?"address":"[^"]')


def legacy_clear_text(position: int, oid: str, version: int,
                      state: bytes) -> list[LegacyClearText]:
    """The clear-text personal fields of one stored event (JSON bytes): a
    non-empty ``address`` in a location (events before the address was sealed)."""
    if _LEGACY_MARK not in state or not _LOCATION_ADDRESS.search(state):
        return []  # (the petitioner's sealed "address" is not one)
    import json

    try:
        data = json.loads(state)
    except ValueError:
        return []
    found: list[LegacyClearText] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            inner = value.get("_data_")
            if value.get("_type_") == "attrs:Location" and isinstance(inner, dict):
                if inner.get("address"):
                    found.append(LegacyClearText(_uuid_text(oid), version, position,
                                                 f"{path}.address".lstrip(".")))
                return
            for key, item in value.items():
                walk(item, path if key == "_data_" else f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, path)

    walk(data, "")
    return found


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
                version: int | None = None, position: int | None = None, *,
                table: str | None = None, row: str | None = None) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, message,
                                         _uuid_text(oid) if oid is not None else None,
                                         version, position, table, row))

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

    def _check_heads(self, recorded: dict[str, tuple[int, str]]) -> None:
        """Each chain's newest event against the head recorded with it."""
        for oid, (version, h, position, _) in self.heads.items():
            found = recorded.get(oid)
            if found is None:
                self.problem("head_missing", "no chain head is recorded for this chain "
                             "(its heads row was deleted, or the chain was written outside "
                             "the application)", oid, version, position)
            elif found[0] > version:
                missing = (f"version {found[0]} was" if found[0] == version + 1
                           else f"versions {version + 1}–{found[0]} were")
                self.problem("head", f"the chain ends at version {version} but its head "
                             f"was recorded at version {found[0]}: {missing} removed",
                             oid, version + 1, None)
            elif found[0] < version:
                self.problem("head", f"version {version} is stored but the chain head was "
                             f"recorded at version {found[0]}: events were added outside "
                             "the application (or the heads row was altered)",
                             oid, found[0] + 1, None)
            elif found[1] != h and self.explained.get(oid) != version:
                self.problem("altered", "the newest event no longer hashes to the chain "
                             "head recorded when it was stored (the event, or its heads "
                             "row, was altered)", oid, version, position)
        for oid, (version, _) in recorded.items():
            if oid not in self.heads:
                self.problem("head", f"a chain head is recorded at version {version} but "
                             "no event of this chain is stored: the chain was removed",
                             oid, version, None)

    def _set_head(self, oid: str, version: int, h: str, position: int) -> None:
        self.heads[oid] = (version, h, position, STATE_PREFIX + h.encode() + b'"')

    def finish(self, heads: dict[str, tuple[int, str]] | None = None) -> Report:
        """The report; ``heads``: the chain heads the store recorded (checked
        against the chains when given)."""
        for oid, (version, position, before) in self.pending.items():
            if heads is not None and oid in heads and oid in self.heads:
                head = self.heads[oid]
                if heads[oid] == (head[0], head[1]) and head[0] == version:
                    # The newest event is intact, so its predecessor was altered.
                    self.problem("altered", "the stored event no longer hashes to the "
                                 f"prev_hash recorded by version {version} (the event was "
                                 "altered)", oid, version - 1, before)
                    continue
                if head[0] == version:
                    self.problem("altered", "the stored event no longer matches its chain "
                                 "on either side (it was altered, replaced or swapped)",
                                 oid, version, position)
                    self.explained[oid] = version
                    continue
            self.problem("link", f"prev_hash does not match the hash of version {version - 1}"
                         f": this last event was forged or altered, or version "
                         f"{version - 1} was", oid, version, position)
            self.explained[oid] = version
        self.pending.clear()
        if heads is not None:
            self._check_heads(heads)
        seal_info: dict[str, Any] | None = None
        if self.seal is not None:
            seal = self.seal
            sealed = self._sealed_heads if self._sealed_heads is not None else self.heads
            events = self._sealed_events if self._sealed_heads is not None else self.events
            root = merkle_root(sealed)
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


#: Called with a cursor of the read transaction after the last event was read.
AfterRead = Callable[[Any], None]


def stored_records(app: EventLog, after: AfterRead | None = None,
                   ) -> Iterator[tuple[int, str, int, str, bytes]]:
    """Every stored event as ``(position, id hex, version, topic, state)``, in order.

    SQLite and PostgreSQL are read in one read transaction (a consistent
    snapshot of the log), in which ``after`` is then called with a cursor
    (to read the chain heads of the same snapshot); other recorders through
    ``select_notifications``.
    """
    recorder: Any = app.recorder
    if is_sqlite_recorder(recorder):
        yield from _sqlite_records(recorder, after)
    elif is_postgres_recorder(recorder):
        yield from _postgres_records(recorder, after)
    else:
        yield from _generic_records(recorder)


def _sqlite_records(recorder: Any, after: AfterRead | None = None,
                    ) -> Iterator[tuple[int, str, int, str, bytes]]:
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=False) as c:
        cursor = c.sqlite_cursor
        cursor.row_factory = None
        cursor.execute("SELECT rowid, originator_id, originator_version, topic, state "
                       f"FROM {table} ORDER BY rowid")
        while True:
            rows = cursor.fetchmany(PAGE)
            if not rows:
                break
            for position, oid, version, topic, state in rows:
                yield position, oid if len(oid) == 32 else UUID(oid).hex, version, topic, state
        if after is not None:
            after(c)


def _postgres_records(recorder: Any, after: AfterRead | None = None,
                      ) -> Iterator[tuple[int, str, int, str, bytes]]:
    from psycopg.rows import dict_row, tuple_row
    from psycopg.sql import SQL, Identifier

    datastore = recorder.datastore
    query = SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {}.{} ORDER BY notification_id").format(
        Identifier(datastore.schema), Identifier(recorder.events_table_name))
    with datastore.get_connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with conn.cursor(name="petitions_audit_read", row_factory=tuple_row) as cursor:
            cursor.itersize = PAGE
            cursor.execute(query)
            for position, oid, version, topic, state in cursor:
                yield (position, oid.hex if isinstance(oid, UUID) else UUID(str(oid)).hex,
                       version, topic, bytes(state))
        if after is not None:
            with conn.cursor(row_factory=dict_row) as plain:
                after(plain)


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
                 public_key: Any = None, snapshots: bool = True,
                 views: bool = False) -> Report:
    """Verify every chain of ``app``'s store (and, with ``seal``, the seal).

    With a seal, ``public_key`` (a path or an Ed25519 public key) is required
    and the seal's signature is checked first (:class:`SealInvalid` if wrong).
    """
    if seal is not None:
        check_signature(seal, public_key)
    verifier = ChainVerifier(gapless=is_gapless(app), seal=seal)
    feed = verifier.feed
    table = HeadsTable(app.recorder) if HeadsTable.supported(app.recorder) else None
    recorded: list[dict[str, tuple[int, str]] | None] = []
    from petitions.audit.sidecheck import FILED_TOPIC, SideRows, check_side_tables, filing_of
    from petitions.sidetables import SideTables, configured_master

    recorder: Any = app.recorder
    sides = (SideTables(recorder.datastore, postgres=is_postgres_recorder(recorder))
             if is_sqlite_recorder(recorder) or is_postgres_recorder(recorder) else None)
    side_rows: list[SideRows] = []

    def read_heads(cursor: Any) -> None:
        if table is not None:
            recorded.append(table.read(cursor))
        if sides is not None:  # in the events' read transaction: the same snapshot
            side_rows.append(SideRows.read(sides, cursor))

    legacy: list[LegacyClearText] = []
    filings: dict[str, Any] = {}
    for record in stored_records(app, read_heads):
        feed(*record)
        position, oid, version, topic, state = record
        if _LEGACY_MARK in state:
            legacy += legacy_clear_text(position, oid, version, state)
        if topic == FILED_TOPIC and version == 1:
            filing = filing_of(state)
            if filing is not None:
                filings[oid] = filing
    checked = check_snapshots(app, verifier) if snapshots else 0
    for stored in stored_snapshots(app):  # a snapshot of such an event holds it too
        state = bytes(stored.state)
        if _LEGACY_MARK in state:
            for found in legacy_clear_text(0, stored.originator_id.hex,
                                           stored.originator_version, state):
                legacy.append(attrs.evolve(found, field="snapshot " + found.field))
    keys = check_keys(app, verifier)
    side_summary: dict[str, Any] | None = None
    if side_rows:
        def report_side(kind: str, message: str, pid: str | None, where: str,
                        row: str) -> None:
            verifier.problem(kind, message, pid, table=where, row=row)

        side_summary = check_side_tables(
            side_rows[0], filings, set(verifier.heads), report_side,
            master=configured_master(getattr(app, "url", None)),
            privacy=getattr(app, "privacy", None))
    views_position: int | None = None
    if views:
        from petitions.audit.views_check import MAX_DIFFERENCES, compare_views

        views_position, differences = compare_views(event_store(app))
        for text in differences[:MAX_DIFFERENCES]:
            verifier.problem("view", f"read model {text} (up to position {views_position})")
        if len(differences) > MAX_DIFFERENCES:
            verifier.problem("view", f"{len(differences) - MAX_DIFFERENCES} more read model "
                             "rows differ from a rebuild")
    report = verifier.finish(heads=recorded[0] if recorded else None)
    return attrs.evolve(report, snapshots=checked, keys=keys, views=views_position,
                        legacy_clear_text=tuple(legacy), side_tables=side_summary)


def check_keys(app: EventLog, verifier: ChainVerifier) -> int | None:
    """Open every live row of the petitioner key table with the master key
    (the key id and petitioner id are bound into each wrapped key, so a row
    moved to another petitioner or altered does not open); report problems to
    ``verifier``.  The number of rows checked, or None when no master key is
    configured (none is ever created here)."""
    from petitions.privacy.errors import MasterKeyInvalid, MasterKeyMissing
    from petitions.privacy.keys import load_master_key, master_key_configured

    privacy = getattr(app, "privacy", None)
    url = getattr(app, "url", None)
    if privacy is None or url is None or not master_key_configured(url):
        return None
    try:
        master = load_master_key(url)
    except (MasterKeyInvalid, MasterKeyMissing) as exc:
        verifier.problem("keys", f"the master key cannot be read: {exc}")
        return None
    table = privacy.keyring.table
    table.create()
    rows = table.all_rows()
    bad = []
    opened_keys = []
    for row in rows:
        if row.erased_at is None and row.wrapped is None:
            bad.append((row, "a live key row holds no key"))
        elif row.wrapped is not None:
            clear = master.unwrap(row.wrapped, row.key_id, row.petitioner_id)
            if clear is None:
                bad.append((row, "the wrapped key does not open for this key id and "
                                 "petitioner (the row was altered, or wrapped under "
                                 f"master key {row.master})"))
            else:
                opened_keys.append((row, clear))
    # The caller index's check opens every petitioner's data: with these keys.
    privacy.keyring.adopt(master, opened_keys)
    opened = len([r for r in rows if r.wrapped is not None]) - len(
        [b for b in bad if b[0].wrapped is not None])
    if bad and rows and opened == 0 and len(bad) > 1:
        verifier.problem("keys", f"the configured master key ({master.fingerprint}) opens "
                         f"none of the {len(bad)} key rows: it is not this store's key")
        return len(rows)
    for row, why in bad:
        verifier.problem("key_row", f"key row {row.key_id} of petitioner "
                         f"{row.petitioner_id}: {why}")
    return len(rows)


def event_store(app: EventLog) -> Any:
    """What stores ``app``'s events and snapshots: a ``PetitionService``'s
    or a store's ``audit_log()`` (no aggregates), else ``app`` itself."""
    narrow = getattr(app, "audit_log", None)
    return narrow() if callable(narrow) else app


def stored_snapshots(app: EventLog) -> Iterator[Any]:
    """Every stored snapshot (as eventsourcing ``StoredEvent``), by id and version."""
    from eventsourcing.persistence import StoredEvent

    store: Any = getattr(event_store(app), "snapshots", None)
    if store is None:
        return
    recorder: Any = store.recorder
    table = recorder.events_table_name
    if is_postgres_recorder(recorder):
        from psycopg.sql import SQL, Identifier

        statement: Any = SQL("SELECT originator_id, originator_version, topic, state "
                             "FROM {}.{} ORDER BY originator_id, originator_version").format(
            Identifier(recorder.datastore.schema), Identifier(table))
    elif is_sqlite_recorder(recorder):
        statement = ("SELECT originator_id, originator_version, topic, state "
                     f"FROM {table} ORDER BY originator_id, originator_version")
    else:
        return
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(statement)
        rows = c.fetchall()
    for row in rows:
        oid, version, topic, state = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        yield StoredEvent(originator_id=oid if isinstance(oid, UUID) else UUID(str(oid)),
                          originator_version=int(version), topic=str(topic),
                          state=bytes(state))


def check_snapshots(app: EventLog, verifier: ChainVerifier) -> int:
    """Check every stored snapshot against the chain and against a replay of
    its events; report problems to ``verifier``; the number checked."""
    from eventsourcing.application import project_aggregate

    from petitions.audit.snapshots import snapshot_problem, split_snapshot

    events: Any = event_store(app)
    store: Any = events.snapshots
    count = 0
    for stored in stored_snapshots(app):
        count += 1
        oid, version = stored.originator_id, stored.originator_version
        parts_stored = split_snapshot(bytes(stored.state))
        problem = snapshot_problem(stored, app.recorder)
        if problem is not None and parts_stored is not None:
            verifier.problem("snapshot", f"the snapshot at this version is not used: "
                             f"{problem}", oid.hex, version, None)
            continue
        # A snapshot stored before snapshots recorded their chain hash is never
        # used for a read; it is reported only if it differs from a replay.
        body_stored = parts_stored[2] if parts_stored is not None else bytes(stored.state)
        # Whoever can write the database can recompute a digest: compare the
        # snapshot's content with the state replayed from the events.
        try:
            aggregate: Any = project_aggregate(None, events.events.get(oid, lte=version))
            snapshot_class: Any = getattr(type(aggregate), "Snapshot", None) or type(
                events).snapshot_class
            fresh = store.mapper.to_stored_event(snapshot_class.take(aggregate))
            transcoder = store.mapper.transcoder
            parts_fresh = split_snapshot(bytes(fresh.state))
            assert parts_fresh is not None
            want, have = transcoder.decode(parts_fresh[2]), transcoder.decode(body_stored)
            if parts_stored is None and set(have) != set(want):
                # Not the form of an older snapshot either: its head was altered.
                verifier.problem("snapshot", f"the snapshot at this version is not used: "
                                 f"{problem}", oid.hex, version, None)
                continue
            if parts_stored is None:
                # An older snapshot predates attributes added to the aggregate
                # since (it is never used for a read): compare what it holds.
                same = all(want["state"].get(k) == v for k, v in have["state"].items()
                           if k in want["state"])
            else:
                same = want["state"] == have["state"]
        except Exception as exc:  # an event that does not replay is reported as such
            verifier.problem("snapshot", f"the snapshot could not be compared with its "
                             f"events ({type(exc).__name__}: {exc})", oid.hex, version, None)
            continue
        if not same:
            verifier.problem("snapshot", "the snapshot differs from the state replayed "
                             "from the events (the snapshot was altered or forged)",
                             oid.hex, version, None)
    return count


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
