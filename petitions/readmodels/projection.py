"""The projection that keeps the read models in step with petition events.

:class:`CaseViews` is an ``eventsourcing.projection.Projection``: the same
code runs in-process (catching up from its last tracked position, which is
how views follow a SQLite store; there as :class:`ViewProjection`, without
eventsourcing's base class and the modules it imports) and under
eventsourcing's ``ProjectionRunner`` in a separate process on PostgreSQL (see
:mod:`petitions.readmodels.runner`).

What one event changes is worked out here, once, for both databases: the case
index row, and the caseload and campaign counters, which move by the
difference between the row before and after the event.  Events of other
aggregates (stored workflow definitions) are skipped, but still tracked.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import Tracking
from eventsourcing.utils import resolve_topic

from petitions.domain.hotline import (
    AnsweredAtOnce,
    CallbackImpossible,
    Contacted,
    Excluded,
    Reminded,
    Returned,
    Signed,
)
from petitions.domain.petition import Petition
from petitions.readmodels.rates import add_level
from petitions.readmodels.store import (
    CASE_COLUMNS,
    COUNT_DIMENSIONS,
    VIEWS_NAME,
    CaseValues,
    ViewStore,
    ViewTx,
)

#: Call-back days (for periods and ``--from``/``--to``) are local office days.
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")

Row = dict[str, Any]


_UTC = ZoneInfo("UTC")


def iso(dt: datetime) -> str:
    """A sortable UTC timestamp text (fixed width: ``2026-01-02T03:04:05.000006Z``)."""
    return dt.astimezone(_UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


fromisoformat = datetime.fromisoformat


#: The updates that read nothing from their event (the fast path calls them
#: with ``None``; see :func:`fast_item`).
_READS_NOTHING: set[Callable[[Any, Row], None]] = set()


def _filed(e: Any, row: Row) -> None:
    if type(e) is LiteEvent and e._state is not None:
        _filed_stored(e, e._state, row)
        return
    row.update(
        id=str(e.originator_id), title=e.title, description=e.description,
        workflow=e.workflow.name, workflow_sha256=e.workflow.sha256, outcome=None,
        category=e.category, channel=e.channel,
        petitioner_kind=e.petitioner.kind, street=e.location.street,
        community=e.location.community, grid=e.location.grid, lead_unit=None,
        assignee=None, mediator=None, filed_at=iso(e.occurred_at), last_rating=None,
        campaign_id=str(e.campaign_id) if e.campaign_id else None, cb_day=None,
        cb_contacted=None, cb_resolved=None, reminders=0, escalations=0, excluded=0,
        sign_state=None, contact_state=None, returns=0, escalation_levels=None,
        request_type=getattr(e, "request_type", "complaint"),
        urgency=getattr(e, "urgency", "normal"),
        anonymous=int(bool(getattr(e, "anonymous", False))), cb_impossible=None,
        matter_type=e.matter_type, closed_at=None, reopens=0,
        petitioner_id=e.petitioner.id, petitioner_name=e.petitioner.name,
        petitioner_phone=e.petitioner.phone,
    )


def _filed_stored(e: LiteEvent, d: dict[str, Any], row: Row) -> None:
    """:func:`_filed` from a filing's parsed stored state (the same values,
    read straight from the JSON: a missing field raises ``KeyError``)."""
    _filed_state(e.originator_id, e.iso("occurred_at"), d, row)


def _filed_state(pid: str, filed_at: str, d: dict[str, Any], row: Row) -> None:
    """:func:`_filed_stored` of petition ``pid`` filed at ``filed_at``."""
    plain = _plain
    workflow, petitioner, location = (_attrs_data(d["workflow"]),
                                      _attrs_data(d["petitioner"]),
                                      _attrs_data(d["location"]))
    campaign = plain(d["campaign_id"])
    row.update(
        id=pid, title=plain(d["title"]), description=plain(d["description"]),
        workflow=plain(workflow["name"]), workflow_sha256=plain(workflow["sha256"]),
        outcome=None, category=plain(d["category"]), channel=plain(d["channel"]),
        petitioner_kind=plain(petitioner["kind"]), street=plain(location["street"]),
        community=plain(location["community"]), grid=plain(location["grid"]),
        lead_unit=None, assignee=None, mediator=None, filed_at=filed_at,
        last_rating=None, campaign_id=str(campaign) if campaign else None, cb_day=None,
        cb_contacted=None, cb_resolved=None, reminders=0, escalations=0, excluded=0,
        sign_state=None, contact_state=None, returns=0, escalation_levels=None,
        request_type=plain(d.get("request_type", "complaint")),
        urgency=plain(d.get("urgency", "normal")),
        anonymous=int(bool(plain(d.get("anonymous", False)))), cb_impossible=None,
        matter_type=plain(d["matter_type"]), closed_at=None, reopens=0,
        petitioner_id=plain(petitioner["id"]), petitioner_name=plain(petitioner["name"]),
        petitioner_phone=plain(petitioner["phone"]),
    )


def _count(column: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        row[column] = int(row.get(column) or 0) + 1
    _READS_NOTHING.add(update)
    return update


def _excluded(e: Any, row: Row) -> None:
    row["excluded"] = 1


def _outcome(value: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        row["outcome"] = value
    _READS_NOTHING.add(update)
    return update


def _assigned(e: Any, row: Row) -> None:
    row.update(lead_unit=e.unit, assignee=e.person)


def _dispatched(e: Any, row: Row) -> None:
    """A dispatch: signing for and first contact are due when the workflow set
    their limits (``Assigned`` version 3)."""
    _assigned(e, row)
    row.update(sign_state="due" if getattr(e, "sign_by", None) is not None else None,
               contact_state="due" if getattr(e, "contact_by", None) is not None else None)


def _transferred(e: Any, row: Row) -> None:
    """A transfer: under a workflow whose transfers are signed for anew
    (``Transferred`` version 2, ``signs_anew``) the new unit's signing for and
    first contact are due again; otherwise their state stays as it was."""
    if getattr(e, "signs_anew", False):
        _dispatched(e, row)
    else:
        _assigned(e, row)


def _signed(e: Any, row: Row) -> None:
    row["sign_state"] = "in_time" if e.in_time else "late"


def _contacted(e: Any, row: Row) -> None:
    row["contact_state"] = "in_time" if e.in_time else "late"


def _returned(e: Any, row: Row) -> None:
    row.update(lead_unit=None, assignee=None, sign_state=None, contact_state=None,
               returns=e.returns)


def _escalated(e: Any, row: Row) -> None:
    row["escalations"] = int(row.get("escalations") or 0) + 1
    level = getattr(e, "level", None)
    if level:
        row["escalation_levels"] = add_level(row.get("escalation_levels"), level)


def _disputed(e: Any, row: Row) -> None:
    row.update(lead_unit=None, assignee=None, sign_state=None, contact_state=None)


def _mediation(e: Any, row: Row) -> None:
    row["mediator"] = e.mediator


def _callback(e: Any, row: Row) -> None:
    row.update(last_rating=e.rating, cb_contacted=int(e.contacted),
               cb_resolved=int(e.resolved),
               cb_day=e.occurred_at.astimezone(OFFICE_ZONE).strftime("%Y-%m-%d"))


def _callback_impossible(e: Any, row: Row) -> None:
    row["cb_impossible"] = e.occurred_at.astimezone(OFFICE_ZONE).strftime("%Y-%m-%d")


def _next_due(row: Row) -> None:
    """When a sweep next has something to record: the warning, then the
    deadline; nothing while paused, after a breach, or without a clock."""
    if row["deadline"] is None or row["deadline_state"] in ("paused", "breached"):
        row["next_due"] = None
    else:
        row["next_due"] = row["warn_due"] or row["deadline"]


def _clock_started(e: Any, row: Row) -> None:
    row.update(deadline=_iso_of(e, "deadline"), deadline_state="on_time", clock_mark="on_time",
               warn_due=_iso_of(e, "warn_time"))
    _next_due(row)


def _clock_paused(e: Any, row: Row) -> None:
    if row["deadline"] is not None:
        row["deadline_state"] = "paused"
        _next_due(row)


def _clock_resumed(e: Any, row: Row) -> None:
    if row["deadline"] is None:
        return
    row["deadline"] = _iso_of(e, "deadline")
    if row["warn_due"] is not None:
        row["warn_due"] = _iso_of(e, "warn_time")
    row["deadline_state"] = row["clock_mark"]
    _next_due(row)


def _clock_mark(mark: str) -> Callable[[Any, Row], None]:
    def update(e: Any, row: Row) -> None:
        if row["deadline"] is None:
            return
        row.update(clock_mark=mark, warn_due=None)
        if row["deadline_state"] != "paused":
            row["deadline_state"] = mark
        _next_due(row)
    _READS_NOTHING.add(update)
    return update


def _extended(e: Any, row: Row) -> None:
    if getattr(e, "deadline", None) is None or row["deadline"] is None:
        return
    row["deadline"] = _iso_of(e, "deadline")
    if row["warn_due"] is not None and e.warn_time is not None:
        row["warn_due"] = _iso_of(e, "warn_time")
    _next_due(row)


#: What each kind of event changes besides version, time and stage.
UPDATES: dict[type[Any], Callable[[Any, Row], None]] = {
    Petition.Filed: _filed,
    Petition.Rejected: _outcome("rejected"),
    Petition.MarkedDuplicate: _outcome("duplicate"),
    Petition.Withdrawn: _outcome("withdrawn"),
    Petition.Closed: _outcome("resolved"),
    Petition.Assigned: _dispatched,
    Petition.Transferred: _transferred,
    Petition.DispatchDisputed: _disputed,
    Petition.MediationOpened: _mediation,
    Petition.CallbackRecorded: _callback,
    Petition.ClockStarted: _clock_started,
    Petition.ClockPaused: _clock_paused,
    Petition.ClockResumed: _clock_resumed,
    Petition.ClockWarned: _clock_mark("warned"),
    Petition.ClockBreached: _clock_mark("breached"),
    Petition.DeadlineExtended: _extended,
    Petition.Escalated: _escalated,
    Petition.Reopened: _count("reopens"),
    Reminded: _count("reminders"),
    Excluded: _excluded,
    Signed: _signed,
    Contacted: _contacted,
    Returned: _returned,
    AnsweredAtOnce: _outcome("resolved"),
    CallbackImpossible: _callback_impossible,
    Petition.DeadlineRecomputed: _extended,
}

_READS_NOTHING.update((_excluded, _disputed, _clock_paused))

_CASE_VALUES = operator.itemgetter(*CASE_COLUMNS)
_CLOCK_COLUMNS = ("deadline", "deadline_state", "clock_mark", "warn_due", "next_due")
_NO_CLOCK = dict.fromkeys(_CLOCK_COLUMNS)


_UPDATE_OF: dict[type[Any], Callable[[Any, Row], None] | None] = {}


def update_of(cls: type[Any]) -> Callable[[Any, Row], None] | None:
    """What an event of class ``cls`` changes besides version, time and stage."""
    try:
        return _UPDATE_OF[cls]
    except KeyError:
        pass
    found = next((UPDATES[b] for b in cls.__mro__ if b in UPDATES), None)
    _UPDATE_OF[cls] = found
    return found


def event_class(event: Any) -> type[Any]:
    """The event class of a domain event or of a :class:`LiteEvent`."""
    found: type[Any] = event.cls if type(event) is LiteEvent else type(event)
    return found


_FILED: dict[type[Any], bool] = {}


def _is_filed(cls: type[Any]) -> bool:
    try:
        return _FILED[cls]
    except KeyError:
        found = _FILED[cls] = issubclass(cls, Petition.Filed)
        return found


def apply_event(batch: ViewBatch, event: Any) -> None:
    """Bring the views up to date with one petition event (a domain event or
    a :class:`LiteEvent` read from the stored bytes).  Everything the event
    gives is read before the batch changes (a light event that cannot be read
    leaves the batch as it was, for the full decoding to apply)."""
    if type(event) is LiteEvent:
        cls = event.cls
        pid: str = event.originator_id
        at = event.iso("occurred_at")
        stage = event.get("stage")
    else:
        cls = type(event)
        pid = str(event.originator_id)
        at = iso(event.occurred_at)
        stage = getattr(event, "stage", None)
    filed = _is_filed(cls)
    old = None if filed else batch.current(pid)
    if old is None and not filed:
        return  # pragma: no cover - a petition always starts with Filed
    new: Row = dict(old) if old is not None else dict.fromkeys(CASE_COLUMNS)
    new["version"] = event.originator_version
    new["updated_at"] = at
    if stage is not None:
        if old is not None and stage != old["stage"]:
            new.update(_NO_CLOCK)  # leaving a stage stops its clock
        new["stage"] = stage
    update = update_of(cls)
    if update is not None:
        update(event, new)
    if new["outcome"]:
        new["status"] = "closed"
        if old is None or not old["outcome"]:
            new["closed_at"] = at
    else:
        new["status"] = "open"
        new["closed_at"] = None
    batch.put(pid, new, filed)


# ------------------------------------------------------------ stored bytes
class NeedsFullDecode(Exception):
    """A stored event the light decoder does not read (left to the mapper)."""


class _Value:
    """An attrs value inside a stored event, read field by field."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return _plain(self._data[name])
        except KeyError:
            raise AttributeError(name) from None


