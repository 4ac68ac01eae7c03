"""Replay a petition's history for auditors: each event in words and what it changed.

:func:`history` reads a petition's stored events, recomputes each one's hash,
replays them one by one and returns :class:`HistoryEntry` values: version,
who (actor and role), when (world time and recording time, UTC), the event
told in Chinese and English (templates in ``petitions/data/events.toml``),
what it changed in the petition (field, before, after), and the event's hash
and ``prev_hash``.  Front-ends show times in Asia/Shanghai
(:mod:`petitions.timefmt`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from petitions.audit.chain import prev_hash_of
from petitions.audit.hashing import stored_hash
from petitions.errors import InvalidInput, PetitionNotFound
from petitions.labels import catalog, command_label, limit_unit_label
from petitions.transcoding import to_plain

LANGS = ("zh", "en")
#: Aggregate attributes that are bookkeeping, not part of "what it changed".
_SKIP = frozenset({"last_occurred_at"})




def _word(key: str, lang: str) -> str:
    return str(catalog()["words"][key][lang])


def field_label(name: str, lang: str = "zh") -> str:
    """The name of a petition attribute in ``lang`` (the code itself if unknown)."""
    entry = catalog().get("fields", {}).get(name)
    return str(entry[lang]) if entry else name


def stage_label(stage: str, wf: Any | None, lang: str = "zh") -> str:
    """A stage of workflow ``wf`` by its label (the code if ``wf`` lacks it)."""
    stages = getattr(wf, "stages", None) or {}
    found = stages.get(stage) if isinstance(stage, str) else None
    return found.label.in_lang(lang) if found is not None else str(stage)


#: The written answers delivered (送达) and how, in words.
_DELIVERY_WORDS = {
    "reply": ("书面答复意见", "written reply"), "review": ("复查意见", "review answer"),
    "rereview": ("复核意见", "re-review answer"), "post": ("邮寄", "by post"),
    "in_person": ("直接送达", "in person"), "electronic": ("电子送达", "electronically"),
    "sms": ("短信", "by SMS"),
}

#: Fields holding a deadline: shown as 24:00 of the day they end.
DEADLINE_FIELDS = frozenset({"deadline", "previous_deadline", "clock_deadline",
                             "sign_by", "return_by", "contact_by"})
#: Fields holding a stage code.
STAGE_FIELDS = frozenset({"stage", "for_stage", "clock_stage"})
_AUTO_ESCALATION = re.compile(r"^time limit of stage (\S+) passed at (\S+) \(超期督办\)$")


#: Fields of the sign-for events (docs/hotline.md) told as a clause of their
#: event's text, or not at all when empty: (zh, en) with ``{}`` for the value.
_CLAUSES = {
    "sign_by": ("；签收时限 {}", "; sign for by {}"),
    "return_by": ("；退单时限 {}", "; return by {}"),
    "contact_by": ("；首次联系时限 {}", "; first contact by {}"),
    "deadline": ("（时限 {}）", " (due {})"),
}


#: Which events tell which fields as clauses.
_CLAUSE_EVENTS = {
    "Assigned": frozenset({"final", "sign_by", "return_by", "contact_by"}),
    "Transferred": frozenset({"sign_by", "return_by", "contact_by"}),
    "Signed": frozenset({"in_time", "deadline"}),
    "Contacted": frozenset({"in_time", "deadline"}),
    "Escalated": frozenset({"level"}),
}


def _clause(name: str, value: Any, lang: str, wf: Any | None) -> str | None:
    """The sign-for and supervision fields as people read them (``None``: not one)."""
    from petitions.timefmt import show_deadline

    zh = lang == "zh"
    if name == "final" and isinstance(value, bool):
        return ("（定责）" if zh else " (final: 定责)") if value else ""
    if name == "in_time" and isinstance(value, bool):
        return ("按时" if zh else "in time") if value else ("超时" if zh else "late")
    if name == "level":
        if not value:
            return ""
        levels = getattr(wf, "escalation_levels", None) or {}
        found = levels.get(value)
        label = found.in_lang(lang) if found is not None else str(value)
        return f"（{label}）" if zh else f" ({label})"
    if name in _CLAUSES and (value is None or isinstance(value, str)):
        if not value:
            return ""
        return _CLAUSES[name][0 if zh else 1].format(show_deadline(datetime.fromisoformat(value)))
    return None


def render_field(name: str, value: Any, lang: str = "zh", wf: Any | None = None,
                 clauses: bool = False) -> str:
    """The value of field ``name`` as people read it: stages by their label,
    deadlines as 24:00 of their day, times in local time (Asia/Shanghai);
    with ``clauses``, the sign-for fields as clauses of an event's text."""
    from petitions.timefmt import show_deadline, show_iso_text

    if clauses:
        found_clause = _clause(name, value, lang, wf)
        if found_clause is not None:
            return found_clause
    if name == "escalation_levels" and isinstance(value, list) and value:
        levels = getattr(wf, "escalation_levels", None) or {}
        return _word("list_sep", lang).join(
            levels[v].in_lang(lang) if v in levels else str(v) for v in value)
    if isinstance(value, str) and value:
        if name in STAGE_FIELDS:
            return stage_label(value, wf, lang)
        if name in DEADLINE_FIELDS and show_iso_text(value) is not None:
            return show_deadline(datetime.fromisoformat(value))
        if name == "started_by":
            return command_label(value, lang)
        if name in ("answer", "method") and value in _DELIVERY_WORDS:
            zh, en = _DELIVERY_WORDS[value]
            return zh if lang == "zh" else en
        if name == "unit" and value in catalog().get("limit_units", {}):
            return limit_unit_label(value, lang)
        if name == "reason":
            found = _AUTO_ESCALATION.match(value)
            if found:
                when = show_deadline(datetime.fromisoformat(found.group(2)))
                where = stage_label(found.group(1), wf, lang)
                return (f"{where}环节已超过办理时限 {when}（超期督办）" if lang == "zh"
                        else f"the {where} time limit passed at {when} (超期督办)")
    return render_value(value, lang)


