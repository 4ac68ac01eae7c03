"""Importing filings from a JSON Lines file (one filing per line).

Each line is a JSON object with the arguments of
:meth:`PetitionService.file`, and an ``idempotency_key`` (required)::

    {"idempotency_key": "wechat:2022-0001", "title": "小区停车难",
     "description": "吉安园茅溪小区业主反映车位不足", "category": "property_management",
     "channel": "wechat", "petitioner": {"kind": "resident", "name": "刘先生"},
     "location": {"street": "寸滩街道"}, "at": "2022-06-06T09:30:00+08:00",
     "actor": {"id": "portal-wechat", "role": "portal"}}

Optional keys: ``location``, ``workflow``, ``matter_type``, ``campaign_id``,
``at`` (ISO 8601; without an offset it is Asia/Shanghai time), ``source`` (text:
where the filing came from) and ``actor`` (what the sender claims to be,
``{"id": …, "role": …}``).  Unknown keys are refused, so a misspelt field is
not silently dropped.

Who files is the operator running the import (``actor=`` of
:func:`import_filings`, the CLI's ``--actor``/``--role``), checked against the
workflow like any filing; what a line claims — its ``source`` and ``actor`` —
is recorded in the filing as its ``source``, never as the actor.

Crash safety: the file is checked in full before anything is written (with
``on_error="stop"`` a malformed line refuses the whole file; with
``on_error="skip"`` malformed lines are reported and the rest imported; the
check makes each line's filing value, so what no filing could store — an
e-mail address that is not one, text too long — is refused there too, and the
value is what is filed), then
filed in batches of :data:`BATCH` filings, each batch one transaction (its
events, work-order numbers, caller index rows and new keys commit together or
not at all; the side rows of a batch are written with one statement each, the
numbers in file order).  A file of at most :data:`KEEP` lines is read once,
its checked filings kept for the filing; a larger one is read again.  A
filing's id is derived from its idempotency key, so an import killed at any
point leaves whole batches, and run again files every line exactly once.
The CSV import (:mod:`petitions.importer_csv`) files through the same loop
(:func:`run_import`).  The filings of new petitioners are decided and stored
by the bulk path (:mod:`petitions.bulkfiling`: the same checks and the same
stored rows as any filing, without aggregate objects).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import attrs
import msgspec

from petitions.domain.filing import Checked
from petitions.domain.filing import Filing as FilingValue
from petitions.domain.petition import READ_ONLY_ROLES, Petition, petition_id_for
from petitions.domain.values import Actor, Location, Person, Petitioner
from petitions.errors import InvalidInput, PermissionDenied, PetitionError
from petitions.taxonomy import Taxonomy, taxonomy
from petitions.timefmt import parse

if TYPE_CHECKING:
    from petitions.bulkfiling import Decided, Handed, Handover
    from petitions.pipeline import Producer
    from petitions.readmodels.queries import ReadModels
    from workflows import Workflow

ON_ERROR = ("skip", "stop")
#: Filings per transaction: large enough that a commit's cost is shared by
#: many filings, small enough that a batch's rows stay well within memory
#: (a few MB) and the write lock is not held long (a tenth of a second or
#: two).  Measured (``bench/import.py --filings 20000 --batch B``): the
#: writer's CPU time 3.6–4.2 s at 100, 2.9–3.2 s at 500 (fewer pages of the
#: side tables' and events' indexes written again at each commit), 3.0 s at
#: 1,000.
BATCH = 500
#: Filings a checked file may hold for them to be kept in memory between the
#: check and the filing (about 1.5 KB each); a larger file is read twice.
KEEP = 20_000
#: A stand-in actor for checking lines before the operator is known.
DEFAULT_ACTOR = Actor("import", "portal")

_REQUIRED = ("idempotency_key", "title", "description", "category", "channel", "petitioner")
_OPTIONAL = ("location", "workflow", "matter_type", "campaign_id", "at", "actor", "source")
_KNOWN = frozenset(_REQUIRED + _OPTIONAL)
#: The text fields of a line, in the order they are checked.
_TEXTS = ("idempotency_key", "title", "description", "category", "channel", "workflow",
          "matter_type")


class Filer(Protocol):
    """What an import files through: a ``PetitionService``, say."""

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def read_models(self) -> ReadModels: ...

    def workflow(self, name: str, version: int | None = None) -> Workflow: ...

    def exists(self, petition_id: UUID | str) -> bool: ...

    def file(self, *, actor: Actor, petitioner: Petitioner, title: str, description: str,
             category: str, channel: str, location: Location | None = None,
             workflow: str = "standard", matter_type: str = "claim",
             idempotency_key: str | None = None, campaign_id: UUID | None = None,
             at: datetime | None = None, source: str = "") -> UUID: ...

    def file_batch(self, filings: Sequence[FilingValue | Checked | Mapping[str, Any] | Handed],
                   ) -> list[tuple[UUID, bool] | PetitionError]: ...


@attrs.frozen
class LineError:
    """A line that cannot be filed, and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@attrs.frozen
class ImportReport:
    """What an import did."""

    lines: int  # filings in the file (non-blank lines)
    imported: int  # newly filed
    existing: int  # already present (same idempotency key): nothing written
    skipped: int  # malformed or refused lines not filed
    errors: tuple[LineError, ...]
    stopped: bool  # True when on_error="stop" refused the file or stopped at a line

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["errors"] = [{"line": e.line, "message": e.message} for e in self.errors]
        return out


