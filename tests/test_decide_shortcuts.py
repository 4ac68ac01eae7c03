"""The shortcuts of deciding a bulk filing (issue 18, point 4, the worker's
side) compute what the general code computes: petition ids are the uuid5 of
their keys, a clock's office day is the calendar's, a new key and a
petitioner's fields still draw fresh random bytes each (one draw split, never
shared), HMACs are ``hmac.digest``'s, a line's JSON is ``json.loads``'s (its
errors too), a phone's digits are the regex's, and what the worker hands the
writer (a :class:`~petitions.bulkfiling.Handover`) comes back equal."""

from __future__ import annotations

import hmac
import json
import os
import pickle
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid5

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent

from petitions.bulkfiling import Decided, _stored_event
from petitions.deadlines.calendar import office_day
from petitions.deadlines.clock import Timekeeper
from petitions.domain.petition import IDEMPOTENCY_NAMESPACE, petition_id_for, uuid_of_int
from petitions.domain.values import Petitioner
from petitions.importer import _json
from petitions.privacy.callers import hmac_hex, normalise_phone
from petitions.privacy.keys import KeyRow, MasterKey
from petitions.privacy.sealing import Sealed, seal, unseal
from petitions.service import PetitionService
from workflows.records import evolve


@pytest.mark.parametrize("key", ["a", "bench:00000001", "wechat:2022-0001", "中文：键",
                                 "x" * 500, " spaced ", "\u00e9\U0001f600"])
def test_a_petition_id_is_the_uuid5_of_its_key(key: str) -> None:
    made, expected = petition_id_for(key), uuid5(IDEMPOTENCY_NAMESPACE, key)
    assert made == expected and hash(made) == hash(expected)
    assert (str(made), repr(made), made.version, made.variant, made.is_safe) == (
        str(expected), repr(expected), expected.version, expected.variant, expected.is_safe)
    assert pickle.loads(pickle.dumps(made)) == expected


def test_a_uuid_from_its_integer_is_uuid_of_int() -> None:
    rng = random.Random(18)
    for value in [0, (1 << 128) - 1] + [rng.getrandbits(128) for _ in range(200)]:
        made, expected = uuid_of_int(value), UUID(int=value)
        assert made == expected and made.bytes == expected.bytes
        assert made.is_safe == expected.is_safe and hash(made) == hash(expected)


def test_a_clock_s_office_day_is_the_calendar_s() -> None:
    keeper = Timekeeper()
    rng = random.Random(4)
    base = datetime(2026, 12, 3, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    moments = [base, base + timedelta(seconds=1), base - timedelta(microseconds=1),
               base + timedelta(seconds=1, microseconds=-1), base + timedelta(days=1),
               base - timedelta(days=400)]
    moments += [base + timedelta(seconds=rng.randint(-10 ** 8, 10 ** 8),
                                 microseconds=rng.randint(0, 999_999)) for _ in range(400)]
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]
    for i, moment in enumerate(moments):
        given = moment.astimezone(zones[i % 3])
        assert keeper._office_day(given) == office_day(given), given
        # Again, now that its day is the one kept.
        assert keeper._office_day(given) == office_day(given), given


def _master() -> MasterKey:
    return MasterKey(os.urandom(32), "test")


def test_new_keys_draw_their_id_key_and_wrapping_nonce_apart(
        service: PetitionService) -> None:
    keyring = service.privacy.keyring
    rows = [keyring.new_key(f"p-{i}") for i in range(50)]
    ids, keys, nonces = set(), set(), set()
    for row, aead in rows:
        assert len(row.key_id) == 32 and row.wrapped is not None
        clear = keyring.master.unwrap(row.wrapped, row.key_id, row.petitioner_id)
        assert clear is not None and len(clear) == 32
        ids.add(row.key_id)
        keys.add(clear)
        nonces.add(row.wrapped[:12])
        # Nothing of one draw is used twice: the id, the key and the nonce differ.
        assert len({bytes.fromhex(row.key_id), clear[:16], row.wrapped[:12] + b"xxxx"}) == 3
        assert aead.decrypt(*_sealed_parts(seal(aead, row.key_id, "name", "王女士")),
                            f"petitions/v1\n{row.key_id}\nname".encode()) == "王女士".encode()
    assert len(ids) == len(keys) == len(nonces) == 50