def render_value(value: Any, lang: str = "zh") -> str:
    """A plain value (see :func:`petitions.transcoding.to_plain`) as words;
    stored times (ISO 8601 with an offset) in local time."""
    if value is None or value == "" or value == []:
        return _word("none", lang)
    if isinstance(value, str):
        from petitions.timefmt import show_iso_text

        shown = show_iso_text(value)
        if shown is not None:
            return shown
    if isinstance(value, bool):
        return _word("yes" if value else "no", lang)
    if isinstance(value, list):
        return _word("list_sep", lang).join(render_value(v, lang) for v in value)
    if isinstance(value, dict):
        if "name" in value:
            return render_value(value["name"], lang)
        return "; ".join(f"{k}={render_value(v, lang)}" for k, v in value.items()
                         if v not in (None, "", [], ()))
    return str(value)


class _Shown:
    """A plain value that formats as words and exposes nested fields as attributes."""

    def __init__(self, value: Any, lang: str, key: str = "", wf: Any | None = None,
                 event: str = "") -> None:
        self.value = value
        self.lang = lang
        self.key = key
        self.wf = wf
        self.event = event

    def __getattr__(self, name: str) -> _Shown:
        if isinstance(self.value, dict) and name in self.value:
            return _Shown(self.value[name], self.lang, name, self.wf)
        raise AttributeError(name)

    def __format__(self, spec: str) -> str:
        value = self.value
        if self.key in ("category", "channel", "matter_type") and isinstance(value, str):
            from petitions.taxonomy import taxonomy

            table = getattr(taxonomy(), {"category": "categories", "channel": "channels",
                                         "matter_type": "matter_types"}[self.key])
            if value in table:
                return format(table[value].in_lang(self.lang), spec)
        clauses = self.key in _CLAUSE_EVENTS.get(self.event, ())
        return format(render_field(self.key, value, self.lang, self.wf, clauses), spec)


class _Fields(Mapping[str, Any]):
    def __init__(self, data: dict[str, Any], lang: str, wf: Any | None = None) -> None:
        self.data = data
        self.lang = lang
        self.wf = wf

    def __getitem__(self, key: str) -> Any:
        if key not in self.data:
            return "{" + key + "}"
        return _Shown(self.data[key], self.lang, key, self.wf, str(self.data.get("type", "")))

    def __iter__(self) -> Any:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def describe(type_name: str, data: Mapping[str, Any], lang: str = "zh",
             wf: Any | None = None) -> str:
    """Tell an event in words: ``type_name`` (e.g. ``"Assigned"``), its plain
    fields; stages are named by the labels of workflow ``wf`` when given."""
    if lang not in LANGS:
        raise InvalidInput("lang", f"must be one of {', '.join(LANGS)}", kind="unknown_code")
    entry = catalog().get(type_name) or catalog()["_default"]
    template = str(entry[lang])
    fields = _Fields({"type": type_name, **data}, lang, wf)
    try:
        return string.Formatter().vformat(template, (), fields)
    except (AttributeError, KeyError, IndexError, ValueError):
        return str(catalog()["_default"][lang]).format(actor=data.get("actor", ""),
                                                        type=type_name)