@attrs.frozen
class Filing:
    """One parsed line: the keyword arguments of ``PetitionService.file``, and
    once checked (:func:`check`) the filing they make, which is what is filed
    (made once, not again from ``kwargs``), with what the check made of it
    (``checked``: not checked again when filed under the same workflow text)."""

    line: int
    kwargs: dict[str, Any]
    value: FilingValue | None = None
    checked: Checked | None = None

    def to_file(self) -> Checked | FilingValue | dict[str, Any]:
        """What ``file_batch`` is given: the checked filing, else the
        arguments."""
        if self.checked is not None:
            return self.checked
        return self.kwargs if self.value is None else self.value

    @property
    def petition_id(self) -> UUID:
        return petition_id_for(str(self.kwargs["idempotency_key"]))


class ImportRefused(PetitionError):
    """The file has malformed lines and ``on_error="stop"`` was chosen."""

    code = "import_refused"

    def __init__(self, report: ImportReport) -> None:
        first = report.errors[0] if report.errors else None
        super().__init__(
            f"{len(report.errors)} malformed line(s), first {first}; nothing was written "
            "(use --on-error skip to import the other lines)",
            errors=len(report.errors))
        self.report = report


def _str(obj: dict[str, Any], key: str, field: str | None = None) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(field or key, "must be text")
    return value


def _texts(obj: dict[str, Any], keys: tuple[str, ...], prefix: str = "") -> list[str]:
    """The text values of ``keys`` ("" when absent), in order; the first that
    is not text refused, named ``prefix + key`` (as :func:`_str` names it)."""
    out = []
    get = obj.get
    for key in keys:
        value = get(key, "")
        if value.__class__ is not str and not isinstance(value, str):
            raise InvalidInput(prefix + key, "must be text")
        out.append(value)
    return out


_PETITIONER_KEYS = frozenset({"id", "kind", "name", "phone", "id_number", "address", "email",
                              "representatives"})
_PETITIONER_TEXTS = ("id", "kind", "name", "phone", "id_number", "address", "email")
_LOCATION_KEYS = frozenset({"street", "community", "grid", "place", "address"})


def _petitioner(value: Any) -> Petitioner:
    if not isinstance(value, dict):
        raise InvalidInput("petitioner", "must be an object")
    if not _PETITIONER_KEYS.issuperset(value):
        extra = sorted(set(value) - _PETITIONER_KEYS)
        raise InvalidInput("petitioner", f"unknown keys: {', '.join(extra)}")
    reps_raw = value.get("representatives", [])
    if not isinstance(reps_raw, list):
        raise InvalidInput("petitioner.representatives", "must be a list")
    reps = []
    for rep in reps_raw:
        if not isinstance(rep, dict) or not isinstance(rep.get("name"), str):
            raise InvalidInput("petitioner.representatives", "each needs a name")
        reps.append(Person(name=rep["name"], phone=_str(rep, "phone"),
                           id_number=_str(rep, "id_number")))
    pid, kind, name, phone, id_number, address, email = _texts(
        value, _PETITIONER_TEXTS, "petitioner.")
    return Petitioner(id=pid, kind=kind, name=name, phone=phone, id_number=id_number,
                      address=address, email=email, representatives=tuple(reps))


def _location(value: Any) -> tuple[Location, str]:
    """The location, and an ``address`` given in it: a person's address is
    personal data, so it is taken out (to be sealed with the petitioner)."""
    if not isinstance(value, dict):
        raise InvalidInput("location", "must be an object")
    if not _LOCATION_KEYS.issuperset(value):
        extra = sorted(set(value) - _LOCATION_KEYS)
        raise InvalidInput("location", f"unknown keys: {', '.join(extra)}")
    keys = tuple(value)
    fields = dict(zip(keys, _texts(value, keys, "location."), strict=True))
    address = fields.pop("address", "")
    return Location(**fields), address


#: The JSON module's own scanner and whitespace (``json.loads`` with its
#: default decoder calls them through three Python frames a line).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_SPACE: Callable[[str, int], Any] = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]


def _json(text: str) -> Any:
    """``json.loads(text)``: the value scanned as its decoder scans it; text
    it refuses (not a value, data after it, a byte-order mark) is given to
    ``json.loads`` itself, which raises its own error."""
    try:
        found, end = _SCAN(text, _SPACE(text, 0).end())
    except StopIteration:
        return json.loads(text)
    if end != len(text) and _SPACE(text, end).end() != len(text):
        return json.loads(text)
    return found


class _Claim(msgspec.Struct):
    """A line's ``actor``: what its sender claims to be (other keys ignored)."""

    id: str
    role: str


class _Person(msgspec.Struct):
    """A representative of a line's petitioner (other keys ignored)."""

    name: str
    phone: str = ""
    id_number: str = ""


class _Place(msgspec.Struct, forbid_unknown_fields=True):
    street: str = ""
    community: str = ""
    grid: str = ""
    place: str = ""
    address: str = ""


class _Who(msgspec.Struct, forbid_unknown_fields=True):
    kind: str = ""
    name: str = ""
    phone: str = ""
    id_number: str = ""
    address: str = ""
    email: str = ""
    id: str = ""
    representatives: list[_Person] = []


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    """A line as :func:`parse_line` accepts it when every value has the type
    it takes (decoded by msgspec; anything else is parsed by
    :func:`_parse_line`, which names what is wrong)."""

    idempotency_key: str
    title: str
    description: str
    category: str
    channel: str
    petitioner: _Who
    location: _Place | None = None
    workflow: str = ""
    matter_type: str = ""
    campaign_id: str | None = None
    at: str | None = None
    actor: _Claim | None = None
    source: str | None = None


