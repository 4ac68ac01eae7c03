"""Frozen value classes that cost nothing to define: ``attrs.frozen``'s
behaviour without its start-up cost.

``attrs`` writes the methods of each class it decorates as source text and
compiles it, which costs about half a millisecond a class; a command that
reads a petition defines some thirty value classes (workflow definitions,
values carried by events, views, privacy) and imports ``attrs`` itself
(another ten milliseconds), a third of the start-up of ``petitions show``
(issue 12, point 6; docs/benchmarks.md).  The classes of the read path are
decorated with :func:`frozen` from here instead, which makes the same class
from a few shared functions:

* ``__init__`` (positional or keyword arguments in field order, defaults,
  factories, converters, then validators; a private field ``_x`` is passed as
  ``x`` unless it names its ``alias``), ``__repr__`` (fields with ``repr=False`` left out),
  ``__eq__`` and ``__hash__`` (of the fields, between instances of the same
  class; none with ``eq=False``), slots (and a weak-reference slot),
  ``__match_args__``, pickling, and assignment refused with
  ``attrs.exceptions.FrozenInstanceError`` — as ``attrs.frozen`` makes them;
  names the class body lists in ``__slots__`` become slots that are no
  field (not compared, shown, pickled or set by ``__init__``);
* a class whose instances are made often (:data:`COMPILE_AFTER`) is then
  given an ``__init__`` compiled for its fields, as ``attrs`` writes one (a
  view of seventy fields is made three times faster): the cost of compiling
  is paid only by the classes a long-running process makes many of;
* a method the class defines itself is kept (``attrs``' ``auto_detect``);
* ``attrs.fields``, ``attrs.has``, ``attrs.asdict`` and ``attrs.evolve``
  keep working: the class's ``__attrs_attrs__`` is made (by ``attrs``) when
  it is first asked for, so ``attrs`` is imported only by code that uses it.

To the type checker :func:`frozen` and :func:`field` *are* ``attrs.frozen``
and ``attrs.field`` (its attrs plugin types the classes), so only what this
module implements may be used: ``frozen`` with or without ``eq``; ``field``
with ``default``, ``factory``, ``converter``, one ``validator``, ``repr``,
``eq``, ``alias``, ``metadata``; inheritance from one other value class.
(Anything else is a type error to ``attrs`` or refused here, at definition.)
:func:`fields`, :func:`asdict`, :func:`evolve` and :func:`required` are what
``attrs`` offers for either kind of class, without importing it for these.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

T = TypeVar("T")


class _Nothing:
    """No default (``attrs.NOTHING``)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


class Field:
    """One field of a value class (what ``attrs.field`` takes, and its name)."""

    __slots__ = ("alias", "converter", "default", "eq", "explicit_alias", "factory",
                 "init", "metadata", "name", "repr", "validator")

    def __init__(self, *, default: Any = NOTHING, factory: Callable[[], Any] | None = None,
                 converter: Callable[[Any], Any] | None = None,
                 validator: Callable[[Any, Any, Any], Any] | None = None, repr: bool = True,
                 eq: bool = True, alias: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if default is not NOTHING and factory is not None:
            raise ValueError("give a default or a factory, not both")
        self.name = ""
        self.alias = alias or ""
        self.explicit_alias = alias is not None
        self.default = default
        self.factory = factory
        self.converter = converter
        self.validator = validator
        self.repr = repr
        self.eq = eq
        self.init = True
        self.metadata = dict(metadata or {})

    @property
    def has_default(self) -> bool:
        return self.default is not NOTHING or self.factory is not None

    def value(self) -> Any:
        """The default value (made by the factory, if any)."""
        return self.factory() if self.factory is not None else self.default


def _field(*, default: Any = NOTHING, factory: Callable[[], Any] | None = None,
           converter: Callable[[Any], Any] | None = None,
           validator: Callable[[Any, Any, Any], Any] | None = None, repr: bool = True,
           eq: bool = True, alias: str | None = None,
           metadata: dict[str, Any] | None = None) -> Any:
    """A field with more than a default (``attrs.field``'s arguments; one
    ``validator(instance, field, value)``, run once every field is set)."""
    return Field(default=default, factory=factory, converter=converter, validator=validator,
                 repr=repr, eq=eq, alias=alias, metadata=metadata)


#: Where a value class keeps its fields.
_FIELDS = "__record_fields__"


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _uses_class_cell(value: Any) -> bool:
    """Whether a function of the class body refers to ``__class__`` (``super()``),
    which a class remade with slots would leave pointing at the old class."""
    for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None),
               getattr(value, "fset", None)):
        code = getattr(fn, "__code__", None)
        if code is not None and "__class__" in code.co_freevars:
            return True
    return False


