"""The bulk path of filing: new petitions of a batch stored without aggregate objects.

A bulk import files thousands of petitions, each two events (``Filed`` and
the ``ClockStarted`` of its first stage).  Made through aggregates, each
event is built, applied to a new ``Petition`` (thirty attributes set), mapped
by eventsourcing's generic mapper and encoded by the generic JSON transcoder —
most of the cost of a filing.  This module makes the same rows directly:

* the domain decides as for any filing — :meth:`Petition.check_filing` gives
  the values of ``Filed`` (or refuses), :meth:`Petition.clock_to_start` those
  of ``ClockStarted`` (the workflow's limit and the calendar's deadline), the
  petitioner sealed by :meth:`Privacy.seal_for_filing`, numbered and indexed
  by :func:`petitions.sidetables.filing_writes`;
* :class:`EventEncoder` writes each event's stored state as the chained
  mapper writes it (``prev_hash`` first, then the event's fields in field
  order, values as the store's JSON transcoder encodes them), byte for byte
  (``tests/test_bulk_filing.py`` files the same input both ways and compares
  every row of every table, on SQLite and PostgreSQL);
* the rows are chained (``prev_hash`` and the hash of each event) and given
  to :meth:`ChainedApplication.save` as :data:`~petitions.audit.chain.ENCODED`
  events: one transaction with the batch's other events, its key, number and
  caller index rows and the chain heads.

Only what the general path files the same way goes here: a petitioner
without an id (one minted now: no concluded matters to refuse or warn of, no
data key yet), no campaign, a channel the workflow does not accept on filing.
Anything else is filed by :func:`petitions.filing.prepare_filing`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Callable, Container, Iterable, Mapping
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from types import CodeType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic

from petitions.audit.chain import GENESIS, ChainedMapper, EncodedRows
from petitions.audit.hashing import event_hasher
from petitions.domain.isotime import isoformat
from petitions.domain.petition import Petition, petition_id_for, uuid_of_int
from petitions.recorders import Write, inserts_unnumbered, writes_alongside
from petitions.sidetables import caller_entries, filing_writes
from petitions.transcoding import AttrsTranscoding
from workflows.records import fields_of

if TYPE_CHECKING:
    from petitions.core import Store
    from petitions.domain.definitions import WorkflowDefinition
    from petitions.domain.filing import Checked, Filing
    from petitions.privacy.core import NewKey, Privacy
    from petitions.privacy.keys import KeyRow
    from workflows import Workflow

#: The fields of an event that are not in its stored state.
_NOT_STATE = ("originator_id", "originator_version")
_DATETIME = '{"_type_":"datetime_iso","_data_":"'
_UUID = '{"_type_":"uuid_hex","_data_":"'
#: Encoded values kept per encoder (of the fields whose values repeat: the
#: operator, the workflow) before it starts afresh.
_SHARED_MAX = 1024


@functools.lru_cache(maxsize=64)
def _code(source: str) -> CodeType:
    """``source`` compiled (the state writers of :class:`EventEncoder`)."""
    return compile(source, "<petitions.bulkfiling state writer>", "exec")


def _flat_writer(head: str, names: tuple[str, ...]) -> Callable[[Any], str | None]:
    """A function writing a value class with fields ``names`` as
    :meth:`EventEncoder._flat` describes (``head``: its type's opening)."""
    if not all(n.isidentifier() for n in names):
        raise TypeError(f"the bulk encoder writes fields named as identifiers: {names!r}")
    lines = ["def flat(value):"]
    template = ["{HEAD}"]
    for i, name in enumerate(names):
        lines += [f"    v = value.{name}", "    c = v.__class__",
                  f"    if c is str: a{i} = text(v)",
                  f"    elif v is None: a{i} = 'null'",
                  f"    elif c is int: a{i} = int.__repr__(v)",
                  f"    elif c is bool: a{i} = 'true' if v else 'false'",
                  f"    elif (c is tuple or c is list) and not v: a{i} = '[]'",
                  "    else: return None"]
        template.append(("," if i else "") + '"' + name + '":{a' + str(i) + "}")
    lines.append("    return f'" + "".join(template) + "}}}}'")
    scope: dict[str, Any] = {"text": encode_basestring, "HEAD": head}
    exec(_code("\n".join(lines)), scope)
    made: Callable[[Any], str | None] = scope["flat"]
    return made


class EventEncoder:
    """The stored state of events of one class, as the chained mapper writes it.

    The mapper puts ``prev_hash`` first, then the event's fields in field
    order (all but its id and version), then ``class_version`` when above 1,
    and encodes that dict with the store's JSON transcoder (no spaces, UTF-8
    as it is; a value of a registered type as ``{"_type_": name, "_data_":
    …}``).  This writes the same text field by field: text with the JSON
    module's own string encoder, times and ids as their transcodings do, and
    any other value with the transcoder's encoder itself — the encoded value
    of a field in ``shared`` kept for the next event that has an equal one (the
    same one, for a time: times equal across zones are written apart), in
    ``last`` the last one of each such field (which encoders may share).
    """

    def __init__(self, transcoder: JSONTranscoder, cls: type[Any],
                 shared: Iterable[str] = (),
                 last: dict[str, tuple[Any, str]] | None = None) -> None:
        encoder = transcoder.encoder
        if type(encoder) is not json.JSONEncoder or c_make_encoder is None:
            raise TypeError("the bulk encoder writes what json.JSONEncoder writes")
        self.cls = cls
        self.topic = get_topic(cls)
        #: The hash of an event of this class (``event_hash`` with its topic).
        self.hash = event_hasher(self.topic)
        self.names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _NOT_STATE)
        #: Each field's annotation (text or type): the kind of value it mostly holds.
        self._annotations = {f.name: f.type for f in dataclasses.fields(cls)}
        self._pairs = tuple((encode_basestring(n) + ":", n) for n in self.names)
        version = getattr(cls, "class_version", 1)
        self._tail = f',"class_version":{int(version)}}}' if version > 1 else "}"
        self._types = transcoder.types
        # The transcoder's JSON encoder, made once (``JSONEncoder.encode``
        # makes it again on every call): the same separators, no ASCII
        # escaping, the same default for values of registered types.
        self._json = c_make_encoder(None, encoder.default, encode_basestring, None, ":", ",",
                                    False, False, True)
        self._shared = frozenset(shared)
        self._cache: dict[tuple[str, Any], str] = {}
        self._last: dict[str, tuple[Any, str]] = {} if last is None else last
        self._plans: dict[type[Any], Callable[[Any], str | None]] = {}
        # Times and ids are written here as text when the transcoder encodes
        # them as eventsourcing's own transcodings do; else it encodes them.
        found = transcoder.types.get(datetime)
        self._iso = isinstance(found, DatetimeAsISO) and found.name == "datetime_iso"
        found = transcoder.types.get(UUID)
        self._hex = isinstance(found, UUIDAsHex) and found.name == "uuid_hex"
        #: The stored state of the event with these field values (every field
        #: but the id and version, by name), as bytes.
        self.state: Callable[[str, Mapping[str, Any]], bytes] = self._compiled()

    def value(self, name: str, value: Any) -> str:
        """One field's value as JSON text."""
        cls = value.__class__
        if cls is str:
            return str(encode_basestring(value))
        if value is None:
            return "null"
        if cls is bool:
            return "true" if value else "false"
        if cls is int:
            return int.__repr__(value)
        if cls is float and math.isfinite(value):
            return float.__repr__(value)
        if cls is datetime and self._iso:
            return f'{_DATETIME}{isoformat(value)}"}}'
        if cls is UUID and self._hex:
            return f'{_UUID}{value.hex}"}}'
        transcoding = self._types.get(cls)
        if transcoding is None:  # a list, a dict: as the encoder writes it
            return "".join(self._json(value, 0))
        if name in self._shared:
            last = self._last.get(name)
            if last is not None and last[0] is value:  # the same object as before
                return last[1]
            key = (name, value)
            found = self._cache.get(key)
            if found is None:
                if len(self._cache) >= _SHARED_MAX:
                    self._cache.clear()
                found = self._cache[key] = self._typed(transcoding, value)
            self._last[name] = (value, found)
            return found
        return self._typed(transcoding, value)

    def _typed(self, transcoding: Transcoding, value: Any) -> str:
        """A value of a registered type, as the transcoder's default makes it."""
        if type(transcoding) is AttrsTranscoding:
            found = self._flat(transcoding, value)
            if found is not None:
                return found
        return "".join(self._json({"_type_": transcoding.name,
                                   "_data_": transcoding.encode(value)}, 0))

    def _flat(self, transcoding: Transcoding, value: Any) -> str | None:
        """A value class as its transcoding encodes it (a dict of its fields
        in field order, ``workflows.records.plain``), written field by field
        when every field is text, an integer, ``None`` or an empty
        collection; None otherwise (the transcoder writes it then).  Each
        class is written by a function made for it once (its keys constant
        parts of one formatted string)."""
        cls = value.__class__
        writer = self._plans.get(cls)
        if writer is None:
            writer = self._plans[cls] = _flat_writer(
                '{"_type_":' + encode_basestring(transcoding.name) + ',"_data_":{',
                tuple(f.name for f in fields_of(cls) or ()))
        return writer(value)

    def _compiled(self) -> Callable[[str, Mapping[str, Any]], bytes]:
        """:attr:`state` for this event class, made once: a function whose one
        formatted string holds the constant parts (``prev_hash``'s key, every
        field's key in field order, the ``class_version`` tail) and, per
        field, its value written as :meth:`value` writes it — text, times,
        nulls, numbers and value classes written by :meth:`_flat` before
        inline, anything else through :meth:`value` (a time in ``shared``
        kept for the next event with the same one)."""
        lines = ["def state(prev_hash, values):"]
        template = ['{"prev_hash":"%s"']
        for i, (key, name) in enumerate(self._pairs):
            if not name.isidentifier():
                raise TypeError(f"the bulk encoder writes fields named as identifiers: {name!r}")
            n = repr(name)
            # Each branch writes what value() writes of the values it takes
            # (none takes a value another takes differently); the one the
            # field's annotation names is tried first.
            branches: dict[str, list[str]] = {"str": [f"c is str: a{i} = text(v)"]}
            if name in self._shared:  # a time both events of a filing hold
                branches["datetime"] = [
                    "c is datetime and iso:",
                    f"        last = lasts.get({n})",
                    "        if last is None or last[0] is not v:",
                    f"            last = lasts[{n}] = (v, DATETIME + isoformat(v) + END)",
                    f"        a{i} = last[1]"]
            else:
                branches["datetime"] = [
                    f"c is datetime and iso: a{i} = DATETIME + isoformat(v) + END"]
            branches["None"] = [f"v is None: a{i} = 'null'"]
            branches["bool"] = [f"c is bool: a{i} = 'true' if v else 'false'"]
            branches["int"] = [f"c is int: a{i} = int.__repr__(v)"]
            branches["float"] = [f"c is float and isfinite(v): a{i} = float.__repr__(v)"]
            if name in self._shared:  # the same object as the last event's
                branches["class"] = [
                    f"(last := lasts.get({n})) is not None and last[0] is v:",
                    f"        a{i} = last[1]"]
            else:  # a value class written by its writer (as value() would)
                branches["class"] = [
                    "(w := plans.get(c)) is not None and (s := w(v)) is not None:",
                    f"        a{i} = s"]
            first = _likely(self._annotations.get(name))
            order = [first, *(b for b in branches if b != first)]
            lines += [f"    v = values[{n}]", "    c = v.__class__"]
            for k, branch in enumerate(order):
                lines.append(("    if " if k == 0 else "    elif ") + branches[branch][0])
                lines += branches[branch][1:]
            lines.append(f"    else: a{i} = value({n}, v)")
            # Keys are field names (no braces, quotes or backslashes to escape).
            template.append("," + key + "%s")
        template.append(self._tail)
        # The state's bytes formatted from each part's UTF-8 (the same bytes as
        # the whole text's): a part in ASCII is copied as it is, and one of
        # Chinese text does not make every other part wide first.
        joined = "".join(template)
        if joined.count("%") != len(self._pairs) + 1:
            raise TypeError("the bulk encoder writes field names without '%'")
        lines.append("    return TEMPLATE % (prev_hash.encode(), "
                     + "".join(f"a{i}.encode(), " for i in range(len(self._pairs))) + ")")
        scope: dict[str, Any] = {
            "text": encode_basestring, "value": self.value, "datetime": datetime,
            "isoformat": isoformat,
            "isfinite": math.isfinite, "plans": self._plans,
            "iso": self._iso, "lasts": self._last, "DATETIME": _DATETIME, "END": '"}',
            "TEMPLATE": joined.encode("utf8")}
        # The code compiled once per process (a store opened later reuses it).
        exec(_code("\n".join(lines)), scope)
        made: Callable[[str, Mapping[str, Any]], bytes] = scope["state"]
        return made


