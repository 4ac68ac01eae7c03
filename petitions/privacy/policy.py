"""The privacy policy: which roles may reveal, erase, retain and manage keys,
and which matter types hide the petitioner (``petitions/data/privacy.toml``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from petitions.domain.values import Actor
from petitions.errors import PermissionDenied
from petitions.logs import get_logger
from petitions.taxonomy import taxonomy
from workflows import tomlcache
from workflows.records import frozen
from workflows.vocabulary import ROLES

log = get_logger("petitions.privacy")

#: The commands the policy grants.
PRIVACY_COMMANDS = ("reveal", "erase", "retain", "keys")


@frozen
class PrivacyPolicy:
    grants: dict[str, tuple[str, ...]]
    confidential_matter_types: frozenset[str]
    confidential_roles: frozenset[str]
    confidential_same_unit: bool

    def roles_for(self, command: str) -> tuple[str, ...]:
        return self.grants.get(command, ())

    def may(self, role: str, command: str) -> bool:
        return role in self.roles_for(command)

    def check(self, actor: Actor, command: str, subject: str = "") -> None:
        """Raise (and log) :class:`PermissionDenied` unless ``actor`` may ``command``."""
        if not self.may(actor.role, command):
            exc = PermissionDenied(actor.role, command, self.roles_for(command))
            log.warning("refused: %s (actor %s%s)", exc, actor.id,
                        f", {subject}" if subject else "")
            raise exc

    def is_confidential(self, matter_type: str) -> bool:
        return matter_type in self.confidential_matter_types

    def may_see_confidential(self, viewer: Actor | None, unit: str | None,
                             lead_unit: str | None) -> bool:
        if viewer is None or viewer.role not in self.confidential_roles:
            return False
        if not self.confidential_same_unit:
            return True
        return bool(unit) and unit == lead_unit


def _strings(data: Any, where: str) -> tuple[str, ...]:
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ValueError(f"privacy.toml: {where} must be a list of strings")
    return tuple(data)


def parse_policy(text: str) -> PrivacyPolicy:
    """Read and check a policy given as TOML text."""
    data = tomlcache.loads(text)
    roles = data.get("roles", {})
    grants: dict[str, tuple[str, ...]] = {}
    for command, granted in roles.items():
        if command not in PRIVACY_COMMANDS:
            raise ValueError(f"privacy.toml: roles.{command}: unknown command; "
                             f"known: {', '.join(PRIVACY_COMMANDS)}")
        grants[command] = _strings(granted, f"roles.{command}")
        unknown = set(grants[command]) - ROLES
        if unknown:
            raise ValueError(f"privacy.toml: roles.{command}: unknown role(s) "
                             f"{', '.join(sorted(unknown))}")
    conf = data.get("confidential", {})
    matter_types = _strings(conf.get("matter_types", []), "confidential.matter_types")
    for code in matter_types:
        taxonomy().check("matter_types", code)
    conf_roles = _strings(conf.get("roles", []), "confidential.roles")
    if set(conf_roles) - ROLES:
        raise ValueError("privacy.toml: confidential.roles: unknown role(s)")
    return PrivacyPolicy(grants=grants, confidential_matter_types=frozenset(matter_types),
                         confidential_roles=frozenset(conf_roles),
                         confidential_same_unit=bool(conf.get("same_unit", True)))


@cache
def privacy_policy() -> PrivacyPolicy:
    """The shipped policy."""
    folder = os.path.dirname(os.path.dirname(__file__))
    with open(os.path.join(folder, "data", "privacy.toml"), encoding="utf-8") as fh:
        text = fh.read()
    return parse_policy(text)