def _frozen_error(self: Any, *args: Any) -> None:
    from attrs.exceptions import FrozenInstanceError

    raise FrozenInstanceError


class _LazyAttrsFields:
    """``__attrs_attrs__`` of a value class, made by ``attrs`` on first use
    (``attrs.fields``, ``attrs.has``, ``attrs.asdict``, ``attrs.evolve``)."""

    def __init__(self, cls_name: str, eq: bool) -> None:
        self.cls_name = cls_name
        self.eq = eq
        self.owner: type[Any] | None = None

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        import inspect

        import attrs

        cls = self.owner
        assert cls is not None
        fields: tuple[Field, ...] = cls.__dict__[_FIELDS]
        annotations: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):  # a base's fields, then the class's own
            annotations.update(inspect.get_annotations(klass))
        body: dict[str, Any] = {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__annotations__": {f.name: annotations[f.name] for f in fields}}
        for f in fields:
            body[f.name] = attrs.field(
                default=attrs.Factory(f.factory) if f.factory is not None else
                attrs.NOTHING if f.default is NOTHING else f.default,
                converter=f.converter, validator=f.validator, repr=f.repr, eq=f.eq,
                alias=f.alias if f.explicit_alias else None, metadata=f.metadata or None)
        made = attrs.fields(attrs.frozen(type(cls.__name__, (), body), eq=self.eq))
        type.__setattr__(cls, "__attrs_attrs__", made)
        return made


def _frozen(maybe_cls: type[T] | None = None, *, eq: bool = True) -> Any:
    """``attrs.frozen`` (with ``eq``), made without generating code."""

    def wrap(cls: type[T]) -> type[T]:
        return _make(cls, eq)

    return wrap if maybe_cls is None else wrap(maybe_cls)


def _make(cls: type[T], eq: bool) -> type[T]:
    bases = [b for b in cls.__bases__ if b is not object]
    if any(_FIELDS not in b.__dict__ for b in bases) or len(bases) > 1:
        raise TypeError(f"{cls.__qualname__}: a value class may only inherit from one "
                        "other value class (use attrs for more)")
    own = dict(cls.__dict__)
    inherited: tuple[Field, ...] = bases[0].__dict__[_FIELDS] if bases else ()
    fields: list[Field] = []
    for name, annotation in own.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        given = own.pop(name, NOTHING)
        f = given if isinstance(given, Field) else Field(default=given)
        f.name = name
        if not f.explicit_alias:
            f.alias = name.lstrip("_")
        fields.append(f)
    mine = {f.name for f in fields}
    new_slots = tuple(f.name for f in fields if f.name not in {g.name for g in inherited})
    fields = [f for f in inherited if f.name not in mine] + fields
    for before, f in itertools.pairwise(fields):
        if before.has_default and not f.has_default:
            raise ValueError(f"{cls.__qualname__}.{f.name}: no mandatory field may follow "
                             "one with a default")
    for name, value in own.items():
        if isinstance(value, Field):
            raise TypeError(f"{cls.__qualname__}.{name}: a field needs an annotation")
        if _uses_class_cell(value):
            raise TypeError(f"{cls.__qualname__}.{name}: super() and __class__ are not "
                            "supported in a value class (use attrs)")
    own.pop("__dict__", None)
    own.pop("__weakref__", None)
    # Slots the class declares itself hold no field (e.g. a cache of its own):
    # kept, without their class-level descriptors (remade with the class).
    declared = own.pop("__slots__", ())
    extra = (declared,) if isinstance(declared, str) else tuple(declared)
    for name in extra:
        if name in mine or name in {g.name for g in inherited}:
            raise TypeError(f"{cls.__qualname__}.{name}: a field is a slot already")
        own.pop(name, None)
    names = tuple(f.name for f in fields)
    new_slots = (*extra, *new_slots)
    own["__slots__"] = new_slots if bases else (*new_slots, "__weakref__")
    own["__qualname__"] = cls.__qualname__
    own[_FIELDS] = tuple(fields)
    own["__match_args__"] = names
    owner: list[type[Any]] = []
    methods = _methods(cls.__qualname__, tuple(fields), eq, owner)
    for name, method in methods.items():
        if name not in own:  # the class's own wins (attrs' auto_detect)
            own[name] = method
    lazy = _LazyAttrsFields(cls.__name__, eq)
    own["__attrs_attrs__"] = lazy
    meta: Any = type(cls)
    made: type[T] = meta(cls.__name__, cls.__bases__, own)
    lazy.owner = made
    owner.append(made)
    return made


#: How many instances of a value class are made by the shared ``__init__``
#: before the class is given one compiled for its fields (see :func:`_compiled_init`).
COMPILE_AFTER = 64


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None] | None:
    """How to set the slot ``name`` of ``cls``'s instances without looking it
    up each time (its member descriptor's ``__set__``), or None."""
    import types

    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            setter: Callable[[Any, Any], None] | None = (
                found.__set__ if isinstance(found, types.MemberDescriptorType) else None)
            return setter
    return None


