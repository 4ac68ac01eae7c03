"""Retention: erase the personal data of cases closed longer than a period.

A petitioner's data is erased only when *every* petition of theirs is closed
and the last one closed before the cut-off: their data key is shared by all
their petitions, and an open case still needs it.  The case itself — what
happened, by whom, when — stays whole; only the personal fields read as
erased afterwards (个人信息保护法 第四十七条: delete once the purpose is served
or the retention period has passed).

Finding the petitions reads every petition once (through the notification
log's ``Filed`` events), so a run costs time in proportion to the store.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import attrs
from eventsourcing.utils import get_topic

from petitions.domain.petition import Petition
from petitions.domain.values import Actor
from petitions.errors import InvalidInput
from petitions.privacy.errors import InvalidPeriod

if TYPE_CHECKING:
    from petitions.core import Store
    from petitions.privacy.core import Privacy

#: The statuses whose cases retention erases (closed ones only).
RETAINED_STATUSES = ("closed",)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
          "m": timedelta(days=30), "y": timedelta(days=365)}
_PERIOD = re.compile(r"^\s*(\d+)\s*([hdwmy])\s*$", re.IGNORECASE)


def parse_period(text: str) -> timedelta:
    """``"180d"``, ``"26w"``, ``"24m"`` (30 days each), ``"3y"`` (365 days each), ``"12h"``."""
    found = _PERIOD.match(text or "")
    if not found or int(found.group(1)) <= 0:
        raise InvalidPeriod(text)
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


@attrs.frozen
class RetentionItem:
    """A petitioner whose every case closed before the cut-off."""

    petitioner_id: str
    petition_ids: tuple[UUID, ...]
    last_closed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"petitioner_id": self.petitioner_id,
                "petition_ids": [str(p) for p in self.petition_ids],
                "last_closed_at": self.last_closed_at.isoformat()}


@attrs.frozen
class RetentionRun:
    """What a retention run found, and (unless a dry run) erased."""

    cutoff: datetime
    dry_run: bool
    items: tuple[RetentionItem, ...]
    erased: tuple[str, ...]
    kept: int  # petitioners with data kept: a case still open, or closed too recently

    def to_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat(), "dry_run": self.dry_run,
                "items": [i.to_dict() for i in self.items], "erased": list(self.erased),
                "kept": self.kept}


class HasPrivacy(Protocol):
    """What :func:`retain` works on: anything with a :class:`Privacy` (a
    ``PetitionService``, say)."""

    @property
    def privacy(self) -> Privacy: ...


def petition_ids(store: Store, page: int = 500) -> list[UUID]:
    """Every petition's id, in filing order."""
    topic = get_topic(Petition.Filed)
    found: list[UUID] = []
    start: int | None = None
    while True:
        batch = store.recorder.select_notifications(
            start=start, limit=page, topics=[topic], inclusive_of_start=start is None)
        found.extend(n.originator_id for n in batch)  # type: ignore[misc]
        if len(batch) < page:
            return found
        start = batch[-1].id


def retain(service: HasPrivacy, *, actor: Actor, older_than: timedelta | str,
           status: str = "closed", dry_run: bool = False,
           at: datetime | None = None) -> RetentionRun:
    """List (``dry_run``) or erase the personal data of cases closed longer than a period."""
    privacy = service.privacy
    store = privacy.store
    privacy.policy.check(actor, "retain")
    if status not in RETAINED_STATUSES:
        raise InvalidInput("status", "only closed cases are retained; use 'closed'",
                           kind="bad_status")
    period = parse_period(older_than) if isinstance(older_than, str) else older_than
    if period <= timedelta(0):
        raise InvalidPeriod(str(older_than))
    now = store.when(at)
    cutoff = now - period
    privacy.sync()
    groups: dict[str, list[tuple[UUID, bool, datetime]]] = defaultdict(list)
    for pid in petition_ids(store):
        petition = store.load(pid)
        closed = store.workflow_of(petition).is_terminal(petition.stage)
        groups[petition.petitioner.id].append((pid, closed, petition.last_occurred_at))
    items: list[RetentionItem] = []
    kept = 0
    for petitioner_id, cases in groups.items():
        if not privacy.has_data(petitioner_id):
            continue  # erased already, or nothing personal was sealed
        last = max(t for _, _, t in cases)
        if all(closed for _, closed, _ in cases) and last <= cutoff:
            items.append(RetentionItem(petitioner_id, tuple(p for p, _, _ in cases), last))
        else:
            kept += 1
    items.sort(key=lambda i: i.last_closed_at)
    erased: list[str] = []
    if not dry_run:
        basis = (f"retention: every case closed more than {older_than} ago "
                 f"(before {cutoff.isoformat()}); 个人信息保护法 第四十七条")
        for item in items:
            privacy.erase(item.petitioner_id, actor=actor, legal_basis=basis, at=now)
            erased.append(item.petitioner_id)
    return RetentionRun(cutoff, dry_run, tuple(items), tuple(erased), kept)
