"""Who may run the store-wide operations that write (``petitions/data/operations.toml``).

Petition commands are granted per workflow and personal-data commands by the
privacy policy; the operations here (open a campaign, load the demo, rebuild the
read models, create the tables, import an audit export) are granted once, here.
Auditors are refused every one of them, whatever the file says.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import attrs

from petitions.domain.petition import READ_ONLY_ROLES
from petitions.domain.values import Actor
from petitions.errors import PermissionDenied
from petitions.logs import get_logger
from workflows.vocabulary import ROLES

log = get_logger("petitions")

#: The operations the policy grants.
OPERATIONS = ("campaign_open", "demo", "views_rebuild", "db_init", "audit_import")
#: The views the policy grants (``[read]``): read-only, so auditors may be granted them.
READS = ("dashboard",)


@attrs.frozen
class OperationsPolicy:
    grants: dict[str, tuple[str, ...]]
    #: ``[read]``: view → roles that may see it (``dashboard``).
    reads: dict[str, tuple[str, ...]] = attrs.field(factory=dict)

    def may_read(self, role: str, view: str) -> bool:
        """Whether ``role`` may see ``view`` (one of :data:`READS`)."""
        return role in self.reads.get(view, ())

    def check_read(self, role: str, view: str) -> None:
        """Raise (and log) :class:`PermissionDenied` unless ``role`` may see ``view``."""
        if not self.may_read(role, view):
            exc = PermissionDenied(role, view, self.reads.get(view, ()))
            log.warning("refused: %s", exc)
            raise exc

    def roles_for(self, operation: str) -> tuple[str, ...]:
        return self.grants.get(operation, ())

    def may(self, role: str, operation: str) -> bool:
        return role not in READ_ONLY_ROLES and role in self.roles_for(operation)

    def check(self, actor: Actor, operation: str) -> None:
        """Raise (and log) :class:`PermissionDenied` unless ``actor`` may."""
        if not isinstance(actor, Actor) or not self.may(actor.role, operation):
            role = actor.role if isinstance(actor, Actor) else repr(actor)
            exc = PermissionDenied(role, operation.replace("_", " "),
                                   self.roles_for(operation))
            log.warning("refused: %s (actor %s)", exc, getattr(actor, "id", None))
            raise exc


def parse_operations(text: str) -> OperationsPolicy:
    """Read and check a policy given as TOML text."""
    data = tomllib.loads(text)
    tables = []
    for section, known in (("roles", OPERATIONS), ("read", READS)):
        grants: dict[str, tuple[str, ...]] = {}
        for operation, granted in data.get(section, {}).items():
            if operation not in known:
                raise ValueError(f"operations.toml: {section}.{operation}: unknown "
                                 f"{'operation' if section == 'roles' else 'view'}; "
                                 f"known: {', '.join(known)}")
            if not isinstance(granted, list) or not all(isinstance(r, str) for r in granted):
                raise ValueError(f"operations.toml: {section}.{operation} must be a list "
                                 "of roles")
            unknown = set(granted) - ROLES
            if unknown:
                raise ValueError(f"operations.toml: {section}.{operation}: unknown role(s) "
                                 f"{', '.join(sorted(unknown))}")
            grants[operation] = tuple(granted)
        tables.append(grants)
    return OperationsPolicy(tables[0], tables[1])


@cache
def operations_policy() -> OperationsPolicy:
    """The shipped policy."""
    text = Path(__file__).with_name("data").joinpath("operations.toml").read_text("utf-8")
    return parse_operations(text)


def check_writer(actor: Actor, what: str) -> None:
    """Refuse a read-only role (an auditor) ``what`` — for jobs that write as the
    system (the deadline sweep) but are started by someone."""
    if not isinstance(actor, Actor) or actor.role in READ_ONLY_ROLES:
        role = actor.role if isinstance(actor, Actor) else repr(actor)
        exc = PermissionDenied(role, what, ())
        log.warning("refused: %s (actor %s)", exc, getattr(actor, "id", None))
        raise exc


def check(actor: Actor, operation: str) -> None:
    """Refuse unless ``actor`` may run ``operation`` (see the module text)."""
    operations_policy().check(actor, operation)
