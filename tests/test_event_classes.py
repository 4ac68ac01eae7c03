"""Event classes made without compiling code (petitions.domain.eventclass)
are the dataclasses eventsourcing would have made of them.

Each event class is compared with a twin made by eventsourcing's own
``MetaDomainEvent`` (``dataclasses.dataclass(frozen=True)``) from the same
class body: the same fields, signature and ``__match_args__``, and instances
that are built, compared, hashed, printed and frozen alike, their attributes
set in the same order (the order their stored state is written in).
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, MetaDomainEvent

import petitions.domain.hotline  # noqa: F401  (its events subclass Petition.Event)
from petitions.domain.eventclass import EventClass
from petitions.domain.petition import Petition

#: What the dataclass step adds to a class (the twin makes its own).
_MADE = {"__dataclass_fields__", "__init__", "__repr__", "__eq__", "__hash__", "__setattr__",
         "__delattr__", "__match_args__", "__signature__", "__dict__", "__weakref__",
         "originator_id_type", "__parameters__"}


def _event_classes() -> list[type[Any]]:
    found: list[type[Any]] = []
    todo: list[type[Any]] = [Petition.Event]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


_twins: dict[type[Any], type[Any]] = {}


def _twin(cls: type[Any]) -> type[Any]:
    """``cls`` as eventsourcing makes it (its bases likewise)."""
    if not isinstance(cls, EventClass):
        return cls
    if cls not in _twins:
        body = {k: v for k, v in cls.__dict__.items() if k not in _MADE}
        if (body.get("__doc__") or "").startswith(cls.__name__ + "("):
            body["__doc__"] = None  # the generated one: the twin writes its own
        body["__qualname__"] = cls.__qualname__
        bases = tuple(_twin(b) for b in cls.__bases__)
        _twins[cls] = MetaDomainEvent(cls.__name__, bases, body)
    return _twins[cls]


_IDS = {"a": uuid4(), "b": uuid4()}


def _values(cls: type[Any], salt: str) -> dict[str, Any]:
    return {f.name: _IDS[salt] if f.name == "originator_id" else f"{salt}-{f.name}"
            for f in dataclasses.fields(cls)}


EVENT_CLASSES = _event_classes()


def test_every_petition_event_is_made_without_the_dataclass_machinery() -> None:
    assert len(EVENT_CLASSES) > 40
    for cls in EVENT_CLASSES:
        assert type(cls) is EventClass, cls
        # The dataclass machinery writes functions named after the class; ours
        # are closures of petitions.domain.eventclass.
        assert cls.__dict__["__init__"].__module__ == "petitions.domain.eventclass", cls
        assert dataclasses.is_dataclass(cls)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_an_event_class_is_the_dataclass_eventsourcing_makes(cls: type[Any]) -> None:
    twin = _twin(cls)
    assert twin.__dict__["__init__"].__module__ != "petitions.domain.eventclass"

    def described(c: type[Any]) -> list[tuple[Any, ...]]:
        return [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.hash,
                 f.compare, f.kw_only, f._field_type)  # type: ignore[attr-defined]
                for f in dataclasses.fields(c)]

    assert described(cls) == described(twin)
    assert str(inspect.signature(cls.__init__)) == str(inspect.signature(twin.__init__))
    assert str(cls.__signature__) == str(twin.__signature__)
    assert cls.__init__.__annotations__ == twin.__init__.__annotations__
    assert cls.__match_args__ == twin.__match_args__
    assert cls.__doc__ == twin.__doc__
    assert cls.__init__.__qualname__ == twin.__init__.__qualname__

    values = _values(cls, "a")
    mine, theirs = cls(**values), twin(**values)
    assert list(vars(mine).items()) == list(vars(theirs).items())
    assert repr(mine) == repr(theirs)
    assert hash(mine) == hash(theirs)
    assert mine == cls(**values)
    assert mine == cls(*values.values())
    assert mine != cls(**_values(cls, "b"))
    assert mine != theirs  # another class
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
        mine.actor = "someone else"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field"):
        del mine.actor
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        cls(**values, nonsense=1)
    with pytest.raises(TypeError, match="multiple values for argument 'originator_id'"):
        cls(values["originator_id"], **values)
    with pytest.raises(TypeError, match="missing 1 required argument: 'occurred_at'"):
        cls(**{k: v for k, v in values.items() if k != "occurred_at"})
    defaults = {f.name: f.default for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING}
    if defaults:
        required = {k: v for k, v in values.items() if k not in defaults}
        assert vars(cls(**required)) == vars(twin(**required))


def test_a_class_beyond_the_plain_case_is_left_to_the_dataclass_machinery() -> None:
    class Odd(Petition.Event):
        tags: list[str] = dataclasses.field(default_factory=list)

        def __post_init__(self) -> None:
            object.__setattr__(self, "tags", [*self.tags, "seen"])

    assert "__init__" in Odd.__dict__
    assert Odd.__dict__["__init__"].__module__ != "petitions.domain.eventclass"
    make: Any = Odd
    odd = make(originator_id=uuid4(), originator_version=1, timestamp=datetime.now(UTC),
              actor="a", occurred_at=datetime.now(UTC))
    assert odd.tags == ["seen"]
    assert str(inspect.signature(Odd)).endswith("tags: 'list[str]' = <factory>) -> None")
    with pytest.raises(ValueError, match="mutable default"):
        class Mutable(Petition.Event):
            tags: list[str] = []  # noqa: RUF012


def test_a_triggered_event_is_stored_as_before() -> None:
    # Trigger one event on an aggregate of each kind of class: the state a
    # mapper would store (vars, in order) is the twin's.
    class Box(Aggregate):
        class Event(Aggregate.Event, metaclass=EventClass):
            actor: str
            occurred_at: datetime

        class Packed(Event):
            items: tuple[str, ...]
            note: str = ""

        def __init__(self, actor: str, occurred_at: datetime) -> None:
            pass

    at = datetime(2026, 12, 2, tzinfo=UTC)
    box = Box(actor="a", occurred_at=at)
    assert type(Box.Created) is EventClass
    assert list(vars(box.collect_events()[0]))[-2:] == ["actor", "occurred_at"]
    box.trigger_event(Box.Packed, actor="a", occurred_at=at, items=("x",))
    event = box.collect_events()[-1]
    assert isinstance(event, Box.Packed)
    assert list(vars(event)) == ["originator_id", "originator_version", "timestamp", "actor",
                                 "occurred_at", "items", "note"]
    assert event.note == ""
    assert box.version == 2