@attrs.frozen
class Change:
    """One attribute of the petition changed by an event."""

    field: str
    before: Any
    after: Any

    def label(self, lang: str = "zh") -> str:
        return field_label(self.field, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}

    def text(self, lang: str = "zh", wf: Any | None = None) -> str:
        return (f"{self.label(lang)}: {render_field(self.field, self.before, lang, wf)} → "
                f"{render_field(self.field, self.after, lang, wf)}")


@attrs.frozen
class HistoryEntry:
    """One event of a petition, for auditors."""

    version: int
    type: str
    topic: str
    actor: str
    role: str
    occurred_at: datetime | None
    recorded_at: datetime
    text_zh: str
    text_en: str
    changes: tuple[Change, ...]
    data: dict[str, Any]
    hash: str
    prev_hash: str

    def text(self, lang: str = "zh") -> str:
        return self.text_en if lang.startswith("en") else self.text_zh

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "type": self.type, "topic": self.topic,
            "actor": self.actor, "role": self.role,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "recorded_at": self.recorded_at.isoformat(),
            "text": {"zh": self.text_zh, "en": self.text_en},
            "changes": [c.to_dict() for c in self.changes],
            "data": self.data, "hash": self.hash, "prev_hash": self.prev_hash,
        }


_EVENT_BASE = frozenset({"originator_id", "originator_version", "timestamp",
                         "originator_topic", "actor", "occurred_at"})


def _state_of(aggregate: Any) -> dict[str, Any]:
    return {k: to_plain(v) for k, v in vars(aggregate).items()
            if not k.startswith("_") and k not in _SKIP}


def _empty(value: Any) -> bool:
    return value in (None, "", [], {}, False, 0)


def history(app: Any, petition_id: UUID | str) -> tuple[HistoryEntry, ...]:
    """Every event of a stored aggregate (a petition), told and replayed, oldest first."""
    try:
        pid = petition_id if isinstance(petition_id, UUID) else UUID(str(petition_id))
    except ValueError:
        raise InvalidInput("id", f"{petition_id!r} is not a petition id", kind="bad_id") from None
    stored = app.recorder.select_events(pid)
    if not stored:
        raise PetitionNotFound(petition_id)
    entries: list[HistoryEntry] = []
    wf: Any = None
    aggregate: Any = None
    before: dict[str, Any] = {}
    for record in stored:
        event: Any = app.mapper.to_domain_event(record)
        aggregate = event.mutate(aggregate)
        if wf is None:
            wf = _workflow_of(app, aggregate)
        after = _state_of(aggregate)
        changes = tuple(
            Change(k, before.get(k), after.get(k)) for k in after
            if before.get(k) != after.get(k) and not (k not in before and _empty(after[k]))
        )
        before = after
        data = {k: to_plain(v) for k, v in vars(event).items() if k not in _EVENT_BASE}
        actor = getattr(event, "actor", None)
        words = {"actor": actor.id if actor else "", "role": actor.role if actor else "",
                 **data}
        type_name = type(event).__name__
        entries.append(HistoryEntry(
            version=record.originator_version, type=type_name, topic=record.topic,
            actor=words["actor"], role=words["role"],
            occurred_at=getattr(event, "occurred_at", None), recorded_at=event.timestamp,
            text_zh=describe(type_name, words, "zh", wf),
            text_en=describe(type_name, words, "en", wf),
            changes=changes, data=data, hash=stored_hash(record),
            prev_hash=prev_hash_of(bytes(record.state)) or "",
        ))
    return tuple(entries)


def _workflow_of(app: Any, aggregate: Any) -> Any:
    """The workflow a petition is pinned to, for its stage labels (``None``
    when the application cannot say)."""
    ref = getattr(aggregate, "workflow", None)
    finder = getattr(app, "workflow", None)
    if ref is None or finder is None:
        return None
    try:
        return finder(ref.name, ref.version)
    except Exception:  # labels are a nicety: codes are shown instead
        return None


__all__ = ["Change", "HistoryEntry", "command_label", "describe", "field_label", "history",
           "limit_unit_label", "render_field", "render_value", "stage_label"]
