"""The bulk path of filing (issue 18, point 4) writes what the general path
writes: the same input filed both ways — every id, time, key and nonce made
the same — leaves the same rows, byte for byte, in every table, on SQLite and
on PostgreSQL; the audit passes after it; it is the path the import takes."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import petitions.privacy.keys as keys
from petitions import PetitionService
from petitions.audit import verify_store
from petitions.bulkfiling import BulkFiler, EventEncoder
from petitions.domain.petition import Petition, petition_id_for
from petitions.domain.values import Location, Person, Petitioner
from petitions.importer import import_filings
from petitions.persistence import is_postgres
from petitions.privacy import MASTER_KEY_ENV, new_master_key_text
from tests.fixtures import BACKENDS, fresh_backend_url, store_beside
from tests.test_import import CLERK, filed_keys, filing, write_lines

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


class _Fixed:
    """Randomness and clocks made the same for each run: ``os.urandom``
    (nonces, key ids, petitioner ids), new data keys, event timestamps and
    key rows' creation times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counter = itertools.count()
        fixed = self

        def urandom(n: int) -> bytes:
            seed = str(next(fixed.counter)).encode()
            out = b""
            while len(out) < n:
                seed = hashlib.sha256(seed).digest()
                out += seed
            return out[:n]

        class FixedAESGCM:
            @staticmethod
            def generate_key(bit_length: int) -> bytes:
                return urandom(bit_length // 8)

            def __new__(cls, key: bytes) -> Any:
                return AESGCM(key)

        class FixedDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return NOW

        def timestamp() -> datetime:
            # The same for every event: the general path makes (and drops) a
            # workflow definition per filing until its transaction commits,
            # so the two paths do not ask for the same number of times.
            return NOW

        monkeypatch.setattr("os.urandom", urandom)
        monkeypatch.setattr(keys, "AESGCM", FixedAESGCM)
        monkeypatch.setattr(keys, "datetime", FixedDatetime)
        monkeypatch.setattr("eventsourcing.domain.datetime_now_with_tzinfo", timestamp)

    def reset(self) -> None:
        self.counter = itertools.count()


def lines() -> list[dict[str, Any]]:
    """Filings of every kind the import takes: phones, ID numbers, addresses,
    e-mail, a collective's representatives, no offset on the time, claims of
    source and actor, other
    workflows, categories and channels, a petitioner id given (general
    path), a key twice, a channel accepted on filing (general path)."""
    out = [filing(n) for n in range(5)]
    out[1]["petitioner"] = {"kind": "resident", "name": "王女士", "phone": "138 0000 1234",
                            "id_number": "500105199001011234", "address": "寸滩街道 8 号",
                            "email": "wang@example.cn"}
    out[2].update(at="2022-06-07T10:00:00", source="wechat", channel="hotline",
                  actor={"id": "portal-wechat", "role": "portal"})
    out[3].update(workflow="enterprise_service", category="business_environment",
                  petitioner={"kind": "enterprise", "name": "重庆某公司", "phone": "023-67000000"})
    out[4].update(location={"street": "寸滩街道", "grid": "7", "address": "保税商厦 3 楼"})
    out.append(filing(5, petitioner={"kind": "resident", "name": "李先生", "id": "p-li"}))
    out.append(filing(6, channel="letter"))
    out.append(filing(1))  # the same key again: filed once
    out.append(filing(7, workflow="campaign", channel="door_to_door"))
    out.append(filing(8, workflow="campaign", channel="hotline"))
    out += [filing(n, channel="online") for n in range(9, 14)]
    out[-1]["petitioner"] = {"kind": "collective", "name": "吉安园业主",
                             "representatives": [{"name": "张先生", "phone": "13800000001"},
                                                 {"name": "赵女士", "id_number": "50010519"}]}
    return out


def values() -> list[dict[str, Any]]:
    """Filings only the service takes (not the import's lines): request
    types, urgencies, anonymous filings — other clocks, no personal data."""
    base = dict(actor=CLERK, title="路灯不亮", description="江北城街道路灯不亮",
                category="traffic", channel="hotline",
                location=Location(street="江北城街道"), at=NOW - timedelta(hours=1))
    out: list[dict[str, Any]] = []
    kinds: list[dict[str, Any]] = [
            dict(request_type="consultation"), dict(urgency="urgent"),
            dict(urgency="emergency", request_type="help"),
            dict(request_type="report", anonymous=True),
            dict(request_type="suggestion", anonymous=True, matter_type="suggestion")]
    for n, extra in enumerate(kinds):
        anonymous = extra.get("anonymous", False)
        out.append({**base, **extra, "idempotency_key": f"svc:{n}",
                    "petitioner": Petitioner(kind="resident",
                                             name="" if anonymous else f"居民{n}",
                                             phone="" if anonymous else f"1390000000{n}")})
    return out


def table_rows(svc: PetitionService) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store's database, sorted."""
    datastore: Any = svc.recorder.datastore
    out: dict[str, list[tuple[Any, ...]]] = {}
    with datastore.transaction(commit=False) as c:
        if is_postgres(svc.url):
            c.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                      "AND table_type = 'BASE TABLE'", (datastore.schema,))
            names = [next(iter(r.values())) if isinstance(r, dict) else r[0]
                     for r in c.fetchall()]
            quote = f'"{datastore.schema}".'
        else:
            c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            names = [r[0] for r in c.fetchall()]
            quote = ""
        for name in sorted(names):
            c.execute(f'SELECT * FROM {quote}"{name}"')
            found = [tuple(bytes(v) if isinstance(v, memoryview) else v
                           for v in (r.values() if isinstance(r, dict) else tuple(r)))
                     for r in c.fetchall()]
            out[name] = sorted(found, key=repr)
    return out


