"""The ``UnitRegister`` aggregate: the office's register of units, people and
liaison assignments (组织架构、人员、包联).

There is one register per store (a fixed id).  Loading a register file records
``Loaded`` with the whole register as plain data (so every change is in the
event log, hash-chained and audited like any petition event); the register in
force is the last one loaded.  Event classes are stored history: never rename
or move one without registering its old topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from petitions.domain.values import Actor

#: The register's aggregate id (one per store).
REGISTER_ID = uuid5(UUID("3f6d1c2a-8e5b-4a7c-9d0e-1b2c3d4e5f60"), "unit-register")


class UnitRegister(Aggregate):
    """Units, people and liaison assignments, as last loaded."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime

    class Loaded(Event):
        #: Each a dict of plain values (see :mod:`petitions.org`).
        units: list[dict[str, Any]]
        people: list[dict[str, Any]]
        liaisons: list[dict[str, Any]]
        source: str
        sha256: str

        def apply(self, aggregate: Any) -> None:
            register: UnitRegister = aggregate
            register.units = list(self.units)
            register.people = list(self.people)
            register.liaisons = list(self.liaisons)
            register.source = self.source
            register.sha256 = self.sha256
            register.loaded_at = self.occurred_at
            register.loaded_by = self.actor

    class Started(Event, Aggregate.Created):
        def apply(self, aggregate: Any) -> None:
            register: UnitRegister = aggregate
            register.units = []
            register.people = []
            register.liaisons = []
            register.source = ""
            register.sha256 = ""
            register.loaded_at = self.occurred_at
            register.loaded_by = self.actor

    if TYPE_CHECKING:
        units: list[dict[str, Any]]
        people: list[dict[str, Any]]
        liaisons: list[dict[str, Any]]
        source: str
        sha256: str
        loaded_at: datetime
        loaded_by: Actor

    @classmethod
    def start(cls, *, actor: Actor, occurred_at: datetime) -> UnitRegister:
        return cls._create(cls.Started, id=REGISTER_ID, actor=actor, occurred_at=occurred_at)

    def load(self, *, actor: Actor, occurred_at: datetime, units: list[dict[str, Any]],
             people: list[dict[str, Any]], liaisons: list[dict[str, Any]], source: str,
             sha256: str) -> bool:
        """Record the register; False (nothing recorded) if it is unchanged."""
        if sha256 == self.sha256:
            return False
        self.trigger_event(self.Loaded, actor=actor, occurred_at=occurred_at, units=units,
                           people=people, liaisons=liaisons, source=source, sha256=sha256)
        return True
