"""Event classes made frozen dataclasses without compiling code at import.

eventsourcing makes every domain event class a frozen dataclass (its
``MetaDomainEvent`` calls :func:`dataclasses.dataclass`), and the dataclass
machinery writes the source of six methods per class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) and
compiles it with ``exec``: for ``Petition``'s forty event classes that is the
largest single cost of starting the ``petitions`` command.

:class:`EventClass` is a metaclass for such event classes that gives each
the same dataclass — the same fields (``dataclasses.fields``), ``__init__``
signature, ``__match_args__``, ``__doc__``, and methods that behave the same
(equality and hash over the fields, the same ``repr``, frozen instances, the
attributes set in field order, so an event's stored state is byte for byte
the same) — from closures made once per class rather than source compiled per
class.  eventsourcing skips a class that already holds ``__dataclass_fields__``,
which is how the dataclass step is left out.

Only the plain case is done this way: fields declared by annotation with at
most a default value.  A class that declares a dunder method of its own, a
``ClassVar``, ``InitVar`` or ``KW_ONLY`` annotation, a ``dataclasses.field()``
or a mutable default, or that inherits a field that is not a plain one, is
made a dataclass by :func:`dataclasses.dataclass` exactly as eventsourcing
does.  ``tests/test_event_classes.py`` checks every event class against the
dataclass the library would have made.
"""

from __future__ import annotations

import dataclasses
import inspect
import reprlib
from typing import Any

from eventsourcing.domain import MetaDomainEvent

#: Methods the dataclass machinery would write; a class that declares one of
#: these (or ``__post_init__``, ``__slots__``) is left to it.
_OWN_DUNDERS = frozenset({
    "__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__",
    "__post_init__", "__slots__", "__match_args__", "__lt__", "__le__", "__gt__", "__ge__",
})
_SPECIAL_ANNOTATIONS = ("ClassVar", "InitVar", "KW_ONLY")
_PLACEHOLDER = "__dataclass_fields__"
_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


class EventClass(MetaDomainEvent):
    """Metaclass of event classes: frozen dataclasses made without ``exec``."""

    def __new__(mcs, name: str, bases: tuple[type[Any], ...],
                cls_dict: dict[str, Any]) -> Any:
        plain = _is_plain(cls_dict)
        if plain:
            # Present before eventsourcing's dataclass step: that step is skipped.
            cls_dict = {**cls_dict, _PLACEHOLDER: {}}
        cls = super().__new__(mcs, name, bases, cls_dict)
        if plain and not _make_dataclass(cls):
            # Not a plain case after all: the dataclass machinery does it.
            del cls.__dataclass_fields__
            dataclasses.dataclass(frozen=True)(cls)
            cls.__signature__ = inspect.signature(cls.__init__)
        return cls


def _is_plain(cls_dict: dict[str, Any]) -> bool:
    if not _OWN_DUNDERS.isdisjoint(cls_dict) or _PLACEHOLDER in cls_dict:
        return False
    for name, annotation in cls_dict.get("__annotations__", {}).items():
        if not isinstance(annotation, str) or any(
                word in annotation for word in _SPECIAL_ANNOTATIONS):
            return False
        default = cls_dict.get(name, dataclasses.MISSING)
        if isinstance(default, dataclasses.Field) or (
                default is not dataclasses.MISSING and type(default).__hash__ is None):
            return False
    return True


def _plain_field(f: dataclasses.Field[Any]) -> bool:
    return (f._field_type is dataclasses._FIELD  # type: ignore[attr-defined]
            and f.default_factory is dataclasses.MISSING and f.init and f.repr
            and f.compare and f.hash is None and f.kw_only is False)


