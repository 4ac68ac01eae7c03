"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists where each public name lives; the module holding it is
imported the first time the name is used, so ``import petitions`` (and the
command line that starts with it) costs only what a caller touches.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, which re-exports
    ``exports`` (public name → the module that defines it)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(importlib.import_module(package))[name] = value  # later lookups skip this
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *exports})

    return __getattr__, __dir__


class LazyModule:
    """A module imported when one of its names is first used, for a module some
    methods need and others (``show``) do not.  ``load`` imports and returns it
    (an import inside a function, which the architecture test sees); the type
    checker should see the real module, imported under ``TYPE_CHECKING``."""

    def __init__(self, load: Callable[[], ModuleType]) -> None:
        self._load = load
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        # The module once loaded, not its names: a name the module rebinds
        # later is seen.  (Every command looks up its class here.)
        module = self._module
        if module is None:
            module = self._module = self._load()
        return getattr(module, attr)
