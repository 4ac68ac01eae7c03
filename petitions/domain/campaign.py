"""The ``Campaign`` aggregate: a door-to-door visiting campaign (进家入户).

A street office visits every household of a compound and collects what the
residents raise (吉安园茅溪小区: 34 suggestions).  Each suggestion becomes a
petition of its own, filed with the campaign's id; the campaign records which
petitions it collected, so its progress (collected, resolved) can be counted
from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from petitions.domain.values import Actor, Location


class Campaign(Aggregate):
    """A campaign that collects many petitions."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Opened(Event, Aggregate.Created):
        name: str
        location: Location
        description: str

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.name = self.name
            campaign.location = self.location
            campaign.description = self.description
            campaign.opened_at = self.occurred_at
            campaign.opened_by = self.actor
            campaign.petition_ids = []

    class PetitionCollected(Event):
        petition_id: UUID

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.petition_ids = [*campaign.petition_ids, self.petition_id]

    if TYPE_CHECKING:
        name: str
        location: Location
        description: str
        opened_at: datetime
        opened_by: Actor
        petition_ids: list[UUID]

    @classmethod
    def open(cls, *, actor: Actor, occurred_at: datetime, name: str, location: Location,
             description: str = "") -> Campaign:
        return cls._create(cls.Opened, actor=actor, occurred_at=occurred_at, name=name,
                           location=location, description=description)

    def collect(self, petition_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        if petition_id in self.petition_ids:
            return
        self.trigger_event(self.PetitionCollected, actor=actor, occurred_at=occurred_at,
                           petition_id=petition_id)
