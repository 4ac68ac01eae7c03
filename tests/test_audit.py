"""Hash chains: the documented format, and tampering with a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from petitions import PetitionService
from petitions.audit import ChainBroken, verify_store
from petitions.audit.chain import GENESIS
from tests.audit_support import (
    WORKER,
    build,
    execute,
    row,
    rows,
    set_state,
    spec_hash,
    state_json,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, list[UUID]]]:
    path = tmp_path / "audit.sqlite"
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        ids = build(svc, 3)
    yield path, ids


def verify(path: Path) -> object:
    with PetitionService.open(str(path)) as svc:
        return verify_store(svc)


def test_every_stored_event_carries_its_predecessors_hash(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    heads: dict[str, tuple[int, str]] = {}
    stored = rows(path)
    # definition + 9 events each (3 of them clocks started) + 2 escalations
    assert len(stored) == 1 + 3 * 9 + 2
    for _, oid, version, topic, state in stored:
        assert state.startswith(b'{"prev_hash":"')
        prev = state_json(state)["prev_hash"]
        if version == 1:
            assert prev == GENESIS
        else:
            assert heads[oid][0] == version - 1
            assert prev == heads[oid][1]
        heads[oid] = (version, spec_hash(oid, version, topic, state))
    assert {UUID(k) for k in heads} >= set(ids)


def test_verify_accepts_an_untouched_store_and_reports_its_size(
        db: tuple[Path, list[UUID]]) -> None:
    path, _ = db
    report = verify(path)
    assert report.ok, report.problems  # type: ignore[attr-defined]
    assert report.events == len(rows(path))  # type: ignore[attr-defined]
    assert report.chains == 4  # type: ignore[attr-defined]
    assert report.last_position == rows(path)[-1][0]  # type: ignore[attr-defined]


def test_chain_continues_across_snapshots_and_separate_saves(tmp_path: Path) -> None:
    path = tmp_path / "snap.sqlite"
    with PetitionService.open(str(path), snapshot_interval=2) as svc:
        (pid,) = build(svc, 1)
    # A fresh process loads from a snapshot, then appends: the new event still
    # chains to the stored bytes of its predecessor.
    with PetitionService.open(str(path), snapshot_interval=2) as svc:
        svc.note(pid, actor=WORKER, text="再次回访")
        report = verify_store(svc)
    assert report.ok, report.problems
    version = len([r for r in rows(path) if r[1] == pid.hex])
    _, topic, state = row(path, pid, version - 1)
    assert state_json(row(path, pid, version)[2])["prev_hash"] == spec_hash(
        pid.hex, version - 1, topic, state)


def test_changing_one_byte_of_one_stored_event_is_detected_and_located(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[1]
    _, _, state = row(path, pid, 5)  # Assigned
    i = state.index("网格员张".encode())
    tampered = state[:i] + bytes([state[i] ^ 0x01]) + state[i + 1:]
    set_state(path, pid, 5, tampered)
    report = verify(path)
    assert not report.ok  # type: ignore[attr-defined]
    first = report.first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version) == (str(pid), 5)
    assert first.kind == "altered"
    assert str(pid) in str(first) and "version 5" in str(first)


def test_changing_a_byte_of_a_stored_link_is_blamed_on_that_event(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[0]
    _, _, state = row(path, pid, 4)
    hexchar = state[20:21]
    swapped = b"0" if hexchar != b"0" else b"1"
    set_state(path, pid, 4, state[:20] + swapped + state[21:])
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version) == (str(pid), 4)


def test_changing_the_stored_topic_is_detected(db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[2]
    _, topic, state = row(path, pid, 7)  # ActionRecorded
    assert topic.endswith("ActionRecorded")
    set_state(path, pid, 7, state, topic=topic.replace("ActionRecorded", "NoteAdded"))
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version) == (str(pid), 7)


def test_deleting_an_event_is_detected_and_located(db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[0]
    execute(path, "DELETE FROM stored_events WHERE originator_id=? AND originator_version=3",
            (pid.hex,))
    report = verify(path)
    first = report.first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version, first.kind) == (str(pid), 3, "version_missing")
    kinds = {p.kind for p in report.problems}  # type: ignore[attr-defined]
    assert "position_gap" in kinds


def test_deleting_the_newest_event_leaves_a_gap_in_the_log(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[0]  # not the last row of the log
    last = max(r[2] for r in rows(path) if r[1] == pid.hex)
    execute(path, "DELETE FROM stored_events WHERE originator_id=? AND originator_version=?",
            (pid.hex, last))
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert first.kind == "position_gap"


def test_swapping_two_events_is_detected_and_located(db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[1]
    _, topic2, state2 = row(path, pid, 2)
    _, topic3, state3 = row(path, pid, 3)
    set_state(path, pid, 2, state3, topic=topic3)
    set_state(path, pid, 3, state2, topic=topic2)
    report = verify(path)
    located = [(p.petition_id, p.version) for p in report.problems]  # type: ignore[attr-defined]
    assert located[0] == (str(pid), 2)
    assert (str(pid), 3) in located


def test_swapping_the_positions_of_two_events_is_detected(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[2]
    execute(path, "UPDATE stored_events SET originator_version=-1 WHERE originator_id=? "
            "AND originator_version=2", (pid.hex,))
    execute(path, "UPDATE stored_events SET originator_version=2 WHERE originator_id=? "
            "AND originator_version=3", (pid.hex,))
    execute(path, "UPDATE stored_events SET originator_version=3 WHERE originator_id=? "
            "AND originator_version=-1", (pid.hex,))
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert first.petition_id == str(pid)
    assert first.version == 2


def test_inserting_a_forged_event_is_detected_and_located(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    pid = ids[1]
    last = max(r[2] for r in rows(path) if r[1] == pid.hex)
    # A forger copies a genuine note and appends it as a new version.
    _, topic, state = row(path, pid, 5)
    execute(path, "INSERT INTO stored_events VALUES (?,?,?,?)",
            (pid.hex, last + 1, topic, state))
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version) == (str(pid), last + 1)


def test_inserting_a_forged_first_event_is_detected(db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    _, topic, state = row(path, ids[0], 2)
    forged = UUID(int=42)
    execute(path, "INSERT INTO stored_events VALUES (?,?,?,?)", (forged.hex, 1, topic, state))
    first = verify(path).first_problem  # type: ignore[attr-defined]
    assert (first.petition_id, first.version) == (str(forged), 1)


def test_raise_for_problems_names_the_first_broken_event(
        db: tuple[Path, list[UUID]]) -> None:
    path, ids = db
    execute(path, "DELETE FROM stored_events WHERE originator_id=? AND originator_version=2",
            (ids[2].hex,))
    with pytest.raises(ChainBroken, match=f"petition {ids[2]}, version 2"):
        verify(path).raise_for_problems()  # type: ignore[attr-defined]