_DECODE: Callable[[str], _Line] = msgspec.json.Decoder(_Line).decode
_NO_WHO = _Who()
_NO_PLACE = Location()


def _parse_typed(number: int, text: str, actor: Actor) -> Filing | None:
    """:func:`_parse_line`'s filing of a line whose values all have their
    types (msgspec's decoder checks them in C, and refuses a lone surrogate:
    its text is valid UTF-8), the same filing made from the same values;
    None for any line it does not take as it is (a wrong type, an empty
    required value, unknown keys, bad JSON …): :func:`_parse_line` then
    parses it and names the fault."""
    try:
        line = _DECODE(text)
    except (msgspec.DecodeError, UnicodeEncodeError):  # (the latter: text with a lone
        return None  # surrogate, which no file's line holds, but a caller's text may)
    who = line.petitioner
    if not (line.idempotency_key and line.title and line.description and line.category
            and line.channel) or who == _NO_WHO:  # an empty one is not given
        return None
    place = line.location
    if place is None:
        location, address = _NO_PLACE, ""
    else:
        location = Location(street=place.street, community=place.community, grid=place.grid,
                            place=place.place)
        address = place.address
    if address and who.address and who.address != address:
        return None
    petitioner = Petitioner(
        id=who.id, kind=who.kind, name=who.name, phone=who.phone, id_number=who.id_number,
        address=address or who.address, email=who.email,
        representatives=tuple([Person(name=r.name, phone=r.phone, id_number=r.id_number)
                               for r in who.representatives]) if who.representatives else ())
    kwargs: dict[str, Any] = {
        "idempotency_key": line.idempotency_key.strip(),
        "title": line.title,
        "description": line.description,
        "category": line.category,
        "channel": line.channel,
        "petitioner": petitioner,
        "location": location,
        "workflow": line.workflow or "standard",
        "matter_type": line.matter_type or "claim",
        "actor": actor,
    }
    claims = [line.source.strip()] if line.source is not None else []
    if line.actor is not None:
        claims.append(f"{line.actor.id} ({line.actor.role})")
    kwargs["source"] = "; ".join([c for c in claims if c]) if claims else ""
    if line.campaign_id is not None:
        try:
            kwargs["campaign_id"] = UUID(line.campaign_id)
        except ValueError:
            return None
    if line.at is not None:
        try:
            kwargs["at"] = parse(line.at)
        except ValueError:
            return None
    return Filing(number, kwargs)


def parse_line(number: int, text: str, actor: Actor = DEFAULT_ACTOR) -> Filing:
    """Parse one line into a :class:`Filing` filed by ``actor``; raise
    InvalidInput when malformed."""
    found = _parse_typed(number, text, actor)
    return _parse_line(number, text, actor) if found is None else found


def _parse_line(number: int, text: str, actor: Actor) -> Filing:
    """:func:`parse_line` of any line: the value as ``json.loads`` reads it,
    checked key by key (the first fault named)."""
    try:
        obj = _json(text)
    except json.JSONDecodeError as exc:  # (a message such as "Invalid control character at")
        raise InvalidInput("JSON", f"not valid ({exc.msg.removesuffix(' at')} at column "
                                   f"{exc.colno})", kind="bad_json") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise InvalidInput("JSON", "not valid (a number with too many digits)",
                           kind="bad_json") from None
    if not isinstance(obj, dict):
        raise InvalidInput("JSON", "must be an object, one filing per line", kind="bad_json")
    get = obj.get
    for k in _REQUIRED:
        if not get(k):
            raise InvalidInput(k, "is required", kind="empty")
    if not _KNOWN.issuperset(obj):
        extra = sorted(set(obj) - _KNOWN)
        raise InvalidInput(extra[0], "is not a filing field", kind="unknown_field")
    location, address = _location(obj.get("location") or {})
    petitioner = _petitioner(obj["petitioner"])
    if address:
        if petitioner.address and petitioner.address != address:
            raise InvalidInput("location.address", "differs from petitioner.address; a "
                               "person's address is given once, as petitioner.address")
        petitioner = attrs.evolve(petitioner, address=address)
    key, title, description, category, channel, workflow, matter_type = _texts(obj, _TEXTS)
    kwargs: dict[str, Any] = {
        "idempotency_key": key.strip(),
        "title": title,
        "description": description,
        "category": category,
        "channel": channel,
        "petitioner": petitioner,
        "location": location,
        "workflow": workflow or "standard",
        "matter_type": matter_type or "claim",
        "actor": actor,
    }
    claims = [_str(obj, "source").strip()] if obj.get("source") is not None else []
    if obj.get("actor") is not None:
        actor = obj["actor"]
        if not (isinstance(actor, dict) and isinstance(actor.get("id"), str)
                and isinstance(actor.get("role"), str)):
            raise InvalidInput("actor", 'must be {"id": …, "role": …}')
        claims.append(f"{actor['id']} ({actor['role']})")
    kwargs["source"] = "; ".join([c for c in claims if c]) if claims else ""
    if obj.get("campaign_id") is not None:
        try:
            kwargs["campaign_id"] = UUID(str(obj["campaign_id"]))
        except ValueError:
            raise InvalidInput("campaign_id", "is not a UUID") from None
    if obj.get("at") is not None:
        if not isinstance(obj["at"], str):
            raise InvalidInput("at", "must be an ISO 8601 date and time")
        try:
            kwargs["at"] = parse(obj["at"])
        except ValueError:
            raise InvalidInput("at", "must be an ISO 8601 date and time",
                               kind="bad_time") from None
    return Filing(number, kwargs)


