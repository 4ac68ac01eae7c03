"""Open311 GeoReport v2 over the library: resources, their data, XML and JSON.

Framework-free: each resource is a function of the service and the request's
parameters returning plain data, rendered by :func:`render` as the spec's
XML or as its JSON mapping.  :mod:`petitions.http.app` routes requests here.

Mappings (docs/http.md says the same):

* a *service* is a category of the taxonomy (``service_code`` = category code);
* ``service_request_id`` is the petition's id (its work-order number once the
  store numbers work orders);
* ``status`` is ``closed`` when the petition's stage is terminal under its
  pinned workflow (closed, rejected, duplicate, withdrawn), else ``open``;
  ``extensions=true`` adds the stage as ``detailed_status``;
* ``agency_responsible`` is the lead unit; ``expected_datetime`` the running
  time limit's deadline; ``status_notes`` the written reply or the reason of a
  rejection;
* ``lat``/``long``: the petition's location has no coordinates yet, so they are
  kept in the location's place text as a trailing ``@lat,long`` (an assumption
  until locations get coordinates) and read back from there, as given (taken
  to be WGS-84 as the spec says; no conversion to GCJ-02).

No personal data of the requester appears in any response: ``first_name``,
``last_name``, ``phone`` and ``email`` go into the sealed petitioner and are never shown;
the petitioner is not part of any answer here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from petitions.domain.values import (
    REQUEST_TYPE_LABELS,
    URGENCY_LABELS,
    Location,
    Petitioner,
)
from petitions.errors import InvalidInput, PetitionError, PetitionNotFound
from petitions.http.common import language, parse_time, resolve, w3c
from petitions.http.keys import ApiKey
from petitions.taxonomy import taxonomy
from workflows.vocabulary import REQUEST_TYPES, URGENCIES

if TYPE_CHECKING:
    from petitions.service import PetitionService
    from petitions.views import PetitionView

FORMATS = ("json", "xml")
MAX_DESCRIPTION = 4000
MAX_SPAN = timedelta(days=90)
DEFAULT_ROWS = 1000
#: The channel of a request filed through Open311 unless ``attribute[channel]`` says otherwise.
DEFAULT_CHANNEL = "online"
_COORDS = re.compile(r"\s*@(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$")

#: XML element names of list items, by the list's name.
_ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
          "attributes": "attribute", "values": "value", "endpoints": "endpoint",
          "formats": "format", "notes": "note", "service_request_updates": "request_update",
          "keywords": "keyword"}

#: mySociety's extended statuses, by the petition event that sets them.
UPDATE_STATUS = {
    "Filed": "open", "Accepted": "investigating", "Assigned": "in_progress",
    "Transferred": "internal_referral", "DispatchDisputed": "for_triage",
    "MediationOpened": "in_progress", "PlanStepCompleted": "in_progress",
    "ActionRecorded": "action_scheduled", "OnSiteMeetingHeld": "in_progress",
    "Replied": "in_progress", "Resolved": "fixed", "Closed": "closed",
    "Rejected": "not_councils_responsibility", "MarkedDuplicate": "duplicate",
    "Withdrawn": "cancelled", "Reopened": "reopen",
    # sign-for (签收) and return (退单) of a dispatched order
    "Signed": "in_progress", "Returned": "for_triage",
}


class Open311Error(Exception):
    """An answer in the spec's error format, with its HTTP status."""

    def __init__(self, status: int, description: str, code: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code if code is not None else status
        self.description = description

    def payload(self) -> list[dict[str, Any]]:
        return [{"code": self.code, "description": self.description}]


def from_library(exc: PetitionError) -> Open311Error:
    """The spec's error for a refused library call."""
    if isinstance(exc, PetitionNotFound):
        return Open311Error(404, str(exc))
    if exc.code in ("permission_denied", "key_refused"):
        return Open311Error(403, str(exc))
    return Open311Error(400, str(exc))


# ------------------------------------------------------------------ rendering
def _xml(parent: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, list | tuple):
        holder = ET.SubElement(parent, name)
        for item in value:
            _xml(holder, _ITEMS.get(name, "item"), item)
        return
    node = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _xml(node, key, inner)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def render(fmt: str, root: str, payload: Any) -> tuple[bytes, str]:
    """``payload`` as the spec's XML (``root`` the outer element) or JSON."""
    if fmt == "json":
        return (json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                "application/json; charset=utf-8")
    top = ET.Element(root)
    if isinstance(payload, list):
        for item in payload:
            _xml(top, _ITEMS.get(root, "item"), item)
    else:
        for key, value in payload.items():
            _xml(top, key, value)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode"
                                                                   ).encode("utf-8")
    return body, "text/xml; charset=utf-8"


