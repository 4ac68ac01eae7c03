"""One generic way to store ``attrs`` values inside events.

eventsourcing's JSON transcoder looks transcodings up by exact type.  Rather
than hand-write one per value class, :class:`AttrsTranscoding` turns any
attrs class into plain data with ``cattrs`` and back, and
:func:`register_values` registers it for every attrs class of the given
modules.  The stored name of each type (``attrs:ClassName``) is part of the
stored history: keep it when a class moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import ModuleType
from typing import Any
from uuid import UUID

import attrs
import cattrs
from eventsourcing.persistence import JSONTranscoder, Transcoding

_converter = cattrs.Converter()
# Nested datetimes and UUIDs are left as objects by unstructure; the JSON
# transcoder then encodes them with its own transcodings and hands them back
# decoded, so structuring only has to accept them (or their text forms).
_converter.register_unstructure_hook(datetime, lambda v: v)
_converter.register_structure_hook(
    datetime, lambda v, _: v if isinstance(v, datetime) else datetime.fromisoformat(v)
)
_converter.register_unstructure_hook(UUID, lambda v: v)
_converter.register_structure_hook(UUID, lambda v, _: v if isinstance(v, UUID) else UUID(v))


class AttrsTranscoding(Transcoding):
    """Transcode instances of one attrs class through cattrs."""

    def __init__(self, cls: type[Any]) -> None:
        if not attrs.has(cls):
            raise TypeError(f"{cls!r} is not an attrs class")
        self.type = cls
        self.name = f"attrs:{cls.__name__}"

    def encode(self, obj: Any) -> Any:
        return _converter.unstructure(obj, unstructure_as=self.type)

    def decode(self, data: Any) -> Any:
        upcast = getattr(self.type, "upcast", None)
        if upcast is not None and isinstance(data, dict):
            data = upcast(data)
        return _converter.structure(data, self.type)


def attrs_classes(modules: Iterable[ModuleType]) -> list[type[Any]]:
    """Every attrs class defined in ``modules``."""
    found: list[type[Any]] = []
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and attrs.has(value)
                    and value.__module__ == module.__name__):
                found.append(value)
    return found


def register_values(transcoder: JSONTranscoder, modules: Iterable[ModuleType]) -> None:
    """Register :class:`AttrsTranscoding` for every attrs class of ``modules``."""
    for cls in attrs_classes(modules):
        transcoder.register(AttrsTranscoding(cls))


def to_plain(value: Any) -> Any:
    """A JSON-ready form of a value: attrs → dict, UUID → str, datetime → ISO."""
    if attrs.has(type(value)):
        return {k: to_plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
