"""The ordered feed of petition events, for portals that follow the store.

Every stored event has a *position* (eventsourcing's notification id): it
grows with every write, in commit order, on both backends (on PostgreSQL
eventsourcing locks the events table while inserting so that positions are
handed out in commit order).  Positions need not be consecutive — a write
refused for a version conflict may use up a number — but a reader that
remembers the last position it handled and asks for everything after it
never misses an event and never sees one twice.

:func:`changes` reads what is stored after a position and, with
``follow=True``, keeps waiting for new events: on PostgreSQL through
eventsourcing's subscription (``LISTEN/NOTIFY``), on SQLite, which has no
subscription, by polling.  Only petition events are yielded; the store's other
records (copies of workflow definitions) are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs
from eventsourcing.utils import get_topic

from petitions.domain.petition import Petition
from petitions.errors import InvalidInput
from petitions.transcoding import to_plain
from petitions.views import EventView

if TYPE_CHECKING:
    from eventsourcing.application import Application

    from petitions.privacy.core import Privacy

#: How many stored events are read at a time.
BATCH_SIZE = 500
#: How often SQLite is asked for new events when following (seconds).
POLL_INTERVAL = 0.5


@attrs.frozen
class Change:
    """One petition event at its position in the store."""

    position: int
    petition_id: UUID
    version: int
    type: str
    actor: str
    role: str
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, position: int, event: Petition.Event) -> Change:
        view = EventView.of(event)
        return cls(position=position, petition_id=event.originator_id,
                   version=view.version, type=view.type, actor=view.actor, role=view.role,
                   occurred_at=view.occurred_at, recorded_at=view.recorded_at,
                   data=view.data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ids as text, times as ISO 8601 (UTC)."""
        out: dict[str, Any] = to_plain(self)
        return out


def _change(privacy: Privacy | None, position: int, event: Petition.Event) -> Change:
    """The change for ``event``; a petitioner in it is shown as to an anonymous
    reader (masked, erased or withheld), as in the petition's history; without
    ``privacy`` as stored (sealed)."""
    change = Change.of(position, event)
    petitioner = getattr(event, "petitioner", None)
    if petitioner is not None and privacy is not None:
        privacy.sync()
        shown = privacy.render(petitioner, matter_type=getattr(event, "matter_type", ""),
                               lead_unit=None)
        change = attrs.evolve(change, data={**change.data, "petitioner": shown.to_dict()})
    return change


def _subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


@lru_cache(maxsize=1)
def _topics_cached(count: int) -> tuple[str, ...]:
    del count  # only a cache key: recomputed when new event classes appear
    return tuple(sorted({get_topic(c) for c in _subclasses(Petition.Event)
                         if c is not Petition.Event}))


def petition_topics() -> tuple[str, ...]:
    """The stored topics of every petition event class."""
    return _topics_cached(sum(1 for _ in _subclasses(Petition.Event)))


def changes(app: Application[Any], after: int = 0, *, follow: bool = False,
            poll_interval: float = POLL_INTERVAL, batch_size: int = BATCH_SIZE,
            privacy: Privacy | None = None) -> Iterator[Change]:
    """Petition events stored after position ``after``, oldest first, each
    petitioner rendered by ``privacy`` for an anonymous reader.

    Without ``follow`` the iterator ends at the current end of the store.  With
    ``follow`` it then waits for new events until the caller stops iterating
    (``close()`` on the generator, or leaving the ``for`` loop).
    """
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InvalidInput("after", "must be a whole number, 0 or more", kind="bad_position")
    return _changes(app, after, follow, poll_interval, batch_size, privacy)


def _changes(app: Application[Any], after: int, follow: bool, poll_interval: float,
             batch_size: int, privacy: Privacy | None) -> Iterator[Change]:
    topics = petition_topics()
    if follow and _has_subscription(app):
        yield from _follow_subscription(app, after, topics, privacy)
        return
    recorder = app.recorder
    position = after
    while True:
        batch = recorder.select_notifications(start=position, limit=batch_size,
                                              topics=topics, inclusive_of_start=False)
        for notification in batch:
            event = app.mapper.to_domain_event(notification)
            position = notification.id
            if isinstance(event, Petition.Event):
                yield _change(privacy, notification.id, event)
        if len(batch) < batch_size:
            if not follow:
                return
            time.sleep(poll_interval)


def _has_subscription(app: Application[Any]) -> bool:
    # SQLite's recorder has no subscription (its subscribe() raises).
    from petitions.persistence import is_postgres_recorder

    return is_postgres_recorder(app.recorder)


def _follow_subscription(app: Application[Any], after: int, topics: tuple[str, ...],
                         privacy: Privacy | None) -> Iterator[Change]:
    from eventsourcing.projection import ApplicationSubscription

    with ApplicationSubscription(app, gt=after, topics=topics) as subscription:
        for event, tracking in subscription:
            if isinstance(event, Petition.Event):
                yield _change(privacy, tracking.notification_id, event)