def _plain(value: Any) -> Any:
    """A stored JSON value as the view reads it (eventsourcing's ``_type_`` forms)."""
    if type(value) is dict and len(value) == 2 and "_type_" in value:
        kind, data = value["_type_"], value["_data_"]
        if kind == "datetime_iso":
            return datetime.fromisoformat(data)
        if kind == "uuid_hex":
            return UUID(data)
        if kind.startswith("attrs:") and type(data) is dict:
            return _Value(data)
        raise NeedsFullDecode(kind)
    return value


#: The Python types of event fields annotated as plain text, whole numbers or
#: yes/no (optionally ``| None``): what a view may be handed for them.
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "str | None": (str, type(None)), "int": (int,),
    "int | None": (int, type(None)), "bool": (bool,), "bool | None": (bool, type(None)),
}
_FIELD_TYPES: dict[type, dict[str, tuple[type, ...]]] = {}


def _field_types(cls: type[Any]) -> dict[str, tuple[type, ...]]:
    """``{field: types}`` of ``cls``'s plainly typed fields (cached)."""
    found = _FIELD_TYPES.get(cls)
    if found is None:
        found = {}
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                annotation = f.type if isinstance(f.type, str) else getattr(
                    f.type, "__name__", "")
                types = _SIMPLE_TYPES.get(annotation)
                if types is not None:
                    found[f.name] = types
        _FIELD_TYPES[cls] = found
    return found


def _typed(cls: type[Any], name: str, value: Any) -> Any:
    """``value`` if it has the type field ``name`` of ``cls`` declares; else the
    stored event is not what its class says (damaged or forged bytes that still
    parse): :class:`NeedsFullDecode`, so that the full reading decides."""
    types = _field_types(cls).get(name)
    if types is not None and not isinstance(value, types):
        raise NeedsFullDecode(name)
    return value


def mistyped_field(event: Any) -> str | None:
    """The first plainly typed field of a decoded domain event whose value has
    another type (a stored event that parses but is not what its class says),
    or ``None``."""
    for name, types in _field_types(type(event)).items():
        if not isinstance(getattr(event, name, None), types):
            return name
    return None


def _attrs_data(value: Any) -> dict[str, Any]:
    """The fields of an attrs value as stored (``{"_type_": "attrs:…", "_data_": {…}}``)."""
    if (type(value) is dict and len(value) == 2 and str(value.get("_type_")).startswith("attrs:")
            and type(value.get("_data_")) is dict):
        data: dict[str, Any] = value["_data_"]
        return data
    raise NeedsFullDecode("attrs")


def _iso_text(text: str) -> str:
    """:func:`iso` of a stored ``datetime_iso`` text.  A UTC time as Python
    writes it (``…T03:04:05+00:00`` or ``…T03:04:05.000006+00:00``) is
    rewritten as text, after checking that it reads as a time; others are
    converted through ``datetime``."""
    when = fromisoformat(text)  # refuses a damaged time (ValueError)
    if text[19:] == "+00:00":  # 25 characters, ending so
        return text[:19] + ".000000Z"
    if text[26:] == "+00:00" and text[19] == ".":  # 32 characters
        return text[:26] + "Z"
    return iso(when)


