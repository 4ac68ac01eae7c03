"""The per-filing shortcuts of the bulk import (issue 18, point 4) write what
the general paths write: a checked line is filed as the value it was checked
as, a line that no filing could store is refused before anything is written,
the store saves the events of aggregates and events given to it in order, and
the side tables' key is the one derived from the master key in use."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import petitions.importer as importer
from petitions import PetitionService
from petitions.domain.filing import Checked
from petitions.domain.filing import Filing as FilingValue
from petitions.domain.petition import Petition
from petitions.domain.values import Actor, Location, Petitioner, WorkflowRef
from petitions.importer import ImportRefused, import_filings
from petitions.privacy.keys import MasterKey
from petitions.sidetables import side_key
from tests.fixtures import store_beside
from tests.test_import import CLERK, filed_keys, filing, write_lines


def test_a_checked_line_is_filed_as_the_value_it_was_checked_as(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(3)])
    given: list[Any] = []
    file_batch = service.file_batch

    def spy(filings: Any) -> Any:
        given.extend(filings)
        return file_batch(filings)

    monkeypatch.setattr(service, "file_batch", spy)
    report = import_filings(service, path, actor=CLERK)
    assert report.imported == 3
    # The checked value, with what the check made of it (not checked again).
    assert all(isinstance(f, Checked) and isinstance(f.filing, FilingValue) for f in given)
    values = [f.filing for f in given]
    assert [f.idempotency_key for f in values] == [f"wechat:2022-{n:05d}" for n in range(3)]
    assert {f.actor for f in values} == {CLERK}
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(3)})


def _counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The idempotency keys of every ``Petition.check_filing`` call, in order."""
    made: list[str] = []
    check_filing = Petition.check_filing.__func__  # type: ignore[attr-defined]

    def counted(cls: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(kwargs["idempotency_key"])
        return check_filing(cls, *args, **kwargs)

    monkeypatch.setattr(Petition, "check_filing", classmethod(counted))
    return made


def test_the_filing_pass_takes_the_check_passs_values_instead_of_checking_again(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.audit import verify_store

    lines = [filing(n, channel="online") for n in range(5)]
    lines[1]["petitioner"] = {"kind": "resident", "name": "  刘先生 ", "phone": "13912345678",
                              "id_number": "11010519491231002X", "address": "江北区 1 号"}
    path = write_lines(tmp_path / "in.jsonl", lines)
    made = _counting_checks(monkeypatch)
    report = import_filings(service, path, actor=CLERK, batch=2)
    assert report.imported == 5
    # Once per line (the check pass), not again on the sealed petitioner.
    assert made == [f"wechat:2022-{n:05d}" for n in range(5)]
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(5)})
    # The petitioner stored sealed (the check pass saw them in clear), the
    # time as filed; read back in clear.
    pid = importer.petition_id_for("wechat:2022-00001")
    (stored, *_) = service.recorder.select_events(pid, limit=1)
    state = json.loads(stored.state)
    assert state["petitioner"]["_data_"]["name"].startswith("enc1:")
    assert state["petitioner"]["_data_"]["phone"].startswith("enc1:")
    assert "刘先生" not in stored.state.decode()
    assert state["occurred_at"]["_data_"] == "2022-06-06T01:30:00+00:00"  # as store.when makes it
    shown = service.get(pid, viewer=CLERK, reveal=True).petitioner
    assert (shown.name, shown.phone) == ("刘先生", "13912345678")
    assert verify_store(service).ok


@pytest.mark.parametrize("changed", ["sha256", "version", "name"])
def test_a_line_checked_under_another_workflow_version_is_checked_again(
        changed: str, service: PetitionService, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Stale(Checked):
        """What the check made under a workflow version that is no longer
        the workflow's (changed between the check and the filing)."""

        def __init__(self, filing: Any, matter_type: str, fields: dict[str, Any]) -> None:
            ref = fields["workflow"]
            other = {"sha256": "0" * 64, "version": ref.version + 1, "name": "other"}[changed]
            fields["workflow"] = WorkflowRef(**{
                "name": ref.name, "version": ref.version, "sha256": ref.sha256,
                changed: other})
            super().__init__(filing, matter_type, fields)

    monkeypatch.setattr(importer, "Checked", Stale)
    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(3)])
    made = _counting_checks(monkeypatch)
    report = import_filings(service, path, actor=CLERK)
    assert report.imported == 3
    keys = [f"wechat:2022-{n:05d}" for n in range(3)]
    assert made == keys + keys  # checked again as any filing is
    wf = service.workflow("standard")
    for c in service.changes():
        if c.type == "Filed":  # the version in force recorded, not the stale one
            ref = c.data["workflow"]
            assert (ref["name"], ref["version"], ref["sha256"]) == (
                wf.name, wf.version, wf.sha256)


