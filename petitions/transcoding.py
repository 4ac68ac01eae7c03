"""One generic way to store value objects inside events.

eventsourcing's JSON transcoder looks transcodings up by exact type.  Rather
than hand-write one per value class, :class:`AttrsTranscoding` turns any
value class (:func:`workflows.records.frozen`, or an attrs class) into plain
data and back from its fields and their types (the values are flat records of
text, numbers, times, ids and tuples of them or of other values, so no
general converter library is needed on the path that reads a petition, and
attrs is not imported for it), and :func:`register_values` registers it for
every value class of the given modules.  The stored name of each type
(``attrs:ClassName``) is part of the stored history: keep it when a class moves.
A class may have a static ``upcast(data)`` that turns the stored data of an
older version into this version's form before it is structured.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from types import ModuleType
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding

from workflows.records import fields_of, plain

#: How one field's plain value becomes the field's value.
Structure = Callable[[Any], Any]


def _datetime(value: Any) -> datetime:
    # Nested datetimes and UUIDs are left as objects by encode; the JSON
    # transcoder encodes them with its own transcodings and hands them back
    # decoded, so structuring only has to accept them (or their text forms).
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _keep(value: Any) -> Any:
    return value


_SCALARS: dict[Any, Structure] = {str: str, int: int, float: float, bool: bool,
                                  datetime: _datetime, UUID: _uuid}


def _structure_for(tp: Any) -> Structure:
    """How to make a value of type ``tp`` from its plain form."""
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and fields_of(tp) is not None:
        return _Structurer.of(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (tuple, list, frozenset, set) and args:
        item = _structure_for(args[0])
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [_structure_for(a) for a in args]
            return lambda v: tuple(f(x) for f, x in zip(items, v, strict=True))
        return lambda v: origin(item(x) for x in v)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = _structure_for(rest[0])
            return lambda v: None if v is None else inner(v)
    return _keep


class _Structurer:
    """Makes instances of one attrs class from their plain form (a dict)."""

    _made: ClassVar[dict[type[Any], _Structurer]] = {}

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.fields: list[tuple[str, str, Structure]] | None = None

    @classmethod
    def of(cls, target: type[Any]) -> Callable[[Any], Any]:
        found = cls._made.get(target)
        if found is None:
            found = cls._made[target] = cls(target)
        return found

    def __call__(self, data: Any) -> Any:
        if isinstance(data, self.cls):
            return data
        if self.fields is None:  # the field types are resolved on first use
            hints = typing.get_type_hints(self.cls)
            self.fields = [(f.name, f.alias or f.name, _structure_for(hints.get(f.name, Any)))
                           for f in fields_of(self.cls) or () if f.init]
        kwargs = {alias: make(data[name]) for name, alias, make in self.fields
                  if name in data}
        return self.cls(**kwargs)


class AttrsTranscoding(Transcoding):
    """Transcode instances of one attrs class as a dict of its fields."""

    def __init__(self, cls: type[Any]) -> None:
        if fields_of(cls) is None:
            raise TypeError(f"{cls!r} is not an attrs class")
        self.type = cls
        self.name = f"attrs:{cls.__name__}"
        self._structure = _Structurer.of(cls)

    def encode(self, obj: Any) -> Any:
        # What ``attrs.asdict(obj)`` gives (nested attrs values become dicts,
        # collections lists; datetimes and UUIDs are left to the JSON
        # transcoder, see _datetime), without its generic machinery: events
        # of a bulk import encode several values each.
        return plain(obj)

    def decode(self, data: Any) -> Any:
        upcast = getattr(self.type, "upcast", None)
        if upcast is not None and isinstance(data, dict):
            data = upcast(data)
        return self._structure(data)


def attrs_classes(modules: Iterable[ModuleType]) -> list[type[Any]]:
    """Every attrs class defined in ``modules``."""
    found: list[type[Any]] = []
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == module.__name__
                    and fields_of(value) is not None):
                found.append(value)
    return found


def register_values(transcoder: JSONTranscoder, modules: Iterable[ModuleType]) -> None:
    """Register :class:`AttrsTranscoding` for every attrs class of ``modules``."""
    for cls in attrs_classes(modules):
        transcoder.register(AttrsTranscoding(cls))


def to_plain(value: Any) -> Any:
    """A JSON-ready form of a value: attrs → dict, UUID → str, datetime → ISO."""
    found = fields_of(type(value))
    if found is not None:
        return {f.name: to_plain(getattr(value, f.name)) for f in found}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
