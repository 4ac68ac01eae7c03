"""Find workflow definitions by name, by version, or by content hash.

The shipped definitions live in ``workflows/definitions``; older versions of a
workflow stay there beside the current one, so a petition filed under version
1 is still interpreted under version 1 after version 2 ships.  Extra
directories (an office's own workflows) can be added, and definitions can be
registered from text (for instance, copies kept in the event store).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from workflows.loader import load_text
from workflows.model import Workflow


class UnknownWorkflow(LookupError):
    """No definition is known under that name, version or hash."""


def shipped_texts() -> list[tuple[str, str]]:
    """(file name, text) of every definition shipped with the package."""
    folder = resources.files("workflows").joinpath("definitions")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append((f"workflows/definitions/{entry.name}", entry.read_text("utf-8")))
    return out


class Registry:
    """An index of loaded, validated workflow definitions."""

    def __init__(self, workflows: Iterable[Workflow] = ()) -> None:
        self._by_hash: dict[str, Workflow] = {}
        self._by_name: dict[str, dict[int, Workflow]] = {}
        for wf in workflows:
            self.add(wf)

    @classmethod
    def shipped(cls, extra_dirs: Iterable[str | Path] = ()) -> Registry:
        """The shipped definitions, plus every ``*.toml`` in ``extra_dirs``."""
        reg = cls(load_text(text, source_name=name) for name, text in shipped_texts())
        for folder in extra_dirs:
            for path in sorted(Path(folder).glob("*.toml")):
                reg.add(load_text(path.read_text("utf-8"), source_name=str(path)))
        return reg

    def add(self, wf: Workflow) -> None:
        versions = self._by_name.setdefault(wf.name, {})
        existing = versions.get(wf.version)
        if existing is not None and existing.sha256 != wf.sha256:
            # Two different texts claim the same name and version: the first
            # one stays current, the other is reachable by its hash only.
            self._by_hash[wf.sha256] = wf
            return
        versions[wf.version] = wf
        self._by_hash[wf.sha256] = wf

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
        versions = self._by_name.get(name)
        if not versions:
            raise UnknownWorkflow(name)
        return versions[max(versions)]

    def get(self, name: str, version: int | None = None) -> Workflow:
        if version is None:
            return self.current(name)
        try:
            return self._by_name[name][version]
        except KeyError:
            raise UnknownWorkflow(f"{name} v{version}") from None

    def by_hash(self, sha256: str) -> Workflow:
        try:
            return self._by_hash[sha256]
        except KeyError:
            raise UnknownWorkflow(sha256) from None

    def has_hash(self, sha256: str) -> bool:
        return sha256 in self._by_hash
