"""Words for codes people should never see in Chinese output: commands and
time-limit units (from ``petitions/data/events.toml``).  Light: the CLI's
``show`` uses it without loading the audit replay."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from workflows import tomlcache

LANGS = ("zh", "en")


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    """The event templates, field labels and words (``petitions/data/events.toml``)."""
    # A path beside this module, as the taxonomy is read (importlib.resources
    # imports tempfile, shutil and the compression modules: slow for ``show``).
    with open(os.path.join(os.path.dirname(__file__), "data", "events.toml"),
              encoding="utf-8") as fh:
        text = fh.read()
    return tomlcache.loads(text)


def command_label(code: str, lang: str = "zh") -> str:
    """A command (``accept``, ``request_review``…) named in words."""
    entry = catalog().get("commands", {}).get(code)
    return str(entry[lang if lang in LANGS else "zh"]) if entry else code


def limit_unit_label(code: str, lang: str = "zh") -> str:
    """A time-limit unit (``working_days``…) in words."""
    entry = catalog().get("limit_units", {}).get(code)
    return str(entry[lang if lang in LANGS else "zh"]) if entry else code


__all__ = ["catalog", "command_label", "limit_unit_label"]