#: A stored event as read from the events table: (position, originator id,
#: version, topic, state bytes).
StoredRow = tuple[int, Any, int, str, bytes]

_DECODER = json.JSONDecoder()
_DATETIME = b'{"_type_":"datetime_iso","_data_":"'
_ABSENT = object()
_KEYS: dict[str, bytes] = {}
#: ``{`` and ``,``: what precedes a key in compact JSON.
_BEFORE_KEY = (0x7B, 0x2C)


_REQUIRED: dict[type[Any], frozenset[str]] = {}


def _required(cls: type[Any]) -> frozenset[str]:
    """The fields of event class ``cls`` without a default: a stored event of
    its current class version always holds them at the top level."""
    found = _REQUIRED.get(cls)
    if found is None:
        found = _REQUIRED[cls] = frozenset(
            f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING) if dataclasses.is_dataclass(
                cls) else frozenset()
    return found


def _petition_id(oid: Any) -> str:
    """A stored originator id as the views hold it (``8-4-4-4-12`` hex text)."""
    if type(oid) is str and len(oid) == 32:  # the hex eventsourcing stores in SQLite
        return f"{oid[:8]}-{oid[8:12]}-{oid[12:16]}-{oid[16:20]}-{oid[20:]}"
    return oid if type(oid) is str and len(oid) == 36 else str(UUID(str(oid)))


#: Petition ids of recently read stored ids (a petition's events come close together).
_PIDS: dict[Any, str] = {}


class LiteEvent:
    """A stored petition event read for the views only: only the fields a view
    reads are taken from the stored JSON (UTF-8 bytes), when read; no attrs
    value is built and nothing personal is decrypted.

    A field is read without parsing the whole state when its key occurs exactly
    once in it and the event class requires the field (so that one occurrence
    is the top-level one): ``"name":`` after ``{`` or ``,`` can only occur in
    JSON as a key (a quote inside a string is escaped), and only its value is
    decoded.  Any other case parses the whole state once (``json.loads``)."""

    __slots__ = ("_state", "_text", "cls", "originator_id", "originator_version", "row")

    def __init__(self, cls: type[Any], row: StoredRow, text: bytes,
                 state: dict[str, Any] | None = None) -> None:
        self.cls = cls
        oid = row[1]
        pid = _PIDS.get(oid)
        if pid is None:
            if len(_PIDS) >= 100_000:
                _PIDS.clear()
            pid = _PIDS[oid] = _petition_id(oid)
        self.originator_id = pid
        self.originator_version = row[2]
        self.row = row
        self._text = text
        self._state = state

    def _parse(self) -> dict[str, Any]:
        try:
            data = json.loads(self._text)
        except ValueError:
            raise NeedsFullDecode("state") from None
        if type(data) is not dict:
            raise NeedsFullDecode("state")
        self._state = data
        return data

    def _raw(self, name: str) -> Any:
        """The stored JSON value of field ``name`` (:data:`_ABSENT` if none)."""
        state = self._state
        if state is None:
            text = self._text
            key = _KEYS.get(name)
            if key is None:
                key = _KEYS[name] = f'"{name}":'.encode()
            at = text.find(key)
            if at < 0:
                return _ABSENT
            j = at + len(key)
            if (text.find(key, j) < 0 and text[at - 1] in _BEFORE_KEY
                    and name in _required(self.cls)):
                try:
                    first = text[j]
                    if first == 0x22:  # "
                        end = text.find(b'"', j + 1)
                        value = text[j + 1:end]
                        if b"\\" not in value:
                            return value.decode("utf-8")
                    elif first == 0x7B and text.startswith(_DATETIME, j):  # {
                        k = j + len(_DATETIME)
                        end = text.find(b'"', k)
                        if text.startswith(b'"}', end):
                            return {"_type_": "datetime_iso",
                                    "_data_": text[k:end].decode("ascii")}
                    return _DECODER.raw_decode(text[j:].decode("utf-8"))[0]
                except ValueError:  # UnicodeDecodeError too
                    raise NeedsFullDecode(name) from None
            state = self._parse()
        return state.get(name, _ABSENT)

    def __getattr__(self, name: str) -> Any:
        value = self._raw(name)
        if value is _ABSENT:
            raise AttributeError(name)
        return _typed(self.cls, name, _plain(value))

    def get(self, name: str) -> Any:
        """The field ``name``, or ``None`` when the stored event has none."""
        value = self._raw(name)
        return None if value is _ABSENT else _typed(self.cls, name, _plain(value))

    def iso(self, name: str) -> str:
        """:func:`iso` of the time in field ``name``, without building a
        ``datetime`` for a UTC time."""
        if self._state is None:  # the common case, read as in _raw
            text = self._text
            key = _KEYS.get(name)
            if key is None:
                key = _KEYS[name] = f'"{name}":'.encode()
            at = text.find(key)
            j = at + len(key)
            if (at > 0 and text.startswith(_DATETIME, j) and text[at - 1] in _BEFORE_KEY
                    and text.find(key, j) < 0 and name in _required(self.cls)):
                k = j + len(_DATETIME)
                end = text.find(b'"', k)
                if text.startswith(b'"}', end):
                    return _iso_text(text[k:end].decode("ascii"))
        value = self._raw(name)
        if (type(value) is dict and value.get("_type_") == "datetime_iso"
                and type(value.get("_data_")) is str):
            return _iso_text(value["_data_"])
        if value is _ABSENT:
            raise AttributeError(name)
        return iso(_plain(value))


def _iso_of(event: Any, name: str) -> str:
    """:func:`iso` of the time in field ``name`` of a domain or light event."""
    if type(event) is LiteEvent:
        return event.iso(name)
    return iso(getattr(event, name))


@functools.cache
def petition_event_class(topic: str) -> type[Any] | None:
    """The petition event class of a stored topic (``None``: no view reads it)."""
    try:
        cls = resolve_topic(topic)
    except Exception:
        raise NeedsFullDecode(topic) from None
    if isinstance(cls, type) and issubclass(cls, Petition.Event):
        return cls
    return None


_MARKS: dict[type[Any], bytes] = {}


def _version_mark(cls: type[Any]) -> bytes:
    """How a stored event of ``cls``'s current class version ends (eventsourcing
    adds ``class_version`` last, and only when it is not 1)."""
    found = _MARKS.get(cls)
    if found is None:
        version = getattr(cls, "class_version", 1)
        found = _MARKS[cls] = (b"" if version == 1
                               else f',"class_version":{version}}}'.encode())
    return found


def lite_event(row: StoredRow, topic: str, state: bytes) -> LiteEvent | None:
    """The stored event as the views read it, or ``None`` when no view needs
    it (its payload is not even parsed); :class:`NeedsFullDecode` when it must
    go through eventsourcing's mapper (upcasting, unknown value types)."""
    cls = petition_event_class(topic)
    if cls is None:
        return None
    text = state if type(state) is bytes else bytes(state)
    if not (text.startswith(b"{") and text.endswith(b"}")):
        raise NeedsFullDecode("state")
    mark = _version_mark(cls)
    if (text.endswith(mark) if mark else b'"class_version":' not in text):
        event = LiteEvent(cls, row, text)
        if _is_filed(cls):
            event._parse()  # a filing's many fields: one parse costs less than a scan each
        return event
    # Not plainly the current class version: read the whole state to be sure.
    event = LiteEvent(cls, row, text)
    data = event._parse()
    if data.get("class_version", 1) != getattr(cls, "class_version", 1):
        raise NeedsFullDecode("class_version")
    return event


def stored_rows(recorder: Any, after: int, limit: int) -> list[StoredRow]:
    """Up to ``limit`` stored events after position ``after``, in order, read
    straight from the events table (rows, not eventsourcing notifications)."""
    from petitions.persistence import is_postgres_recorder, is_sqlite_recorder

    table = recorder.events_table_name
    if is_sqlite_recorder(recorder):
        with recorder.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute("SELECT rowid, originator_id, originator_version, topic, state "
                           f"FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                           (after, limit))
            return cursor.fetchall()  # type: ignore[no-any-return]
    if is_postgres_recorder(recorder):
        from psycopg.rows import tuple_row
        from psycopg.sql import SQL, Identifier

        datastore = recorder.datastore
        query = SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id "
                    "LIMIT %s").format(Identifier(datastore.schema), Identifier(table))
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, (after, limit))
            return [(p, o, v, t, bytes(s)) for p, o, v, t, s in cursor.fetchall()]
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)  # pragma: no cover
            for n in recorder.select_notifications(start=after, limit=limit,
                                                   inclusive_of_start=False)]


