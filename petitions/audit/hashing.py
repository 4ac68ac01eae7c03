"""The hash of one stored event: what each chain link, the chain heads table
and a snapshot's binding are computed from (no other petitions module needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

#: Prefix of every hashed event (a version tag for the hash format).
EVENT_PREFIX = b"petitions/event/v1\n"
#: Versions whose bytes :func:`event_hasher`'s hashers keep.
_MIDDLES = 16


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
    # The bytes between the id and the state for the first versions (a
    # bulk filing hashes versions 1 and 2), made once.
    middles = tuple(b"\n" + str(version).encode() + tail for version in range(_MIDDLES))

    def hasher(originator_id: str, version: int, state: bytes) -> str:
        middle = (middles[version] if 0 <= version < _MIDDLES
                  else b"\n" + str(version).encode() + tail)
        return sha256(b"".join((EVENT_PREFIX, originator_id.encode(), middle, state))
                      ).hexdigest()

    return hasher


def stored_hash(stored: StoredEvent) -> str:
    """The hash of an eventsourcing :class:`StoredEvent`."""
    return event_hash(id_hex(stored.originator_id), stored.originator_version, stored.topic,
                      bytes(stored.state))
