"""workflows.records: value classes that behave as attrs.frozen makes them
(issue 12, point 6: defined without generating code, so that a command that
reads a petition does not import attrs).

Each behaviour is checked side by side against the same class made by
``attrs.frozen``.
"""

from __future__ import annotations

import copy
import pickle
import weakref
from typing import Any, ClassVar

import attrs
import pytest

from workflows import records


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _positive(inst: Any, a: Any, value: Any) -> None:
    if value < 0:
        raise ValueError(f"{a.name} must not be negative")


def _pair(decorate: Any, make_field: Any) -> Any:
    @decorate
    class Point:
        """A point."""

        KIND: ClassVar[str] = "point"

        x: int = make_field(validator=_positive)
        y: str = "a"
        tags: tuple[str, ...] = make_field(default=(), converter=_tuple)
        _secret: int = make_field(default=0, repr=False)
        extra: dict[str, int] = make_field(factory=dict, eq=False)

        def doubled(self) -> int:
            return self.x * 2

    return Point


Ours = _pair(records.frozen, records.field)
Theirs = _pair(attrs.frozen, attrs.field)


def _compiled() -> Any:
    """A value class made often enough to have its ``__init__`` compiled."""
    cls = _pair(records.frozen, records.field)
    shared = cls.__init__
    for i in range(records.COMPILE_AFTER):
        cls(i)
    assert cls.__init__ is not shared
    return cls


Compiled = _compiled()


@pytest.mark.parametrize("cls", [Ours, Theirs, Compiled], ids=["records", "attrs", "compiled"])
def test_construction_defaults_converters_and_validators(cls: Any) -> None:
    p = cls(1, tags=["a", "b"], secret=5)
    assert (p.x, p.y, p.tags, p._secret, p.extra) == (1, "a", ("a", "b"), 5, {})
    assert cls(1).extra is not cls(1).extra  # a factory makes each default anew
    assert p.doubled() == 2 and cls.KIND == "point"
    with pytest.raises(ValueError, match="x must not be negative"):
        cls(-1)
    for bad in (lambda: cls(), lambda: cls(1, "a", (), 0, {}, 6), lambda: cls(1, nope=2),
                lambda: cls(1, x=2)):
        with pytest.raises(TypeError):
            bad()


def test_a_compiled_init_makes_and_refuses_what_the_shared_one_does() -> None:
    shared = _pair(records.frozen, records.field)  # made too few times to be compiled
    assert shared.__init__.__code__.co_filename == records.__file__
    assert Compiled.__init__.__code__.co_filename == "<value class _pair.<locals>.Point>"
    assert Compiled.__init__.__qualname__ == shared.__init__.__qualname__
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}), ((1, "b", ["t"], 3, {"k": 1}), {}), ((), {"x": 2, "secret": 4}),
        ((5,), {"tags": "ab", "extra": None}), ((), {}), ((1, "a", (), 0, {}, 6), {}),
        ((1,), {"nope": 2}), ((1,), {"x": 2}), ((-1,), {}), ((1,), {"_secret": 2})]
    for args, kwargs in calls:
        outcomes, messages = [], []
        for cls in (shared, Compiled, Theirs):
            try:
                made = cls(*args, **kwargs)
            except (TypeError, ValueError) as exc:
                outcomes.append(type(exc))
                messages.append(str(exc).split("__init__() ")[-1])
            else:
                outcomes.append((made.x, made.y, made.tags, made._secret, made.extra))
        # The same instance or error as the shared one makes; the message is
        # Python's own, as in the class attrs compiles.
        assert outcomes[0] == outcomes[1] == outcomes[2], (args, kwargs, outcomes)
        assert messages[1:2] == messages[2:], (args, kwargs, messages)
    first, second = Compiled(1), Compiled(1)
    assert first.extra == {} and first.extra is not second.extra  # a new default each
    assert Compiled(2) == Compiled(2) and Compiled(2, tags=["a"]).tags == ("a",)


def test_a_value_class_with_an_alias_no_init_may_name_keeps_the_shared_init() -> None:
    @records.frozen
    class Odd:
        a: int = records.field(alias="class")

    for _ in range(records.COMPILE_AFTER + 1):
        made = Odd(**{"class": 3})
    assert made.a == 3 and Odd.__init__.__code__.co_filename == records.__file__


def test_repr_eq_hash_and_frozenness_are_attrs_own() -> None:
    ours, theirs = Ours(1, tags=["t"], secret=5), Theirs(1, tags=["t"], secret=5)
    assert repr(ours).replace("Point", "P") == repr(theirs).replace("Point", "P")
    assert repr(ours) == "Point(x=1, y='a', tags=('t',), extra={})"
    for cls in (Ours, Theirs):
        a, b = cls(1, extra={"n": 1}), cls(1)
        assert a == b and hash(a.x) == hash(b.x)  # extra is not compared
        assert cls(1) != cls(2) and cls(1) != (1,) and cls(1).__eq__(object()) is NotImplemented
        assert {cls(1, extra=None): 1}[cls(1)] == 1  # hashable, as frozen attrs classes are
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            a.x = 3
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            del a.x
        assert not hasattr(a, "__dict__")  # slots
        assert weakref.ref(a)() is a
    assert Ours.__match_args__ == Theirs.__match_args__
    assert Ours(1) != Theirs(1)