def split_format(resource: str) -> tuple[str, str]:
    """``requests.json`` → (``requests``, ``json``); 404 without a known suffix."""
    base, dot, fmt = resource.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise Open311Error(404, f"unknown resource {resource!r}: add .json or .xml")
    return base, fmt


# ---------------------------------------------------------------- resources
def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": "2026-01-01T00:00:00+08:00",
        "contact": "The operator of this petitions server",
        "key_service": "Keys are issued by the operator: petitions api-key create",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                       "url": base_url.rstrip("/"),
                       "changeset": "2026-01-01T00:00:00+08:00",
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    }


def services(lang: str) -> list[dict[str, Any]]:
    """One service per category of the taxonomy."""
    tax = taxonomy()
    return [{"service_code": code, "service_name": term.in_lang(lang),
             "description": term.in_lang("zh" if lang == "en" else "en"),
             "metadata": True, "type": "realtime",
             "keywords": ", ".join(dict.fromkeys((code, term.label_zh, term.label_en))),
             "group": "petitions"} for code, term in tax.categories.items()]


def _known_places(svc: PetitionService) -> tuple[list[str], list[str]]:
    """Communities and grids petitions have named so far (from the case index)."""
    communities: dict[str, None] = {}
    grids: dict[str, None] = {}
    for case in svc.list_petitions(limit=None):
        if case.community:
            communities[case.community] = None
        if case.grid:
            grids[case.grid] = None
    return sorted(communities), sorted(grids)


def _values(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "name": n} for k, n in pairs]


def service_definition(svc: PetitionService, code: str, lang: str) -> dict[str, Any]:
    tax = taxonomy()
    if code not in tax.categories:
        raise Open311Error(404, f"unknown service_code {code!r}")
    communities, grids = _known_places(svc)
    zh = lang == "zh"

    def attribute(order: int, name: str, zh_text: str, en_text: str,
                  values: list[dict[str, str]]) -> dict[str, Any]:
        text = zh_text if zh else en_text
        return {"variable": True, "code": name, "datatype": "singlevaluelist",
                "required": False, "datatype_description": text, "order": order,
                "description": text, "values": values}

    return {"service_code": code, "attributes": [
        attribute(1, "matter_type", "信访事项类型", "Matter type",
                  _values((c, t.in_lang(lang)) for c, t in tax.matter_types.items())),
        attribute(2, "channel", "来源渠道", "Channel",
                  _values((c, t.in_lang(lang)) for c, t in tax.channels.items())),
        attribute(3, "community", "社区", "Community", _values((c, c) for c in communities)),
        attribute(4, "grid", "网格", "Grid", _values((g, g) for g in grids)),
        attribute(5, "type", "诉求类型", "Request type",
                  _values((c, REQUEST_TYPE_LABELS[c].in_lang(lang)) for c in REQUEST_TYPES)),
        attribute(6, "urgency", "紧急程度", "Urgency",
                  _values((c, URGENCY_LABELS[c].in_lang(lang)) for c in URGENCIES)),
    ]}


