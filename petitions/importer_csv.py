"""Importing filings from a CSV file (what other systems export), one filing per row.

The same guarantees as the JSON Lines import (:mod:`petitions.importer`): an
idempotency key per row, the whole file checked before anything is written,
errors by line number, the rows filed in batches (one transaction each) keyed by
their idempotency keys (so an import killed at any point leaves whole batches,
and run again files every row exactly once) — through the same loop,
:func:`petitions.importer.run_import`.
Each row is turned into the JSON object a JSON Lines line would hold and checked
by the very same code.

Default columns (the header row names them; order free, unknown ones refused)::

    idempotency_key,title,description,category,channel,kind,name,phone,id_number,
    address,street,community,grid,at,workflow,type

and, optionally, ``email``.  ``kind``, ``name``, ``phone``, ``id_number``,
``address`` and ``email`` are the petitioner's
(sealed like every petitioner's data); ``street``, ``community`` and ``grid``
the location; ``type`` the matter type (claim, suggestion, report); ``at`` when
it was filed (ISO 8601; without an offset Asia/Shanghai time).

A mapping file (TOML) reads another system's export::

    [columns]            # our column = the column in the file
    idempotency_key = "工单编号"
    title = "标题"
    [defaults]           # values for columns the file does not have
    channel = "hotline"
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from petitions.domain.values import Actor
from petitions.errors import InvalidInput, PetitionError
from petitions.importer import (
    BATCH,
    ON_ERROR,
    Filer,
    Filing,
    ImportReport,
    LineError,
    check,
    parse_line,
    run_import,
)

COLUMNS = ("idempotency_key", "title", "description", "category", "channel", "kind", "name",
           "phone", "id_number", "address", "street", "community", "grid", "at", "workflow",
           "type", "email")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
_PETITIONER = ("kind", "name", "phone", "id_number", "address", "email")
_LOCATION = ("street", "community", "grid")


class ColumnMapping:
    """Which column of the file holds each of ours, and default values."""

    def __init__(self, columns: Mapping[str, str] | None = None,
                 defaults: Mapping[str, str] | None = None) -> None:
        self.columns = dict(columns or {})
        self.defaults = dict(defaults or {})
        for ours in (*self.columns, *self.defaults):
            if ours not in COLUMNS:
                raise InvalidInput("mapping", f"unknown column {ours!r}; valid: "
                                   f"{', '.join(COLUMNS)}", kind="unknown_code", value=ours,
                                   valid=", ".join(COLUMNS))

    @classmethod
    def load(cls, path: str | Path) -> ColumnMapping:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput("mapping", f"not valid TOML ({exc})", kind="bad_toml") from None
        extra = sorted(set(data) - {"columns", "defaults"})
        if extra:
            raise InvalidInput("mapping", f"unknown table {extra[0]!r}; valid: columns, "
                               "defaults", kind="invalid")
        tables = {k: data.get(k, {}) for k in ("columns", "defaults")}
        for name, table in tables.items():
            if not isinstance(table, dict) or not all(isinstance(v, str)
                                                      for v in table.values()):
                raise InvalidInput("mapping", f"[{name}] must map column names to text",
                                   kind="invalid")
        return cls(tables["columns"], tables["defaults"])

    def theirs(self, ours: str) -> str:
        return self.columns.get(ours, ours)


def _object(row: Mapping[str, str], mapping: ColumnMapping) -> dict[str, Any]:
    """The JSON Lines object for one row."""
    def value(ours: str) -> str:
        found = row.get(mapping.theirs(ours))
        if found is None or found == "":
            found = mapping.defaults.get(ours, "")
        return found.strip()

    obj: dict[str, Any] = {k: value(k) for k in ("idempotency_key", "title", "description",
                                                  "category", "channel")}
    obj["petitioner"] = {k: value(k) for k in _PETITIONER if value(k)}
    obj["petitioner"].setdefault("kind", "resident")
    location = {k: value(k) for k in _LOCATION if value(k)}
    if location:
        obj["location"] = location
    for ours, key in (("at", "at"), ("workflow", "workflow"), ("type", "matter_type")):
        if value(ours):
            obj[key] = value(ours)
    return obj


def read_rows(svc: Filer, path: Path, encoding: str, mapping: ColumnMapping,
              actor: Actor, *, checked: bool = True) -> Iterator[Filing | LineError]:
    """Each data row of the CSV file, parsed and checked, or its error
    (``checked=False``: parsed only — filing checks it again)."""
    if encoding not in ENCODINGS:
        raise InvalidInput("encoding", f"must be one of {', '.join(ENCODINGS)}",
                           kind="unknown_code", value=encoding, valid=", ".join(ENCODINGS))
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            header = reader.fieldnames or []
            known = {mapping.theirs(c) for c in COLUMNS}
            unknown = [h for h in header if h not in known]
            if unknown:
                raise InvalidInput("header", f"unknown column {unknown[0]!r} (give a --mapping "
                                   "for another system's columns)", kind="unknown_field")
            required = ("idempotency_key", "title", "description", "category", "channel")
            absent = [c for c in required
                      if mapping.theirs(c) not in header and c not in mapping.defaults]
            if absent:
                raise InvalidInput("header", f"no column {mapping.theirs(absent[0])!r}",
                                   kind="empty")
            line = reader.line_num + 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield LineError(line, f"malformed CSV: {exc}")
                    line = reader.line_num + 1
                    continue
                start, line = line, reader.line_num + 1
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                if None in row:
                    yield LineError(start, "more fields than columns")
                    continue
                try:
                    filing = parse_line(start, json.dumps(_object(row, mapping),
                                                          ensure_ascii=False), actor)
                    if checked:
                        filing = check(svc, filing)
                except PetitionError as exc:
                    yield LineError(start, str(exc))
                except (TypeError, ValueError) as exc:
                    yield LineError(start, f"malformed value: {exc}")
                else:
                    yield filing
    except UnicodeDecodeError as exc:
        raise InvalidInput("encoding", f"the file is not {encoding} (byte {exc.start}); "
                           "give --encoding", kind="bad_encoding") from None


def import_csv(
    svc: Filer, path: str | Path, *, actor: Actor, encoding: str = "utf-8-sig",
    mapping: ColumnMapping | None = None, on_error: str = "stop",
    progress: Callable[[int, int], None] | None = None, batch: int = BATCH,
    check_only: bool = False,
) -> ImportReport:
    """File every row of the CSV file ``path`` as ``actor`` (the operator running
    the import), ``batch`` filings per transaction; see the module text.

    Raises :class:`~petitions.importer.ImportRefused` when ``on_error="stop"``
    and a row is malformed (nothing is written then), ``InvalidInput`` when the
    file cannot be read as CSV in ``encoding`` or its header is wrong.
    ``check_only``: check the file as the import does first, file nothing
    (:func:`~petitions.importer.run_import`).
    """
    if on_error not in ON_ERROR:
        raise InvalidInput("on_error", f"must be one of {', '.join(ON_ERROR)}")
    path, mapping = Path(path), mapping or ColumnMapping()
    return run_import(svc, lambda checked: read_rows(svc, path, encoding, mapping, actor,
                                                     checked=checked),
                      on_error=on_error, progress=progress, batch=batch,
                      check_only=check_only)