def _likely(annotation: Any) -> str:
    """Which branch of a state writer a field annotated ``annotation`` mostly
    takes (its first): ``"str"``, ``"datetime"``, ``"bool"``, ``"int"``,
    ``"float"``, ``"None"`` (optional values) or ``"class"`` (a value class)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = text.strip()
    if text in ("str", "datetime", "bool", "int", "float"):
        return text
    if text.endswith("| None") or text.startswith("None |") or text.startswith("Optional["):
        return "None"
    if text[:1].isupper() and text.isidentifier() and text not in ("UUID", "Any"):
        return "class"
    return "str"


_new = object.__new__
#: No plan found yet (:meth:`BulkFiler._clock_to_start`).
_NO_PLAN = object()


def _stored_event(originator_id: UUID, version: int, topic: str, state: bytes) -> StoredEvent:
    """``StoredEvent(originator_id, version, topic, state)``, its fields set in
    one go (the frozen dataclass's ``__init__`` sets each with
    ``object.__setattr__``; a bulk import makes two per filing in each process)."""
    made = _new(StoredEvent)
    values = made.__dict__
    values["originator_id"] = originator_id
    values["originator_version"] = version
    values["topic"] = topic
    values["state"] = state
    return made


if (getattr(StoredEvent, "__slots__", None) is not None
        or hasattr(StoredEvent, "__post_init__")
        or tuple(f.name for f in dataclasses.fields(StoredEvent))
        != ("originator_id", "originator_version", "topic", "state")):  # pragma: no cover
    _stored_event = StoredEvent  # type: ignore[assignment]  # (another eventsourcing)


@dataclasses.dataclass(slots=True)
class BulkPrepared:
    """A filing decided by the bulk path, not saved: its events as the rows
    the SQLite recorder inserts (``(id hex, version, topic, state)``) and
    their hashes, the rows to write in their transaction, and what to do once
    it committed (as :class:`petitions.filing.Prepared`)."""

    petition_id: UUID
    filed_at: datetime
    definition: WorkflowDefinition | None
    rows: list[tuple[str, int, str, bytes]]
    digests: list[str]
    writes: list[Write]
    new_key: NewKey | None
    committed: Callable[[bool], None]

    def aggregates(self) -> list[Any]:
        return [self.definition] if self.definition is not None else []

    def kept(self, store: Store, alongside: bool) -> None:
        """The transaction committed: keep the key, number and stored workflow."""
        if self.definition is not None:
            store.stored_hashes.add(self.definition.sha256)
        if self.new_key is not None:
            self.new_key.kept()
        self.committed(alongside)


def encoded_of(recorder: object, prepared: Iterable[BulkPrepared],
               ) -> EncodedRows | list[tuple[StoredEvent, str]]:
    """The events of ``prepared`` as :meth:`ChainedApplication.save` takes
    them (:data:`~petitions.audit.chain.ENCODED`): their rows as they are when
    ``recorder`` inserts such rows (SQLite), else as stored events."""
    if inserts_unnumbered(recorder):
        rows: list[tuple[str, int, str, bytes]] = []
        heads: dict[str, tuple[int, str]] = {}
        for p in prepared:
            rows += p.rows
            last = p.rows[-1]
            heads[last[0]] = (last[1], p.digests[-1])
        return EncodedRows(rows, heads)
    return [(_stored_event(p.petition_id, version, topic, state), digest)
            for p in prepared
            for (_, version, topic, state), digest in zip(p.rows, p.digests, strict=True)]


class BulkFiler:
    """Decides filings of one store for the bulk path (see the module text)."""

    def __init__(self, store: Store, privacy: Privacy) -> None:
        from petitions.privacy.core import FILING_DRAW

        self.store, self.privacy = store, privacy
        #: The random bytes a filing draws (:meth:`decide`).
        self._draw = 16 + FILING_DRAW
        transcoder = store.mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder)
        # Filings share their operator and workflow; a
        # filing's two events its time (the last value of each kept for both).
        last: dict[str, tuple[Any, str]] = {}
        self.filed = EventEncoder(transcoder, Petition.Filed,
                                  shared=("actor", "workflow", "occurred_at"),
                                  last=last)
        # (A deadline is the same object for every clock started on a day and
        # limit: the timekeeper keeps each day's end.)
        self.clock = EventEncoder(transcoder, Petition.ClockStarted,
                                  shared=("actor", "occurred_at", "deadline"), last=last)
        self.petition_topic = get_topic(Petition)
        #: Per workflow version, stage, request type and urgency: the limit of
        #: a new petition's clock and its values (:meth:`_clock_to_start`).
        self._clocks: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def of(store: Store, privacy: Privacy) -> BulkFiler | None:
        """The store's bulk filer (made once), or None when the store cannot
        take the bulk path (its events not chained by the standard mapper and
        JSON transcoder, or its rows not written in the events' transaction)."""
        found: BulkFiler | None = store.__dict__.get("_bulk_filer")
        if found is not None and found.privacy is privacy:
            return found
        mapper = store.mapper
        transcoder = mapper.transcoder
        if (type(mapper) is not ChainedMapper or not writes_alongside(store.recorder)
                or not isinstance(transcoder, JSONTranscoder)
                or type(transcoder.encoder) is not json.JSONEncoder):
            return None
        found = BulkFiler(store, privacy)
        store.__dict__["_bulk_filer"] = found
        return found

    @staticmethod
    def takes(filing: Filing) -> bool:
        """Whether ``filing`` may take the bulk path, as far as it shows by itself."""
        return not filing.petitioner.id and filing.campaign_id is None

    def prepare(self, filing: Filing, wf: Workflow, matter_type: str,
                mint: Callable[[bytes], str], pending: Container[str] = (), *,
                prefix: str | None = None, checked: Checked | None = None,
                ) -> BulkPrepared | None:
        """Decide ``filing`` (checked by the caller against the taxonomy, under
        ``wf`` with ``matter_type``): what to save, or None when the workflow
        makes more of it than the bulk path writes (accepted on filing).
        ``pending``: the workflow texts (sha256) the transaction stores already;
        ``prefix``: the office prefix in force (None: read now); ``checked``:
        as :meth:`decide`."""
        decided = self.decide(filing, wf, matter_type, mint, checked)
        if decided is None:
            return None
        return self.complete(decided, wf, pending, prefix=prefix)

    def decide(self, filing: Filing, wf: Workflow, matter_type: str,
               mint: Callable[[bytes], str], checked: Checked | None = None) -> Decided | None:
        """What of ``filing``'s bulk filing needs nothing of the database: its
        checks, sealed petitioner and new key, caller digests, encoded and
        chained events (a new petition's: chained to the genesis).  None as
        :meth:`prepare` says.  Made in this process (completed with
        :meth:`complete`) or in an import's worker process
        (:mod:`petitions.pipeline`: handed to the writer as a
        :class:`Handover`'s rows).  ``checked``: what an import's check pass
        made of ``filing`` — its ``Filed`` values are taken (the petitioner
        sealed, the time this filing's) when it checked it under ``wf`` (the
        same version and text) with ``matter_type``, instead of checking it
        again."""
        store, privacy = self.store, self.privacy
        channel = filing.channel
        if wf.channels_accepted_on_filing and channel in wf.channels_accepted_on_filing:
            return None
        petitioner = filing.petitioner
        # The random bytes this new petitioner needs, in one draw of the
        # operating system's CSPRNG (the bytes separate draws would give): the
        # 16 their id is minted from (``mint(bytes)``), then their new key's
        # and the nonces of their sealed fields.
        drawn = os.urandom(self._draw)
        petitioner_id = mint(drawn[:16])
        actor = filing.actor
        occurred_at = store.when(filing.at)
        # Sealed under a new key, stored with the events (both backends can),
        # the minted id given in the same copy.
        sealed, new_key = privacy.seal_for_filing(petitioner, new=True,
                                                  petitioner_id=petitioner_id,
                                                  drawn=drawn[16:])
        fields = None if checked is None else checked.fields_for(filing, wf, matter_type)
        if fields is None:
            fields = Petition.check_filing(
                wf, actor=actor, occurred_at=occurred_at, petitioner=sealed, channel=channel,
                category=filing.category, title=filing.title,
                description=filing.description, location=filing.location,
                matter_type=matter_type, idempotency_key=filing.idempotency_key,
                campaign_id=None, source=filing.source, request_type=filing.request_type,
                urgency=filing.urgency, anonymous=filing.anonymous)
        else:  # checked on the clear petitioner: the same values but these two
            fields["petitioner"] = sealed
            fields["occurred_at"] = occurred_at
        pid = petition_id_for(fields["idempotency_key"])
        hex_id = pid.hex
        fields["timestamp"] = Petition.Filed.create_timestamp()
        fields["originator_topic"] = self.petition_topic
        filed = self.filed
        state = filed.state(GENESIS, fields)
        digest = filed.hash(hex_id, 1, state)
        rows = [(hex_id, 1, filed.topic, state)]
        digests = [digest]
        clock = self._clock_to_start(wf, fields["stage"], fields["request_type"],
                                     fields["urgency"], occurred_at)
        if clock is not None:
            clock["actor"] = actor
            clock["occurred_at"] = occurred_at
            clock["timestamp"] = Petition.ClockStarted.create_timestamp()
            state = self.clock.state(digest, clock)
            rows.append((hex_id, 2, self.clock.topic, state))
            digests.append(self.clock.hash(hex_id, 2, state))
        callers = caller_entries(privacy, petitioner.phone, petitioner.id_number)
        return Decided(fields["idempotency_key"], filing.workflow, pid, occurred_at,
                       wf.sha256, rows, digests, petitioner_id, callers,
                       None if new_key is None else new_key.row, new_key)

    def _clock_to_start(self, wf: Workflow, stage: str, request_type: str, urgency: str,
                        at: datetime) -> dict[str, Any] | None:
        """``Petition.clock_to_start`` of a filing (``stage_before`` None, by
        ``"file"``): what it takes of the workflow (whether and which limit
        applies, the clock's values that follow from the limit alone) found
        once per workflow version, stage, request type and urgency, the
        times counted by the store's timekeeper for each filing."""
        key = (wf.name, wf.version, wf.sha256, stage, request_type, urgency)
        plan = self._clocks.get(key, _NO_PLAN)
        if plan is _NO_PLAN:
            plan = None
            if not wf.is_terminal(stage):
                limit = wf.limit_for(stage, request_type, urgency)
                if limit is not None:
                    # In clock_to_start's order, the times set per filing.
                    plan = (int(limit.amount), limit.unit, float(limit.warn_at), {
                        "for_stage": stage, "amount": limit.amount, "unit": limit.unit,
                        "started_by": limit.start, "deadline": None, "warn_time": None,
                        "warn_at": float(limit.warn_at),
                        "escalate_on_breach": bool(limit.escalate_on_breach),
                        "calendar_note": ""})
            if len(self._clocks) >= _SHARED_MAX:
                self._clocks.clear()
            self._clocks[key] = plan
        if plan is None:
            return None
        amount, unit, warn_at, values = plan
        end, warn, note = self.store.timekeeper.deadline_times(amount, unit, warn_at, at)
        clock: dict[str, Any] = values.copy()
        clock["deadline"] = end
        clock["warn_time"] = warn
        clock["calendar_note"] = note
        return clock

    def complete(self, decided: Decided, wf: Workflow, pending: Container[str] = (), *,
                 prefix: str | None = None) -> BulkPrepared:
        """``decided`` (under ``wf``) with what depends on the database: the
        workflow's text to store if it is not stored yet, its key's write, the
        work-order number's and caller index's writes (numbers are given as the
        transaction writes them)."""
        store, privacy = self.store, self.privacy
        pid = decided.petition_id
        definition = None if wf.sha256 in pending else store.definition_to_keep(wf)
        # The work-order number and the caller index, as for any filing.
        writes, committed = filing_writes(store, privacy, pid, None, decided.filed_at,
                                          petitioner_id=decided.petitioner_id, prefix=prefix,
                                          callers=decided.callers)
        new_key = decided.new_key
        if new_key is not None:
            writes.insert(0, new_key.write)
        return BulkPrepared(pid, decided.filed_at, definition, decided.rows, decided.digests,
                            writes, new_key, committed)


@dataclasses.dataclass(slots=True)
class Decided:
    """A filing of the bulk path decided as far as it can be without the
    database (:meth:`BulkFiler.decide`): completed by :meth:`BulkFiler.complete`
    in this process, or — decided by an import's worker process — added to
    the rows it hands the writer (:meth:`Handover.add`: its key's row, not
    the key)."""

    idempotency_key: str
    workflow: str
    petition_id: UUID
    filed_at: datetime
    workflow_sha256: str
    #: Its events as the SQLite recorder inserts them (``(id hex, version,
    #: topic, state)``: a new petition's, chained from the genesis), and the
    #: hash of each.
    rows: list[tuple[str, int, str, bytes]]
    digests: list[str]
    petitioner_id: str
    callers: list[tuple[str, str]]
    key_row: KeyRow | None
    new_key: NewKey | None = None
    #: The line of the import file it was read from (0: none).
    line: int = 0


class Handover:
    """The filings of one batch of an import that an import's worker decided
    for the bulk path, as the writer writes them (:func:`petitions.filing.file_handed`):
    parameter rows ready for the statements, in columns, nothing the writer
    has already (the line's text: it has the file) and nothing that depends on
    the database — the writer decides, in the batch's transaction, whether a
    filing is present already, whether the workflow text it was decided under
    is the store's and must be stored, and the work-order numbers.

    Per filing: its line, petition id (hex, and as the side tables write
    it), idempotency key, workflow (name and text's sha256), time of filing
    and its local year, its stored events' rows (``(id hex, version, topic,
    state)`` as the SQLite recorder inserts them: a new petition's, chained
    from the genesis), its chain head (version, hash), its caller-index rows
    and its new key's row.  ``start``: where the batch's lines begin in the
    file (byte offset, line number), from which the writer reads a line's
    text again should it file the line otherwise (:meth:`text`)."""

    __slots__ = (
        "caller_ends",
        "callers",
        "ends",
        "events",
        "filed_at",
        "heads",
        "ids",
        "key_rows",
        "keys",
        "lines",
        "names",
        "start",
        "texts",
        "workflows",
        "years",
    )

    def __init__(self, start: tuple[int, int] = (0, 1)) -> None:
        self.start = start
        self.lines: list[int] = []
        self.ids: list[str] = []
        self.names: list[str] = []
        self.keys: list[str] = []
        self.workflows: list[tuple[str, str]] = []
        self.filed_at: list[datetime] = []
        self.years: list[int] = []
        #: The events' rows of all the filings, and where each one's end.
        self.events: list[tuple[str, int, str, bytes]] = []
        self.ends: list[int] = []
        self.heads: list[tuple[int, str]] = []
        #: The caller-index rows (digest, kind, petitioner id, petition id) of
        #: all the filings, and where each one's end.
        self.callers: list[tuple[str, str, str, str]] = []
        self.caller_ends: list[int] = []
        self.key_rows: list[tuple[Any, ...] | None] = []
            #: The lines' texts by number, read again by the writer when first
        #: needed (not handed over).
        self.texts: dict[int, str] | None = None

    def add(self, decided: Decided, shared: dict[tuple[str, str], tuple[str, str]]) -> int:
        """Add ``decided`` (line ``decided.line``); its index.  ``shared``: the
        (workflow, sha256) pairs of the batch (one object each, pickled once)."""
        from petitions.sidetables import local_year

        pid = decided.petition_id
        hex_id, name = pid.hex, str(pid)
        pair = (decided.workflow, decided.workflow_sha256)
        self.lines.append(decided.line)
        self.ids.append(hex_id)
        self.names.append(name)
        self.keys.append(decided.idempotency_key)
        self.workflows.append(shared.setdefault(pair, pair))
        self.filed_at.append(decided.filed_at)
        self.years.append(local_year(decided.filed_at))
        events = self.events
        events += decided.rows
        self.ends.append(len(events))
        self.heads.append((decided.rows[-1][1], decided.digests[-1]))
        petitioner = decided.petitioner_id
        self.callers.extend([(d, kind, petitioner, name) for d, kind in decided.callers])
        self.caller_ends.append(len(self.callers))
        row = decided.key_row
        self.key_rows.append(None if row is None else (
            row.key_id, row.petitioner_id, row.wrapped, row.master, row.created_at,
            row.erased_at))
        return len(self.lines) - 1

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.start, self.lines, self.ids, self.names, self.keys, self.workflows,
                self.filed_at, self.years, self.events, self.ends, self.heads, self.callers,
                self.caller_ends, self.key_rows)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (self.start, self.lines, self.ids, self.names, self.keys, self.workflows,
         self.filed_at, self.years, self.events, self.ends, self.heads, self.callers,
         self.caller_ends, self.key_rows) = state
        self.texts = None


class Handed:
    """One filing of a :class:`Handover`, as the import files it: what
    ``file_batch`` is given (:func:`petitions.filing.file_petitions` writes a
    run of them with :func:`petitions.filing.file_handed`; anything else
    files the filing value, made again from the line, :meth:`value`)."""

    __slots__ = ("handover", "index", "line", "make")

    def __init__(self, handover: Handover, index: int,
                 make: Callable[[Handed], Filing]) -> None:
        self.handover, self.index, self.make = handover, index, make
        self.line = handover.lines[index]

    def to_file(self) -> Handed:
        return self

    @property
    def petition_id(self) -> UUID:
        return uuid_of_int(int(self.handover.ids[self.index], 16))

    @property
    def filed_at(self) -> datetime:
        return self.handover.filed_at[self.index]

    @property
    def idempotency_key(self) -> str:
        return self.handover.keys[self.index]

    def value(self) -> Filing:
        """The filing value, made again from its line by the writer's ``make``
        (it files the line otherwise than as decided: rare)."""
        return self.make(self)