# ------------------------------------------------------------ the fast path
class _Declined(Exception):
    """Raised inside :func:`fast_item` for a stored event it leaves to
    :func:`lite_event` (which then reads it exactly as before)."""


_DECLINED = _Declined()


def _pid_of(oid: Any) -> str:
    pid = _PIDS.get(oid)
    if pid is None:
        if len(_PIDS) >= 100_000:
            _PIDS.clear()
        pid = _PIDS[oid] = _petition_id(oid)
    return pid


def _key(name: str) -> bytes:
    key = _KEYS.get(name)
    if key is None:
        key = _KEYS[name] = f'"{name}":'.encode()
    return key


def _fast_raw(text: bytes, key: bytes, required: bool) -> Any:
    """Field ``key``'s stored value, read as :meth:`LiteEvent._raw` reads it
    without parsing the whole state (:data:`_ABSENT` when the key is not
    there); raises :data:`_DECLINED` where that reading would parse the
    whole state or fail, or the value is not text, ``null``, ``true`` or
    ``false`` (those are left to :func:`lite_event`)."""
    at = text.find(key)
    if at < 0:
        return _ABSENT
    j = at + len(key)
    if not required or text.find(key, j) >= 0 or text[at - 1] not in _BEFORE_KEY:
        raise _DECLINED
    first = text[j]
    if first == 0x22:  # "
        end = text.find(b'"', j + 1)
        value = text[j + 1:end]
        if b"\\" in value:
            raise _DECLINED
        try:
            return value.decode("utf-8")
        except ValueError:
            raise _DECLINED from None
    if first == 0x6E and text.startswith(b"null", j):
        return None
    if first == 0x74 and text.startswith(b"true", j):
        return True
    if first == 0x66 and text.startswith(b"false", j):
        return False
    raise _DECLINED


def _fast_time(text: bytes, key: bytes, required: bool) -> Any:
    """The stored time in field ``key`` as its ``datetime_iso`` text, ``None``
    for a stored ``null``, :data:`_ABSENT` when absent; :data:`_DECLINED`
    otherwise (as :func:`_fast_raw`)."""
    at = text.find(key)
    if at < 0:
        return _ABSENT
    j = at + len(key)
    if (required and text.startswith(_DATETIME, j) and text[at - 1] in _BEFORE_KEY
            and text.find(key, j) < 0):
        k = j + _DATETIME_LEN
        end = text.find(b'"', k)
        if text.startswith(b'"}', end):
            try:
                return text[k:end].decode("ascii")
            except ValueError:
                raise _DECLINED from None
    elif (required and text.startswith(b"null", j) and text[at - 1] in _BEFORE_KEY
            and text.find(key, j) < 0):
        return None
    raise _DECLINED


def _fast_iso(text: bytes, key: bytes, required: bool) -> str:
    """:func:`_iso_text` of the stored time in field ``key`` (as
    :meth:`LiteEvent.iso` reads it without parsing the whole state);
    :data:`_DECLINED` in every other case."""
    at = text.find(key)
    j = at + len(key)
    if (at > 0 and required and text.startswith(_DATETIME, j) and text[at - 1] in _BEFORE_KEY
            and text.find(key, j) < 0):
        k = j + _DATETIME_LEN
        end = text.find(b'"', k)
        if text.startswith(b'"}', end):
            try:
                value = text[k:end].decode("ascii")
                # _iso_text, inline: a UTC time as Python writes it is rewritten as text.
                n = end - k
                when = fromisoformat(value)
                if n == 25 and value.endswith("+00:00"):
                    return value[:19] + ".000000Z"
                if n == 32 and value[19] == "." and value.endswith("+00:00"):
                    return value[:26] + "Z"
                return iso(when)
            except ValueError:
                raise _DECLINED from None
    raise _DECLINED


_DATETIME_LEN = len(_DATETIME)


class _Plan:
    """How the fast path reads one event class: the fields its update needs
    (each checked as :meth:`LiteEvent.__getattr__` checks it) and what it
    hands the update."""

    __slots__ = ("at_required", "cls", "convert", "decode", "fields", "mark", "read", "required",
                 "stage_required", "update", "uses")

    def __init__(self, cls: type[Any], read: Callable[[_Plan, bytes], Any] | None,
                 update: Callable[[Any, Row], None] | None,
                 struct: _StructRead | None = None) -> None:
        self.cls = cls
        self.mark = _version_mark(cls)
        self.required = _required(cls)
        self.stage_required = "stage" in self.required
        self.at_required = "occurred_at" in self.required
        self.read = read
        self.update = update
        #: The struct reading (see :func:`_struct_decoder`): the fields the update
        #: reads (``True``: absent reads as ``None``), what it is handed, made
        #: of the decoded struct; the decoder, once made (``False``: none).
        self.fields, self.convert = struct if struct is not None else ((), None)
        self.decode: Any = None
        self.uses = 0

    def text(self, text: bytes, name: str) -> str:
        value = _fast_raw(text, _key(name), name in self.required)
        if type(value) is not str:
            raise _DECLINED  # absent, or not text: the light reading decides
        return value

    def flag(self, text: bytes, name: str) -> bool:
        value = _fast_raw(text, _key(name), name in self.required)
        if type(value) is not bool:
            raise _DECLINED
        return value

    def optional_text(self, text: bytes, name: str) -> str | None:
        value = _fast_raw(text, _key(name), name in self.required)
        if value is not None and type(value) is not str:
            raise _DECLINED
        types = _field_types(self.cls).get(name)
        if types is not None and not isinstance(value, types):
            raise _DECLINED
        return value

    def time_set(self, text: bytes, name: str) -> bool:
        """Whether optional time field ``name`` holds a time (``getattr(e,
        name, None) is not None``); the time is checked to read as one."""
        value = _fast_time(text, _key(name), name in self.required)
        if value is _ABSENT or value is None:
            return False
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise _DECLINED from None
        return True


def _read_clock(plan: _Plan, text: bytes) -> Any:
    required = plan.required
    return (_fast_iso(text, b'"deadline":', "deadline" in required),
            _fast_iso(text, b'"warn_time":', "warn_time" in required))


def _apply_clock(values: Any, row: Row) -> None:
    deadline, warn = values
    row["deadline"], row["warn_due"] = values
    row["deadline_state"] = row["clock_mark"] = "on_time"
    row["next_due"] = None if deadline is None else warn or deadline  # as _next_due


def _read_dispatch(plan: _Plan, text: bytes) -> Any:
    unit, person = plan.text(text, "unit"), plan.text(text, "person")
    return (unit, person, "due" if plan.time_set(text, "sign_by") else None,
            "due" if plan.time_set(text, "contact_by") else None)


def _apply_dispatch(values: Any, row: Row) -> None:
    row["lead_unit"], row["assignee"], row["sign_state"], row["contact_state"] = values


def _read_callback(plan: _Plan, text: bytes) -> Any:
    rating = plan.optional_text(text, "rating")
    contacted, resolved = plan.flag(text, "contacted"), plan.flag(text, "resolved")
    at = _fast_time(text, b'"occurred_at":', plan.at_required)
    if type(at) is not str:
        raise _DECLINED
    try:
        day = datetime.fromisoformat(at).astimezone(OFFICE_ZONE).strftime("%Y-%m-%d")
    except ValueError:
        raise _DECLINED from None
    return rating, int(contacted), int(resolved), day


def _apply_callback(values: Any, row: Row) -> None:
    row["last_rating"], row["cb_contacted"], row["cb_resolved"], row["cb_day"] = values


def _read_mediator(plan: _Plan, text: bytes) -> Any:
    return plan.text(text, "mediator")


def _apply_mediator(values: Any, row: Row) -> None:
    row["mediator"] = values


def _read_in_time(plan: _Plan, text: bytes) -> Any:
    return "in_time" if plan.flag(text, "in_time") else "late"