def _one(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or []
    return values[-1].strip() if values else ""


def _float(name: str, text: str, bound: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must lie between {-bound} and {bound}")
    return value


def _request_key(key: ApiKey, form: Mapping[str, Sequence[str]]) -> str:
    """The idempotency key of a POST: the client's key name and everything it sent
    (but the API key), so repeating the same request files nothing new."""
    canonical = json.dumps(sorted((k, list(v)) for k, v in form.items() if k != "api_key"),
                           ensure_ascii=False)
    return f"open311:{key.name}:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:32]}"


def post_request(svc: PetitionService, key: ApiKey,
                 form: Mapping[str, Sequence[str]], lang: str) -> list[dict[str, Any]]:
    """File a petition from a GeoReport request; answer its id and a notice."""
    code = _one(form, "service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    tax = taxonomy()
    if code not in tax.categories:
        raise Open311Error(404, f"unknown service_code {code!r}")
    lat, lon = _one(form, "lat"), _one(form, "long")
    address = _one(form, "address_string") or _one(form, "address_id")
    if bool(lat) != bool(lon):
        raise Open311Error(400, "lat and long must be given together")
    if not (lat or address):
        raise Open311Error(400, "a location is required: lat and long, address_string "
                                "or address_id")
    if lat:
        address = f"{address} @{_float('lat', lat, 90)!r},{_float('long', lon, 180)!r}".strip()
    description = _one(form, "description")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    attrs_given = {k[len("attribute["):-1]: v[-1].strip() for k, v in form.items()
                   if k.startswith("attribute[") and k.endswith("]") and v}
    unknown = sorted(set(attrs_given) - {"matter_type", "channel", "community", "grid",
                                         "street", "type", "urgency"})
    if unknown:
        raise Open311Error(400, f"unknown attribute {unknown[0]!r}")
    first, last = _one(form, "first_name"), _one(form, "last_name")
    # Chinese names: family name first, no space; others: "first last".
    name = (last + first if (first + last) and not (first + last).isascii()
            else " ".join(p for p in (first, last) if p))
    petitioner = Petitioner(kind="resident", name=name or "匿名",
                            phone=_one(form, "phone"), email=_one(form, "email"))
    term = tax.categories[code]
    title = (description.splitlines()[0][:40] if description else term.in_lang(lang)) or code
    try:
        pid = svc.file(
            actor=key.actor, petitioner=petitioner, title=title,
            description=description or term.label_zh, category=code,
            channel=attrs_given.get("channel") or DEFAULT_CHANNEL,
            matter_type=attrs_given.get("matter_type") or None,
            request_type=attrs_given.get("type") or None,
            urgency=attrs_given.get("urgency") or "normal",
            location=Location(street=attrs_given.get("street", ""),
                              community=attrs_given.get("community", ""),
                              grid=attrs_given.get("grid", ""), place=address),
            idempotency_key=_request_key(key, form))
    except PetitionError as exc:
        raise from_library(exc) from None
    notice = ("已受理登记，请留意办理进度" if lang == "zh"
              else "Your request was registered; follow its progress with its id")
    return [{"service_request_id": request_id(svc, pid), "service_notice": notice}]


def request_id(svc: PetitionService, pid: Any) -> str:
    """The public id of a petition: its work-order number when the library has
    them, else its id."""
    number: Any = getattr(svc, "number_of", None)
    if callable(number):
        found = number(pid)
        if found:
            return str(found)
    return str(pid)


def _status_notes(view: PetitionView) -> str:
    if view.rejection_reason:
        return view.rejection_reason
    return view.reply_text or ""


def request_data(svc: PetitionService, view: PetitionView, lang: str,
                 extensions: bool = False) -> dict[str, Any]:
    """A petition as a GeoReport ``request`` (no data of the requester)."""
    tax = taxonomy()
    term = tax.categories.get(view.category)
    address = view.location.place
    lat = lon = ""
    found = _COORDS.search(address)
    if found:
        lat, lon = found.group(1), found.group(2)
        address = address[:found.start()]
    place = " ".join(p for p in (view.location.street, view.location.community,
                                 f"{view.location.grid}网格" if view.location.grid else "",
                                 address) if p)
    closed = view.status == "closed"
    out: dict[str, Any] = {
        "service_request_id": request_id(svc, view.id),
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(view),
        "service_name": term.in_lang(lang) if term else view.category,
        "service_code": view.category,
        "description": view.description,
        "agency_responsible": view.lead_unit or "",
        "service_notice": "",
        "requested_datetime": w3c(view.filed_at),
        "updated_datetime": w3c(view.updated_at),
        "expected_datetime": w3c(view.deadline) or "",
        "address": place,
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lon,
        "media_url": "",
    }
    if extensions:
        wf = svc.workflow(view.workflow.name, view.workflow.version)
        try:
            stage = wf.stage(view.stage).label.in_lang(lang)
        except Exception:
            stage = view.stage
        out["extended_attributes"] = {
            "detailed_status": view.stage.upper(), "detailed_status_label": stage,
            "channel": view.channel, "matter_type": view.matter_type,
            "type": view.type, "urgency": view.urgency,
            "outcome": view.outcome or "", "deadline_state": view.deadline_state or ""}
        out["notes"] = [{"type": e.type, "datetime": w3c(e.occurred_at),
                         "role": e.role,
                         "status": UPDATE_STATUS.get(e.type, "in_progress")}
                        for e in svc.history(view.id)]
    return out


def _get_view(svc: PetitionService, ref: str) -> PetitionView:
    try:
        return svc.get(resolve(svc, ref))
    except (PetitionNotFound, InvalidInput):
        raise Open311Error(404, f"no service request {ref!r}") from None


def get_request(svc: PetitionService, ref: str, lang: str,
                extensions: bool = False) -> list[dict[str, Any]]:
    return [request_data(svc, _get_view(svc, ref), lang, extensions)]


def _time_param(params: Mapping[str, str], name: str) -> datetime | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_time(name, text)
    except InvalidInput:
        raise Open311Error(400, f"{name} must be a W3C datetime") from None


def _int_param(params: Mapping[str, str], name: str, default: int, low: int,
               high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Open311Error(400, f"{name} must be a whole number from {low} to {high}")
    return int(text)


def get_requests(svc: PetitionService, params: Mapping[str, str],
                 lang: str) -> list[dict[str, Any]]:
    """``GET requests``: by ids, or filtered by service, status and dates, newest first."""
    extensions = params.get("extensions", "").lower() == "true"
    ids = [p.strip() for p in params.get("service_request_id", "").split(",") if p.strip()]
    if ids:
        out = []
        for ref in ids[:DEFAULT_ROWS]:
            try:
                out.extend(get_request(svc, ref, lang, extensions))
            except Open311Error:
                continue  # unknown ids are left out of a list
        return out
    status = params.get("status", "").strip()
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status must be open or closed")
    code = params.get("service_code", "").strip()
    codes = [c.strip() for c in code.split(",") if c.strip()]
    tax = taxonomy()
    for c in codes:
        if c not in tax.categories:
            raise Open311Error(404, f"unknown service_code {c!r}")
    start, end = _time_param(params, "start_date"), _time_param(params, "end_date")
    after, before = (_time_param(params, "updated_after"),
                     _time_param(params, "updated_before"))
    now = svc.clock()
    if start and end and end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if not (start or end or after or before):
        start = now - MAX_SPAN  # the spec's default: the last 90 days
    elif start and not end and not (after or before):
        end = start + MAX_SPAN
    elif end and not start and not (after or before):
        start = end - MAX_SPAN
    page_size = _int_param(params, "page_size", DEFAULT_ROWS, 1, DEFAULT_ROWS)
    page = _int_param(params, "page", 1, 1, 1_000_000)
    rows = []
    for case in svc.list_petitions(limit=None):
        if statuses and case.status not in statuses:
            continue
        if codes and case.category not in codes:
            continue
        if (start and case.filed_at < start) or (end and case.filed_at > end):
            continue
        if (after and case.updated_at < after) or (before and case.updated_at > before):
            continue
        rows.append(case)
    chosen = rows[(page - 1) * page_size:page * page_size]
    return [request_data(svc, svc.get(case.id), lang, extensions) for case in chosen]


def request_updates(svc: PetitionService, params: Mapping[str, str],
                    lang: str) -> list[dict[str, Any]]:
    """mySociety's ``GET servicerequestupdates``: one update per petition event
    recorded between ``start_date`` and ``end_date``, from the change feed
    (``update_id`` = its position, so a client resumes after the last one)."""
    start, end = _time_param(params, "start_date"), _time_param(params, "end_date")
    after_text = params.get("after", "").strip()
    if after_text and not after_text.isdigit():
        raise Open311Error(400, "after must be a feed position (a whole number)")
    limit = _int_param(params, "page_size", DEFAULT_ROWS, 1, DEFAULT_ROWS)
    words = {"open": ("已登记", "Registered"), "investigating": ("已受理", "Accepted"),
             "in_progress": ("办理中", "In progress"), "fixed": ("已解决", "Fixed"),
             "closed": ("已办结", "Closed"), "reopen": ("重新办理", "Reopened"),
             "duplicate": ("重复件", "Duplicate"), "cancelled": ("已撤回", "Withdrawn"),
             "not_councils_responsibility": ("不予受理", "Not ours to handle"),
             "internal_referral": ("已转办", "Transferred"),
             "for_triage": ("重新派单", "Back to dispatch"),
             "action_scheduled": ("已采取措施", "Action taken")}
    out: list[dict[str, Any]] = []
    for change in svc.changes(after=int(after_text or 0)):
        if change.type not in UPDATE_STATUS:
            continue
        if (start and change.recorded_at < start) or (end and change.recorded_at > end):
            continue
        status = UPDATE_STATUS[change.type]
        zh, en = words.get(status, ("办理中", "In progress"))
        out.append({"update_id": str(change.position),
                    "service_request_id": request_id(svc, change.petition_id),
                    "status": status,
                    "updated_datetime": w3c(change.recorded_at),
                    "description": zh if lang == "zh" else en,
                    "media_url": "", "external_status_code": change.type})
        if len(out) >= limit:
            break
    return out


def utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = ["Open311Error", "discovery", "get_request", "get_requests", "language",
           "post_request", "render", "request_updates", "service_definition", "services",
           "split_format"]