MASTER = new_master_key_text()


def filed_both_ways(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str,
                    ) -> dict[bool, dict[str, list[tuple[Any, ...]]]]:
    """Every table's rows after the same import and service filings, made
    through the general path (``False``) and the bulk path (``True``)."""
    monkeypatch.setenv(MASTER_KEY_ENV, MASTER)
    fixed = _Fixed(monkeypatch)
    path = write_lines(tmp_path / "in.jsonl", lines())
    taken: list[bool] = []
    prepare = BulkFiler.prepare

    def spy(self: BulkFiler, *args: Any, **kwargs: Any) -> Any:
        found = prepare(self, *args, **kwargs)
        taken.append(found is not None)
        return found

    found: dict[bool, dict[str, list[tuple[Any, ...]]]] = {}
    for bulk in (False, True):
        fixed.reset()
        where = tmp_path / ("bulk" if bulk else "general")
        where.mkdir()
        backend = fresh_backend_url(kind, where)
        url = next(backend)
        try:
            with monkeypatch.context() as m:
                if bulk:
                    m.setattr(BulkFiler, "prepare", spy)
                else:
                    m.setattr(BulkFiler, "of", staticmethod(lambda store, privacy: None))
                svc = PetitionService.open(url, clock=lambda: NOW)
                try:
                    report = import_filings(svc, path, actor=CLERK)
                    assert (report.imported, report.existing) == (len(lines()) - 1, 1)
                    results = svc.file_batch(values())
                    assert all(isinstance(r, tuple) and r[1] for r in results), results
                    audit = verify_store(svc)
                    assert audit.ok, audit.problems
                    found[bulk] = table_rows(svc)
                finally:
                    svc.shutdown()
        finally:
            next(backend, None)
    # Every filing of a new petitioner went the bulk path but the one the
    # workflow accepts on filing (the campaign's door-to-door one).
    assert taken.count(True) == len(lines()) - 3 + len(values())
    assert taken.count(False) == 1
    return found


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_same_filings_leave_the_same_rows_in_every_table_both_ways(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = filed_both_ways(monkeypatch, tmp_path, kind)
    general, bulk = found[False], found[True]
    assert set(general) == set(bulk)
    events = [n for n in general if n.endswith("events") and "snapshot" not in n]
    assert len(events) == 1
    # Two events per filing at least (Filed, ClockStarted), one definition
    # per workflow: the comparison below is of something.
    assert len(general[events[0]]) >= 2 * (len(lines()) - 1 + len(values()))
    assert any(general[n] for n in general if "caller" in n)
    assert any(general[n] for n in general if "keys" in n)
    for name in general:
        assert general[name] == bulk[name], name


def test_the_import_takes_the_bulk_path_for_new_petitioners(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    prepare = BulkFiler.prepare

    def spy(self: BulkFiler, *args: Any, **kwargs: Any) -> Any:
        found = prepare(self, *args, **kwargs)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(BulkFiler, "prepare", spy)
    made: list[Any] = []
    create = Petition._create.__func__  # type: ignore[attr-defined]

    def counted(cls: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(cls)
        return create(cls, *args, **kwargs)

    monkeypatch.setattr(Petition, "_create", classmethod(counted))
    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(30)]
                       + [filing(30, petitioner={"kind": "resident", "name": "李先生",
                                                 "id": "p-li"})])
    report = import_filings(service, path, actor=CLERK, batch=10)
    assert report.imported == 31
    assert taken == [True] * 30
    assert made == [Petition]  # only the petitioner with an id, through an aggregate
    assert verify_store(service).ok
    again = import_filings(service, path, actor=CLERK, batch=10)
    assert (again.imported, again.existing) == (0, 31)
    events = [c.type for c in service.changes()]
    assert events.count("Filed") == 31 and events.count("ClockStarted") == 31


def test_the_encoder_writes_what_the_stores_transcoder_writes(
        service: PetitionService) -> None:
    from petitions.audit.chain import GENESIS
    from petitions.domain.values import Actor, WorkflowRef

    with store_beside(service) as store:
        transcoder: Any = store.mapper.transcoder
    encoder = EventEncoder(transcoder, Petition.ClockStarted, shared=("actor",))
    fields = dict(timestamp=NOW, actor=CLERK, occurred_at=NOW, for_stage="intake", amount=2,
                  unit="working_days", started_by="file", deadline=NOW + timedelta(days=2),
                  warn_time=NOW + timedelta(days=1), warn_at=0.8, escalate_on_breach=True,
                  calendar_note='a "quoted" note\n与中文\u0001')
    expected = transcoder.encode({"prev_hash": GENESIS, **fields})
    assert encoder.state(GENESIS, fields) == expected
    assert encoder.state(GENESIS, fields) == expected  # the actor from the cache
    other = {**fields, "actor": Actor("另一位", "supervisor"), "warn_at": 1e-7,
             "occurred_at": NOW.astimezone(timezone(timedelta(hours=8)))}
    assert encoder.state(GENESIS, other) == transcoder.encode({"prev_hash": GENESIS, **other})
    # A value class with a nested value is written by the transcoder itself.
    filed = EventEncoder(transcoder, Petition.Filed, shared=("workflow",))
    value = Petitioner(kind="collective", name="业主", representatives=(
        Person(name="张先生", phone="138"),))
    assert filed.value("petitioner", value) == transcoder.encoder.encode(value)
    ref = WorkflowRef("standard", 5, "ab" * 32)
    assert filed.value("workflow", ref) == transcoder.encoder.encode(ref)


def test_the_encoder_writes_any_field_s_value_of_any_kind_as_the_transcoder_does(
        service: PetitionService) -> None:
    # A state writer tries first the branch a field's annotation names
    # (issue 18 point 4); a value of any other kind in any field is still
    # written as the store's transcoder writes it (shared fields included).
    import dataclasses

    from petitions.audit.chain import GENESIS
    from petitions.domain.values import WorkflowRef

    with store_beside(service) as store:
        transcoder: Any = store.mapper.transcoder
    samples = ["文本 \"q\"\n", "", None, 0, 7, True, False, 2.5, NOW,
               NOW.astimezone(timezone(timedelta(hours=8))), CLERK,
               WorkflowRef("standard", 5, "ab" * 32), Location(street="寸滩街道", grid="7"),
               Petitioner(kind="resident", name="王女士"), (), [1, "a"], {"k": [None]}]
    for cls, shared in ((Petition.Filed, ("actor", "workflow", "occurred_at")),
                        (Petition.ClockStarted, ("actor", "occurred_at", "deadline"))):
        encoder = EventEncoder(transcoder, cls, shared=shared)
        names = [f.name for f in dataclasses.fields(cls)
                 if f.name not in ("originator_id", "originator_version")]
        base = {name: f"v-{name}" for name in names}
        for name in names:
            for sample in samples:
                fields = {**base, name: sample}
                expected = transcoder.encode({"prev_hash": GENESIS, **fields})
                assert encoder.state(GENESIS, fields) == expected, (cls, name, sample)
                assert encoder.state(GENESIS, fields) == expected, (cls, name, sample)


def test_a_batch_meeting_another_writers_filing_files_each_again_on_its_own(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.core import Store

    lines = [filing(n, channel="online") for n in range(5)]
    import_filings(service, write_lines(tmp_path / "one.jsonl", [lines[3]]), actor=CLERK)
    # Another writer filed line 3 after the batch looked for its keys: the
    # batch's transaction fails on it and writes nothing; each filing is
    # then filed on its own, line 3 found present.
    import petitions.filing as filing_module

    again: list[Any] = []
    file_petition = filing_module.file_petition

    def counted(*args: Any) -> Any:
        again.append(args[2].idempotency_key)
        return file_petition(*args)

    monkeypatch.setattr(Store, "existing", lambda self, ids: set())
    monkeypatch.setattr(filing_module, "file_petition", counted)
    report = import_filings(service, write_lines(tmp_path / "all.jsonl", lines), actor=CLERK)
    monkeypatch.undo()
    assert again == [f"wechat:2022-{n:05d}" for n in range(5)]
    assert report.errors == () and report.imported + report.existing == 5
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(5)})
    numbers = {service.number_of(petition_id_for(f"wechat:2022-{n:05d}")) for n in range(5)}
    assert len(numbers) == 5 and None not in numbers
    audit = verify_store(service)
    assert audit.ok, audit.problems