def _apply_sign(values: Any, row: Row) -> None:
    row["sign_state"] = values


def _apply_contact(values: Any, row: Row) -> None:
    row["contact_state"] = values


#: The updates the fast path reads for itself: how to read their fields and
#: apply them (the same changes as the update, from values read beforehand).
_FAST_UPDATES: dict[Callable[[Any, Row], None],
                    tuple[Callable[[_Plan, bytes], Any], Callable[[Any, Row], None]]] = {
    _clock_started: (_read_clock, _apply_clock),
    _dispatched: (_read_dispatch, _apply_dispatch),
    _callback: (_read_callback, _apply_callback),
    _mediation: (_read_mediator, _apply_mediator),
    _signed: (_read_in_time, _apply_sign),
    _contacted: (_read_in_time, _apply_contact),
}

_PLANS: dict[str, _Plan | None] = {}


def _plan(topic: str) -> _Plan | None:
    """The fast path's plan for a stored topic (``None``: not read this way)."""
    try:
        return _PLANS[topic]
    except KeyError:
        pass
    plan: _Plan | None = None
    try:
        cls = petition_event_class(topic)
    except NeedsFullDecode:
        cls = None
    if cls is not None and _is_filed(cls):
        plan = _Plan(cls, None, _put_filed)
    elif cls is not None:
        update = update_of(cls)
        if update is None or update in _READS_NOTHING:
            plan = _Plan(cls, None, update, ((), None))
        elif update in _FAST_UPDATES:
            read, apply = _FAST_UPDATES[update]
            plan = _Plan(cls, read, apply, _STRUCT_READS[update])
    _PLANS[topic] = plan
    return plan


def plan_update(topic: str) -> Callable[[Any, Row], None] | None:
    """The update a :data:`FastItem` of stored topic ``topic`` carries (what
    :func:`fast_item` puts first in it)."""
    plan = _plan(topic)
    if plan is None:  # pragma: no cover - fast_item reads no such event
        raise KeyError(topic)
    return plan.update


def is_filing(topic: str) -> bool:
    """Whether a :data:`FastItem` of stored topic ``topic`` is a filing (its
    values the whole case row)."""
    plan = _plan(topic)
    return plan is not None and plan.update is _put_filed


#: A stored event read by the fast path: (update, petition id, version,
#: time, stage, what the update is handed).
FastItem = tuple[Callable[[Any, Row], None] | None, str, int, str, str | None, Any]


def fast_item(row: StoredRow) -> FastItem | None:
    """A stored petition event of a common kind read straight from its bytes
    into what its view update needs (no event object), or ``None``: then
    :func:`lite_event` reads it.

    The stored JSON is decoded by ``msgspec`` into a small struct of just the
    fields the view update needs (:func:`_struct_decoder`; the rest is skipped,
    in C), typed as the event class declares them.  Whatever that decoding
    refuses (not UTF-8, not JSON, a field missing or of another type, an
    unexpected time) is read as before, key by key from the bytes
    (:func:`_bytes_item`), which in turn declines what the light reading
    would not read without parsing the whole state; so the views come out
    the same as through :func:`lite_event` and eventsourcing's mapper."""
    try:
        plan = _PLANS[row[3]]
    except KeyError:
        plan = _plan(row[3])
    if plan is None:
        return None
    text = row[4]
    if type(text) is not bytes or text[:1] != b"{":
        return None  # e.g. encrypted: eventsourcing's mapper reads it
    decode = plan.decode
    if decode:
        # The struct reading (see _struct_decoder), inline: it reads most events.
        try:
            if not text.isascii():  # ASCII is UTF-8; else check, as json.loads
                text.decode()  # (msgspec skips the strings it does not read)
            s = decode(text)
            at = s.occurred_at.text
            when = fromisoformat(at)  # refuses a damaged time (ValueError)
            # _iso_text, inline: a UTC time as Python writes it is rewritten as text.
            if at[19:] == "+00:00":
                at = at[:19] + ".000000Z"
            elif at[26:] == "+00:00" and at[19] == ".":
                at = at[:26] + "Z"
            else:
                at = iso(when)
            oid = row[1]
            pid = _PIDS.get(oid)
            if pid is None:
                pid = _pid_of(oid)
            stage = s.stage
            if stage is not None:
                stage = _TEXTS.get(stage) or _shared(stage)
            update = plan.update
            if update is _put_filed:
                return update, pid, row[2], at, stage, _filed_row(pid, row[2], at, stage, s)
            convert = plan.convert
            return (update, pid, row[2], at, stage,
                    convert(s) if convert is not None else None)
        except _FALL_BACK:
            pass
    elif decode is None:
        if plan.uses >= STRUCT_AFTER:
            plan.decode = _struct_decoder(plan)
            return fast_item(row)
        plan.uses += 1
    return _bytes_item(plan, row, text)


def _bytes_item(plan: _Plan, row: StoredRow, text: bytes) -> FastItem | None:
    """:func:`fast_item` read key by key from the stored bytes: only what the
    light reading would read without parsing the whole state, and would
    accept, is read here; every other case is declined (``None``)."""
    if not (text.startswith(b"{") and text.endswith(b"}")):
        return None
    mark = plan.mark
    if not (text.endswith(mark) if mark else b'"class_version":' not in text):
        return None
    if plan.update is _put_filed:
        return _filed_item(plan, row, text)
    # The stage, as _fast_raw reads it (inline: every event has one to look for).
    if plan.stage_required:
        i = text.find(b'"stage":')
        if i < 0:
            stage = None
        else:
            j = i + 8
            if text[j] != 0x22 or text[i - 1] not in _BEFORE_KEY or text.find(
                    b'"stage":', j) >= 0:
                return None
            value = text[j + 1:text.find(b'"', j + 1)]
            if b"\\" in value:
                return None
            try:
                stage = value.decode("utf-8")
            except ValueError:
                return None
    elif b'"stage":' in text:
        return None  # not a field of the class: the light reading parses it all
    else:
        stage = None
    try:
        at = _fast_iso(text, b'"occurred_at":', plan.at_required)
        read = plan.read
        values = read(plan, text) if read is not None else None
    except _Declined:
        return None
    oid = row[1]
    pid = _PIDS.get(oid)
    return (plan.update, pid if pid is not None else _pid_of(oid), row[2], at, stage,
            values)


_EMPTY_ROW: Row = dict.fromkeys(CASE_COLUMNS)


def _put_filed(values: Any, row: Row) -> None:
    """Marks a filing in a :data:`FastItem` (its case row built beforehand)."""
    raise AssertionError("a filing's row is put whole")  # pragma: no cover


def _filed_item(plan: _Plan, stored: StoredRow, text: bytes) -> FastItem | None:
    """A filing's case row, built from its parsed state as :func:`apply_event`
    builds it from a :class:`LiteEvent` (``None`` where that would not read it)."""
    try:
        d = json.loads(text)
        if type(d) is not dict:
            return None
        when = d.get("occurred_at", _ABSENT)
        if not (type(when) is dict and when.get("_type_") == "datetime_iso"
                and type(when.get("_data_")) is str):
            return None
        at = _iso_text(when["_data_"])
        stage = d.get("stage", _ABSENT)
        if stage is _ABSENT:
            stage = None
        elif type(stage) is not str:
            return None
        pid = _pid_of(stored[1])
        row: Row = _EMPTY_ROW.copy()
        row["version"] = stored[2]
        row["updated_at"] = at
        row["stage"] = stage
        _filed_state(pid, at, d, row)
    except _UNREADABLE:
        return None
    if row["outcome"]:  # pragma: no cover - a filing has none
        row["status"], row["closed_at"] = "closed", at
    else:
        row["status"] = "open"
    return _put_filed, pid, stored[2], at, stage, row


# ------------------------------------------------------------ the struct reading
#: A plan reads its events through ``msgspec`` once it has read so many key by
#: key: the catch-up of the few events a command has just stored does without
#: importing it (issue 12, point 6); a bulk catch-up switches at once.
STRUCT_AFTER = 32

#: What makes :func:`fast_item` fall back to reading key by key (msgspec's
#: ``DecodeError`` and ``ValidationError`` are ``ValueError``; a time that does
#: not read as one raises ``ValueError`` too).
_FALL_BACK = (ValueError, AttributeError, TypeError, RecursionError, _Declined)

