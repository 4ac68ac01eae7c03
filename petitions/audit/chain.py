"""Hash chains over the stored events (see ``docs/audit.md`` for the exact format).

Every event an application stores carries, as the first member of its stored
JSON state, ``prev_hash``: the hash of the event before it in the same
aggregate (64 zeros for version 1).  The hash of an event is SHA-256 over

    b"petitions/event/v1\\n" + originator id (32 lowercase hex digits) + b"\\n"
    + version (decimal) + b"\\n" + topic + b"\\n" + stored state bytes

so it covers exactly what the database holds — including whatever ciphertext
a field may contain — and, through ``prev_hash`` inside the state, every
earlier event of the aggregate.

The link is made where events become bytes: :class:`ChainedMapper` embeds
``prev_hash`` while encoding, and :class:`ChainedEventStore` gives each
``put`` a private scratch-pad so that several events of one aggregate saved
together chain to each other.  The first new event of an aggregate that is
already stored chains to the stored bytes of its predecessor, read back from
the recorder: the hash therefore never depends on what a process remembers,
only on what the database holds.  Snapshots are not chained (they are a
cache); :class:`ChainedApplication` gives them a plain mapper.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    AggregateRecorder,
    EventStore,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import get_topic

from petitions.audit.hashing import event_hash, id_hex, stored_hash
from petitions.audit.heads import HeadsTable
from petitions.recorders import (
    UNNUMBERED,
    UNNUMBERED_ROWS,
    WRITE_AFTER,
    inserts_unnumbered,
    writes_alongside,
)

#: The keyword of :meth:`ChainedApplication.save` (and of the event store's
#: ``put``) for events given as stored rows already encoded and chained — a
#: sequence of (``StoredEvent``, its hash), new aggregates only (a bulk
#: filing's, :mod:`petitions.bulkfiling`), or :class:`EncodedRows`: inserted
#: after the aggregates' events, in their transaction, their heads recorded
#: with theirs.
ENCODED = "encoded"


class EncodedRows:
    """Events of new aggregates given as the rows the SQLite recorder inserts
    (``(id hex, version, topic, state)``, each aggregate's in version order,
    chained already) and each aggregate's head (id hex → (version, hash)):
    what :data:`ENCODED` may be given instead of stored events (a bulk
    import's batch decided in its worker process: nothing made again)."""

    __slots__ = ("heads", "rows")

    def __init__(self, rows: Sequence[tuple[str, int, str, bytes]],
                 heads: dict[str, tuple[int, str]]) -> None:
        self.rows, self.heads = rows, heads

    def stored(self) -> list[StoredEvent]:
        """The rows as stored events (for a recorder that numbers them)."""
        return [StoredEvent(originator_id=UUID(hex_id), originator_version=version,
                            topic=topic, state=state)
                for hex_id, version, topic, state in self.rows]


#: How many chain heads a process remembers before it starts afresh.
STORED_HEADS_MAX = 100_000
#: ``prev_hash`` of every version-1 event.
GENESIS = "0" * 64
#: How every chained state starts; the 64 hex digits of ``prev_hash`` follow.
STATE_PREFIX = b'{"prev_hash":"'
_HEX = frozenset("0123456789abcdef")


class ChainConfigurationError(RuntimeError):
    """The application is configured in a way the hash chain cannot support."""


def prev_hash_of(state: bytes) -> str | None:
    """The ``prev_hash`` recorded in a stored state, or ``None`` if it has none."""
    if state[:14] == STATE_PREFIX and state[78:79] == b'"':
        return state[14:78].decode("ascii", "replace")
    try:
        value = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(value, dict):
        found = value.get("prev_hash")
        if isinstance(found, str):
            return found
    return None


def is_hash(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


class ChainedMapper(Mapper[UUID]):
    """A mapper that embeds each event's predecessor hash in its stored state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.cipher is not None or self.compressor is not None:
            raise ChainConfigurationError(
                "the audit hash chain needs readable event state: encrypt personal "
                "fields inside events instead of whole events (CIPHER_TOPIC) and do not "
                "set COMPRESSOR_TOPIC")
        self.recorder: AggregateRecorder | None = None
        self._local = threading.local()
        #: Hashes of events this process stored itself, by (id, version): a
        #: stored event never changes, so its hash can be remembered (a write
        #: that lost a version conflict is never entered here).
        self._stored_heads: dict[tuple[UUID, int], str] = {}
        self._stored_lock = threading.Lock()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Chain the events mapped inside this block to each other (one ``put``)."""
        self._local.heads = {}
        self._local.encoded = ()
        try:
            yield
        finally:
            self._local.heads = None
            self._local.encoded = ()

    def batch_heads(self) -> dict[str, tuple[int, str]]:
        """The newest event of each aggregate mapped in the current batch:
        id hex → (version, hash)."""
        heads: dict[tuple[UUID, int], str] | None = getattr(self._local, "heads", None)
        newest: dict[str, tuple[int, str]] = {}
        for (oid, version), digest in (heads or {}).items():
            key = id_hex(oid)
            if key not in newest or version > newest[key][0]:
                newest[key] = (version, digest)
        # Events given encoded: new aggregates' only, each one's in version order.
        encoded: Sequence[tuple[StoredEvent, str]] | EncodedRows = getattr(
            self._local, "encoded", ())
        if isinstance(encoded, EncodedRows):
            newest.update(encoded.heads)
            return newest
        for stored, digest in encoded:
            given = stored.originator_id
            newest[given.hex if isinstance(given, UUID) else id_hex(given)] = (
                stored.originator_version, digest)
        return newest

    def remember_stored(self) -> None:
        """The events of the current batch are stored: remember their hashes
        (only the newest of each aggregate, and a bounded number in all)."""
        heads: dict[tuple[UUID, int], str] | None = getattr(self._local, "heads", None)
        if not heads:
            return
        newest: dict[UUID, tuple[int, str]] = {}
        for (oid, version), digest in heads.items():
            if oid not in newest or version > newest[oid][0]:
                newest[oid] = (version, digest)
        with self._stored_lock:
            if len(self._stored_heads) > STORED_HEADS_MAX:
                self._stored_heads.clear()
            for oid, (version, digest) in newest.items():
                self._stored_heads.pop((oid, version - 1), None)
                self._stored_heads[(oid, version)] = digest

    def add_encoded(self, encoded: Sequence[tuple[StoredEvent, str]] | EncodedRows) -> None:
        """Count events given already encoded and chained (stored event, its
        hash; new aggregates only, each one's in version order) in the current
        batch: their heads are recorded with the batch's (:meth:`batch_heads`).
        They are not remembered as stored (:meth:`remember_stored`): a bulk
        import's thousands of new petitions would only push out the heads of
        the petitions in use; a command on one reads its head back once."""
        heads: dict[tuple[UUID, int], str] | None = getattr(self._local, "heads", None)
        if heads is None:
            raise ChainConfigurationError("encoded events are added inside a batch")
        self._local.encoded = encoded

    def predecessor_hash(self, originator_id: UUID, version: int) -> str:
        """The hash of the stored event ``version - 1`` of ``originator_id``."""
        if version == 1:
            return GENESIS
        heads: dict[tuple[UUID, int], str] | None = getattr(self._local, "heads", None)
        if heads:
            found = heads.get((originator_id, version - 1))
            if found is not None:
                return found
        remembered = self._stored_heads.get((originator_id, version - 1))
        if remembered is not None:
            return remembered
        if self.recorder is None:
            raise ChainConfigurationError("the chained mapper has no recorder to read from")
        stored = self.recorder.select_events(originator_id, gt=version - 2, lte=version - 1)
        if not stored:
            raise ChainConfigurationError(
                f"cannot chain version {version} of {originator_id}: "
                f"version {version - 1} is not stored")
        return stored_hash(stored[0])

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        originator_id = domain_event.originator_id
        version = domain_event.originator_version
        prev = self.predecessor_hash(originator_id, version)
        topic = get_topic(domain_event.__class__)
        event_state: dict[str, Any] = {"prev_hash": prev}
        event_state.update(vars(domain_event))
        del event_state["originator_id"], event_state["originator_version"]
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        state = self.transcoder.encode(event_state)
        heads: dict[tuple[UUID, int], str] | None = getattr(self._local, "heads", None)
        if heads is not None:
            heads[(originator_id, version)] = event_hash(id_hex(originator_id), version,
                                                         topic, state)
        return StoredEvent(originator_id=originator_id, originator_version=version,
                           topic=topic, state=state)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        try:
            event = super().to_domain_event(stored_event)
        except Exception as exc:  # damaged bytes: name the event, not a traceback
            from petitions.errors import CorruptEvent

            oid, version = stored_event.originator_id, stored_event.originator_version
            position = getattr(stored_event, "id", None)
            if position is None and self.recorder is not None:
                position = stored_position(self.recorder, oid, version)
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            raise CorruptEvent(oid, version, position, detail) from exc
        # The link belongs to the stored record, not to the domain event.
        vars(event).pop("prev_hash", None)
        return event


def stored_position(recorder: Any, originator_id: UUID | str, version: int) -> int | None:
    """The notification position of a stored event (None when unknown)."""
    from petitions.persistence import is_postgres_recorder, is_sqlite_recorder

    table = recorder.events_table_name
    try:
        if is_sqlite_recorder(recorder):
            statement: Any = (f"SELECT rowid AS position FROM {table} "
                              "WHERE originator_id = ? AND originator_version = ?")
            params: tuple[Any, ...] = (str(originator_id) if recorder.datastore
                                       .originator_id_type == "text" else id_hex(originator_id),
                                       version)
        elif is_postgres_recorder(recorder):
            from psycopg.sql import SQL, Identifier

            statement = SQL("SELECT notification_id AS position FROM {}.{} "
                            "WHERE originator_id = %s AND originator_version = %s").format(
                Identifier(recorder.datastore.schema), Identifier(table))
            params = (originator_id, version)
        else:
            return None
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            row = c.fetchone()
    except Exception:  # a best effort for an error message
        return None
    if row is None:
        return None
    return int(row["position"] if isinstance(row, dict) else row[0])


class ChainedEventStore(EventStore[UUID]):
    """An event store whose every ``put`` chains the new events (see module doc)
    and records each chain's new head (:mod:`petitions.audit.heads`) in the
    events' own transaction."""

    mapper: ChainedMapper

    def __init__(self, *args: Any, heads: HeadsTable | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heads = heads
        #: Whether the heads are written in the events' own transaction.
        self._alongside = heads is not None and writes_alongside(self.recorder)

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]],
            **kwargs: Any) -> list[Recording[UUID]]:
        """Chain and insert ``domain_events``; with :data:`ENCODED`, also the
        rows given already encoded and chained, after them, in the same
        transaction (their heads recorded as those of the domain events)."""
        mapper = self.mapper
        encoded: Sequence[tuple[StoredEvent, str]] | EncodedRows = kwargs.pop(ENCODED, ())
        with mapper.batch():
            table = self.heads
            if table is not None and self._alongside:
                kwargs[WRITE_AFTER] = [*kwargs.get(WRITE_AFTER, ()),
                                       lambda cursor: table.upsert(cursor, mapper.batch_heads())]
            if not encoded:
                recordings = super().put(domain_events, **kwargs)
            else:
                stored = [mapper.to_stored_event(e) for e in domain_events]
                mapper.add_encoded(encoded)
                if isinstance(encoded, EncodedRows):
                    if inserts_unnumbered(self.recorder):  # the rows as they are
                        kwargs[UNNUMBERED_ROWS] = encoded.rows
                        ids = self.recorder.insert_events(stored, **kwargs)
                    else:
                        ids = self.recorder.insert_events([*stored, *encoded.stored()],
                                                          **kwargs)
                elif inserts_unnumbered(self.recorder):  # their ids are not needed
                    kwargs[UNNUMBERED] = [s for s, _ in encoded]
                    ids = self.recorder.insert_events(stored, **kwargs)
                else:
                    ids = self.recorder.insert_events([*stored, *(s for s, _ in encoded)],
                                                      **kwargs)
                recordings = [
                    Recording(d, Notification(originator_id=s.originator_id,
                                              originator_version=s.originator_version,
                                              topic=s.topic, state=s.state, id=n))
                    for d, s, n in zip(domain_events, stored, ids or (), strict=False)]
            if table is not None and not self._alongside:
                table.write_separately(mapper.batch_heads())
            mapper.remember_stored()
            return recordings


