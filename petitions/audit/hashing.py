"""The hash of one stored event: what each chain link, the chain heads table
and a snapshot's binding are computed from (no other petitions module needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

#: Prefix of every hashed event (a version tag for the hash format).
EVENT_PREFIX = b"petitions/event/v1\n"


def id_hex(originator_id: UUID | str) -> str:
    """The canonical text of an aggregate id in hashes: 32 lowercase hex digits."""
    if isinstance(originator_id, UUID):
        return originator_id.hex
    return UUID(str(originator_id)).hex


def event_hash(originator_id: str, version: int, topic: str, state: bytes) -> str:
    """The hash of one stored event (``originator_id`` as 32 lowercase hex digits)."""
    return hashlib.sha256(
        b"".join((EVENT_PREFIX, originator_id.encode(), b"\n", str(version).encode(), b"\n",
                  topic.encode(), b"\n", state))
    ).hexdigest()


def event_hasher(topic: str) -> Callable[[str, int, bytes], str]:
    """:func:`event_hash` for events of ``topic`` (its bytes joined once):
    ``hasher(originator_id, version, state)`` gives what ``event_hash(
    originator_id, version, topic, state)`` gives."""
    tail = b"\n" + topic.encode() + b"\n"
    sha256 = hashlib.sha256

    def hasher(originator_id: str, version: int, state: bytes) -> str:
        return sha256(b"".join((EVENT_PREFIX, originator_id.encode(), b"\n",
                                str(version).encode(), tail, state))).hexdigest()

    return hasher


def stored_hash(stored: StoredEvent) -> str:
    """The hash of an eventsourcing :class:`StoredEvent`."""
    return event_hash(id_hex(stored.originator_id), stored.originator_version, stored.topic,
                      bytes(stored.state))