#: The fields an update reads (``True``: an absent field reads as ``None``, as
#: ``getattr(event, name, None)`` does) and what it is handed, made of the
#: decoded struct (see :data:`_FAST_UPDATES`; ``None``: nothing).
_StructRead = tuple[tuple[tuple[str, bool], ...], Callable[[Any], Any] | None]


#: Texts of few distinct values (stages, units, people, categories, places …)
#: as read: one string object each, shared by the items that hold it, so that
#: a decoder pickles each once per range and the writer unpickles one string,
#: not one per event (about half the writer's unpickling).
_TEXTS: dict[str, str] = {}


def _shared(text: str) -> str:
    """``text``, as the one object :data:`_TEXTS` holds for it."""
    found = _TEXTS.get(text)
    if found is None:
        if len(_TEXTS) >= 100_000:
            _TEXTS.clear()
        found = _TEXTS[text] = text
    return found


def _time_set(value: Any) -> bool:
    """Whether an optional stored time holds one (checked to read as a time)."""
    if value is None:
        return False
    fromisoformat(value.text)
    return True


def _struct_clock(s: Any) -> Any:
    return _iso_text(s.deadline.text), _iso_text(s.warn_time.text)


def _struct_dispatch(s: Any) -> Any:
    return (_shared(s.unit), _shared(s.person), "due" if _time_set(s.sign_by) else None,
            "due" if _time_set(s.contact_by) else None)


def _struct_callback(s: Any) -> Any:
    local = fromisoformat(s.occurred_at.text).astimezone(OFFICE_ZONE)
    # strftime's day, a fifth of its cost (it does not pad a year before 1000).
    day = local.date().isoformat() if local.year >= 1000 else local.strftime("%Y-%m-%d")
    rating = s.rating
    return (_shared(rating) if rating is not None else None, int(s.contacted),
            int(s.resolved), _shared(day))


def _struct_mediator(s: Any) -> Any:
    return _shared(s.mediator)


def _struct_in_time(s: Any) -> Any:
    return "in_time" if s.in_time else "late"


_STRUCT_READS: dict[Callable[[Any, Row], None], _StructRead] = {
    _clock_started: ((("deadline", False), ("warn_time", False)), _struct_clock),
    _dispatched: ((("unit", False), ("person", False), ("sign_by", True), ("contact_by", True)),
                  _struct_dispatch),
    _callback: ((("rating", False), ("contacted", False), ("resolved", False)),
                _struct_callback),
    _mediation: ((("mediator", False),), _struct_mediator),
    _signed: ((("in_time", False),), _struct_in_time),
    _contacted: ((("in_time", False),), _struct_in_time),
}
assert set(_STRUCT_READS) == set(_FAST_UPDATES)


@functools.cache
def _struct_types() -> dict[str, Any]:
    """The msgspec types of the field annotations the struct reading reads, by
    annotation (a time: its stored ``datetime_iso`` form, nothing else in it)."""
    from typing import Literal

    import msgspec

    time = msgspec.defstruct(
        "StoredTime", [("kind", Literal["datetime_iso"], msgspec.field(name="_type_")),
                       ("text", str, msgspec.field(name="_data_"))],
        forbid_unknown_fields=True)
    return {"str": str, "str | None": str | None, "bool": bool, "bool | None": bool | None,
            "int": int, "int | None": int | None, "datetime": time,
            "datetime | None": time | None}


def _annotations(cls: type[Any]) -> dict[str, str]:
    """``{field: annotation text}`` of an event class."""
    if not dataclasses.is_dataclass(cls):
        return {}
    return {f.name: f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
            for f in dataclasses.fields(cls)}


def _struct_decoder(plan: _Plan) -> Any:
    """A ``msgspec`` decoder of the fields ``plan``'s update reads, typed as
    its event class declares them (``False`` where a field is not one the
    struct reading knows how to type: then the bytes are read key by key).

    ``stage`` is decoded for every class: absent it is ``None`` (nothing
    changes), and where the class has no ``stage`` field only ``null`` is
    taken (the light reading applies whatever else it finds)."""
    import msgspec

    types = _struct_types()
    annotations = _annotations(plan.cls)
    if plan.update is _put_filed:
        return _filed_decoder(plan, annotations)
    time = annotations.get("occurred_at")
    if plan.convert is None and plan.fields:  # pragma: no cover - every read has a convert
        return False
    if time != "datetime" or not plan.at_required:
        return False
    stage = annotations.get("stage") if plan.stage_required else "None"
    if stage != "None" and stage not in ("str", "str | None"):
        return False
    members: list[Any] = [("occurred_at", types["datetime"]),
                          ("stage", None if stage == "None" else types[stage], None)]
    for name, absent_none in plan.fields:
        annotation = annotations.get(name)
        if annotation not in types:
            return False
        if absent_none:
            members.append((name, types[annotation], None))
        else:
            members.append((name, types[annotation]))
    members.append(_class_version(plan.cls))
    struct = msgspec.defstruct(f"Stored{plan.cls.__name__}", members, kw_only=True)
    return msgspec.json.Decoder(struct).decode


def _class_version(cls: type[Any]) -> tuple[Any, ...]:
    """The struct member that takes only a stored event of ``cls``'s current
    class version (an older one is upcast by eventsourcing's mapper): its
    ``class_version``, which eventsourcing leaves out for version 1."""
    from typing import Literal

    version = getattr(cls, "class_version", 1)
    if version == 1:
        return "class_version", Literal[1], 1
    return "class_version", Literal[version]


def _filed_decoder(plan: _Plan, annotations: dict[str, str]) -> Any:
    """The struct reading of a filing: the fields :func:`_filed_state` reads
    (an attrs value: its ``_type_`` and ``_data_`` only, ``_data_`` an object
    holding at least the fields read)."""
    from typing import Literal

    import msgspec

    expected = {"occurred_at": "datetime", "stage": "str", "title": "str", "description": "str",
                "category": "str", "channel": "str", "matter_type": "str",
                "workflow": "WorkflowRef", "petitioner": "Petitioner", "location": "Location",
                "campaign_id": "UUID | None", "request_type": "str", "urgency": "str",
                "anonymous": "bool"}
    if any(annotations.get(k) != v for k, v in expected.items()):
        return False
    field = msgspec.field

    def attrs(name: str, fields: tuple[str, ...]) -> Any:
        data = msgspec.defstruct(f"Stored{name}Data", [(f, str) for f in fields])
        return msgspec.defstruct(f"Stored{name}", [("kind", str, field(name="_type_")),
                                                   ("data", data, field(name="_data_"))],
                                 forbid_unknown_fields=True)

    uuid = msgspec.defstruct(
        "StoredUUID", [("kind", Literal["uuid_hex"], field(name="_type_")),
                       ("text", str, field(name="_data_"))], forbid_unknown_fields=True)
    members: list[Any] = [
        ("occurred_at", _struct_types()["datetime"]), ("stage", str, None),
        *((name, str) for name in ("title", "description", "category", "channel",
                                   "matter_type")),
        ("workflow", attrs("WorkflowRef", ("name", "sha256"))),
        ("petitioner", attrs("Petitioner", ("kind", "name", "phone", "id"))),
        ("location", attrs("Location", ("street", "community", "grid"))),
        ("campaign_id", uuid | None), ("request_type", str, "complaint"),
        ("urgency", str, "normal"), ("anonymous", bool, False), _class_version(plan.cls)]
    struct = msgspec.defstruct(f"Stored{plan.cls.__name__}", members, kw_only=True)
    return msgspec.json.Decoder(struct).decode


