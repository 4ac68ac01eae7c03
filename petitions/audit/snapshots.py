"""Snapshots that say which chain state they were taken at.

A snapshot is a cache of an aggregate's state at version *v*.  Each stored
snapshot starts with two members before the snapshot itself::

    {"chain_hash":"<hash of event v>","digest":"<64 hex>", …snapshot…}

``chain_hash`` is the hash of the stored event the snapshot was taken at
(see :mod:`petitions.audit.chain`) and ``digest`` is SHA-256 over
``"petitions/snapshot/v1" LF id LF version LF topic LF chain_hash LF body``
(``body``: the snapshot's JSON without these two members).

A snapshot is used for a read only when its digest holds and its
``chain_hash`` is the hash of the event stored now at its version (one extra
indexed read); otherwise it is skipped, with a warning, and the aggregate is
replayed from its events.  ``audit verify`` checks every snapshot the same way
and, since a digest can be recomputed by whoever can write the database, also
compares each snapshot with the state replayed from the events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import AggregateRecorder, EventStore, Mapper, StoredEvent

from petitions.logs import get_logger

log = get_logger("petitions.audit")

SNAPSHOT_PREFIX = b"petitions/snapshot/v1\n"
_HEAD = b'{"chain_hash":"'
_MID = b'","digest":"'
_HEX = frozenset(b"0123456789abcdef")
#: Offsets: chain hash, digest, and where the snapshot's own members start.
_CHAIN = len(_HEAD)
_DIGEST = _CHAIN + 64 + len(_MID)
_BODY = _DIGEST + 64 + 2  # '",'


def snapshot_digest(oid_hex: str, version: int, topic: str, chain_hash: str,
                    body: bytes) -> str:
    return hashlib.sha256(b"".join((
        SNAPSHOT_PREFIX, oid_hex.encode(), b"\n", str(version).encode(), b"\n",
        topic.encode(), b"\n", chain_hash.encode(), b"\n", body))).hexdigest()


def split_snapshot(state: bytes) -> tuple[str, str, bytes] | None:
    """``(chain_hash, digest, body)`` of a stored snapshot state, or None when
    it does not have the form (a snapshot stored before this format, or altered)."""
    if (state[:_CHAIN] != _HEAD or state[_CHAIN + 64:_DIGEST] != _MID
            or state[_DIGEST + 64:_BODY] != b'",'):
        return None
    chain, digest = state[_CHAIN:_CHAIN + 64], state[_DIGEST:_DIGEST + 64]
    if not (set(chain) <= _HEX and set(digest) <= _HEX):
        return None
    return chain.decode(), digest.decode(), b"{" + state[_BODY:]


def _hex(oid: UUID | str) -> str:
    return oid.hex if isinstance(oid, UUID) else UUID(str(oid)).hex


class SnapshotMapper(Mapper[UUID]):
    """Maps snapshots with their chain hash and digest (see the module doc)."""

    def __init__(self, *args: Any, chain: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The application's :class:`~petitions.audit.chain.ChainedMapper`.
        self.chain = chain

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        plain = super().to_stored_event(domain_event)
        oid, version = domain_event.originator_id, domain_event.originator_version
        chain_hash = self.chain.predecessor_hash(oid, version + 1)
        body = bytes(plain.state)
        digest = snapshot_digest(_hex(oid), version, plain.topic, chain_hash, body)
        state = b"".join((_HEAD, chain_hash.encode(), _MID, digest.encode(), b'",', body[1:]))
        return StoredEvent(originator_id=oid, originator_version=version, topic=plain.topic,
                           state=state)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        parts = split_snapshot(bytes(stored_event.state))
        body = parts[2] if parts is not None else bytes(stored_event.state)
        return super().to_domain_event(StoredEvent(
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
            topic=stored_event.topic, state=body))


def snapshot_problem(stored: StoredEvent, events: AggregateRecorder) -> str | None:
    """Why ``stored`` must not be used (None: it matches the stored chain)."""
    parts = split_snapshot(bytes(stored.state))
    if parts is None:
        return "it does not record the chain hash it was taken at"
    chain_hash, digest, body = parts
    oid, version = stored.originator_id, stored.originator_version
    if snapshot_digest(_hex(oid), version, stored.topic, chain_hash, body) != digest:
        return "its digest does not match its content (the snapshot was altered)"
    from petitions.audit.hashing import stored_hash

    found = events.select_events(oid, gt=version - 1, lte=version)
    if not found:
        return f"version {version} of its chain is not stored"
    if stored_hash(found[0]) != chain_hash:
        return (f"it was taken at another chain state than the stored version {version} "
                "(the snapshot or the event was altered)")
    return None


class VerifiedSnapshotStore(EventStore[UUID]):
    """A snapshot store that hands out only snapshots matching the stored chain."""

    def __init__(self, *args: Any, events: AggregateRecorder, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events_recorder = events

    def get(self, originator_id: UUID, *, gt: int | None = None, lte: int | None = None,
            desc: bool = False, limit: int | None = None,
            ) -> Iterator[DomainEventProtocol[UUID]]:
        for stored in self.recorder.select_events(originator_id=originator_id, gt=gt,
                                                  lte=lte, desc=desc, limit=limit):
            problem = snapshot_problem(stored, self.events_recorder)
            if problem is None:
                yield self.mapper.to_domain_event(stored)
            else:
                log.warning("snapshot of %s at version %d not used: %s; replaying its "
                            "events instead", originator_id, stored.originator_version,
                            problem)
