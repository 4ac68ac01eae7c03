"""Exporting cases: one row per case, as CSV that Excel opens or as JSON Lines.

Rows come from the case index (the read models), streamed in batches, never
all in memory; the index keeps each petitioner's name and phone sealed
(ciphertext, as the events do), opened here only as the viewer may see them —
no event is read.  What a row holds:

* the work-order number, matter type, category, street, community, grid,
  channel, filing and closing times, stage, status, outcome, lead unit, the
  running deadline and its state, the last rating, how many times it was
  reopened and escalated (督办);
* the petitioner's kind, name and phone — personal data, masked unless a role
  that may reveal asks for it (then each reveal is recorded in the petitioner's
  privacy record, as ``show --reveal`` does).  An export leaves the system, so
  a resident's name is masked too (``王**``); an enterprise's or a
  collective's name is not personal data and is kept.

CSV (:func:`write_csv`): header labels and values in the chosen language (codes
become their labels: no internal codes in Chinese output), times local
(Asia/Shanghai by default), a deadline at the end of a day as that day at 24:00;
UTF-8 with a byte-order mark by default (Excel reads UTF-8 only with it), or
GBK / GB18030 for older Excel.  JSON Lines (:func:`write_jsonl`): the same
rows with codes, ISO 8601 local times and ``due_date``.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

import attrs

from petitions.i18n import N_
from petitions.privacy.render import PetitionerView
from petitions.readmodels.queries import CaseSummary
from petitions.timefmt import due_date, local, show, show_deadline

#: The encodings a CSV export may be written in (``utf-8-sig``: UTF-8 with BOM).
ENCODINGS = ("utf-8-sig", "utf-8", "gbk", "gb18030")
FORMATS = ("csv", "jsonl")

#: The columns, in order: (key, English header marked for the catalogs).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", N_("Work-order number")),
    ("matter_type", N_("Matter type")),
    ("category", N_("Category")),
    ("street", N_("Street")),
    ("community", N_("Community")),
    ("grid", N_("Grid")),
    ("channel", N_("Channel")),
    ("filed_at", N_("Filed")),
    ("closed_at", N_("Closed at")),
    ("stage", N_("Stage")),
    ("status", N_("Status")),
    ("outcome", N_("Outcome")),
    ("lead_unit", N_("Lead unit")),
    ("deadline", N_("Deadline")),
    ("deadline_state", N_("Deadline state")),
    ("last_rating", N_("Last rating")),
    ("reopens", N_("Reopened")),
    ("escalations", N_("Escalations")),
    ("petitioner_kind", N_("Petitioner kind")),
    ("petitioner", N_("Petitioner")),
    ("phone", N_("Phone")),
)


def mask_name(name: str) -> str:
    """``王秀英`` → ``王**``; ``Wang Xiuying`` → ``W***********``."""
    if len(name) <= 1:
        return "*" if name else name
    return name[0] + "*" * (len(name) - 1)


@attrs.frozen
class ExportRow:
    """One case as exported: its index row and its petitioner as shown."""

    case: CaseSummary
    petitioner: PetitionerView


def shown_name(row: ExportRow) -> str:
    """The petitioner's name as the export shows it (masked unless revealed)."""
    who = row.petitioner
    if who.name is None:
        return who.text(None)
    if who.revealed or row.case.petitioner_kind != "resident":
        return who.name
    return mask_name(who.name)


def shown_phone(row: ExportRow) -> str:
    who = row.petitioner
    return who.text(who.phone) if who.phone != "" else ""