def _filed_row(pid: str, version: int, at: str, stage: str | None, s: Any) -> Row:
    """A filing's case row from its decoded struct (as :func:`_filed_item`)."""
    workflow, petitioner, location = s.workflow, s.petitioner, s.location
    if not (workflow.kind.startswith("attrs:") and petitioner.kind.startswith("attrs:")
            and location.kind.startswith("attrs:")):
        raise _DECLINED
    workflow, petitioner, location = workflow.data, petitioner.data, location.data
    campaign = s.campaign_id
    # Every case column (the test of the struct reading checks the names); set
    # one by one on a copy of the constant ones (a third of building it whole).
    row = _FILED_ROW.copy()
    row["id"] = pid
    row["version"] = version
    row["stage"] = stage
    row["title"], row["description"] = s.title, s.description
    row["workflow"], row["workflow_sha256"] = workflow.name, workflow.sha256
    row["category"], row["channel"], row["matter_type"] = s.category, s.channel, s.matter_type
    row["petitioner_kind"] = petitioner.kind
    row["street"], row["community"], row["grid"] = (location.street, location.community,
                                                    location.grid)
    row["filed_at"] = row["updated_at"] = at
    if campaign is not None:
        row["campaign_id"] = _shared(str(UUID(campaign.text)))
    row["request_type"], row["urgency"] = s.request_type, s.urgency
    row["anonymous"] = int(s.anonymous)
    row["petitioner_id"], row["petitioner_name"], row["petitioner_phone"] = (
        petitioner.id, petitioner.name, petitioner.phone)
    # Its texts of few distinct values as _shared gives them (in C: bounded here).
    if len(_TEXTS) >= 100_000:
        _TEXTS.clear()
    shared = _TEXTS.setdefault
    for name in _FILED_SHARED:
        text = row[name]
        row[name] = shared(text, text)
    return row


#: A filing's case row before its own values: what every filing sets alike.
_FILED_ROW: Row = {**dict.fromkeys(CASE_COLUMNS), "status": "open", "reminders": 0,
                   "escalations": 0, "excluded": 0, "returns": 0, "reopens": 0}

#: The columns of a filing's row :func:`_filed_row` shares (see :data:`_TEXTS`).
_FILED_SHARED = ("workflow", "workflow_sha256", "category", "channel", "petitioner_kind",
                 "street", "community", "grid", "request_type", "urgency", "matter_type")


def apply_fast(batch: ViewBatch, item: FastItem) -> None:
    """:func:`apply_event` for a :func:`fast_item` (the case row changed in place:
    the batch's own copy, and everything was read before)."""
    if item[0] is _put_filed:
        batch.put(item[1], item[5], True)
        return
    row = batch.current(item[1])
    if row is None:
        return  # pragma: no cover - a petition always starts with Filed
    apply_to_row(row, item)


def apply_to_row(row: Row, item: FastItem) -> None:
    """Apply a :func:`fast_item` other than a filing to the case row ``row``
    (changed in place): what :func:`apply_fast` does to the batch's row, and
    what a decoder process does to the row of a case filed in the range it
    reads (:mod:`petitions.readmodels.pipeline`)."""
    update, _, version, at, stage, values = item
    was_closed = row["outcome"]
    row["version"] = version
    row["updated_at"] = at
    if stage is not None:
        if stage != row["stage"]:
            row.update(_NO_CLOCK)  # leaving a stage stops its clock
        row["stage"] = stage
    if update is not None:
        update(values, row)
    if row["outcome"]:
        row["status"] = "closed"
        if not was_closed:
            row["closed_at"] = at
    else:
        row["status"] = "open"
        row["closed_at"] = None


# ------------------------------------------------------------ a batch
#: A rate counter's key: (grouping, group, kind, outcome, contacted, resolved,
#: rating, sign state, contact state, supervision levels); ``kind`` is
#: ``valid`` (a valid call-back) or ``impossible`` (a call-back recorded as
#: impossible); text that is NULL in the case index is "" here.
RateKey = tuple[str, str, str, str, int, int, str, str, str, str]
#: What a case adds to a rate counter: (cases, returns, reminders, escalations).
RateAmounts = tuple[int, int, int, int]


def _rate_keys(row: Row | None) -> list[tuple[RateKey, RateAmounts]]:
    """The rate counters a case counts in, with what it adds to each: a valid
    call-back (not excluded) per grouping of ``stats``, with the columns the
    rates read; a call-back recorded as impossible per grouping (its day for
    month and year).  ``stats`` over all days sums these instead of the rows."""
    if row is None or row["excluded"]:
        return []
    out: list[tuple[RateKey, RateAmounts]] = []
    place = (("street", str(row["street"] or "")), ("community", str(row["community"] or "")),
             ("grid", str(row["grid"] or "")), ("category", str(row["category"] or "")),
             ("unit", str(row["lead_unit"] or "")))
    day = row["cb_day"]
    if day is not None:
        rest = (row["outcome"] or "", int(row["cb_contacted"] or 0),
                int(row["cb_resolved"] or 0), row["last_rating"] or "",
                row["sign_state"] or "", row["contact_state"] or "",
                row["escalation_levels"] or "")
        amounts = (1, int(row["returns"] or 0), int(row["reminders"] or 0),
                   int(row["escalations"] or 0))
        out.extend(((by, grp, "valid", *rest), amounts)
                   for by, grp in (*place, ("month", day[:7]), ("year", day[:4])))
    impossible = row["cb_impossible"]
    if impossible is not None:
        out.extend(((by, grp, "impossible", "", 0, 0, "", "", "", ""), (1, 0, 0, 0))
                   for by, grp in (*place, ("month", impossible[:7]),
                                   ("year", impossible[:4])))
    return out


def _count_keys(row: Row | None) -> list[tuple[str, str, str]]:
    if row is None:
        return []
    status = row["status"]
    keys = [("*", "", status)]
    keys.extend((dim, str(row[dim] if row[dim] is not None else ""), status)
                for dim in COUNT_DIMENSIONS)
    return keys


class ViewBatch:
    """The view changes of one transaction, worked out in memory and written
    set-wise when it ends (:meth:`flush`): the rows a batch touches are read
    in one query, each case is written once however many of its events the
    batch holds, and counters move by the sum of their changes."""

    def __init__(self, tx: ViewTx) -> None:
        self.tx = tx
        #: Each touched case as stored before the batch (``None``: new).
        self.before: dict[str, Row | None] = {}
        #: Each touched case as it is now: a dict, or a new case's row as the
        #: values of :data:`CASE_COLUMNS` (a decoder process's), made a dict
        #: only if a later event of the batch changes it.
        self.rows: dict[str, Row | CaseValues] = {}

    def load(self, pids: Iterable[str]) -> None:
        """Read the stored rows of ``pids`` not read yet, in one query per chunk."""
        missing = [p for p in dict.fromkeys(pids) if p not in self.before]
        if not missing:
            return
        found = self.tx.get_cases(missing)
        for pid in missing:
            row = found.get(pid)
            self.before[pid] = row
            if row is not None:
                self.rows[pid] = dict(row)

    def current(self, pid: str) -> Row | None:
        if pid not in self.before:
            self.load([pid])
        found = self.rows.get(pid)
        if found is None or type(found) is dict:
            return found
        row = self.rows[pid] = dict(zip(CASE_COLUMNS, found, strict=True))
        return row

    def put(self, pid: str, row: Row | CaseValues, filed: bool) -> None:
        """Set case ``pid``'s row (``filed``: a filing's), a dict or the
        values of :data:`CASE_COLUMNS` in order."""
        if filed and pid not in self.before:
            self.before[pid] = None
        self.rows[pid] = row

    def flush(self) -> None:
        if self.tx.bulk:
            self._flush_cases()
            return
        inserts: list[Row] = []
        updates: dict[tuple[str, ...], list[Row]] = {}
        caseload: dict[tuple[str, str], list[int]] = {}
        campaigns: dict[str, list[int]] = {}
        counts: dict[tuple[str, str, str], int] = {}
        rates: dict[RateKey, list[int]] = {}
        for pid, found in self.rows.items():
            new = found if type(found) is dict else dict(zip(CASE_COLUMNS, found, strict=True))
            old = self.before.get(pid)
            if old is None:
                inserts.append(new)
            else:
                if _CASE_VALUES(new) == _CASE_VALUES(old):
                    continue
                changed = tuple(c for c in CASE_COLUMNS if c != "id" and new[c] != old[c])
                updates.setdefault(changed, []).append(new)
            _counters(caseload, campaigns, old, new)
            ckeys_old, ckeys_new = _count_keys(old), _count_keys(new)
            if ckeys_old != ckeys_new:
                for keys, sign in ((ckeys_old, -1), (ckeys_new, 1)):
                    for key in keys:
                        counts[key] = counts.get(key, 0) + sign
            rkeys_old, rkeys_new = _rate_keys(old), _rate_keys(new)
            if rkeys_old == rkeys_new:
                continue
            for rkeys, sign in ((rkeys_old, -1), (rkeys_new, 1)):
                for rkey, (cases, returns, reminders, escalations) in rkeys:
                    sums = rates.get(rkey)
                    if sums is None:
                        sums = rates[rkey] = [0, 0, 0, 0]
                    sums[0] += sign * cases
                    sums[1] += sign * returns
                    sums[2] += sign * reminders
                    sums[3] += sign * escalations
        tx = self.tx
        if inserts:
            tx.insert_cases(inserts)
        for columns, rows in updates.items():
            tx.update_cases(columns, rows)
        tx.bump_caseloads([(r, p, o, c) for (r, p), (o, c) in caseload.items() if o or c])
        tx.bump_campaigns([(k, v[0], v[1], v[2], v[3]) for k, v in campaigns.items() if any(v)])
        tx.bump_counts([(*k, n) for k, n in counts.items() if n])
        tx.bump_rates([(k, (v[0], v[1], v[2], v[3])) for k, v in rates.items() if any(v)])
        self.before.clear()
        self.rows.clear()

    def _flush_cases(self) -> None:
        """:meth:`flush` of a bulk transaction: the case rows only (the
        counters are counted from them when the bulk writing finishes)."""
        inserts: list[CaseValues] = []
        updates: dict[tuple[str, ...], list[Row]] = {}
        values = _CASE_VALUES
        for pid, new in self.rows.items():
            old = self.before.get(pid)
            if old is None:
                inserts.append(new if type(new) is tuple else values(new))
            elif type(new) is dict and values(new) != values(old):
                changed = tuple(c for c in CASE_COLUMNS if c != "id" and new[c] != old[c])
                updates.setdefault(changed, []).append(new)
        if inserts:
            self.tx.insert_case_values(inserts)
        for columns, rows in updates.items():
            self.tx.update_cases(columns, rows)
        self.before.clear()
        self.rows.clear()