def check(svc: Filer, filing: Filing, tax: Taxonomy | None = None) -> Filing:
    """Everything :meth:`PetitionService.file` checks, without writing
    anything; ``filing`` with its checked value (:attr:`Filing.value`).
    ``tax``: the taxonomy in force (read by the caller once for many lines)."""
    kw = filing.kwargs
    value = FilingValue(**kw)  # what needs no store (text, e-mail, …)
    if tax is None:
        tax = taxonomy()
    tax.check("categories", kw["category"])
    tax.check("channels", kw["channel"])
    tax.check("matter_types", kw["matter_type"])
    wf = svc.workflow(kw["workflow"])
    now = svc.clock()
    at: datetime = kw.get("at") or now
    if at > now:
        raise InvalidInput("at", "is in the future", kind="future")
    matter_type = kw["matter_type"]
    fields = Petition.check_filing(
        wf, actor=value.actor, occurred_at=at, petitioner=value.petitioner,
        channel=value.channel, category=value.category, title=value.title,
        description=value.description, location=value.location, matter_type=matter_type,
        idempotency_key=value.idempotency_key, campaign_id=value.campaign_id,
        source=value.source, request_type=value.request_type, urgency=value.urgency,
        anonymous=value.anonymous)
    return Filing(filing.line, kw, value, Checked(value, matter_type, fields))


#: Encodings an import file may have: any whose line ends are the ASCII byte
#: (so a file can be read line by line); UTF-8 with or without BOM by default.
DEFAULT_ENCODING = "utf-8-sig"


def check_encoding(encoding: str | None) -> str:
    """The codec name for ``encoding`` (default UTF-8, a BOM allowed); refused
    when unknown or when lines cannot be split on its bytes (UTF-16, UTF-32)."""
    import codecs

    if not encoding:
        return DEFAULT_ENCODING
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise InvalidInput("encoding", f"{encoding!r} is not a known encoding (e.g. utf-8, "
                           "gbk, gb18030)", kind="unknown_encoding") from None
    if "\n".encode(name, "replace") != b"\n" or name.startswith(("utf-16", "utf-32")):
        raise InvalidInput("encoding", f"{encoding!r} cannot be read line by line; convert "
                           "the file to UTF-8 or GB18030", kind="unknown_encoding")
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def read_filings(svc: Filer, path: Path, actor: Actor = DEFAULT_ACTOR,
                 encoding: str | None = None, *, checked: bool = True,
                 starts: list[tuple[int, int]] | None = None,
                 every: int = 0) -> Iterator[Filing | LineError]:
    """Each non-blank line of ``path``, parsed and checked (filed by ``actor``),
    or its error (``checked=False``: parsed only — filing checks it again);
    ``starts``, ``every``: as :func:`_lines` notes where batches begin."""
    tax: Taxonomy | None = None  # read at the first line checked, then kept

    def checking(filing: Filing) -> Filing:
        nonlocal tax
        if tax is None:
            tax = taxonomy()
        return check(svc, filing, tax)

    then = checking if checked else None
    for number, text in _lines(path, encoding, starts=starts, every=every):
        yield text if isinstance(text, LineError) else _parsed(number, text, actor, then)


def _parsed(number: int, text: str, actor: Actor,
            then: Callable[[Filing], Filing] | None = None) -> Filing | LineError:
    """Line ``number`` parsed (and given to ``then``, the check), or its error."""
    try:
        filing = parse_line(number, text, actor)
        return filing if then is None else then(filing)
    except PetitionError as exc:
        return LineError(number, str(exc))
    except (TypeError, ValueError) as exc:
        return LineError(number, f"malformed value: {exc}")


def _lines(path: Path, encoding: str | None, start: tuple[int, int] = (0, 1),
           starts: list[tuple[int, int]] | None = None, every: int = 0,
           ) -> Iterator[tuple[int, str | LineError]]:
    """Each non-blank line of ``path``: its number and text, or why it cannot
    be read.  ``start``: the byte offset and number of the line to begin at
    (a line's beginning, as :data:`starts` gives them); ``starts``: where to
    note the offset and number of the first line and of each ``every``-th
    line after it (the first of each batch of ``every``)."""
    codec = check_encoding(encoding)
    offset, first = start
    seen = 0
    with open(path, "rb") as fh:
        if offset:
            fh.seek(offset)
        for number, raw in enumerate(fh, start=first):
            at = offset
            offset += len(raw)
            if number == 1 and codec == "utf-8-sig":
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            text: str | LineError
            try:
                text = raw.decode("utf-8" if codec == "utf-8-sig" else codec)
            except UnicodeDecodeError as exc:
                text = LineError(
                    number, f"cannot be read as {encoding or 'UTF-8'} (byte "
                    f"0x{raw[exc.start]:02x} at byte {exc.start + 1}); give the "
                    "file's encoding, e.g. --encoding gb18030")
            else:
                if not text.strip():
                    continue
            if starts is not None and seen % every == 0:
                starts.append((at, number))
            seen += 1
            yield number, text