def test_pickling_and_copies_keep_the_value() -> None:
    from petitions.domain.values import Person, Petitioner

    value = Petitioner("resident", "A", representatives=[Person("B", phone="1")])
    for made in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert made == value and made.representatives == (Person("B", phone="1"),)
        assert type(made) is Petitioner
    local = Ours(1, tags=["t"], extra={"n": 1})
    for made in (copy.copy(local), copy.deepcopy(local)):
        assert made == local and made.extra == {"n": 1}


def test_a_slot_the_class_declares_is_no_field() -> None:
    """A name in the class body's ``__slots__`` is a slot of its own: not set
    by ``__init__``, not shown, compared, hashed or pickled, and not a field
    to ``attrs``; a field named there is refused."""
    body: dict[str, Any] = {"__annotations__": {"x": "int"}, "__slots__": ("_cache",)}
    cls: Any = records.frozen(type("Cached", (), body))
    a, b = cls(1), cls(1)
    with pytest.raises(AttributeError):
        a._cache  # noqa: B018 - not set until set
    object.__setattr__(a, "_cache", "kept")
    assert a._cache == "kept" and a == b and hash(a) == hash(b)
    assert repr(a) == "Cached(x=1)" and a.__getstate__() == {"x": 1}
    assert not hasattr(copy.copy(a), "_cache") and copy.copy(a) == a
    assert [f.name for f in records.fields(cls)] == ["x"]
    assert [f.name for f in attrs.fields(cls)] == ["x"]
    assert not hasattr(a, "__dict__") and weakref.ref(a)() is a
    for _ in range(records.COMPILE_AFTER + 1):  # the compiled __init__ too
        assert cls(2).x == 2
    with pytest.raises(TypeError, match="a field is a slot already"):
        records.frozen(type("Twice", (), {"__annotations__": {"x": "int"},
                                          "__slots__": ("x",)}))


def test_attrs_functions_work_on_a_value_class() -> None:
    ours, theirs = Ours(1, tags=["t"]), Theirs(1, tags=["t"])
    assert attrs.has(Ours)
    assert ([(f.name, f.alias, f.default, f.repr, f.eq) for f in attrs.fields(Ours)]
            == [(f.name, f.alias, f.default, f.repr, f.eq) for f in attrs.fields(Theirs)])
    assert attrs.fields(Ours).x.name == "x"
    assert attrs.asdict(ours) == attrs.asdict(theirs)
    assert attrs.evolve(ours, y="b") == Ours(1, "b", ("t",))
    assert records.asdict(ours) == attrs.asdict(theirs)
    assert records.asdict(ours, recurse=False) == attrs.asdict(theirs, recurse=False)
    assert records.evolve(ours, x=2) == attrs.evolve(ours, x=2)
    assert records.evolve(theirs, x=2) == attrs.evolve(theirs, x=2)
    assert [f.name for f in records.fields(Ours)] == [f.name for f in records.fields(Theirs)]
    assert [records.required(f) for f in records.fields(Ours)] == [
        records.required(f) for f in records.fields(Theirs)] == [True, False, False, False, False]
    assert [records.made_by_factory(f) for f in records.fields(Ours)] == [
        records.made_by_factory(f) for f in records.fields(Theirs)]
    assert records.fields_of(int) is None


def test_a_value_class_may_extend_one_other() -> None:
    @records.frozen
    class Base:
        name: ClassVar[str]
        a: int

    @records.frozen
    class Child(Base):
        name = "child"
        b: str = "x"

    @attrs.frozen
    class Plugin(Base):  # attrs classes may extend a value class, as a plugin's command does
        name = "plugin"
        c: int = 0

    assert Child(1) == Child(1, "x") and repr(Child(1)) == "Child(a=1, b='x')"
    assert [f.name for f in attrs.fields(Child)] == ["a", "b"]
    assert Plugin(1, c=2).a == 1 and [f.name for f in attrs.fields(Plugin)] == ["a", "c"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Child(1).a = 2


def test_what_it_does_not_make_is_refused_at_definition() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="inherit"):
        records.frozen(type("C", (Plain,), {"__annotations__": {"a": "int"}}))
    with pytest.raises(ValueError, match="mandatory"):
        records.frozen(type("C", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))

    class UsesSuper:
        __annotations__ = {"a": "int"}

        def __repr__(self) -> str:
            return super().__repr__()

    with pytest.raises(TypeError, match="super"):
        records.frozen(UsesSuper)


def test_the_read_path_classes_are_value_classes() -> None:
    # What show, list and note define at start-up (tests/test_startup.py
    # checks that they do not import attrs).
    from petitions.domain import commands, values
    from petitions.views import PetitionView
    from workflows.model import Workflow

    for cls in (Workflow, values.Petitioner, values.Actor, PetitionView, commands.Note,
                commands.Command):
        assert records.fields_of(cls) is not None and "__record_fields__" in vars(cls)
