"""The handling commands the JSON API offers, read from the library.

Each command of the workflow vocabulary becomes one route,
``POST /api/v1/petitions/{id}/{command}``, whose body is the command's fields.
When the library has a command table (``petitions.domain.commands.COMMANDS``:
one frozen attrs class per command, run by ``PetitionService.execute``), the
bodies are those classes.  Until then they are made here from the signatures
of the service's methods (one per command, same name), so the routes follow
the library either way and never need editing by hand.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from petitions.domain.values import Actor
from workflows.vocabulary import COMMANDS as VOCABULARY

#: Parameters every command method takes that are not the command's fields.
_COMMON = ("self", "petition_id", "actor", "at", "expected_version")


@attrs.frozen
class CommandSpec:
    """One command as the API offers it."""

    name: str
    help: str
    body: type[Any]
    #: Runs the command: (service, petition id, body, actor, at, expected_version).
    run: Callable[[Any, UUID, Any, Actor, datetime | None, int | None], Any]


def _json_type(hint: Any) -> Any:
    """The type a JSON body uses for a method's parameter type."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        parts = tuple(_json_type(a) for a in typing.get_args(hint))
        if UUID in typing.get_args(hint) and str in typing.get_args(hint):
            parts = tuple(p for p in parts if p is not UUID)
        if len(parts) == 1:
            return parts[0]
        out: Any = parts[0]
        for p in parts[1:]:
            out = out | p
        return out
    if origin in (collections.abc.Sequence, list, tuple):
        (inner, *_rest) = typing.get_args(hint) or (str,)
        return list[_json_type(inner)]  # type: ignore[misc]
    if hint is UUID:
        return str
    return hint


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _from_method(name: str, method: Callable[..., Any]) -> CommandSpec:
    from petitions import service as service_module

    hints = typing.get_type_hints(method, globalns=vars(service_module))
    fields: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    required = []
    optional = []
    for pname, param in inspect.signature(method).parameters.items():
        if pname in _COMMON:
            continue
        hint = _json_type(hints[pname])
        annotations[pname] = hint
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        else:
            default = param.default
            if isinstance(default, tuple | list):
                default = attrs.Factory(list)
            optional.append((pname, default))
    for pname in required:
        fields[pname] = attrs.field(type=annotations[pname])
    for pname, default in optional:
        fields[pname] = attrs.field(type=annotations[pname], default=default)
    body = attrs.make_class(f"{_camel(name)}Body", fields, frozen=True)
    body.__annotations__ = {k: annotations[k] for k in fields}
    body.__doc__ = f"The fields of the {name!r} command."
    doc = inspect.getdoc(method) or name
    param_names = tuple(fields)

    def run(svc: Any, pid: UUID, data: Any, actor: Actor, at: datetime | None,
            expected_version: int | None) -> Any:
        kwargs = {k: getattr(data, k) for k in param_names}
        return getattr(svc, name)(pid, actor=actor, at=at, expected_version=expected_version,
                                  **kwargs)

    return CommandSpec(name=name, help=doc.split("\n\n")[0], body=body, run=run)


def _from_table(name: str, command: type[Any]) -> CommandSpec:
    def run(svc: Any, pid: UUID, data: Any, actor: Actor, at: datetime | None,
            expected_version: int | None) -> Any:
        return svc.execute(pid, data, actor=actor, at=at, expected_version=expected_version)

    return CommandSpec(name=name, help=str(getattr(command, "help", name)), body=command,
                       run=run)


def command_specs() -> Mapping[str, CommandSpec]:
    """Every handling command, by its vocabulary name."""
    try:
        from petitions.domain import commands as table  # type: ignore[attr-defined]
    except ImportError:
        table = None
    found: Mapping[str, type[Any]] | None = getattr(table, "COMMANDS", None)
    if found:
        return {name: _from_table(name, cls) for name, cls in sorted(found.items())}
    from petitions.service import PetitionService

    return {name: _from_method(name, getattr(PetitionService, name))
            for name in sorted(VOCABULARY)}