#: The threshold of the garbage collector's youngest generation while an
#: import runs (:func:`fewer_collections`; Python's default is 700).  An
#: import makes some thirty objects a line and keeps few of them: most are
#: freed as soon as they are done with, by their reference counts, and the
#: collector, run every 700 more objects made than freed, finds next to
#: nothing.  Measured (20,000 filings): the worker spent 0.15 s of its CPU
#: time in 230 collections, 0.01 s in 3 at 7,000; the writer 0.33–0.38 s in
#: 810, 0.18–0.20 s in 46–49.  At 50,000 (2,000 filings in one process): one
#: collection instead of six, 4–8 ms less CPU time of some 250 ms (the
#: objects a batch makes are mostly freed before the next collection looks
#: at them); a young generation of 50,000 objects is a few MB at most.
GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (0, 0, 0)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the garbage collector's youngest generation less often (at
    :data:`GC_THRESHOLD`) while the block runs: the thresholds in force
    before are set again when the last block (of any thread) ends, unless
    they were changed meanwhile.  Automatic collection turned off (a
    threshold of 0) stays off."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if not _gc_users:
            _gc_saved = gc.get_threshold()
            if 0 < _gc_saved[0] < GC_THRESHOLD:
                gc.set_threshold(GC_THRESHOLD, _gc_saved[1], _gc_saved[2])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if not _gc_users and gc.get_threshold() == (
                    GC_THRESHOLD, _gc_saved[1], _gc_saved[2]):
                gc.set_threshold(*_gc_saved)


@fewer_collections()  # (the check pass, the writing: see GC_THRESHOLD)
def run_import(
    svc: Filer, read: Callable[[bool], Iterator[Filing | LineError]], *, on_error: str,
    progress: Callable[[int, int], None] | None = None, batch: int = BATCH,
    decided: Callable[[], Iterable[Filing | Handed | LineError]] | None = None,
    check_only: bool = False,
) -> ImportReport:
    """Check every item ``read(True)`` yields, then file the good ones in
    batches (see the module text); the loop both the JSON Lines and the CSV
    import run.  ``check_only``: the check alone — nothing is filed (the
    report's counts of imported and present lines are 0), a malformed line
    refuses the file as it would the import.

    ``read(True)`` yields the items parsed and checked; for a file of more
    than :data:`KEEP` lines it is then called again, ``read(False)``, and
    must yield the same items, parsed only (the filing checks each again as
    it decides it).  A smaller file's items are kept from the first pass.
    ``decided``: the items of the filing pass, when another process decides
    them (:func:`import_filings`'s pipeline) — the same items, those of the
    bulk path decided already; nothing is kept then.
    """
    if on_error not in ON_ERROR:
        raise InvalidInput("on_error", f"must be one of {', '.join(ON_ERROR)}")
    # 1. Check the whole file first: a refused file writes nothing.  The
    # checked filings are kept for the second pass when the file is not
    # large (else it is read again, parsed only).
    errors: list[LineError] = []
    item: Filing | Handed | LineError
    kept: list[Filing | LineError] | None = [] if decided is None else None
    total = 0
    for item in read(True):
        total += 1
        if isinstance(item, LineError):
            errors.append(item)
        if kept is not None:
            kept.append(item)
            if len(kept) > KEEP:
                kept = None
    if errors and on_error == "stop":
        raise ImportRefused(ImportReport(lines=total, imported=0, existing=0,
                                         skipped=len(errors), errors=tuple(errors),
                                         stopped=True))
    if check_only:
        return ImportReport(lines=total, imported=0, existing=0,
                            skipped=len({e.line for e in errors}), errors=tuple(errors),
                            stopped=False)
    # 2. File the good lines, a batch per transaction, keyed by idempotency keys.
    imported = existing = 0
    stopped = False
    pending: list[Filing | Handed] = []

    def flush() -> bool:
        """File ``pending``; False when a refusal stops the import."""
        nonlocal imported, existing
        while pending:
            results = svc.file_batch([f.to_file() for f in pending])
            refused = False
            for filing, result in zip(pending, results, strict=False):
                if isinstance(result, PetitionError):  # refused at write time (rare)
                    errors.append(LineError(filing.line, str(result)))
                    refused = True
                elif result[1]:
                    imported += 1
                else:
                    existing += 1
            if refused and on_error == "stop":
                return False
            del pending[:len(results)]
        return True

    failed = {e.line for e in errors}
    items: Iterable[Filing | Handed | LineError] = (
        kept if kept is not None else read(False) if decided is None else decided())
    for done, item in enumerate(items, start=1):
        # A line refused by the check (skipped) is not filed.
        if not isinstance(item, LineError) and item.line not in failed:
            pending.append(item)
            if len(pending) >= batch and not flush():
                stopped = True
                break
        if progress is not None:
            progress(done, total)
    if not stopped and not flush():
        stopped = True
    if imported:
        svc.read_models.refresh()  # the queues show the imported petitions from now on
    errors.sort(key=lambda e: e.line)
    return ImportReport(lines=total, imported=imported, existing=existing,
                        skipped=len({e.line for e in errors}), errors=tuple(errors),
                        stopped=stopped)


