"""Personal data: sealed in storage, masked on show, revealed by the right roles
(audited), hidden in whistle-blowing cases, erasable without touching events."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from petitions import (
    Actor,
    InvalidInput,
    Location,
    PermissionDenied,
    Person,
    Petition,
    Petitioner,
    PetitionService,
)
from petitions.privacy import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE_ENV,
    AlreadyErased,
    InvalidPeriod,
    MasterKey,
    MasterKeyInvalid,
    MasterKeyMissing,
    PetitionerNotFound,
    PrivacyRecord,
    Sealed,
    is_sealed,
    mask_id_number,
    mask_phone,
    new_master_key_text,
    parse_period,
    parse_policy,
    retain,
)
from petitions.privacy.sealing import seal, unseal
from tests.conftest import store_beside
from tests.privacy_support import backend, exposes, raw_bytes, stored

NAME = "隐私测试张三丰"
PHONE = "13812345678"
ID_NUMBER = "500105199001011234"
ADDRESS = "江北区寸滩街道隐私路88号"
REP_NAME = "代表李四光"
REP_PHONE = "13698765432"

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
SUPERVISOR = Actor("supervisor-zhang", "supervisor")
AUDITOR = Actor("auditor-wu", "auditor")
ADMIN = Actor("admin-he", "administrator")


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from backend(request, tmp_path, monkeypatch)


def petitioner(**overrides: Any) -> Petitioner:
    args: dict[str, Any] = dict(kind="resident", name=NAME, phone=PHONE, id_number=ID_NUMBER,
                                address=ADDRESS)
    args.update(overrides)
    return Petitioner(**args)


def file(svc: PetitionService, who: Petitioner | None = None, *, at: datetime | None = None,
         matter_type: str = "claim", actor: Actor = CLERK) -> UUID:
    return svc.file(actor=actor, petitioner=who or petitioner(), title="小区停车难",
                    description="车位不足、乱停车严重", category="property_management",
                    channel="door_to_door", matter_type=matter_type, at=at,
                    location=Location(street="寸滩街道", community="保税商厦社区"))


def file_keyed(svc: PetitionService, key: str) -> UUID:
    return svc.file(actor=CLERK, petitioner=petitioner(), title="小区停车难",
                    description="车位不足、乱停车严重", category="property_management",
                    channel="hotline", idempotency_key=key)


# ------------------------------------------------------------------ sealing
def test_the_domain_and_its_events_hold_only_sealed_text(service: PetitionService) -> None:
    pid = file(service)
    with store_beside(service) as store:
        aggregate: Any = store.load(pid)
    filed = service.petition_events(pid)[0]
    assert isinstance(filed, Petition.Filed)
    for held in (aggregate.petitioner, filed.petitioner):
        for value in (held.name, held.phone, held.id_number, held.address):
            assert is_sealed(value)
            assert NAME not in value and PHONE not in value
        assert held.id and not is_sealed(held.id)


def test_nothing_personal_is_stored_in_clear(service: PetitionService) -> None:
    collective = Petitioner(kind="collective", name="茅溪小区业主", phone="13500001111",
                            representatives=(Person(REP_NAME, REP_PHONE, "500105198001015678"),))
    pid = file(service)
    file(service, collective)
    service.accept(pid, actor=CLERK)
    service.get(pid)  # reads leave nothing in clear either
    service.history(pid)
    raw = raw_bytes(service)
    assert exposes(raw, "小区停车难")  # the scan does find what is stored in clear
    for secret in (NAME, PHONE, ID_NUMBER, ADDRESS, REP_NAME, REP_PHONE, "500105198001015678",
                   "茅溪小区业主", "13500001111"):
        assert not exposes(raw, secret), secret


def test_show_masks_phone_and_id_numbers(service: PetitionService) -> None:
    pid = file(service)
    shown = service.get(pid).petitioner
    assert (shown.name, shown.address) == (NAME, ADDRESS)
    assert shown.phone == "138****5678"
    assert shown.id_number == "500***********1234"
    assert not shown.revealed and not shown.erased and not shown.hidden
    as_json = service.get(pid).to_dict()["petitioner"]
    assert as_json["id"] == shown.id and as_json["phone"] == "138****5678"
    filed = service.history(pid)[0].data["petitioner"]
    assert filed["name"] == NAME and filed["phone"] == "138****5678"


def test_representatives_are_sealed_and_shown(service: PetitionService) -> None:
    collective = Petitioner(kind="collective", name="业主委员会",
                            representatives=(Person(REP_NAME, REP_PHONE),))
    pid = file(service, collective)
    filed: Any = service.petition_events(pid)[0]
    assert is_sealed(filed.petitioner.representatives[0].name)
    rep = service.get(pid).petitioner.representatives[0]
    assert (rep.name, rep.phone) == (REP_NAME, "136****5432")


def test_the_same_petitioner_id_shares_one_key(service: PetitionService) -> None:
    first = file(service, petitioner(id="resident-0001"))
    second = file(service, petitioner(id="resident-0001", name="张三丰"))
    with store_beside(service) as store:
        sealed = [Sealed.parse(store.load(p).petitioner.name) for p in (first, second)]
    assert sealed[0] is not None and sealed[1] is not None
    assert sealed[0].key_id == sealed[1].key_id
    assert service.get(second).petitioner.name == "张三丰"



def test_each_new_petitioner_gets_a_fresh_256_bit_data_key(service: PetitionService) -> None:
    # New data keys are 32 bytes of the operating system's generator (as the
    # nonces are): each unwraps to 32 bytes of its own, and opens its
    # petitioner's sealed name.
    filed = [file(service, petitioner(id=f"resident-key-{i}", name=f"居民{i}"))
             for i in range(3)]
    keyring = service.privacy.keyring
    opened = []
    with store_beside(service) as store:
        for i, pid in enumerate(filed):
            sealed = Sealed.parse(store.load(pid).petitioner.name)
            assert sealed is not None
            row = keyring.table.live(f"resident-key-{i}")
            assert row is not None and row.key_id == sealed.key_id and row.wrapped
            clear = keyring.master.unwrap(row.wrapped, row.key_id, row.petitioner_id)
            assert clear is not None and len(clear) == 32
            assert unseal(AESGCM(clear), sealed, "name") == f"居民{i}"
            opened.append(clear)
    assert len(set(opened)) == 3

# ---------------------------------------------------------------- erasure
def test_erasure_shreds_the_data_and_keeps_every_stored_event(
        service: PetitionService) -> None:
    pid = file(service)
    other = file(service, petitioner(name="王五", phone="13900000000"))
    service.accept(pid, actor=CLERK)
    petitioner_id = service.get(pid).petitioner.id
    assert petitioner_id is not None
    before = stored(service)
    erasure = service.privacy.erase(petitioner_id, actor=ADMIN,
                                    legal_basis="个人信息保护法 第四十七条：本人请求删除")
    assert erasure.keys_destroyed == 1
    after = stored(service)
    assert after[:len(before)] == before  # nothing rewritten
    assert len(after) > len(before)  # the erasure was recorded
    view = service.get(pid)
    assert view.petitioner.erased and view.petitioner.id == petitioner_id
    assert (view.petitioner.name, view.petitioner.phone, view.petitioner.id_number,
            view.petitioner.address) == (None, None, None, None)
    # Filed, ClockStarted, Accepted, ClockStarted
    assert (view.title, view.stage, view.version) == ("小区停车难", "dispatch", 4)
    assert service.history(pid)[0].data["petitioner"]["erased"] is True
    assert service.get(pid, viewer=WORKER, reveal=True).petitioner.phone is None
    assert NAME not in str(service.get(pid).to_dict())
    assert service.get(other).petitioner.name == "王五"  # others untouched
    # and the case goes on
    assert service.assign(pid, actor=WORKER, unit="寸滩街道", person="李").stage == "resolution"


def test_erasure_is_an_audited_event(service: PetitionService) -> None:
    pid = file(service)
    petitioner_id = service.get(pid).petitioner.id
    assert petitioner_id
    service.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="保存期限届满")
    record = service.privacy.record_of(petitioner_id)
    erased = [e for e in record if isinstance(e, PrivacyRecord.Erased)]
    assert len(erased) == 1
    assert erased[0].actor == ADMIN and erased[0].legal_basis == "保存期限届满"
    assert erased[0].occurred_at.tzinfo is not None and erased[0].keys_destroyed == 1


def test_erasure_refusals_write_nothing(service: PetitionService,
                                        caplog: pytest.LogCaptureFixture) -> None:
    pid = file(service)
    petitioner_id = service.get(pid).petitioner.id
    assert petitioner_id
    before = stored(service)
    with caplog.at_level(logging.WARNING, logger="petitions"), \
            pytest.raises(PermissionDenied) as refused:
        service.privacy.erase(petitioner_id, actor=SUPERVISOR, legal_basis="x")
    assert refused.value.allowed_roles == ("administrator",)
    assert "refused" in caplog.text and "supervisor-zhang" in caplog.text
    with pytest.raises(InvalidInput):
        service.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="  ")
    with pytest.raises(PetitionerNotFound):
        service.privacy.erase("nobody", actor=ADMIN, legal_basis="x")
    assert stored(service) == before
    assert service.get(pid).petitioner.name == NAME
    service.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="x")
    after = stored(service)
    with pytest.raises(AlreadyErased):
        service.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="again")
    assert stored(service) == after


def test_a_commands_view_decrypts_the_petitioner_only_when_read(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = file(service)
    opened: list[str] = []
    real_render = service.privacy.render

    def counting_render(*args: Any, **kwargs: Any) -> Any:
        opened.append("render")
        return real_render(*args, **kwargs)

    monkeypatch.setattr(service.privacy, "render", counting_render)
    view = service.accept(pid, actor=WORKER)
    assert view.stage == "dispatch" and opened == []  # nothing decrypted yet
    shown = view.petitioner
    assert (shown.name, shown.phone) == (NAME, "138****5678") and opened == ["render"]
    assert view.petitioner is shown and opened == ["render"]  # rendered once
    # The same view as a query gives (the caseworker as viewer), to the letter.
    assert view == service.get(pid, viewer=WORKER)
    assert view.to_dict() == service.get(pid, viewer=WORKER).to_dict()
    assert view.to_dict()["petitioner"]["phone"] == "138****5678"


def test_a_commands_view_pickles_with_its_petitioner_rendered(
        service: PetitionService) -> None:
    import pickle

    pid = file(service)
    view = service.accept(pid, actor=WORKER)
    copied = pickle.loads(pickle.dumps(view))  # e.g. handed to a worker process
    assert copied.petitioner.phone == "138****5678"
    assert copied == view == service.get(pid, viewer=WORKER)
    assert hash(copied) == hash(view) == hash(service.get(pid, viewer=WORKER))  # frozen values


def test_an_erasure_before_the_view_is_read_is_honoured(backend_url: str) -> None:
    with PetitionService.open(backend_url) as one, PetitionService.open(backend_url) as two:
        pid = file(one)
        petitioner_id = two.get(pid).petitioner.id  # two has the key cached now
        assert petitioner_id
        view = two.accept(pid, actor=WORKER)
        one.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="本人请求")
        assert view.petitioner.erased and view.petitioner.name is None


def test_a_new_petitioners_key_is_stored_with_the_filing_or_not_at_all(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.recorders import writes_alongside

    assert writes_alongside(service.recorder)  # both shipped backends
    table = service.privacy.keyring.table
    first = file_keyed(service, "hotline-20220301-0001")
    assert table.counts() == (1, 0)
    # Two portals race with the same key: the loser's filing fails at the
    # save (the petition is stored already), and its new data key with it.
    from eventsourcing.application import Repository

    real_contains = Repository.__contains__
    looks: list[object] = []

    def contains(repo: Any, item: object) -> bool:  # the first look misses the winner
        looks.append(item)
        return len(looks) > 1 and real_contains(repo, item)

    monkeypatch.setattr(Repository, "__contains__", contains)
    assert file_keyed(service, "hotline-20220301-0001") == first
    assert looks == [first, first]  # looked before filing and after the failed save
    monkeypatch.setattr(Repository, "__contains__", real_contains)
    assert table.counts() == (1, 0)  # no orphan key
    assert service.get(first).petitioner.name == NAME


def test_a_portal_petitioners_first_key_is_stored_with_the_filing(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    table = service.privacy.keyring.table
    # A filing refused after sealing (an unknown petitioner kind) leaves no key.
    with pytest.raises(InvalidInput):
        file(service, petitioner(id="wx-openid-0001", kind="martian"))
    assert table.counts() == (0, 0)
    first = file(service, petitioner(id="wx-openid-0001"))
    assert table.counts() == (1, 0)
    second = file(service, petitioner(id="wx-openid-0001", name="王五"))
    assert table.counts() == (1, 0)  # the same person: the same key
    assert {service.get(first).petitioner.name, service.get(second).petitioner.name} == \
        {NAME, "王五"}


def test_two_first_filings_of_one_portal_petitioner_at_once_share_one_key(
        backend_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with PetitionService.open(backend_url) as one, PetitionService.open(backend_url) as two:
        file(one)  # both services are set up (tables, master key)
        file(two)
        # two looked for a key before one stored its own, and then files:
        # its own new key is refused with its events, and it files again
        # under the key one stored.
        first = file(one, petitioner(id="wx-openid-0002"))
        table = two.privacy.keyring.table
        real_live = type(table).live
        looks: list[str] = []

        def live(self: Any, petitioner_id: str) -> Any:
            looks.append(petitioner_id)
            return None if len(looks) == 1 else real_live(self, petitioner_id)

        monkeypatch.setattr(type(table), "live", live)
        second = file(two, petitioner(id="wx-openid-0002", name="王五"))
        monkeypatch.setattr(type(table), "live", real_live)
        assert looks[0] == "wx-openid-0002" and len(looks) >= 2
        rows = table.of_petitioner("wx-openid-0002")
        assert len(rows) == 1  # one key for the person, no orphan
        assert one.get(second).petitioner.name == "王五"
        assert two.get(first).petitioner.name == NAME
        assert type(two.petition_events(second)[0]).__name__ == "Filed"


def test_keys_are_stored_apart_where_the_recorder_cannot_write_alongside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.recorders import writes_alongside

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    path = str(tmp_path / "plain.sqlite")
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    with PetitionService(env=env, url=path) as svc:  # eventsourcing's own recorder
        assert not writes_alongside(svc.recorder)
        pid = file(svc)
        assert svc.privacy.keyring.table.counts() == (1, 0)
        assert svc.get(pid).petitioner.name == NAME
    with PetitionService.open(path) as svc:
        assert svc.get(pid).petitioner.phone == "138****5678"


def test_a_new_filing_after_erasure_gets_a_new_key(service: PetitionService) -> None:
    old = file(service, petitioner(id="resident-7"))
    service.privacy.erase("resident-7", actor=ADMIN, legal_basis="本人请求")
    new = file(service, petitioner(id="resident-7", name="新的名字"))
    assert service.get(old).petitioner.erased
    assert service.get(new).petitioner.name == "新的名字"


def test_erasure_by_another_process_is_honoured_on_next_read(backend_url: str) -> None:
    with PetitionService.open(backend_url) as one, PetitionService.open(backend_url) as two:
        pid = file(one)
        assert two.get(pid).petitioner.name == NAME  # two has the key cached now
        petitioner_id = two.get(pid).petitioner.id
        assert petitioner_id
        one.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="本人请求")
        assert two.get(pid).petitioner.erased
        assert two.history(pid)[0].data["petitioner"]["name"] is None


def test_erased_key_material_is_gone_from_the_database(service: PetitionService) -> None:
    pid = file(service)
    petitioner_id = service.get(pid).petitioner.id
    assert petitioner_id
    row = service.privacy.keyring.table.live(petitioner_id)
    assert row is not None and row.wrapped is not None
    service.privacy.erase(petitioner_id, actor=ADMIN, legal_basis="x")
    assert service.privacy.keyring.table.of_petitioner(petitioner_id)[0].wrapped is None
    if not service.url.startswith("postgres"):  # no old row versions left in file or WAL
        assert not exposes(raw_bytes(service), row.wrapped.hex()) \
            and row.wrapped not in raw_bytes(service)


# ----------------------------------------------------------------- reveal
def test_reveal_by_an_allowed_role_is_recorded(service: PetitionService) -> None:
    pid = file(service)
    shown = service.get(pid, viewer=WORKER, reveal=True).petitioner
    assert (shown.phone, shown.id_number, shown.revealed) == (PHONE, ID_NUMBER, True)
    assert shown.id
    reveals = [e for e in service.privacy.record_of(shown.id)
               if isinstance(e, PrivacyRecord.Revealed)]
    assert len(reveals) == 1
    assert reveals[0].actor == WORKER and reveals[0].petition_id == str(pid)
    assert reveals[0].fields == ["phone", "id_number"]
    history = service.history(pid, viewer=WORKER, reveal=True)
    assert history[0].data["petitioner"]["phone"] == PHONE
    assert len(service.privacy.record_of(shown.id)) == 3  # opened + two reveals


def test_reveal_refused_for_roles_without_the_grant(service: PetitionService) -> None:
    pid = file(service)
    before = stored(service)
    for role in ("auditor", "portal", "administrator"):
        with pytest.raises(PermissionDenied):
            service.get(pid, viewer=Actor("x", role), reveal=True)
    with pytest.raises(InvalidInput):
        service.get(pid, reveal=True)
    assert stored(service) == before
    assert service.get(pid, viewer=AUDITOR).petitioner.phone == "138****5678"


# ---------------------------------------------------- whistle-blowing cases
def test_a_whistle_blower_is_hidden_but_from_the_lead_units_supervisor(
        service: PetitionService) -> None:
    pid = file(service, matter_type="report")
    accepted = service.accept(pid, actor=CLERK)
    assert accepted.petitioner.hidden and accepted.petitioner.name is None
    service.assign(pid, actor=WORKER, unit="寸滩街道综治中心", person="李")
    for viewer, unit in ((None, None), (WORKER, "寸滩街道综治中心"), (AUDITOR, None),
                         (SUPERVISOR, "另一个单位"), (SUPERVISOR, None)):
        shown = service.get(pid, viewer=viewer, unit=unit).petitioner
        assert shown.hidden and shown.id is None and shown.name is None, (viewer, unit)
        filed = service.history(pid, viewer=viewer, unit=unit)[0].data["petitioner"]
        assert filed["name"] is None and filed["id"] is None
    seen = service.get(pid, viewer=SUPERVISOR, unit="寸滩街道综治中心").petitioner
    assert (seen.name, seen.phone, seen.hidden) == (NAME, "138****5678", False)
    with pytest.raises(PermissionDenied):
        service.get(pid, viewer=WORKER, unit="寸滩街道综治中心", reveal=True)
    revealed = service.get(pid, viewer=SUPERVISOR, unit="寸滩街道综治中心", reveal=True)
    assert revealed.petitioner.phone == PHONE


# ---------------------------------------------------------------- retention
def test_retention_erases_only_petitioners_whose_cases_all_closed_long_ago(
        service: PetitionService) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    old = file(service, petitioner(id="old-closed"), at=long_ago)
    service.reject(old, actor=CLERK, reason="不属于受理范围", referral="区法院",
                   at=long_ago + timedelta(hours=1))
    mixed_closed = file(service, petitioner(id="mixed"), at=long_ago)
    service.reject(mixed_closed, actor=CLERK, reason="重复", referral="无", at=long_ago)
    mixed_open = file(service, petitioner(id="mixed"))
    recent = file(service, petitioner(id="recent"), at=long_ago)
    service.reject(recent, actor=CLERK, reason="重复", referral="无")
    open_old = file(service, petitioner(id="open-old"), at=long_ago)

    before = stored(service)
    dry = retain(service, actor=ADMIN, older_than="365d", status="closed", dry_run=True)
    assert [i.petitioner_id for i in dry.items] == ["old-closed"]
    assert dry.items[0].petition_ids == (old,) and dry.erased == () and dry.kept == 3
    assert stored(service) == before
    assert service.get(old).petitioner.name == NAME

    run = retain(service, actor=ADMIN, older_than="12m", status="closed")
    assert run.erased == ("old-closed",)
    assert service.get(old).petitioner.erased
    for pid in (mixed_closed, mixed_open, recent, open_old):
        assert service.get(pid).petitioner.name == NAME
    erased = [e for e in service.privacy.record_of("old-closed")
              if isinstance(e, PrivacyRecord.Erased)]
    assert "retention" in erased[0].legal_basis and erased[0].actor == ADMIN
    assert retain(service, actor=ADMIN, older_than="365d").items == ()


def test_retention_refusals(service: PetitionService) -> None:
    with pytest.raises(PermissionDenied):
        retain(service, actor=SUPERVISOR, older_than="1y")
    with pytest.raises(InvalidInput):
        retain(service, actor=ADMIN, older_than="1y", status="open")
    with pytest.raises(InvalidPeriod):
        retain(service, actor=ADMIN, older_than="soon")


@pytest.mark.parametrize(("text", "days"), [("180d", 180), ("26w", 182), ("24m", 720),
                                            ("3y", 1095), (" 2 Y ", 730)])
def test_periods(text: str, days: int) -> None:
    assert parse_period(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "0d", "-1d", "1 year", "d", "1.5y"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(text)


# -------------------------------------------------------------- master keys
def test_sqlite_creates_an_owner_only_key_file_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    db = tmp_path / "cases.sqlite"
    with caplog.at_level(logging.WARNING, logger="petitions.privacy"), \
            PetitionService.open(str(db)) as svc:
        pid = file(svc)
    key_file = tmp_path / "cases.sqlite.key"
    assert key_file.exists() and "created master key file" in caplog.text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with PetitionService.open(str(db)) as again:
        assert again.get(pid).petitioner.name == NAME
    key_file.rename(tmp_path / "elsewhere.key")
    monkeypatch.setenv(MASTER_KEY_FILE_ENV, str(tmp_path / "elsewhere.key"))
    with PetitionService.open(str(db)) as moved:
        assert moved.get(pid).petitioner.name == NAME
        assert moved.privacy.key_status(ADMIN).master_source.startswith("file ")


def test_a_wrong_master_key_is_refused_not_read_as_erased(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "cases.sqlite")
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    with PetitionService.open(db) as svc:
        pid = file(svc)
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    with PetitionService.open(db) as svc, pytest.raises(MasterKeyInvalid):
        svc.get(pid)
    monkeypatch.setenv(MASTER_KEY_ENV, "not base64!")
    with PetitionService.open(db) as svc, pytest.raises(MasterKeyInvalid):
        svc.get(pid)


def test_postgres_requires_a_configured_master_key(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from tests.fixtures import fresh_backend_url

    for url in fresh_backend_url("postgres", tmp_path):
        monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
        monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
        with PetitionService.open(url) as svc:
            with pytest.raises(MasterKeyMissing):
                file(svc)
            assert stored(svc) == []


def test_key_rotation_rewraps_every_live_key(service: PetitionService,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pid = file(service)
    gone = file(service, petitioner(id="to-erase"))
    service.privacy.erase("to-erase", actor=ADMIN, legal_basis="x")
    status = service.privacy.key_status(ADMIN)
    assert (status.live_keys, status.erased_keys) == (1, 1)
    new_text = new_master_key_text()
    new = MasterKey(__import__("base64").b64decode(new_text), "environment")
    with pytest.raises(PermissionDenied):
        service.privacy.rotate(SUPERVISOR, new)
    assert service.privacy.rotate(ADMIN, new) == 1
    monkeypatch.setenv(MASTER_KEY_ENV, new_text)
    with PetitionService.open(service.url) as reopened:
        assert reopened.get(pid).petitioner.name == NAME
        assert reopened.get(gone).petitioner.erased
        assert reopened.privacy.key_status(ADMIN).master_fingerprint == new.fingerprint


# -------------------------------------------------------------- the pieces
def test_sealed_text_is_bound_to_its_field_and_key() -> None:
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    text = seal(key, "k1", "name", NAME)
    sealed = Sealed.parse(text)
    assert sealed is not None and sealed.key_id == "k1"
    assert unseal(key, sealed, "name") == NAME
    assert unseal(key, sealed, "address") is None  # moved to another field
    other = AESGCM(AESGCM.generate_key(bit_length=256))
    assert unseal(other, sealed, "name") is None
    assert seal(key, "k1", "phone", "") == ""
    assert Sealed.parse(NAME) is None and Sealed.parse("enc1:bad") is None
    assert seal(key, "k1", "name", NAME) != text  # fresh nonce each time


@pytest.mark.parametrize(("value", "masked"), [
    ("13812341234", "138****1234"), ("023-67851234", "023****1234"), ("110", "*10"),
    ("", ""), ("12", "**")])
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_mask_id_number() -> None:
    assert mask_id_number("500105199001011234") == "500***********1234"
    assert mask_id_number("12345") == "*****"


def test_the_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        parse_policy('[roles]\nerase = ["janitor"]\n')
    with pytest.raises(ValueError, match="unknown command"):
        parse_policy('[roles]\nshred = ["administrator"]\n')
    policy = parse_policy('[roles]\nerase = ["administrator"]\n'
                          '[confidential]\nmatter_types = ["report"]\nroles = ["supervisor"]\n')
    assert policy.may("administrator", "erase") and not policy.may("supervisor", "erase")
    assert policy.is_confidential("report") and not policy.is_confidential("claim")


# ---------------------------------------------------------------------- CLI
def test_cli_privacy_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from cli import main

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    db = str(tmp_path / "cli.sqlite")
    with PetitionService.open(db) as svc:
        long_ago = datetime.now(UTC) - timedelta(days=800)
        old = file(svc, petitioner(id="cli-old"), at=long_ago)
        svc.reject(old, actor=CLERK, reason="不属于受理范围", referral="区法院", at=long_ago)
        kept = file(svc, petitioner(id="cli-kept"))
    runner = CliRunner()
    dry = runner.invoke(main, ["--db", db, "--json", "privacy", "retain", "--older-than", "2y",
                               "--status", "closed", "--dry-run", "--actor", "admin-he",
                               "--role", "administrator"])
    assert dry.exit_code == 0, dry.output
    assert [i["petitioner_id"] for i in json.loads(dry.output)["items"]] == ["cli-old"]
    refused = runner.invoke(main, ["--db", db, "privacy", "erase", "cli-kept", "--legal-basis",
                                   "本人请求", "--actor", "li", "--role", "caseworker"])
    assert refused.exit_code == 1 and "may not erase" in refused.output
    done = runner.invoke(main, ["--db", db, "privacy", "erase", "cli-kept", "--legal-basis",
                                "本人请求", "--actor", "admin-he", "--role", "administrator"])
    assert done.exit_code == 0 and "cli-kept" in done.output
    again = runner.invoke(main, ["--db", db, "privacy", "erase", "cli-kept", "--legal-basis",
                                 "本人请求", "--actor", "admin-he", "--role", "administrator"])
    assert again.exit_code == 1 and "already erased" in again.output
    run = runner.invoke(main, ["--db", db, "privacy", "retain", "--older-than", "2y",
                               "--actor", "admin-he", "--role", "administrator"])
    assert run.exit_code == 0 and "1 petitioner(s)" in run.output
    status = runner.invoke(main, ["--db", db, "--json", "privacy", "keys", "status",
                                  "--actor", "admin-he", "--role", "administrator"])
    assert json.loads(status.output)["erased_keys"] == 2
    with PetitionService.open(db) as svc:
        assert svc.get(old).petitioner.erased and svc.get(kept).petitioner.erased


def test_master_key_configured_reads_and_creates_nothing(tmp_path: Path) -> None:
    """``audit verify`` and the side-table writers ask whether a key is configured
    without ever making one (the key file beside the database stays absent)."""
    from petitions.privacy.keys import master_key_configured

    db = str(tmp_path / "p.sqlite")
    assert not master_key_configured(db, environ={})
    assert not (tmp_path / "p.sqlite.key").exists()
    assert master_key_configured(db, environ={MASTER_KEY_ENV: new_master_key_text()})
    assert master_key_configured("postgresql://x@h/test", environ={MASTER_KEY_FILE_ENV: "k"})
    assert not master_key_configured("postgresql://x@h/test", environ={})
    (tmp_path / "p.sqlite.key").write_text(new_master_key_text(), encoding="ascii")
    assert master_key_configured(db, environ={})