def _counters(caseload: dict[tuple[str, str], list[int]], campaigns: dict[str, list[int]],
              old: Row | None, new: Row) -> None:
    def load(row: Row | None, key: str) -> tuple[str | None, int, int]:
        if row is None or not row[key]:
            return None, 0, 0
        is_open = row["status"] == "open"
        return row[key], int(is_open), int(not is_open)

    for role in ("assignee", "mediator"):
        before, after = load(old, role), load(new, role)
        if before == after:
            continue
        for (person, o, c), sign in ((before, -1), (after, 1)):
            if person is not None:
                bump = caseload.setdefault((role, person), [0, 0])
                bump[0] += sign * o
                bump[1] += sign * c

    def progress(row: Row | None) -> tuple[str | None, int, int, int, int]:
        if row is None or not row["campaign_id"]:
            return None, 0, 0, 0, 0
        is_open = row["status"] == "open"
        return (row["campaign_id"], 1, int(is_open), int(not is_open),
                int(row["outcome"] == "resolved"))

    before_c, after_c = progress(old), progress(new)
    if before_c != after_c:
        for (cid, *numbers), sign in ((before_c, -1), (after_c, 1)):
            if cid is not None:
                bump = campaigns.setdefault(cid, [0, 0, 0, 0])
                for i, n in enumerate(numbers):
                    bump[i] += sign * n


#: What a light event may raise when its stored state lacks what a view reads.
_UNREADABLE = (NeedsFullDecode, AttributeError, KeyError, TypeError, ValueError)


def apply_events(tx: ViewTx, events: Iterable[Any],
                 full: Callable[[LiteEvent], Any] | None = None) -> None:
    """Apply petition events (domain events, :class:`LiteEvent` or
    :func:`fast_item` tuples; others are skipped) in one batch.  A light event
    whose state the views cannot read is handed to ``full`` (eventsourcing's
    mapper) and applied as it returns."""
    wanted: list[Any] = [e for e in events if type(e) is tuple or type(e) is LiteEvent
                         or isinstance(e, Petition.Event)]
    batch = ViewBatch(tx)
    batch.load(e[1] if type(e) is tuple else str(e.originator_id) for e in wanted
               if (e[0] is not _put_filed if type(e) is tuple
                   else not _is_filed(event_class(e))))
    for event in wanted:
        if type(event) is tuple:
            apply_fast(batch, event)
        elif full is not None and type(event) is LiteEvent:
            try:
                apply_event(batch, event)
            except _UNREADABLE:
                decoded = full(event)
                if isinstance(decoded, Petition.Event):
                    apply_event(batch, decoded)
        else:
            apply_event(batch, event)
    batch.flush()


class ViewProjection:
    """Case index, caseloads and campaign progress, from petition events: what
    :class:`CaseViews` does, without eventsourcing's ``Projection`` base,
    whose module (and the ones it imports) the in-process catch-up of a query
    does without (issue 12, point 6)."""

    name = VIEWS_NAME
    topics: tuple[str, ...] = ()

    def __init__(self, view: ViewStore) -> None:
        self._view = view

    @property
    def view(self) -> ViewStore:
        """The view store the events are applied to."""
        return self._view

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event and record its tracking, in one transaction."""
        self.process_batch([(domain_event, tracking)])

    def process_batch_after(self, items: Sequence[tuple[Any, Tracking]], position: int,
                            full: Callable[[LiteEvent], Any] | None = None) -> bool:
        """Apply ``items`` only if the views stand exactly at ``position`` (read
        in the same transaction); return whether they were applied."""
        if not items:
            return True
        return self.apply_after([event for event, _ in items], items[-1][1], position, full)

    #: Whether the last :meth:`apply_after` found (or left) a bulk writing
    #: unfinished (see :meth:`ViewStore.finish_bulk`).
    unfinished = False

    def apply_after(self, events: Sequence[Any], tracking: Tracking, position: int,
                    full: Callable[[LiteEvent], Any] | None = None,
                    bulk: bool = False, bulk_text: bool = False,
                    grams: Mapping[str, str] | None = None) -> bool:
        """Apply ``events`` (the stored events after ``position`` up to
        ``tracking``'s, in order; ``None`` for those no view reads) and record
        ``tracking``, in one transaction, only if the views stand exactly at
        ``position`` (read in that transaction); return whether they were
        applied.  ``bulk``: write the case index only, where the store can
        (:attr:`ViewStore.bulk_supported`), marked as unfinished in the same
        transaction; :meth:`ViewStore.finish_bulk` fills in the rest (with
        ``bulk_text``: the counters only; the text indexes are written here,
        with the bigrams of the cases in ``grams`` as given, by id)."""
        with self.view.transaction(bulk, bulk_text, grams) as tx:
            current = tx.tracked(tracking.application_name)
            self.unfinished = tx.unfinished
            if (current or 0) != position:
                return False
            if tx.bulk:
                tx.mark_bulk(tracking.application_name)
                self.unfinished = True
            apply_events(tx, events, full)
            tx.track(tracking)
        return True

    def process_batch(self, items: Sequence[tuple[Any, Tracking]]) -> None:
        """Apply several events in one transaction, tracking the last."""
        if not items:
            return
        with self.view.transaction() as tx:
            apply_events(tx, (event for event, _ in items))
            tx.track(items[-1][1])


if TYPE_CHECKING:
    from eventsourcing.projection import Projection

    class CaseViews(ViewProjection, Projection[ViewStore]):
        """:class:`ViewProjection` as an ``eventsourcing.projection.Projection``
        (for eventsourcing's ``ProjectionRunner``, :mod:`petitions.readmodels.runner`)."""

        name = VIEWS_NAME
else:
    def __getattr__(name: str) -> Any:
        """``CaseViews``, made when first asked for (PEP 562)."""
        if name != "CaseViews":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from eventsourcing.projection import Projection

        class CaseViews(ViewProjection, Projection[ViewStore]):
            """:class:`ViewProjection` as an ``eventsourcing.projection.Projection``
            (for eventsourcing's ``ProjectionRunner``, :mod:`petitions.readmodels.runner`)."""

            name = VIEWS_NAME

        CaseViews.__module__ = __name__
        CaseViews.__qualname__ = "CaseViews"
        globals()["CaseViews"] = CaseViews
        return CaseViews
