"""petitions.lazy.LazyModule: the module is loaded once, when a name is first used."""

from __future__ import annotations

import types

from petitions.lazy import LazyModule


def test_the_module_is_loaded_once_and_its_names_are_read_each_time() -> None:
    module = types.ModuleType("made_here")
    module.value = 1  # type: ignore[attr-defined]
    loads: list[int] = []

    def load() -> types.ModuleType:
        loads.append(1)
        return module

    lazy = LazyModule(load)
    assert loads == []  # nothing loaded before a name is used
    assert lazy.value == 1 and lazy.value == 1
    assert loads == [1]
    module.value = 2  # type: ignore[attr-defined]  # a name the module rebinds is seen
    assert lazy.value == 2 and loads == [1]
