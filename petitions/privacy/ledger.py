"""The privacy record of a petitioner: every reveal and erasure, audited.

A ``PrivacyRecord`` aggregate per petitioner (its id derived from the
petitioner's id) keeps who revealed their unmasked data, on which petition,
and who erased it, when and on what legal basis.  It never holds personal data
itself.  Erasure never rewrites a stored event: it destroys keys and appends
an ``Erased`` event here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from petitions.domain.values import Actor

PRIVACY_NAMESPACE = UUID("c7b1f0a2-5e4d-4d8e-9a61-2f3b7c9d0e14")


def privacy_record_id(petitioner_id: str) -> UUID:
    return uuid5(PRIVACY_NAMESPACE, f"petitioner\n{petitioner_id}")


class PrivacyRecord(Aggregate):
    """Reveals and erasure of one petitioner's personal data."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Opened(Event, Aggregate.Created):
        petitioner_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.petitioner_id = self.petitioner_id
            aggregate.reveals = 0
            aggregate.erasures = []

    class Revealed(Event):
        """Unmasked personal data was shown to the actor."""

        petition_id: str
        unit: str
        fields: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.reveals += 1

    class Erased(Event):
        """The petitioner's data keys were destroyed (crypto-shredding)."""

        legal_basis: str
        keys_destroyed: int

        def apply(self, aggregate: Any) -> None:
            aggregate.erasures = [*aggregate.erasures, (self.occurred_at, self.legal_basis)]

    if TYPE_CHECKING:
        petitioner_id: str
        reveals: int
        erasures: list[tuple[datetime, str]]

    @classmethod
    def open(cls, petitioner_id: str, actor: Actor, occurred_at: datetime) -> PrivacyRecord:
        return cls._create(cls.Opened, id=privacy_record_id(petitioner_id), actor=actor,
                           occurred_at=occurred_at, petitioner_id=petitioner_id)

    def reveal(self, actor: Actor, occurred_at: datetime, petition_id: UUID, unit: str,
               fields: list[str]) -> None:
        self.trigger_event(self.Revealed, actor=actor, occurred_at=occurred_at,
                           petition_id=str(petition_id), unit=unit, fields=list(fields))

    def erase(self, actor: Actor, occurred_at: datetime, legal_basis: str,
              keys_destroyed: int) -> None:
        self.trigger_event(self.Erased, actor=actor, occurred_at=occurred_at,
                           legal_basis=legal_basis, keys_destroyed=keys_destroyed)