def test_a_minted_petitioner_id_is_what_uuid4_hex_gives_from_the_same_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import uuid

    from petitions.filing import mint_petitioner_id

    drawn = [bytes([n]) * 16 for n in range(256)] + [os.urandom(16) for _ in range(256)]

    def made_by(make: Any) -> list[str]:
        source = iter(drawn)
        with monkeypatch.context() as m:
            m.setattr("os.urandom", lambda n: next(source))
            return [make() for _ in drawn]

    expected = made_by(lambda: uuid.uuid4().hex)
    assert made_by(mint_petitioner_id) == expected and len(set(expected)) == len(drawn)


def test_petitions_import_takes_the_bulk_path_and_audit_verify_passes_after_it(
        backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As an operator runs it: `petitions import` of 250 lines (three batches),
    # then `petitions audit verify` (exit 0), then the same import again
    # (nothing filed twice).
    import json

    from click.testing import CliRunner

    import cli
    from tests.test_import import OPERATOR

    taken: list[bool] = []
    prepare = BulkFiler.prepare

    def spy(self: BulkFiler, *args: Any, **kwargs: Any) -> Any:
        found = prepare(self, *args, **kwargs)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(BulkFiler, "prepare", spy)
    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(250)])
    runner = CliRunner()
    first = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "--json", "import",
                                     str(path)])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output.strip().splitlines()[-1])["imported"] == 250
    assert taken == [True] * 250
    verify = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "501 events" in verify.output  # 250 filings × 2 and the workflow's text
    again = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "--json", "import",
                                     str(path)])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert (summary["imported"], summary["existing"]) == (0, 250)
    with PetitionService.open(backend_url) as svc:
        assert filed_keys(svc) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(250)})