def plain(row: ExportRow) -> dict[str, Any]:
    """The row as JSON-ready data: codes, local ISO 8601 times, ``due_date``."""
    c = row.case

    def iso(value: datetime | None) -> str | None:
        return local(value).isoformat() if value is not None else None

    found = due_date(c.deadline)
    return {
        "number": c.number, "id": c.id, "matter_type": c.matter_type, "category": c.category,
        "street": c.street, "community": c.community, "grid": c.grid, "channel": c.channel,
        "filed_at": iso(c.filed_at), "closed_at": iso(c.closed_at), "workflow": c.workflow,
        "stage": c.stage, "status": c.status, "outcome": c.outcome, "lead_unit": c.lead_unit,
        "deadline": iso(c.deadline), "due_date": found.isoformat() if found else None,
        "deadline_state": c.deadline_state, "last_rating": c.last_rating,
        "reopens": c.reopens, "escalations": c.escalations,
        "petitioner_kind": c.petitioner_kind, "petitioner": shown_name(row),
        "phone": shown_phone(row),
    }


#: Labels of a row's codes: (kind, code, workflow name) → text in the chosen
#: language; kinds: ``categories``, ``channels``, ``matter_types`` (taxonomy),
#: ``word`` (status, outcome, deadline state, petitioner kind, a rating code
#: whose workflow version is not known: message catalog words).  Stage and
#: rating labels come with the case (from its pinned workflow version).
Labeller = Callable[[str, str, str], str]


def lab_code(code: str | None) -> str:
    """A code shown as itself (a stage whose workflow version is not known)."""
    return code or ""


def cells(row: ExportRow, label: Labeller, lang: str = "zh") -> list[str]:
    """The row's CSV cells, in :data:`COLUMNS` order, for people to read (the
    stage by its label in the workflow version the case was filed under)."""
    c = row.case

    def lab(kind: str, code: str | None) -> str:
        return label(kind, code, c.workflow) if code else ""

    stage = (str(c.stage_label.in_lang(lang)) if c.stage_label is not None
             else lab_code(c.stage))
    rating = (str(c.rating_label.in_lang(lang)) if c.rating_label is not None
              else lab("word", c.last_rating))
    return [
        c.number or "", lab("matter_types", c.matter_type), lab("categories", c.category),
        c.street, c.community, c.grid, lab("channels", c.channel),
        show(c.filed_at), show(c.closed_at), stage, lab("word", c.status),
        lab("word", c.outcome), c.lead_unit or "", show_deadline(c.deadline),
        lab("word", c.deadline_state), rating, str(c.reopens),
        str(c.escalations), lab("word", c.petitioner_kind), shown_name(row),
        shown_phone(row),
    ]


class _Replaced:
    """Counts characters an encoding could not write (each written as ``?``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, exc: UnicodeError) -> tuple[str, int]:
        assert isinstance(exc, UnicodeEncodeError)
        self.count += exc.end - exc.start
        return "?" * (exc.end - exc.start), exc.end


_replaced = _Replaced()
codecs.register_error("petitions-export", _replaced)


def open_for(path: str, encoding: str) -> IO[str]:
    """``path`` opened for a CSV export in ``encoding`` (characters it cannot
    write become ``?``, counted by :func:`replaced`)."""
    _replaced.count = 0
    return open(path, "w", encoding=encoding, newline="", errors="petitions-export")


def replaced() -> int:
    """How many characters the last export could not write in its encoding."""
    return _replaced.count


def write_csv(rows: Iterable[ExportRow], out: IO[str], headers: Iterable[str],
              label: Labeller, lang: str = "zh") -> int:
    """Write the header and one line per row; return the number of rows."""
    writer = csv.writer(out)
    writer.writerow(list(headers))
    n = 0
    for row in rows:
        writer.writerow(cells(row, label, lang))
        n += 1
    return n


def write_jsonl(rows: Iterable[ExportRow], out: IO[str]) -> int:
    """Write one JSON object per line; return the number of rows."""
    n = 0
    for row in rows:
        out.write(json.dumps(plain(row), ensure_ascii=False) + "\n")
        n += 1
    return n


def batched(items: Iterable[CaseSummary], size: int) -> Iterator[list[CaseSummary]]:
    batch: list[CaseSummary] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
