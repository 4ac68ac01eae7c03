"""Codes for categories, channels and matter types, with their labels.

The codes and labels are data (``petitions/data/taxonomy.toml``): an office
extends the taxonomy by adding entries there, or by pointing
``PETITIONS_TAXONOMY`` at a file of its own with the same layout, whose
entries are added to the shipped ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from petitions.errors import InvalidInput
from workflows import tomlcache
from workflows.model import Label
from workflows.records import frozen


@frozen
class Term:
    """A code with its label in Chinese and English: a category, channel or
    matter type here, and every value a command's choice may take
    (:data:`petitions.domain.commands.Choice`)."""

    code: str
    label: Label

    @property
    def label_zh(self) -> str:
        return self.label.zh

    @property
    def label_en(self) -> str:
        return self.label.en

    def in_lang(self, lang: str = "zh") -> str:
        """The label in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.label.in_lang(lang)


@frozen
class Taxonomy:
    categories: Mapping[str, Term]
    channels: Mapping[str, Term]
    matter_types: Mapping[str, Term]

    def check(self, kind: str, code: str) -> str:
        """Return ``code`` if it is a known ``kind`` code, else raise InvalidInput."""
        table: Mapping[str, Term] = getattr(self, kind)
        if code not in table:
            field = {"categories": "category", "channels": "channel",
                     "matter_types": "matter_type"}[kind]
            raise InvalidInput(
                field, f"unknown code {code!r}; valid: {', '.join(sorted(table))}",
                kind="unknown_code", value=code, valid=", ".join(sorted(table)),
            )
        return code


def _terms(data: Mapping[str, object], kind: str) -> dict[str, Term]:
    table = data.get(kind, {})
    assert isinstance(table, Mapping)
    out = {}
    for code, labels in table.items():
        assert isinstance(labels, Mapping)
        out[code] = Term(code, Label(zh=str(labels["zh"]),
                                     en=str(labels.get("en", labels["zh"]))))
    return out


@lru_cache(maxsize=4)
def load_taxonomy(extra_path: str | None = None) -> Taxonomy:
    with open(os.path.join(os.path.dirname(__file__), "data", "taxonomy.toml"),
              encoding="utf-8") as fh:
        text = fh.read()
    data = tomlcache.loads(text)
    tables = {k: _terms(data, k) for k in ("categories", "channels", "matter_types")}
    if extra_path:
        import tomllib

        with open(extra_path, "rb") as fh:
            extra = tomllib.load(fh)
        for kind, table in tables.items():
            table.update(_terms(extra, kind))
    return Taxonomy(**tables)


def taxonomy() -> Taxonomy:
    """The taxonomy in force: the shipped one plus ``PETITIONS_TAXONOMY``."""
    return load_taxonomy(os.environ.get("PETITIONS_TAXONOMY") or None)
