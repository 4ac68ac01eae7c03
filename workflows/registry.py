"""Find workflow definitions by name, by version, or by content hash.

The shipped definitions live in ``workflows/definitions``; older versions of a
workflow stay there beside the current one, so a petition filed under version
1 is still interpreted under version 1 after version 2 ships.  Extra
directories (an office's own workflows) can be added, and definitions can be
registered from text (for instance, copies kept in the event store).

A definition is validated when it is first used, not when it is registered:
registering reads only its content hash and the ``name`` and ``version`` at
the top of the file, so that a command which needs one workflow does not
parse and check every shipped one on start-up.  (An invalid definition is
reported the first time it is asked for; ``all`` checks every current one.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from workflows.loader import digest, load_text

if TYPE_CHECKING:
    from pathlib import Path

    from workflows.model import Workflow

#: A top-level ``name = "…"`` or ``version = N`` line (TOML puts top-level keys
#: before the first table, so these lines are exactly the definition's own).
_TOP_KEY = re.compile(r"""^(name|version)[ \t]*=[ \t]*(?:"([^"\\\n]*)"|'([^'\n]*)'|(\d+))"""
                      r"[ \t]*(?:#[^\n]*)?$", re.MULTILINE)


class _Entry:
    """A registered definition: its text until it is first used, then its
    loaded, validated :class:`Workflow`."""

    __slots__ = ("source_name", "text", "workflow")

    def __init__(self, text: str, source_name: str, workflow: Workflow | None = None) -> None:
        self.text = text
        self.source_name = source_name
        self.workflow = workflow

    def load(self) -> Workflow:
        if self.workflow is None:
            self.workflow = load_text(self.text, source_name=self.source_name)
        return self.workflow


def _name_and_version(text: str) -> tuple[str, int] | None:
    """``name`` and ``version`` read from the top of a definition without
    parsing it, or None when they cannot be read that simply."""
    head = re.split(r"^[ \t]*\[", text, maxsplit=1, flags=re.MULTILINE)[0]
    if '"""' in head or "'''" in head:
        return None
    found: dict[str, str] = {}
    for match in _TOP_KEY.finditer(head):
        key, double, single, number = match.groups()
        value = double if double is not None else single if single is not None else number
        if key in found or value is None or (key == "name") != (number is None):
            return None
        found[key] = value
    if set(found) != {"name", "version"}:
        return None
    return found["name"], int(found["version"])


class UnknownWorkflow(LookupError):
    """No definition is known under that name, version or hash."""


def shipped_texts() -> list[tuple[str, str]]:
    """(file name, text) of every definition shipped with the package."""
    folder = os.path.join(os.path.dirname(__file__), "definitions")
    found = []
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".toml")):
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            found.append((f"workflows/definitions/{name}", fh.read()))
    return found


class Registry:
    """An index of workflow definitions, each validated on first use."""

    def __init__(self, workflows: Iterable[Workflow] = ()) -> None:
        self._by_hash: dict[str, _Entry] = {}
        self._by_name: dict[str, dict[int, _Entry]] = {}
        #: The current definition of each name asked for (every filing asks):
        #: made afresh when a definition is registered (``_generation``).
        self._current: dict[str, Workflow] = {}
        self._generation = 0
        for wf in workflows:
            self.add(wf)

    @classmethod
    def shipped(cls, extra_dirs: Iterable[str | Path] = ()) -> Registry:
        """The shipped definitions, plus every ``*.toml`` in ``extra_dirs``."""
        reg = cls()
        for name, text in shipped_texts():
            reg.add_lazy(text, source_name=name)
        for folder in extra_dirs:
            from pathlib import Path

            for path in sorted(Path(folder).glob("*.toml")):
                reg.add_lazy(path.read_text("utf-8"), source_name=str(path))
        return reg

    def _index(self, name: str, version: int, sha256: str, entry: _Entry) -> None:
        self._generation += 1
        self._current = {}
        versions = self._by_name.setdefault(name, {})
        existing = versions.get(version)
        if existing is not None and digest(existing.text) != sha256:
            # Two different texts claim the same name and version: the first
            # one stays current, the other is reachable by its hash only.
            self._by_hash.setdefault(sha256, entry)
            return
        versions[version] = entry
        self._by_hash[sha256] = entry

    def add(self, wf: Workflow) -> None:
        self._index(wf.name, wf.version, wf.sha256, _Entry(wf.source, "<loaded>", wf))

    def add_lazy(self, text: str, source_name: str = "<stored>") -> None:
        """Register a definition to be validated when it is first used (at once
        when its name and version cannot be read without parsing it)."""
        found = _name_and_version(text)
        if found is None:
            self.add(load_text(text, source_name=source_name))
            return
        self._index(*found, digest(text), _Entry(text, source_name))

    def add_text(self, text: str, source_name: str = "<stored>") -> Workflow:
        wf = load_text(text, source_name=source_name)
        self.add(wf)
        return wf

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def all(self) -> list[Workflow]:
        """Every current definition (the latest version of each name)."""
        return [self.current(name) for name in self.names()]

    def current(self, name: str) -> Workflow:
        found = self._current.get(name)
        if found is not None:
            return found
        generation, current = self._generation, self._current
        versions = self._by_name.get(name)
        if not versions:
            raise UnknownWorkflow(name)
        found = versions[max(versions)].load()
        if generation == self._generation:  # none registered meanwhile
            current[name] = found
        return found

    def get(self, name: str, version: int | None = None) -> Workflow:
        if version is None:
            return self.current(name)
        try:
            entry = self._by_name[name][version]
        except KeyError:
            raise UnknownWorkflow(f"{name} v{version}") from None
        return entry.load()

    def by_hash(self, sha256: str) -> Workflow:
        try:
            entry = self._by_hash[sha256]
        except KeyError:
            raise UnknownWorkflow(sha256) from None
        return entry.load()

    def has_hash(self, sha256: str) -> bool:
        return sha256 in self._by_hash