def check_before_creating(db: str | None, open_store: Callable[[str], Any],
                          run: Callable[..., ImportReport], path: str | Path,
                          **kw: Any) -> ImportReport | None:
    """For an import into an SQLite store that does not exist yet: the file
    checked first by ``run`` (:func:`import_filings` or
    :func:`~petitions.importer_csv.import_csv`, with ``check_only``) against a
    store in memory (``open_store(":memory:")``, a context manager giving the
    service: ``PetitionService.open``) — the workflows and taxonomy a new
    store has — so that a refused file leaves no store behind: no database,
    no master key file (:class:`ImportRefused` raised as the import would).  The check's report
    when nothing would be filed; else None (also for an existing store,
    PostgreSQL or an SQLite URI): the import is to run, into the store made
    then, and checks the file again."""
    from petitions.persistence import is_new_sqlite_store

    if not is_new_sqlite_store(db):
        return None
    with open_store(":memory:") as probe:
        report = run(probe, path, check_only=True, **kw)
    return report if report.skipped == report.lines else None


def import_filings(
    svc: Filer, path: str | Path, *, actor: Actor, on_error: str = "stop",
    progress: Callable[[int, int], None] | None = None, encoding: str | None = None,
    batch: int = BATCH, pipeline: bool | None = None, check_only: bool = False,
) -> ImportReport:
    """File every line of the JSON Lines file ``path`` as ``actor`` (the
    operator running the import), ``batch`` filings per transaction; see the
    module text.  ``check_only``: check the file as the import does first,
    file nothing (:func:`run_import`).

    ``progress(done, total)`` is called after each line.  Raises
    :class:`ImportRefused` when ``on_error="stop"`` and a line is malformed
    (nothing is written then), and :class:`PermissionDenied` at once when
    ``actor`` may not file (an auditor never may).

    ``pipeline``: whether the filings of the bulk path are decided in a
    worker process while this one writes (:mod:`petitions.pipeline`); by
    default when the file is large enough for the worker to pay for itself
    (:func:`_worth_a_worker`) and the service can hand the worker what it
    decides with (its clock and timekeeper picklable).  Either way the same
    rows are written.
    """
    if on_error not in ON_ERROR:
        raise InvalidInput("on_error", f"must be one of {', '.join(ON_ERROR)}")
    check_encoding(encoding)
    if not isinstance(actor, Actor) or actor.role in READ_ONLY_ROLES:
        raise PermissionDenied(getattr(actor, "role", repr(actor)), "import", ())
    path = Path(path)
    producer: Producer | None = None
    taker: _Taker | None = None
    starts: list[tuple[int, int]] | None = None
    spec: WorkerSpec | None = None
    if pipeline is not False and not check_only:
        spec = worker_spec(svc, path, actor, encoding, batch)
        if spec is not None and (pipeline or _worth_a_worker(path, batch)):
            from petitions.pipeline import Producer

            producer = Producer(decide_file, (spec,))
            if TAKE:
                starts = []  # noted by the check pass
                taker = _Taker(spec, starts)
    try:
        return run_import(svc, lambda checked: read_filings(
                              svc, path, actor, encoding, checked=checked,
                              starts=starts if checked else None, every=batch),
                          on_error=on_error, progress=progress, batch=batch,
                          check_only=check_only,
                          decided=None if producer is None else functools.partial(
                              _handed_over, producer, spec, functools.partial(
                                  read_filings, svc, path, actor, encoding, checked=False),
                              taker))
    finally:
        if producer is not None:
            producer.close()
        if taker is not None:
            taker.close()


# ---------------------------------------------------------------- pipeline
#: Lines from which an import decides its filings in a worker process (by
#: default) when the worker is a new interpreter: below, its start (about
#: 0.4 s of its own before its first batch) costs about what it saves (at
#: 2,000 lines the one-process import was faster, at 5,000 the pipeline).
PIPELINE_LINES = 5_000
#: Lines, and batches, from which it does so when the worker is forked
#: (:func:`petitions.pipeline.forkable`: it starts at once): measured on this
#: project's machine (docs/benchmarks.md), the pipeline was faster from 4
#: batches (2,000 lines of 500, 800 of 100), as fast at 3, slower at 2 and at
#: 400 lines of 100.
FORK_PIPELINE_LINES = 1_000
PIPELINE_BATCHES = 4


def _worth_a_worker(path: Path, batch: int) -> bool:
    """Whether the file at ``path`` is large enough, in lines and in batches
    of ``batch``, for a worker to make the import faster."""
    from petitions.pipeline import forkable

    if forkable():
        return _has_lines(path, max(FORK_PIPELINE_LINES, PIPELINE_BATCHES * batch))
    return _has_lines(path, PIPELINE_LINES)


#: Whether the writer decides batches from the end of the file itself when
#: the worker's next is not there yet (:class:`_Taker`); off, the worker
#: decides every line (tests compare its rows byte for byte).
TAKE = True


@attrs.frozen
class WorkerSpec:
    """What an import's worker process decides with (pickled to it)."""

    path: str
    encoding: str | None
    actor: Actor
    batch: int
    clock: Callable[[], datetime]
    timekeeper: Any
    master: Any
    #: Run in the worker before its first line (picklable by name: tests fix
    #: randomness with it).
    setup: Callable[[], None] | None = None


#: A function the worker runs before it starts (see :attr:`WorkerSpec.setup`).
WORKER_SETUP: Callable[[], None] | None = None


@attrs.frozen
class RawLine:
    """A line the worker did not decide (general path, or refused): the
    writer parses and files it as it would without a worker."""

    line: int
    text: str | None


