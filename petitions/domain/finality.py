"""Matters made final by a re-review (复核), so that repeats can be refused.

信访工作条例 (2022): once a re-review has been answered, the same petitioner
raising the same facts and reasons again is not accepted.  "The same facts
and reasons" is decided on a *facts key*: the petition's title and
description joined by a line break, normalised (Unicode NFKC, case folded,
every whitespace, punctuation and symbol character removed) and hashed with
SHA-256.  So "东方家园 停车难！" and "东方家园停车难" are the same facts;
a different wording is not, and stays for a caseworker to mark as a
duplicate.

A ``ConcludedMatter`` aggregate, whose id is derived from the petitioner's id
and the facts key, records the petitions concluded on those facts; filing
looks it up by id, which is one read on every storage backend.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from petitions.domain.values import Actor

FINALITY_NAMESPACE = UUID("5f0c9a3e-7d21-4c55-b0e4-3a8d2f61c9b7")


def facts_key(title: str, description: str) -> str:
    """The normalised digest of the facts and reasons a petition states."""
    text = unicodedata.normalize("NFKC", f"{title}\n{description}").casefold()
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")
    return hashlib.sha256(kept.encode("utf-8")).hexdigest()


def concluded_matter_id(petitioner_id: str, key: str) -> UUID:
    return uuid5(FINALITY_NAMESPACE, f"{petitioner_id}\n{key}")


class ConcludedMatter(Aggregate):
    """The petitions on which a petitioner's matter was concluded by re-review."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Concluded(Event, Aggregate.Created):
        petitioner_id: str
        facts_key: str
        petition_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.petitioner_id = self.petitioner_id
            aggregate.facts_key = self.facts_key
            aggregate.petition_ids = [self.petition_id]

    class ConcludedAgain(Event):
        petition_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.petition_ids = [*aggregate.petition_ids, self.petition_id]

    if TYPE_CHECKING:
        petitioner_id: str
        facts_key: str
        petition_ids: list[UUID]

    @classmethod
    def conclude(cls, *, actor: Actor, occurred_at: datetime, petitioner_id: str,
                 key: str, petition_id: UUID) -> ConcludedMatter:
        return cls._create(cls.Concluded, id=concluded_matter_id(petitioner_id, key),
                           actor=actor, occurred_at=occurred_at, petitioner_id=petitioner_id,
                           facts_key=key, petition_id=petition_id)

    def add(self, petition_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        if petition_id not in self.petition_ids:
            self.trigger_event(self.ConcludedAgain, actor=actor, occurred_at=occurred_at,
                               petition_id=petition_id)
