"""The bulk import's batched writing: side rows written together, filings kept
between the two passes, caches that stay bounded — with the import's
guarantees (file order numbers, whole batches, nothing twice) unchanged."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import petitions.importer as importer
from petitions import Actor, PetitionService
from petitions.deadlines.clock import FixedLimit, Timekeeper
from petitions.domain.petition import petition_id_for
from petitions.domain.values import Actor as ActorValue
from petitions.domain.values import Location, Person, Petitioner
from petitions.importer import import_filings
from petitions.privacy import keys
from petitions.recorders import ALSO_WRITE, BatchedWrite, write_all
from petitions.sidetables import NUMBER
from petitions.transcoding import AttrsTranscoding
from tests.test_import import CLERK, filed_keys, filing, write_lines


def key(n: int) -> str:
    return f"wechat:2022-{n:05d}"


def serial(number: str) -> int:
    found = NUMBER.match(number)
    assert found is not None, number
    return int(found["seq"])


def test_a_batch_takes_consecutive_numbers_in_file_order_and_the_next_filing_follows(
        service: PetitionService, tmp_path: Path) -> None:
    lines = [filing(n, petitioner={"kind": "resident", "name": f"居民{n}",
                                   "phone": f"1390000{n:04d}"}) for n in range(7)]
    report = import_filings(service, write_lines(tmp_path / "in.jsonl", lines),
                            actor=CLERK, batch=5)
    assert (report.imported, report.existing) == (7, 0)
    numbers = [service.number_of(petition_id_for(key(n))) for n in range(7)]
    assert [serial(x) for x in numbers if x] == list(range(1, 8))
    # A filing after the import takes the next number of the same counter.
    later = service.file(actor=CLERK, petitioner=Petitioner(kind="resident", name="王女士"),
                         title="路灯不亮", description="路灯坏了", category="traffic",
                         channel="hotline", at=datetime(2022, 6, 7, 1, tzinfo=UTC))
    assert serial(service.number_of(later) or "") == 8
    # Each petition's caller index rows were written (batched) for its own phone.
    for n in (0, 4, 6):
        assert service.caller_petitions(phone=f"1390000{n:04d}") == [petition_id_for(key(n))]
    # The batched rows are authenticated like single filings' rows: audit
    # verify checks every number, the counter and the caller index.
    from petitions.audit import verify_store

    report = verify_store(service)
    assert report.ok, report.problems
    assert report.side_tables is not None
    assert report.side_tables["work_orders"] == 8
    assert report.side_tables["authenticated"] == 9  # 8 numbers and the year's counter
    assert report.side_tables["not_checkable"] == []


def test_a_file_larger_than_kept_is_read_again_and_filed_once(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "KEEP", 3)
    lines: list[Any] = [filing(n) for n in range(6)]
    lines.insert(2, "{not json")
    path = write_lines(tmp_path / "in.jsonl", lines)
    reads: list[bool] = []
    original = importer.read_filings

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(bool(kwargs.get("checked", True)))
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "read_filings", counting)
    seen: list[tuple[int, int]] = []
    report = import_filings(service, path, actor=CLERK, on_error="skip",
                            progress=lambda done, total: seen.append((done, total)))
    assert reads == [True, False]  # checked, then read again to be filed
    assert (report.lines, report.imported, report.skipped) == (7, 6, 1)
    assert seen[-1] == (7, 7)
    assert filed_keys(service) == Counter({key(n): 1 for n in range(6)})


def test_a_small_file_is_read_once_and_its_progress_counts_every_line(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[Any] = [filing(n) for n in range(4)]
    lines.insert(1, {"title": "no key"})
    path = write_lines(tmp_path / "in.jsonl", lines)
    reads: list[bool] = []
    original = importer.read_filings

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(bool(kwargs.get("checked", True)))
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "read_filings", counting)
    seen: list[tuple[int, int]] = []
    report = import_filings(service, path, actor=CLERK, on_error="skip",
                            progress=lambda done, total: seen.append((done, total)))
    assert reads == [True]
    assert (report.lines, report.imported, report.skipped) == (5, 4, 1)
    assert seen == [(d, 5) for d in range(1, 6)]


def test_petitioners_data_opens_after_the_key_cache_started_afresh(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys, "KEY_CACHE_MAX", 2)
    lines = [filing(n, petitioner={"kind": "resident", "name": f"居民{n}"}) for n in range(5)]
    import_filings(service, write_lines(tmp_path / "in.jsonl", lines), actor=CLERK)
    keyring = service.privacy.keyring
    assert len(keyring._by_id) <= 2
    names = [service.get(petition_id_for(key(n)), viewer=CLERK).petitioner.name
             for n in range(5)]
    assert names == [f"居民{n}" for n in range(5)]


class _Row(BatchedWrite):
    def __init__(self, log: list[Any], kind: str, value: int) -> None:
        self.log, self.kind, self.value = log, kind, value

    def group(self) -> Any:
        return (_Row, self.kind)

    @classmethod
    def write_many(cls, cursor: Any, writes: Any) -> None:
        writes[0].log.append((writes[0].kind, [w.value for w in writes]))


def test_batched_writes_of_a_group_run_together_in_order_at_the_first_ones_place() -> None:
    log: list[Any] = []
    writes = [_Row(log, "a", 1), lambda c: log.append(("plain", c)), _Row(log, "b", 2),
              _Row(log, "a", 3), _Row(log, "b", 4)]
    write_all("cursor", {ALSO_WRITE: writes})
    assert log == [("a", [1, 3]), ("plain", "cursor"), ("b", [2, 4])]
    alone: list[Any] = []
    _Row(alone, "a", 5)("cursor")
    assert alone == [("a", [5])]


def test_the_clock_of_a_filing_is_the_same_counted_once_or_from_the_cache() -> None:
    cached = Timekeeper()
    start = datetime(2024, 9, 27, 2, tzinfo=UTC)  # before the National Day holiday
    for unit, amount in (("working_days", 15), ("days", 60), ("hours", 24)):
        limit = FixedLimit(amount, unit)
        for minutes in (0, 90, 300):
            at = start + timedelta(minutes=minutes)
            assert cached.deadline(limit, at) == Timekeeper().deadline(limit, at)


_text = st.text(max_size=12)
_person = st.builds(Person, name=_text, phone=_text, id_number=_text)
_values = st.one_of(
    st.builds(Petitioner, id=_text, kind=_text, name=_text, phone=_text, id_number=_text,
              address=_text, email=_text, representatives=st.tuples(_person, _person)),
    st.builds(Location, street=_text, community=_text, grid=_text, place=_text),
    st.builds(ActorValue, id=_text, role=_text), _person)


@given(_values)
def test_values_encode_as_attrs_asdict_does(value: Any) -> None:
    encoded = AttrsTranscoding(type(value)).encode(value)
    assert encoded == attrs.asdict(value)
    assert [type(v) for v in encoded.values()] == [type(v) for v in
                                                   attrs.asdict(value).values()]


def test_the_operator_is_the_actor_and_the_lines_claim_the_source(
        service: PetitionService, tmp_path: Path) -> None:
    lines = [filing(0, source="wechat portal", actor={"id": "portal-x", "role": "supervisor"})]
    import_filings(service, write_lines(tmp_path / "in.jsonl", lines),
                   actor=Actor("op-li", "intake_clerk"))
    filed = [c for c in service.changes() if c.type == "Filed"]
    assert len(filed) == 1
    assert (filed[0].actor, filed[0].role) == ("op-li", "intake_clerk")
    assert filed[0].data["source"] == "wechat portal; portal-x (supervisor)"