class ChainedApplication(Application[UUID]):
    """An eventsourcing application whose stored events form hash chains."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import sqlite3

        from eventsourcing.persistence import OperationalError

        try:
            super().__init__(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            # e.g. "file is not a database": a text file given as the store.
            raise OperationalError(f"{exc} (is it a petitions SQLite database?)") from exc

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """As :meth:`Application.save`, the pending events of an aggregate
        collected by a class check instead of eventsourcing's runtime protocol
        checks (slow: a bulk import saves a hundred aggregates at a time);
        anything else as it collects it, in the order given."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        events, aggregates = processing_event.events, processing_event.aggregates
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                events.extend(obj.collect_events())
                aggregates[obj.id] = obj
            elif obj is not None:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated in eventsourcing, as it calls it
        return recordings

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(),
                                   mapper_class=ChainedMapper)

    def construct_event_store(self) -> EventStore[UUID]:
        mapper = cast(ChainedMapper, self.mapper)
        mapper.recorder = self.recorder
        heads = None
        if HeadsTable.supported(self.recorder):
            heads = HeadsTable(self.recorder)
            heads.create()
        return ChainedEventStore(mapper=mapper, recorder=self.recorder, heads=heads)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        from petitions.audit.snapshots import SnapshotMapper, VerifiedSnapshotStore

        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        mapper = SnapshotMapper(transcoder=self.mapper.transcoder, chain=self.mapper)
        return VerifiedSnapshotStore(mapper=mapper, recorder=recorder, events=self.recorder)