def worker_spec(svc: Filer, path: Path, actor: Actor, encoding: str | None,
                batch: int) -> WorkerSpec | None:
    """What a worker needs to decide ``svc``'s filings of ``path``, or None
    when it cannot be handed over (a clock or timekeeper that does not pickle,
    a filer that is not a service)."""
    import pickle

    privacy = getattr(svc, "privacy", None)
    timekeeper = getattr(svc, "timekeeper", None)
    keyring = getattr(privacy, "keyring", None)
    if keyring is None or timekeeper is None:
        return None
    spec = WorkerSpec(str(path), encoding, actor, batch, svc.clock, timekeeper,
                      keyring.master, WORKER_SETUP)
    try:
        pickle.dumps(spec)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return spec


def _has_lines(path: Path, count: int) -> bool:
    """Whether ``path`` has at least ``count`` line ends (read in blocks)."""
    found = 0
    with open(path, "rb") as fh:
        while found < count:
            block = fh.read(1 << 20)
            if not block:
                return False
            found += block.count(b"\n")
    return True


class _Decider:
    """Decides lines as the worker does, with a store of its own in memory
    (it reads and writes no database): made from the worker's spec, in the
    worker or — for the batches it takes over (:class:`_Taker`) — in the
    writer."""

    def __init__(self, spec: WorkerSpec) -> None:
        from petitions.bulkfiling import BulkFiler
        from petitions.core import Store
        from petitions.filing import filing_workflow, mint_petitioner_id
        from petitions.privacy.core import Privacy

        # What each line needs, found once (not imported again per line).
        self._takes = BulkFiler.takes
        self._workflow = filing_workflow
        self._mint = mint_petitioner_id
        self.actor = spec.actor
        self.store = Store(url=":memory:", clock=spec.clock, timekeeper=spec.timekeeper)
        bulk = BulkFiler.of(self.store, Privacy(self.store, master=spec.master))
        assert bulk is not None
        self.bulk = bulk
        self.tax: Taxonomy | None = None
        #: Keys decided: a key again is not decided again (the writer finds it filed).
        self.keys: set[str] = set()

    def __call__(self, number: int, text: str | LineError) -> Decided | RawLine:
        """Line ``number`` decided when it takes the bulk path
        (:meth:`BulkFiler.decide`, as the writer would decide it), else as it
        is (the writer parses, checks and files it)."""
        if isinstance(text, LineError):
            return RawLine(number, None)
        try:
            value = FilingValue(**parse_line(number, text, self.actor).kwargs)
            key = (value.idempotency_key or "").strip()
            if self._takes(value) and key not in self.keys:
                self.keys.add(key)
                if self.tax is None:
                    self.tax = taxonomy()
                wf, matter_type = self._workflow(self.store, value, self.tax)
                found = self.bulk.decide(value, wf, matter_type, self._mint)
                if found is not None:
                    found.line = number
                    return found
        except (PetitionError, TypeError, ValueError):
            pass  # the writer refuses it as it would without a worker
        return RawLine(number, text)

    def batch(self, lines: Iterable[tuple[int, str | LineError]],
              start: tuple[int, int]) -> Batch:
        """The lines of a batch beginning at ``start`` (byte offset, line
        number) decided: those of the bulk path handed over as rows
        (:class:`~petitions.bulkfiling.Handover`, by their index in it), the
        others as they are."""
        from petitions.bulkfiling import Decided, Handover

        handover = Handover(start)
        shared: dict[tuple[str, str], tuple[str, str]] = {}
        items: list[int | RawLine] = []
        for number, text in lines:
            found = self(number, text)
            items.append(handover.add(found, shared) if isinstance(found, Decided) else found)
        return handover, items

    def close(self) -> None:
        self.store.close()


def decide_file(spec: WorkerSpec, skipped: Callable[[int], bool] = lambda index: False,
                ) -> Iterator[Batch | None]:
    """The worker process: each line of the file, in batches of
    ``spec.batch`` (:class:`_Decider`); None for a batch ``skipped`` (the
    writer decides it)."""
    decider = _Decider(spec)
    if spec.setup is not None:
        spec.setup()
    starts: list[tuple[int, int]] = []
    lines = _lines(Path(spec.path), spec.encoding, starts=starts, every=spec.batch)
    with fewer_collections():
        for index in itertools.count():
            batch = list(itertools.islice(lines, spec.batch))
            if not batch:
                break
            yield None if skipped(index) else decider.batch(batch, starts[index])
    decider.close()


#: A batch of lines decided (by the worker, or by the writer for a batch it
#: takes): the filings of the bulk path as rows, and the batch's lines in
#: order, each one's index in those rows or, not decided, as it is.
Batch = tuple["Handover", list["int | RawLine"]]


#: Batches past the last one the worker handed over that it may have begun
#: or have on their way when none is there: the writer takes none of those.
MARGIN = 2
#: Batches the writer may hold that it decided itself, ahead of their turn.
TAKE_MAX = 8
#: How long the writer takes to write a batch, as a share of the time it
#: takes to decide one — assumed (on this project's machine it was 0.4–0.5
#: for SQLite) until the writer has written a batch and decided one itself,
#: then as measured (:meth:`_Taker.share`).
WRITE_SHARE = 0.5