def _compiled_init(cls: type[Any], qualname: str,
                   fields: tuple[Field, ...]) -> Callable[..., None] | None:
    """An ``__init__`` for exactly these fields, compiled: what the shared one
    does (positional or keyword arguments in field order, defaults, factories,
    converters, then validators), with Python binding the arguments — about
    three times faster for a class of many fields (a petition's view has
    seventy).  Made only for a class whose instances are made often (the cost
    of compiling is paid by what start-up does not need); ``None`` when an
    alias is not a plain identifier (the shared one serves then)."""
    import keyword

    scope: dict[str, Any] = {"_rec_set": object.__setattr__, "_rec_N": NOTHING}
    params: list[str] = []
    body: list[str] = []
    checks: list[str] = []
    for i, f in enumerate(fields):
        a = f.alias
        if not a.isidentifier() or keyword.iskeyword(a) or a.startswith("_rec_"):
            return None
        if f.factory is not None:
            scope[f"_rec_f{i}"] = f.factory
            params.append(f"{a}=_rec_N")
            body.append(f"    if {a} is _rec_N:\n        {a} = _rec_f{i}()\n")
        elif f.default is not NOTHING:
            scope[f"_rec_d{i}"] = f.default
            params.append(f"{a}=_rec_d{i}")
        else:
            params.append(a)
        if f.converter is not None:
            scope[f"_rec_c{i}"] = f.converter
            body.append(f"    {a} = _rec_c{i}({a})\n")
        setter = _slot_setter(cls, f.name)
        if setter is not None:  # the slot's own setter: no look-up by name
            scope[f"_rec_s{i}"] = setter
            body.append(f"    _rec_s{i}(_rec_self, {a})\n")
        else:
            body.append(f"    _rec_set(_rec_self, {f.name!r}, {a})\n")
        if f.validator is not None:
            scope[f"_rec_v{i}"], scope[f"_rec_F{i}"] = f.validator, f
            checks.append(f"    _rec_v{i}(_rec_self, _rec_F{i}, {a})\n")
    source = (f"def __init__(_rec_self, {', '.join(params)}):\n"
              + "".join(body) + "".join(checks) + "    return None\n")
    exec(compile(source, f"<value class {qualname}>", "exec"), scope)
    made: Callable[..., None] = scope["__init__"]
    made.__qualname__ = f"{qualname}.__init__"
    return made


def _methods(qualname: str, fields: tuple[Field, ...], eq: bool,
             owner: Sequence[type[Any]] = ()) -> dict[str, Any]:
    set_slot = object.__setattr__
    n = len(fields)
    names = tuple(f.name for f in fields)
    shown = tuple(f.name for f in fields if f.repr)
    compared = tuple(f.name for f in fields if f.eq)
    checked = tuple(f for f in fields if f.validator is not None)
    where = f"{qualname}.__init__()"

    plan = tuple((f.name, f.alias, f.default, f.factory, f.converter) for f in fields)

    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made == COMPILE_AFTER and owner:
            # Made often: the class gets an __init__ compiled for its fields
            # (this instance is still made here).
            cls = owner[0]
            if cls.__dict__.get("__init__") is __init__:
                compiled = _compiled_init(cls, qualname, fields)
                if compiled is not None:
                    type.__setattr__(cls, "__init__", compiled)
        if args:
            if len(args) > n:
                raise TypeError(f"{where} takes {n + 1} positional arguments but "
                                f"{len(args) + 1} were given")
            for (_, alias, *_rest), value in zip(plan, args, strict=False):
                if alias in kwargs:
                    raise TypeError(f"{where} got multiple values for argument '{alias}'")
                kwargs[alias] = value
        for name, alias, default, factory, converter in plan:
            if alias in kwargs:
                value = kwargs.pop(alias)
            elif factory is not None:
                value = factory()
            elif default is not NOTHING:
                value = default
            else:
                raise TypeError(f"{where} missing 1 required positional argument: '{alias}'")
            if converter is not None:
                value = converter(value)
            set_slot(self, name, value)
        if kwargs:
            raise TypeError(f"{where} got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        for f in checked:
            f.validator(self, f, getattr(self, f.name))  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__.rsplit('>.', 1)[-1]}({inner})"

    def __getstate__(self: Any) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}

    def __setstate__(self: Any, state: dict[str, Any]) -> None:
        for name, value in state.items():
            set_slot(self, name, value)

    methods: dict[str, Any] = {
        "__init__": __init__, "__repr__": __repr__, "__setattr__": _frozen_error,
        "__delattr__": _frozen_error, "__getstate__": __getstate__,
        "__setstate__": __setstate__}
    if eq:
        seed = hash(qualname)

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is not self.__class__:
                return NotImplemented
            result: Any = True
            for name in compared:
                result = getattr(self, name) == getattr(other, name)
                if not result:
                    return result
            return result

        def __hash__(self: Any) -> int:
            return hash((seed, *(getattr(self, name) for name in compared)))

        methods["__eq__"] = __eq__
        methods["__hash__"] = __hash__
    for name, method in methods.items():
        method.__qualname__ = f"{qualname}.{name}"
    return methods