def test_no_personal_data_in_clear_text_in_any_table_after_petitions_import(
        backend_url: str, tmp_path: Path) -> None:
    # An attacker with the database but not the key file: after `petitions
    # import` (bulk and general path lines), no row of any table -- events,
    # keys, work orders, caller index, views -- holds a petitioner's name,
    # phone, ID number, address or e-mail as text.
    from click.testing import CliRunner

    import cli
    from tests.test_import import OPERATOR

    path = write_lines(tmp_path / "in.jsonl", lines())
    done = CliRunner().invoke(cli.main, ["--db", backend_url, *OPERATOR, "import", str(path)])
    assert done.exit_code == 0, done.output
    secrets = ("王女士", "138 0000 1234", "500105199001011234", "寸滩街道 8 号",
               "wang@example.cn", "张先生", "13800000001", "赵女士", "李先生")
    with PetitionService.open(backend_url) as svc:
        rows = table_rows(svc)
        assert len(rows) > 5 and any(rows.values())
        for table, found in rows.items():
            text = repr(found)
            data = b"".join(v for r in found for v in r if isinstance(v, bytes))
            for secret in secrets:
                assert secret not in text, (table, secret)
                assert secret.encode() not in data, (table, secret)


def test_a_filing_refused_in_a_bulk_batch_ends_it_and_the_ones_before_are_filed(
        service: PetitionService) -> None:
    from petitions.errors import InvalidInput

    good = dict(values()[1])
    refused = {**good, "idempotency_key": "svc:refused", "title": "  "}  # no title
    after = {**good, "idempotency_key": "svc:after"}
    results = service.file_batch([good, refused, after])
    assert len(results) == 2 and results[0] == (petition_id_for("svc:1"), True)
    assert isinstance(results[1], InvalidInput) and "title" in str(results[1])
    assert filed_keys(service) == Counter({"svc:1": 1})
    assert verify_store(service).ok


