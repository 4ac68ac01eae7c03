"""The handling commands the JSON API offers: the library's command table.

Each command of :data:`petitions.domain.commands.COMMANDS` (one frozen attrs
class per command, the table the CLI is generated from too) becomes one route,
``POST /api/v1/petitions/{id}/{name}``, whose body is the command's fields,
decoded into the command class itself and run by ``PetitionService.execute``.
A command added to the table is served, and documented in the OpenAPI
document, without a change here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from petitions.domain.values import Actor


@attrs.frozen
class CommandSpec:
    """One command as the API offers it."""

    name: str
    help: str
    body: type[Any]
    #: Runs the command: (service, petition id, body, actor, at, expected_version).
    run: Callable[[Any, UUID | str, Any, Actor, datetime | None, int | None], Any]


def _run(svc: Any, pid: UUID | str, data: Any, actor: Actor, at: datetime | None,
         expected_version: int | None) -> Any:
    return svc.execute(pid, data, actor=actor, at=at, expected_version=expected_version)


def command_specs() -> Mapping[str, CommandSpec]:
    """Every handling command of the command table, by its vocabulary name."""
    from petitions.domain.commands import COMMANDS

    return {name: CommandSpec(name=name, help=str(getattr(cls, "help", name)), body=cls,
                              run=_run)
            for name, cls in sorted(COMMANDS.items())}


def field_help(cls: type[Any]) -> dict[str, str]:
    """The English help of each field of an attrs class that has one (the command
    table's field metadata, the same text ``--help`` shows)."""
    if not attrs.has(cls):
        return {}
    return {f.name: str(f.metadata["help"]) for f in attrs.fields(cls)
            if f.metadata.get("help")}