if TYPE_CHECKING:
    from attrs import field as field
    from attrs import frozen as frozen
else:
    frozen, field = _frozen, _field


# ---------------------------------------------------------------- helpers
def fields_of(cls: type[Any]) -> Sequence[Any] | None:
    """The fields (``name``, ``alias``, ``init``) of a value class of this
    module or an ``attrs`` class; ``None`` for any other class.  (Without
    importing ``attrs`` when it is not: then no class is an attrs class.)"""
    found: Sequence[Any] | None = cls.__dict__.get(_FIELDS) if isinstance(cls, type) else None
    if found is not None:
        return found
    if "attr" not in sys.modules:
        return None
    import attrs

    return attrs.fields(cls) if isinstance(cls, type) and attrs.has(cls) else None


def asdict(inst: Any, *, recurse: bool = True) -> dict[str, Any]:
    """``attrs.asdict(inst, recurse=recurse)`` (collections keep their type),
    for either kind of class."""
    fields = fields_of(type(inst))
    if fields is None:
        raise TypeError(f"{type(inst).__name__} is not a value class")
    if not recurse:
        return {f.name: getattr(inst, f.name) for f in fields}
    found: dict[str, Any] = plain(inst)
    return found


#: Values ``attrs.asdict`` keeps as they are, by exact type.
_AS_IS = frozenset({str, int, float, bool, type(None), datetime, UUID})
#: The field names of each value class met (see :func:`plain`).
_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}
#: Types met that are no value class (tuples, lists, …).
_NOT_VALUES: set[type[Any]] = set()


def plain(value: Any) -> Any:
    """What ``attrs.asdict`` makes of ``value`` (a value class of either kind
    becomes a dict of its fields, recursively; collections keep their type;
    anything else stays as it is): the same dicts and collections, faster,
    as events are encoded with it (``petitions.transcoding``)."""
    cls = value.__class__
    if cls in _AS_IS:
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if cls not in _NOT_VALUES:
            found = fields_of(cls)
            if found is not None:
                _FIELD_NAMES[cls] = tuple(f.name for f in found)
                return plain(value)
            _NOT_VALUES.add(cls)
        if isinstance(value, (tuple, list, set, frozenset)):
            items = [plain(v) for v in value]
            try:  # the collection's own type, as attrs.asdict keeps it
                return cls(items)
            except TypeError:
                return cls(*items)  # a named tuple
        if isinstance(value, dict):
            return {plain(k): plain(v) for k, v in value.items()}
        return value
    out = {}
    for name in names:
        v = getattr(value, name)
        out[name] = v if v.__class__ in _AS_IS else plain(v)
    return out


#: Per value class met by :func:`evolve`: its ``__init__`` fields' (alias, name).
_INIT_FIELDS: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def evolve(inst: T, **changes: Any) -> T:
    """``attrs.evolve(inst, **changes)``, for either kind of class."""
    cls = type(inst)
    pairs = _INIT_FIELDS.get(cls)
    if pairs is None:
        fields = fields_of(cls)
        if fields is None:
            raise TypeError(f"{cls.__name__} is not a value class")
        pairs = _INIT_FIELDS[cls] = tuple((f.alias, f.name) for f in fields if f.init)
    for alias, name in pairs:
        if alias not in changes:
            changes[alias] = getattr(inst, name)
    made: T = cls(**changes)
    return made


def fields(cls: type[Any]) -> Sequence[Any]:
    """``attrs.fields(cls)`` (their ``name``, ``alias``, ``init``, ``metadata``
    …), for either kind of class."""
    found = fields_of(cls)
    if found is None:
        raise TypeError(f"{cls!r} is not a value class")
    return found


def required(f: Any) -> bool:
    """Whether a field (of either kind of class) has neither a default nor a factory."""
    if isinstance(f, Field):
        return not f.has_default
    import attrs

    return f.default is attrs.NOTHING


def made_by_factory(f: Any) -> bool:
    """Whether a field's default is made by a factory (``attrs.Factory``)."""
    if isinstance(f, Field):
        return f.factory is not None
    import attrs

    return isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