def _make_dataclass(cls: Any) -> bool:
    """Give ``cls`` what ``dataclasses.dataclass(frozen=True)`` would; False
    (and ``cls`` untouched but for its placeholder) where that is not plain."""
    fields: dict[str, dataclasses.Field[Any]] = {}
    for base in cls.__mro__[-1:0:-1]:
        base_fields = getattr(base, _PLACEHOLDER, None)
        if base_fields is not None:
            if not base.__dataclass_params__.frozen:
                return False
            for f in base_fields.values():
                fields[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        default = getattr(cls, name, dataclasses.MISSING)
        if isinstance(default, dataclasses.Field) or (
                default is not dataclasses.MISSING and type(default).__hash__ is None):
            return False  # inherited from a base: let the machinery judge it
        # As dataclasses makes a field of an annotation (``_get_field``).
        own: Any = dataclasses.field(default=default)
        own.name = name
        own.type = annotation
        own._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
        own.kw_only = False
        fields[name] = own
    if not all(_plain_field(f) for f in fields.values()):
        return False
    names = tuple(fields)
    parameters = [_SELF]
    seen_default = False
    for f in fields.values():
        if f.default is dataclasses.MISSING:
            if seen_default:
                return False  # "non-default argument follows default argument"
        else:
            seen_default = True
        parameters.append(_parameter(f))
    signature = inspect.Signature(parameters, return_annotation=None)
    defaults = {f.name: f.default for f in fields.values()
                if f.default is not dataclasses.MISSING}

    cls.__dataclass_fields__.update(fields)
    if not cls.__doc__:
        # As the dataclass machinery writes it (from the signature found now).
        cls.__doc__ = cls.__name__ + _text(inspect.signature(cls))
    methods = {
        "__init__": _init(cls, names, defaults),
        "__repr__": _repr(names),
        "__eq__": _eq(names),
        "__hash__": _hash(names),
        "__setattr__": _setattr(cls, frozenset(names)),
        "__delattr__": _delattr(cls, frozenset(names)),
    }
    for method_name, method in methods.items():
        method.__qualname__ = f"{cls.__qualname__}.{method_name}"
        setattr(cls, method_name, method)
    init: Any = cls.__init__
    init.__signature__ = signature
    init.__annotations__ = {**{f.name: f.type for f in fields.values()}, "return": None}
    setattr(cls, "__match_args__", names)  # noqa: B010
    cls.__signature__ = signature
    return True


#: Made once for the fields many classes share (the base events' fields) and
#: for the signatures many classes inherit: by ``id``, holding the object.
_parameters: dict[int, tuple[dataclasses.Field[Any], inspect.Parameter]] = {}
_texts: dict[int, tuple[inspect.Signature, str]] = {}


def _parameter(f: dataclasses.Field[Any]) -> inspect.Parameter:
    found = _parameters.get(id(f))
    if found is None or found[0] is not f:
        if f.default is dataclasses.MISSING:
            made = inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     annotation=f.type)
        else:
            made = inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     default=f.default, annotation=f.type)
        found = _parameters[id(f)] = (f, made)
    return found[1]


def _text(signature: inspect.Signature) -> str:
    found = _texts.get(id(signature))
    if found is None or found[0] is not signature:
        found = _texts[id(signature)] = (signature,
                                         str(signature).replace(" -> None", ""))
    return found[1]


#: No value given (a field's value may be None).
_MISSING: Any = object()


def _init(cls: Any, names: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    count = len(names)
    known = frozenset(names)
    setattr_ = object.__setattr__
    post_init = hasattr(cls, "__post_init__")  # inherited: eventsourcing checks the id
    # Whether setting a field is storing it in the instance's dict (no class
    # attribute of the name is a descriptor that would take the value).
    plain_dict = not any(hasattr(type(getattr(cls, name, None)), "__set__") for name in names)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if not args and known.issuperset(kwargs):
            # Every value by keyword, each a field (how events are made): set
            # in field order, a default for each one not given, in one update
            # of the new instance's dict when no field is a descriptor.
            get = kwargs.get
            values = {}
            for name in names:
                value = get(name, _MISSING)
                if value is _MISSING:
                    value = defaults.get(name, _MISSING)
                    if value is _MISSING:
                        break  # a required one is missing: said below
                values[name] = value
            else:
                if plain_dict and not self.__dict__:
                    self.__dict__.update(values)
                else:
                    for name, value in values.items():
                        setattr_(self, name, value)
                if post_init:
                    self.__post_init__()
                return
        if len(args) > count:
            raise TypeError(f"{cls.__name__}.__init__() takes {count + 1} positional "
                            f"arguments but {len(args) + 1} were given")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in known:
                raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword "
                                f"argument {key!r}")
            if key in values:
                raise TypeError(f"{cls.__name__}.__init__() got multiple values for "
                                f"argument {key!r}")
            values[key] = value
        missing = [n for n in names if n not in values and n not in defaults]
        if missing:
            raise TypeError(f"{cls.__name__}.__init__() missing {len(missing)} required "
                            f"argument{'s' if len(missing) > 1 else ''}: "
                            + ", ".join(map(repr, missing)))
        for name in names:  # in field order: the stored state's order
            setattr_(self, name, values[name] if name in values else defaults[name])
        if post_init:
            self.__post_init__()

    return __init__


def _repr(names: tuple[str, ...]) -> Any:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        return str(self.__class__.__qualname__ + "("
                + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")")

    return __repr__


def _eq(names: tuple[str, ...]) -> Any:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return (tuple(getattr(self, name) for name in names)
                    == tuple(getattr(other, name) for name in names))
        return NotImplemented

    return __eq__


def _hash(names: tuple[str, ...]) -> Any:
    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, name) for name in names))

    return __hash__


def _setattr(cls: Any, names: frozenset[str]) -> Any:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _delattr(cls: Any, names: frozenset[str]) -> Any:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