class _Taker:
    """The writer's part of deciding: when the worker's next batch is not
    there yet, the writer decides a batch a little further on itself
    (:meth:`take`; the worker is told to skip it) — so that it does not wait
    while the worker has work — and files it when its turn comes."""

    def __init__(self, spec: WorkerSpec, starts: list[tuple[int, int]]) -> None:
        self.spec = spec
        #: Where each batch of the file begins (byte offset, line number):
        #: noted by the check pass.
        self.starts = starts
        #: The batches decided here, by index, until filed.
        self.taken: dict[int, Batch] = {}
        self._last = -1  # the last batch taken
        self._decider: _Decider | None = None
        #: Seconds and batches: deciding here, writing.
        self._deciding = [0.0, 0]
        self._writing = [0.0, 0]

    def next_to_take(self, handed: int) -> int | None:
        """The batch to take when the worker has handed over those before
        ``handed`` and the next is not there: far enough past it that the
        worker has not begun it; None when none is left, enough are held, or
        taking one would not end the import sooner — when what the worker
        has left to decide, but one batch, takes no longer than what the
        writer has left to write (the writer would then wait for it less than
        it spends deciding: on a small file, the worker's next batch is
        nearly done)."""
        index = max(handed + MARGIN, self._last + 1)
        if index >= len(self.starts) or len(self.taken) >= TAKE_MAX:
            return None
        left = len(self.starts) - handed  # to write (the taken ones among them)
        workers = left - len(self.taken)  # the worker's to decide, at most
        if workers - 1 <= left * self.share():
            return None
        return index

    def share(self) -> float:
        """How long writing a batch takes, as a share of deciding one: as
        measured once the writer has done both, else :data:`WRITE_SHARE`."""
        (decide, decided), (write, written) = self._deciding, self._writing
        if not decided or not written or decide <= 0:
            return WRITE_SHARE
        return (write / written) / (decide / decided)

    def wrote(self, seconds: float) -> None:
        """The writer wrote a batch in ``seconds``."""
        self._writing[0] += seconds
        self._writing[1] += 1

    def take(self, index: int) -> None:
        """Decide batch ``index`` here."""
        began = time.perf_counter()
        if self._decider is None:
            self._decider = _Decider(self.spec)
        start = self.starts[index]
        lines = _lines(Path(self.spec.path), self.spec.encoding, start)
        self.taken[index] = self._decider.batch(itertools.islice(lines, self.spec.batch), start)
        self._last = index
        self._deciding[0] += time.perf_counter() - began
        self._deciding[1] += 1

    def close(self) -> None:
        if self._decider is not None:
            self._decider.close()


def _remade(spec: WorkerSpec, item: Handed) -> FilingValue:
    """The filing value of a line decided by the worker (made again only when
    it is filed otherwise than as decided): the lines of its batch read again
    from the file once (from where the batch begins)."""
    handover = item.handover
    if handover.texts is None:
        lines = _lines(Path(spec.path), spec.encoding, handover.start)
        handover.texts = {number: text for number, text in itertools.islice(lines, spec.batch)
                          if isinstance(text, str)}
    text = handover.texts.get(item.line)
    if text is None:  # the file changed since
        raise InvalidInput("line", f"{item.line} is no longer in the file", kind="changed")
    return FilingValue(**parse_line(item.line, text, spec.actor).kwargs)


def _handed_over(producer: Producer, spec: WorkerSpec | None,
                 alone: Callable[[], Iterable[Filing | LineError]],
                 taker: _Taker | None = None,
                 ) -> Iterator[Filing | Handed | LineError]:
    """The items of the worker's batches and of those ``taker`` decided here,
    in file order, for :func:`run_import`: a line not decided parsed here, as
    :func:`read_filings` parses it (``checked=False``).  A worker that fails
    before its first batch (it could not start, say) has handed over nothing:
    the items are then ``alone()``'s, read here (the import runs in one
    process; what the taker decided is dropped); one that fails later stops
    the import."""
    from petitions.bulkfiling import Handed
    from petitions.pipeline import WorkerFailed

    assert spec is not None
    actor = spec.actor
    make = functools.partial(_remade, spec)

    def made(handover: Handover, item: int | RawLine) -> Filing | Handed | LineError:
        if not isinstance(item, RawLine):
            return Handed(handover, item, make)
        if item.text is None:
            return LineError(item.line, "cannot be read")  # refused by the check already
        return _parsed(item.line, item.text, actor)

    taken = {} if taker is None else taker.taken
    needed = 0  # the batch to file next
    ended: int | None = None  # the batches of the file, once the worker has ended
    try:
        while ended is None or needed < ended:
            batch = taken.pop(needed, None)
            if batch is None:
                if ended is not None:
                    raise WorkerFailed(f"it ended without batch {needed}")
                if taker is not None and not producer.ready():
                    index = taker.next_to_take(needed)
                    if index is not None:
                        producer.skip(index)
                        taker.take(index)
                        continue
                kind, index, found = producer.get()
                if kind == "end":
                    ended = index
                    continue
                if index < needed or index in taken:
                    continue  # begun before it heard it was taken here
                if index != needed:
                    raise WorkerFailed(f"it sent batch {index} before {needed}")
                batch = found
            needed += 1
            handover, items = batch
            began = time.perf_counter()
            for item in items:
                yield made(handover, item)
            if taker is not None:  # (the writer wrote the batch meanwhile)
                taker.wrote(time.perf_counter() - began)
    except WorkerFailed as exc:
        if needed:
            raise
        from petitions.logs import get_logger

        get_logger(__name__).warning(
            "%s; the import goes on in this process alone / 导入的辅助进程未能启动，"
            "改由本进程单独导入", exc)
        yield from alone()