def _sealed_parts(text: str) -> tuple[bytes, bytes]:
    sealed = Sealed.parse(text)
    assert sealed is not None
    return sealed.nonce, sealed.ciphertext


def test_a_petitioner_s_fields_are_sealed_under_nonces_of_their_own(
        service: PetitionService) -> None:
    privacy = service.privacy
    person = Petitioner(kind="resident", name="王女士", phone="138 0000 1234",
                        id_number="500105199001011234", address="寸滩街道 8 号",
                        email="wang@example.cn")
    seen: set[bytes] = set()
    for _ in range(20):
        sealed, new_key = privacy.seal_for_filing(person, new=True, petitioner_id="p-1")
        assert new_key is not None
        for name in ("name", "phone", "id_number", "address", "email"):
            found = Sealed.parse(getattr(sealed, name))
            assert found is not None and len(found.nonce) == 12
            assert found.nonce not in seen
            seen.add(found.nonce)
            assert unseal(new_key.key, found, name) == getattr(person, name).strip()
    assert len(seen) == 100


def urandom_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the size of each ``os.urandom`` draw (the draws still made)."""
    calls: list[int] = []
    real = os.urandom

    def counted(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr("os.urandom", counted)
    return calls


def test_a_new_petitioner_s_one_draw_is_split_into_id_key_and_nonces(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bulk filing of a new petitioner draws once (issue 18 point 4): 16
    # bytes for their id, then their key's id, key and wrapping nonce, then a
    # nonce per sealed field — each part used once, in that order.
    from petitions.filing import mint_petitioner_id
    from petitions.privacy.core import FILING_DRAW
    from petitions.privacy.keys import DATA_KEY_BYTES, KEY_DRAW

    drawn = os.urandom(16 + FILING_DRAW)
    privacy = service.privacy
    person = Petitioner(kind="resident", name="王女士", phone="138 0000 1234",
                        address="寸滩街道 8 号")
    calls = urandom_calls(monkeypatch)
    pid = mint_petitioner_id(drawn[:16])
    sealed, new_key = privacy.seal_for_filing(person, new=True, petitioner_id=pid,
                                              drawn=drawn[16:])
    assert calls == []  # nothing drawn besides
    assert new_key is not None and sealed.id == pid
    assert pid == UUID(bytes=drawn[:16], version=4).hex
    key_part = drawn[16:16 + KEY_DRAW]
    assert new_key.row.key_id == key_part[:16].hex()
    assert new_key.row.wrapped is not None
    assert new_key.row.wrapped[:12] == key_part[16 + DATA_KEY_BYTES:]
    clear = privacy.keyring.master.unwrap(new_key.row.wrapped, new_key.row.key_id, pid)
    assert clear == key_part[16:16 + DATA_KEY_BYTES]
    nonces = drawn[16 + KEY_DRAW:]
    for i, name in enumerate(("name", "phone", "address")):  # the fields given, in order
        found = Sealed.parse(getattr(sealed, name))
        assert found is not None and found.nonce == nonces[12 * i:12 * i + 12]
        assert unseal(new_key.key, found, name) == getattr(person, name)
    with pytest.raises(ValueError):
        privacy.seal_for_filing(person, new=True, petitioner_id=pid, drawn=drawn[17:])
    with pytest.raises(ValueError):
        privacy.keyring.new_key(pid, drawn[:KEY_DRAW - 1])
    with pytest.raises(ValueError):
        mint_petitioner_id(drawn[:15])
    # Without bytes given, each draws its own (once).
    privacy.seal_for_filing(person, new=True, petitioner_id=pid)
    mint_petitioner_id()
    assert calls == [FILING_DRAW, 16]


def test_a_bulk_filing_draws_random_bytes_once(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.bulkfiling import BulkFiler
    from petitions.domain.filing import Filing
    from petitions.domain.values import Actor, Location
    from petitions.filing import filing_workflow, mint_petitioner_id

    store = service._store
    bulk = BulkFiler.of(store, service.privacy)
    assert bulk is not None
    filing = Filing(actor=Actor("clerk", "intake_clerk"), title="路灯不亮",
                    description="江北城街道路灯不亮", category="traffic", channel="online",
                    location=Location(street="江北城街道"), idempotency_key="draw:1",
                    petitioner=Petitioner(kind="resident", name="王女士",
                                          phone="138 0000 1234"))
    wf, matter_type = filing_workflow(store, filing)
    calls = urandom_calls(monkeypatch)
    decided = bulk.decide(filing, wf, matter_type, mint_petitioner_id)
    assert decided is not None and decided.new_key is not None
    assert len(calls) == 1


def test_a_bulk_filing_s_clock_is_petition_clock_to_start_s(
        service: PetitionService) -> None:
    # The bulk path finds a workflow's limit and the clock's values once per
    # workflow, stage, request type and urgency (issue 18 point 4): for every
    # shipped workflow, stage, type and urgency, at many times (office days,
    # midnights, weekends, years), the same values as Petition.clock_to_start.
    from petitions.bulkfiling import BulkFiler
    from petitions.domain.petition import Petition

    store = service._store
    bulk = BulkFiler.of(store, service.privacy)
    assert bulk is not None
    rng = random.Random(18)
    base = datetime(2026, 12, 3, 15, 59, 59, 999_999, tzinfo=UTC)
    moments = [base, base + timedelta(microseconds=1), base + timedelta(days=2),
               datetime(2025, 12, 31, 16, 0, tzinfo=UTC), datetime(2024, 2, 29, 3, tzinfo=UTC)]
    moments += [base + timedelta(seconds=rng.randint(-10 ** 8, 10 ** 7),
                                 microseconds=rng.randint(0, 999_999)) for _ in range(60)]
    zones = [UTC, timezone(timedelta(hours=8))]
    compared = started = 0
    for name in ("standard", "emergency_care", "enterprise_service", "letters_and_visits",
                 "property_dispute", "campaign"):
        wf = store.workflow(name)
        types = sorted({wf.default_type, "complaint", "consultation", *wf.type_limits})
        urgencies = sorted({"normal", "urgent", *wf.urgency_limits})
        for stage in wf.stages:
            for request_type in types:
                for urgency in urgencies:
                    for i, moment in enumerate(moments):
                        at = moment.astimezone(zones[i % 2])
                        for _ in range(2):  # the plan found, then kept
                            expected = Petition.clock_to_start(
                                wf, stage, request_type, urgency, store.timekeeper, at,
                                None, "file")
                            found = bulk._clock_to_start(wf, stage, request_type, urgency, at)
                            assert found == expected, (name, stage, request_type, urgency, at)
                            if found is not None:
                                assert list(found) == list(expected or ())
                            compared += 1
                            started += found is not None
    assert compared > 1000 and 0 < started < compared


def test_a_filing_s_office_year_is_its_year_in_the_office_s_zone() -> None:
    # local_year keeps the bounds of the year last found (issue 18 point 4):
    # times around new year in the office's zone (UTC+8), in and out of the
    # kept year, in other zones, at the ends of the range.
    from zoneinfo import ZoneInfo

    from petitions.sidetables import local_year

    office = ZoneInfo("Asia/Shanghai")
    rng = random.Random(4)
    moments = []
    for year in (1, 2, 2025, 2026, 2027, 9998, 9999):
        if year > 1:
            eve = datetime(year, 1, 1, tzinfo=office).astimezone(UTC)
            moments += [eve, eve - timedelta(microseconds=1), eve + timedelta(microseconds=1)]
        moments += [datetime(year, 6, 1, tzinfo=UTC), datetime(year, 12, 31, 15, 59, tzinfo=UTC)]
    moments += [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(-10 ** 8,
                                                                                 10 ** 8))
                for _ in range(2000)]
    zones = [UTC, UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), office]
    for i, moment in enumerate(moments):
        given = moment.astimezone(zones[i % len(zones)]) if moment.year > 1 else moment
        assert local_year(given) == given.astimezone(office).year, given
        assert local_year(given) == given.astimezone(office).year, given  # kept


def test_a_petitioner_sealed_at_once_is_each_field_sealed_by_seal() -> None:
    # Privacy._sealed writes each field as seal() does with the same nonce
    # (issue 18 point 4: the petitioner's parts of it made once).
    from petitions.privacy.core import Privacy

    aead = AESGCM(os.urandom(32))
    for person in (Petitioner(kind="resident", name="王女士", phone=" 138 0000 1234 ",
                              id_number="500105199001011234", address="寸滩街道 8 号",
                              email="wang@example.cn"),
                   Petitioner(kind="resident", name="居民1", phone="   ", email=""),
                   Petitioner(kind="enterprise", name="x" * 300)):
        nonces = os.urandom(60)
        sealed = Privacy._sealed(person, "key-1", aead, "p-1", nonces)
        at = 0
        expected: dict[str, Any] = {"id": "p-1"}
        for name in ("name", "phone", "id_number", "address", "email"):
            value = getattr(person, name)
            if not value:
                assert getattr(sealed, name) == ""
                expected[name] = ""
                continue
            expected[name] = seal(aead, "key-1", name, value.strip(), nonces[at:at + 12])
            assert getattr(sealed, name) == expected[name], name
            at += 12
        assert sealed.id == "p-1" and sealed.kind == person.kind
        # The whole copy is what evolve() makes of the petitioner.
        assert sealed == evolve(person, **expected) and type(sealed) is Petitioner
    with pytest.raises(ValueError):
        Privacy._sealed(Petitioner(kind="resident", name="a", phone="1"), "k", aead, None,
                        os.urandom(12))


def test_a_nonce_given_is_twelve_bytes() -> None:
    aead = AESGCM(os.urandom(32))
    with pytest.raises(ValueError):
        seal(aead, "k", "name", "王女士", b"short")
    with pytest.raises(ValueError):
        _master().wrap(os.urandom(32), "k", "p", b"short")
    assert seal(aead, "k", "name", "") == ""


@pytest.mark.parametrize("size", [0, 1, 16, 32, 63, 64, 65, 128])
def test_hmac_hex_is_hmac_sha256(size: int) -> None:
    key = os.urandom(size)
    for data in (b"", b"phone\n13800001234", os.urandom(1000)):
        assert hmac_hex(key, data) == hmac.digest(key, data, "sha256").hex()


@pytest.mark.parametrize("text", [
    '{"a": 1}\n', ' {"a": [1, 2.5, "x", null, true]} \r\n', '{"a": 1} x', "{not json", "",
    "   ", '\ufeff{"a": 1}', "[1, 2]", '"s"', '{"a": 1}{"b": 2}', "NaN", '{"a": "\\u4e2d"}',
    '{"a": 1,}', '{"a" 1}'])
def test_a_line_s_json_is_json_loads_s(text: str) -> None:
    def outcome(load: Any) -> Any:
        try:
            return ("value", load(text))
        except json.JSONDecodeError as exc:
            return ("error", exc.msg, exc.pos, exc.lineno, exc.colno)
    assert repr(outcome(_json)) == repr(outcome(json.loads))


@pytest.mark.parametrize("phone", ["13900000000", "+86 138-0000-1234", "008613800001234",
                                   "8613800001234", "", "²³", "１３９", "023-67000000", "abc"])
def test_a_phone_s_digits_are_the_regex_s(phone: str) -> None:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    assert normalise_phone(phone) == digits


def test_what_the_worker_hands_over_comes_back_equal() -> None:
    # The worker hands the writer a batch's decided filings as a Handover's
    # columns (pickled): each column, and what the writer reads of a filing
    # through Handed, comes back equal — the events' rows, chain heads, caller
    # rows and key rows it writes as they are.
    from petitions.bulkfiling import Handed, Handover
    from petitions.sidetables import local_year

    pid, other = uuid5(IDEMPOTENCY_NAMESPACE, "k"), uuid5(IDEMPOTENCY_NAMESPACE, "k2")
    made = _stored_event(pid, 2, "t:T", b'{"a":1}')
    assert made == StoredEvent(pid, 2, "t:T", b'{"a":1}')
    assert made.__dict__ == StoredEvent(pid, 2, "t:T", b'{"a":1}').__dict__
    row = KeyRow("kid", "p-1", b"w" * 60, "fp", "2026-12-03T04:00:00+00:00", None)
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 2027 in Shanghai
    decided = [
        Decided("k", "standard", pid, datetime(2026, 12, 3, 4, tzinfo=UTC), "sha",
                [(pid.hex, 1, "t:F", b'{"f":1}'), (pid.hex, 2, "t:T", b'{"a":1}')],
                ["h1", "h2"], "p-1", [("d1", "phone"), ("d2", "id_number")], row, None, 7),
        Decided("k2", "standard", other, late, "sha", [(other.hex, 1, "t:F", b"{}")], ["h3"],
                "p-2", [], None, None, 9)]
    handover = Handover((1234, 7))
    shared: dict[tuple[str, str], tuple[str, str]] = {}
    assert [handover.add(d, shared) for d in decided] == [0, 1]
    back = pickle.loads(pickle.dumps(handover, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.start == (1234, 7) and back.texts is None
    assert (back.lines, back.ids, back.names, back.keys) == (
        [7, 9], [pid.hex, other.hex], [str(pid), str(other)], ["k", "k2"])
    assert back.workflows == [("standard", "sha")] * 2
    assert back.workflows[0] is back.workflows[1]  # one object per pair, pickled once
    assert back.filed_at == [d.filed_at for d in decided]
    assert back.years == [2026, 2027] == [local_year(d.filed_at) for d in decided]
    assert back.events == [(pid.hex, 1, "t:F", b'{"f":1}'), (pid.hex, 2, "t:T", b'{"a":1}'),
                           (other.hex, 1, "t:F", b"{}")]
    assert (back.ends, back.heads) == ([2, 3], [(2, "h2"), (1, "h3")])
    assert back.callers == [("d1", "phone", "p-1", str(pid)),
                            ("d2", "id_number", "p-1", str(pid))]
    assert back.caller_ends == [2, 2]
    assert back.key_rows[1] is None and KeyRow(*back.key_rows[0]) == row
    for name in Handover.__slots__:
        if name != "texts":
            assert getattr(back, name) == getattr(handover, name), name
    for index, d in enumerate(decided):
        handed = Handed(back, index, lambda item: pytest.fail("not made again"))
        assert handed.line == d.line and handed.to_file() is handed
        assert handed.petition_id == d.petition_id
        assert handed.petition_id.is_safe == d.petition_id.is_safe
        assert (handed.filed_at, handed.idempotency_key) == (d.filed_at, d.idempotency_key)


def test_the_bulk_paths_events_go_to_the_store_as_rows_or_as_stored_events() -> None:
    # A batch of the bulk path hands its events to the chained save as the
    # rows the SQLite recorder inserts (and each petition's head), nothing
    # made again; to a recorder that numbers them, as stored events with
    # their hashes — the same ids, versions, topics, states and hashes.
    from petitions.audit.chain import EncodedRows
    from petitions.bulkfiling import BulkPrepared, encoded_of

    pid, other = uuid5(IDEMPOTENCY_NAMESPACE, "k"), uuid5(IDEMPOTENCY_NAMESPACE, "k2")
    at = datetime(2026, 12, 3, 4, tzinfo=UTC)
    prepared = [
        BulkPrepared(pid, at, None, [(pid.hex, 1, "t:F", b'{"f":1}'),
                                     (pid.hex, 2, "t:T", b'{"a":1}')], ["h1", "h2"], [],
                     None, lambda alongside: None),
        BulkPrepared(other, at, None, [(other.hex, 1, "t:F", b"{}")], ["h3"], [], None,
                     lambda alongside: None)]

    class Unnumbered:
        def inserts_unnumbered(self) -> bool:
            return True

    rows = encoded_of(Unnumbered(), prepared)
    assert isinstance(rows, EncodedRows)
    assert rows.rows == [(pid.hex, 1, "t:F", b'{"f":1}'), (pid.hex, 2, "t:T", b'{"a":1}'),
                         (other.hex, 1, "t:F", b"{}")]
    assert rows.heads == {pid.hex: (2, "h2"), other.hex: (1, "h3")}
    stored = encoded_of(object(), prepared)
    assert stored == [(StoredEvent(pid, 1, "t:F", b'{"f":1}'), "h1"),
                      (StoredEvent(pid, 2, "t:T", b'{"a":1}'), "h2"),
                      (StoredEvent(other, 1, "t:F", b"{}"), "h3")]
    assert [s.originator_id for s, _ in stored] == [pid, pid, other]
