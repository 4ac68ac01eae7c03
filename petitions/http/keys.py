"""API keys for portals: a key is bound to a name, a role and optionally a unit.

The keys live in the store's own database, as one event-sourced aggregate
(:class:`ApiKeyRing`) beside the petitions: creating and revoking a key are
events with an actor and a time, chained and exported like every other event
(docs/audit.md), so who gave which portal which role is on the record.  Only
the SHA-256 of a key is stored; the key itself is shown once, when created.
A key is 32 random bytes, so a plain hash suffices (no password stretching).

The functions take the store core (:class:`petitions.core.Store`, e.g.
``Store(url=…)``), which holds every aggregate of the database.

A request made with a key acts as ``Actor(name, role)``: the workflow's
role rules then decide what it may do, exactly as for a person with that role.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

import attrs
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from petitions.domain.values import Actor
from petitions.errors import InvalidInput, PetitionError
from workflows.vocabulary import ROLES

if TYPE_CHECKING:
    from petitions.core import Store

#: The one aggregate holding every key of a store.
RING_ID = uuid5(UUID("6f0e4b8a-1c2d-4e5f-9a0b-3c4d5e6f7a8b"), "petitions:api-keys")
PREFIX = "pk_"
#: Roles that administer the keys.
KEY_ADMIN_ROLES = frozenset({"administrator", "supervisor"})


class KeyRefused(PetitionError):
    """An API key is missing, unknown or revoked."""

    code = "key_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"API key {reason}", reason=reason)
        self.reason = reason


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyRing(Aggregate):
    """Every API key of a store, by name: role, unit, hash, revoked or not."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Started(Event, Aggregate.Created):
        def apply(self, aggregate: Any) -> None:
            aggregate.keys = {}

    class KeyCreated(Event):
        name: str
        role: str
        unit: str
        key_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.keys = {**aggregate.keys, self.name: {
                "name": self.name, "role": self.role, "unit": self.unit,
                "hash": self.key_hash, "created_at": self.occurred_at.isoformat(),
                "created_by": self.actor.id, "revoked_at": None}}

    class KeyRevoked(Event):
        name: str

        def apply(self, aggregate: Any) -> None:
            entry = dict(aggregate.keys[self.name])
            entry["revoked_at"] = self.occurred_at.isoformat()
            aggregate.keys = {**aggregate.keys, self.name: entry}

    if TYPE_CHECKING:
        keys: dict[str, dict[str, Any]]

    @classmethod
    def start(cls, actor: Actor, at: datetime) -> ApiKeyRing:
        return cls._create(cls.Started, id=RING_ID, actor=actor, occurred_at=at)


@attrs.frozen
class ApiKey:
    """A key as listed (never the key itself)."""

    name: str
    role: str
    unit: str
    created_at: str
    created_by: str
    revoked_at: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _ring(store: Store) -> ApiKeyRing | None:
    if RING_ID not in store.repository:
        return None
    ring: ApiKeyRing = store.repository.get(RING_ID)
    return ring


def _admin(actor: Actor) -> None:
    if actor.role not in KEY_ADMIN_ROLES:
        from petitions.errors import PermissionDenied

        raise PermissionDenied(actor.role, "api-key", tuple(sorted(KEY_ADMIN_ROLES)))


def _save(store: Store, change: Any) -> None:
    """Load (or start) the ring, apply ``change``, save; retry once if another
    writer saved the ring meanwhile."""
    for attempt in range(5):
        ring = _ring(store)
        if ring is None:
            ring = ApiKeyRing.start(change.actor, change.at)
        change(ring)
        try:
            store.save(ring)
            return
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.frozen
class _Create:
    actor: Actor
    at: datetime
    name: str
    role: str
    unit: str
    hashed: str

    def __call__(self, ring: ApiKeyRing) -> None:
        if self.name in ring.keys:
            raise InvalidInput("name", f"a key named {self.name!r} exists already",
                               kind="exists")
        ring.trigger_event(ApiKeyRing.KeyCreated, actor=self.actor, occurred_at=self.at,
                           name=self.name, role=self.role, unit=self.unit,
                           key_hash=self.hashed)


@attrs.frozen
class _Revoke:
    actor: Actor
    at: datetime
    name: str

    def __call__(self, ring: ApiKeyRing) -> None:
        entry = ring.keys.get(self.name)
        if entry is None:
            raise InvalidInput("name", f"no key named {self.name!r}", kind="unknown_key")
        if entry["revoked_at"] is None:
            ring.trigger_event(ApiKeyRing.KeyRevoked, actor=self.actor, occurred_at=self.at,
                               name=self.name)


def create_key(store: Store, *, actor: Actor, name: str, role: str,
               unit: str = "") -> str:
    """Create a key named ``name`` for ``role`` (working in ``unit``); return the
    key.  It is shown only now: the store keeps its hash."""
    _admin(actor)
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise InvalidInput("name", "must be 1–100 characters without spaces", kind="invalid")
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role {role!r}; valid: {', '.join(sorted(ROLES))}",
                           kind="unknown_code", value=role, valid=", ".join(sorted(ROLES)))
    key = PREFIX + secrets.token_urlsafe(32)
    _save(store, _Create(actor, datetime.now(UTC), name, role, (unit or "").strip(),
                       key_hash(key)))
    return key


def revoke_key(store: Store, *, actor: Actor, name: str) -> None:
    """Revoke the key ``name``: from now on it is refused, reads included."""
    _admin(actor)
    _save(store, _Revoke(actor, datetime.now(UTC), name))


def list_keys(store: Store) -> list[ApiKey]:
    """Every key ever created, revoked ones included, by name."""
    ring = _ring(store)
    if ring is None:
        return []
    return [ApiKey(name=e["name"], role=e["role"], unit=e["unit"],
                   created_at=e["created_at"], created_by=e["created_by"],
                   revoked_at=e["revoked_at"]) for _, e in sorted(ring.keys.items())]


def authenticate(store: Store, key: str | None) -> ApiKey:
    """The key record for ``key``; raise :class:`KeyRefused` when it is missing,
    unknown (``reason="unknown"``) or revoked (``reason="revoked"``)."""
    if not key:
        raise KeyRefused("missing")
    hashed = key_hash(key)
    ring = _ring(store)
    for entry in (ring.keys.values() if ring is not None else ()):
        if secrets.compare_digest(entry["hash"], hashed):
            if entry["revoked_at"] is not None:
                raise KeyRefused("revoked")
            return ApiKey(name=entry["name"], role=entry["role"], unit=entry["unit"],
                          created_at=entry["created_at"], created_by=entry["created_by"],
                          revoked_at=None)
    raise KeyRefused("unknown")
