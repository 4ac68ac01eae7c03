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


def normalised_facts(title: str, description: str) -> str:
    """The facts and reasons a petition states, normalised (NFKC, case folded,
    without whitespace, punctuation and symbols)."""
    text = unicodedata.normalize("NFKC", f"{title}\n{description}").casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def facts_key(title: str, description: str) -> str:
    """The normalised digest of the facts and reasons a petition states."""
    return hashlib.sha256(normalised_facts(title, description).encode("utf-8")).hexdigest()


#: How alike (difflib ratio of the normalised facts) a new filing must be to a
#: concluded matter of the same petitioner to be flagged.  ASSUMPTION to
#: configure: the regulation says "the same matter"; similar text only warns.
SIMILAR_RATIO = 0.6


def petitioner_matters_id(petitioner_id: str) -> UUID:
    return uuid5(FINALITY_NAMESPACE, f"petitioner\n{petitioner_id}")


class PetitionerMatters(Aggregate):
    """Every matter of one petitioner concluded by re-review, with its
    normalised facts: a new filing that is similar (not the same) is flagged."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Started(Event, Aggregate.Created):
        petitioner_id: str
        petition_id: UUID
        facts: str

        def apply(self, aggregate: Any) -> None:
            aggregate.petitioner_id = self.petitioner_id
            aggregate.matters = [(self.petition_id, self.facts)]

    class MatterConcluded(Event):
        petition_id: UUID
        facts: str

        def apply(self, aggregate: Any) -> None:
            aggregate.matters = [*aggregate.matters, (self.petition_id, self.facts)]

    if TYPE_CHECKING:
        petitioner_id: str
        matters: list[tuple[UUID, str]]

    @classmethod
    def start(cls, *, actor: Actor, occurred_at: datetime, petitioner_id: str,
              petition_id: UUID, facts: str) -> PetitionerMatters:
        return cls._create(cls.Started, id=petitioner_matters_id(petitioner_id), actor=actor,
                           occurred_at=occurred_at, petitioner_id=petitioner_id,
                           petition_id=petition_id, facts=facts)

    def add(self, petition_id: UUID, facts: str, actor: Actor, occurred_at: datetime) -> None:
        if all(pid != petition_id for pid, _ in self.matters):
            self.trigger_event(self.MatterConcluded, actor=actor, occurred_at=occurred_at,
                               petition_id=petition_id, facts=facts)

    def similar(self, facts: str, ratio: float = SIMILAR_RATIO) -> tuple[UUID, ...]:
        """The concluded petitions whose facts are alike to ``facts``."""
        from difflib import SequenceMatcher

        return tuple(pid for pid, known in self.matters
                     if SequenceMatcher(None, known, facts).ratio() >= ratio)


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