def test_checked_values_are_given_only_for_their_filing_text_and_matter_type() -> None:
    value = FilingValue(actor=CLERK, petitioner=Petitioner(kind="resident", name="刘"),
                        title="t", description="d", category="traffic", channel="online",
                        idempotency_key="k")
    other = FilingValue(actor=CLERK, petitioner=Petitioner(kind="resident", name="刘"),
                        title="t", description="d", category="traffic", channel="online",
                        idempotency_key="k")
    ref = WorkflowRef("standard", 3, "a" * 64)
    checked = Checked(value, "claim", {"title": "t", "workflow": ref})
    found = checked.fields_for(value, ref, "claim")
    assert found == {"title": "t", "workflow": ref}
    assert found is not checked.fields  # a copy: the caller adds to it
    found["petitioner"] = "sealed"
    assert "petitioner" not in checked.fields
    assert checked.fields_for(other, ref, "claim") is None
    assert checked.fields_for(value, WorkflowRef("standard", 3, "b" * 64), "claim") is None
    assert checked.fields_for(value, WorkflowRef("standard", 4, "a" * 64), "claim") is None
    assert checked.fields_for(value, WorkflowRef("other", 3, "a" * 64), "claim") is None
    assert checked.fields_for(value, ref, "report") is None


def test_a_line_no_filing_can_store_refuses_the_file_before_anything_is_written(
        service: PetitionService, tmp_path: Path) -> None:
    # The e-mail address is checked when the filing value is made: in the
    # check of the whole file, not when its batch is written.
    bad = filing(150, petitioner={"kind": "resident", "name": "刘先生", "email": "not-mail"})
    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(150)] + [bad])
    with pytest.raises(ImportRefused) as refused:
        import_filings(service, path, actor=CLERK, batch=100)
    assert [e.line for e in refused.value.report.errors] == [151]
    assert "petitioner.email" in str(refused.value.report.errors[0])
    assert filed_keys(service) == Counter()
    report = import_filings(service, path, actor=CLERK, on_error="skip")
    assert (report.imported, report.skipped) == (150, 1)


def test_parse_line_takes_the_operator_as_the_actor() -> None:
    operator = Actor("op-1", "intake_clerk")
    parsed = importer.parse_line(7, json.dumps(filing(1), ensure_ascii=False), operator)
    assert parsed.kwargs["actor"] == operator and parsed.value is None
    assert parsed.to_file() is parsed.kwargs


def test_the_store_saves_aggregates_and_events_in_the_order_given(
        service: PetitionService) -> None:
    at = datetime(2022, 6, 6, 1, 30, tzinfo=UTC)
    with store_beside(service) as store:
        wf = store.workflow("standard")
        made = []
        for n in range(3):
            petition = Petition.file(
                wf, actor=CLERK, occurred_at=at,
                petitioner=service.privacy.seal_petitioner(
                    Petitioner(kind="resident", name=f"居民{n}", id=uuid4().hex)),
                channel="hotline", category="traffic", title=f"路灯不亮 {n}",
                description="路灯不亮", location=Location(street="寸滩街道"),
                idempotency_key=f"order:{n}")
            made.append(petition)
        # An aggregate, nothing, a bare event, another aggregate.
        lone = made[1].collect_events()
        recordings = store.save(made[0], None, *lone, made[2])
        assert [(r.domain_event.originator_id, r.domain_event.originator_version)
                for r in recordings] == [(p.id, 1) for p in made]
        assert made[0].collect_events() == [] and made[2].collect_events() == []
        for p in made:
            assert store.find(p.id) is not None


def test_the_side_tables_key_is_derived_once_per_master_key() -> None:
    one, other = (MasterKey(bytes([b]) * 32, "test") for b in (1, 2))

    def derived(master: MasterKey) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"petitions side tables v1").derive(master.key)

    assert side_key(one) == derived(one) == side_key(one)
    assert side_key(other) == derived(other) != side_key(one)


def test_an_event_made_by_keywords_in_any_order_keeps_its_fields_in_field_order() -> None:
    cls = Petition.Filed
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {n: f"v-{n}" for n in names}
    values["originator_id"] = uuid4()
    forward, backward = cls(**values), cls(**dict(reversed(values.items())))
    assert list(vars(forward)) == list(vars(backward)) == names
    assert forward == backward
    required = {k: v for k, v in values.items()
                if next(f for f in dataclasses.fields(cls) if f.name == k).default
                is dataclasses.MISSING}
    made = cls(**dict(reversed(required.items())))
    assert list(vars(made)) == names
    assert (made.source, made.request_type, made.urgency, made.anonymous) == (
        "", "complaint", "normal", False)
    with pytest.raises(TypeError, match="missing 1 required argument: 'title'"):
        cls(**{k: v for k, v in required.items() if k != "title"})


def test_the_cli_refuses_a_file_with_an_unstorable_line_and_writes_nothing(
        backend_url: str, tmp_path: Path) -> None:
    # As an operator meets it: `petitions import` of 150 good lines and a bad
    # e-mail address on line 151 exits 1 naming that line, no traceback, and
    # the store holds no event afterwards (before, the first batch was saved).
    from click.testing import CliRunner

    import cli
    from tests.test_import import OPERATOR

    bad = filing(150, petitioner={"kind": "resident", "name": "刘先生", "email": "not-mail"})
    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(150)] + [bad])
    result = CliRunner().invoke(cli.main, ["--db", backend_url, *OPERATOR, "import",
                                           str(path)])  # the file checked before any batch
    assert result.exit_code == 1, result.output
    assert "151" in result.stderr and "Traceback" not in result.output
    with PetitionService.open(backend_url) as svc:
        assert list(svc.changes()) == []