def test_a_crash_inside_a_bulk_batch_leaves_no_row_of_it_in_any_table(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [filing(n, channel="online",
                    petitioner={"kind": "resident", "name": f"居民{n}", "phone": f"1390000{n:04d}"})
             for n in range(9)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    import_filings(service, write_lines(tmp_path / "first.jsonl", lines[:3]), actor=CLERK)
    after_first = table_rows(service)
    recorder: Any = service.recorder
    insert = recorder._insert_events

    def crashing(*args: Any, **kwargs: Any) -> Any:
        insert(*args, **kwargs)  # every row of the batch written, then the process "dies"
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(recorder, "_insert_events", crashing)
    with pytest.raises(RuntimeError):
        import_filings(service, path, actor=CLERK, batch=3)
    monkeypatch.undo()
    # Nothing of the failed batch (lines 3-5) in the events, keys, numbers,
    # counters, caller index or chain heads.
    assert table_rows(service) == after_first
    again = import_filings(service, path, actor=CLERK, batch=3)
    assert (again.imported, again.existing) == (6, 3)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(9)})
    rows = table_rows(service)
    for name in ("work_orders", "caller_index", "petitioner_keys"):
        assert len(rows[name]) == 9, name
    assert verify_store(service).ok


def test_the_shortcuts_of_the_bulk_path_give_what_the_standard_functions_give() -> None:
    """The hash of an event by its class's hasher, HMACs from a keyed copy,
    and a sealed field's nonce and ciphertext encoded in one step are what
    ``event_hash``, ``hmac.digest`` and base64 of each part give."""
    import base64
    import hmac
    import os

    from petitions.audit.hashing import event_hash, event_hasher
    from petitions.privacy.callers import hmac_hex
    from petitions.privacy.sealing import Sealed, seal, unseal

    topic = "petitions.domain.petition:Petition.Filed"
    hasher = event_hasher(topic)
    for version, state in ((0, b""), (1, b"{}"), (2, os.urandom(300)), (15, b"{}"),
                           (16, b"{}"), (17, "诉求".encode()), (123456, b"{}")):
        assert hasher("ab" * 16, version, state) == event_hash("ab" * 16, version, topic, state)
    assert hasher("ab" * 16, 1, b"{}") != hasher("ab" * 16, 2, b"{}")
    key, other = os.urandom(32), os.urandom(32)
    for size in (0, 1, 63, 64, 65, 500):
        data = os.urandom(size)
        assert hmac_hex(key, data) == hmac.digest(key, data, "sha256").hex()
        assert hmac_hex(other, data) == hmac.digest(other, data, "sha256").hex()
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    texts = {}
    for value in ("刘", "居民1", "13900000001", "x" * 47, "a b c"):
        text = seal(aead, "key-1", "name", value)
        prefix, nonce, ciphertext, key_id = text.split(":")
        sealed = Sealed.parse(text)
        assert sealed is not None and (prefix, key_id) == ("enc1", "key-1")
        assert len(sealed.nonce) == 12
        for part, raw in ((nonce, sealed.nonce), (ciphertext, sealed.ciphertext)):
            assert part == base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        assert unseal(aead, sealed, "name") == value
        assert unseal(aead, sealed, "phone") is None  # bound to its field
        texts[value] = nonce
    assert len(set(texts.values())) == len(texts)  # a nonce of its own each
