"""Every stored byte is covered by ``audit verify``, without a seal (issue 13, point 2).

A hypothesis test picks a table (events, chain heads, snapshots, petitioner
keys, work-order numbers and counters, caller index), a row, a column and a
byte, flips it in a real SQLite file, and asserts that ``audit verify``
reports it — for an event, at that petition and version, whether it is the
first, a middle or the newest event of its chain; for a side table, at that
table and row.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from petitions import PetitionService
from petitions.audit import verify_store
from petitions.privacy import MASTER_KEY_ENV, new_master_key_text
from tests.audit_support import build, execute, row, rows
from tests.fixtures import fresh_backend_url

#: table → (key columns, the columns whose bytes may be flipped)
TABLES = {
    "stored_events": (("originator_id", "originator_version"), ("state",)),
    "chain_heads": (("originator_id",), ("hash",)),
    "stored_snapshots": (("originator_id", "originator_version"), ("state",)),
    "petitioner_keys": (("key_id",), ("wrapped",)),
    "work_orders": (("petition_id",), ("petition_id", "number", "year", "serial", "mac")),
    "work_order_counters": (("scope",), ("scope", "last", "mac")),
    "caller_index": (("digest", "petition_id"),
                     ("digest", "kind", "petitioner_id", "petition_id")),
}
SIDE_TABLES = ("work_orders", "work_order_counters", "caller_index")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("coverage")
    path = folder / "store.sqlite"
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        build(svc, 3)
        report = verify_store(svc)
        assert report.ok and report.side_tables is not None
        assert report.side_tables["authenticated"] == 4  # every side-table row can tell
        assert report.side_tables["callers_derived"] == 3
    yield path


def _copy(source: Path, target: Path) -> Path:
    for old in target.parent.glob(target.name + "*"):
        old.unlink()
    for part in source.parent.glob(source.name + "*"):
        shutil.copy(part, target.parent / (target.name + part.name[len(source.name):]))
    return target


def _flip(path: Path, table: str, index: int, offset: int, mask: int,
          pick: int = 0) -> tuple[tuple[object, ...], bytes]:
    keys, columns = TABLES[table]
    column = columns[pick % len(columns)]
    db = sqlite3.connect(path)
    try:
        found = db.execute(f"SELECT {', '.join(keys)}, {column} FROM {table} "
                           f"WHERE {column} IS NOT NULL ORDER BY {', '.join(keys)}").fetchall()
        key_values, value = found[index % len(found)][:-1], found[index % len(found)][-1]
        if isinstance(value, int):  # a year, serial or counter: another number
            value = str(value + 1 + mask)
        data = bytearray(value.encode() if isinstance(value, str) else value)
        at = offset % len(data)
        digits = "0123456789abcdef"
        if isinstance(value, str) and chr(data[at]) in digits:  # another (hex) digit
            data[at] = ord(digits[(digits.index(chr(data[at])) + 1 + mask % 15) % 16])
            new: object = data.decode()
        elif isinstance(value, str):  # another printable character
            data[at] = 32 + (data[at] - 32 + 1 + mask % 94) % 95
            new = data.decode()
        else:
            data[at] ^= mask
            new = bytes(data)
        where = " AND ".join(f"{k}=?" for k in keys)
        db.execute(f"UPDATE {table} SET {column}=? WHERE {where}", (new, *key_values))
        db.commit()
    finally:
        db.close()
    return key_values, bytes(data)


@settings(max_examples=70, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(TABLES)), index=st.integers(0, 10_000),
       offset=st.integers(0, 10_000), mask=st.integers(1, 255), pick=st.integers(0, 4))
def test_a_flipped_byte_anywhere_is_detected_and_located(
        built: Path, tmp_path: Path, table: str, index: int, offset: int,
        mask: int, pick: int) -> None:
    path = _copy(built, tmp_path / "flipped.sqlite")
    key_values, new = _flip(path, table, index, offset, mask, pick)
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        report = verify_store(svc)
    assert not report.ok, (table, key_values)
    if table in SIDE_TABLES:
        # Located at the row: its key (before or after the flip) is named.
        names = {str(v) for v in key_values} | {new.decode(errors="replace")}
        rows = [p.row or "" for p in report.problems if p.table is not None]
        assert any(any(n[:16] in r for n in names) for r in rows), (
            table, key_values, new, report.problems)
    elif table in ("stored_events", "chain_heads", "stored_snapshots"):
        pid = str(UUID(str(key_values[0])))
        located = [(p.petition_id, p.version) for p in report.problems]
        if table == "chain_heads":
            assert any(p == pid for p, _ in located), located
        else:
            assert (pid, key_values[1]) in located, (located, key_values)
    else:
        assert any(p.kind in ("key_row", "keys") for p in report.problems)


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_changed_event_is_located_through_the_cli(built: Path, tmp_path: Path,
                                                     which: str) -> None:
    path = _copy(built, tmp_path / "cli.sqlite")
    pid = UUID(rows(path)[-1][1])
    last = max(r[2] for r in rows(path) if r[1] == pid.hex)
    version = {"first": 1, "middle": 3, "last": last}[which]
    position, _, state = row(path, pid, version)
    execute(path, "UPDATE stored_events SET state=? WHERE originator_id=? AND "
            "originator_version=?", (state.replace(b'"actor"', b'"actoR"', 1), pid.hex,
                                     version))
    result = CliRunner().invoke(main, ["--db", str(path), "--json", "audit", "verify"])
    assert result.exit_code == 1, result.output
    first = json.loads(result.output)["first_problem"]
    assert (first["petition_id"], first["version"]) == (str(pid), version)
    assert first["position"] == position


def test_a_forged_snapshot_is_never_read_and_is_reported(built: Path,
                                                         tmp_path: Path) -> None:
    path = _copy(built, tmp_path / "forged.sqlite")
    db = sqlite3.connect(path)
    found = [r for r in db.execute("SELECT originator_id, originator_version, state "
                                   "FROM stored_snapshots") if "网格员张".encode() in r[2]]
    oid, version, state = found[0]
    db.execute("UPDATE stored_snapshots SET state=? WHERE originator_id=? AND "
               "originator_version=?", (state.replace("网格员张".encode(), "网格员王".encode()),
                                        oid, version))
    db.commit()
    db.close()
    pid = UUID(oid)
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        assert svc.get(pid).assignee == "网格员张"
        assert svc.get(pid, version=version).assignee == "网格员张"
        report = verify_store(svc)
    assert [(p.kind, p.petition_id, p.version) for p in report.problems] == [
        ("snapshot", str(pid), version)]


def test_a_snapshot_with_a_recomputed_digest_is_caught_by_replay(built: Path,
                                                                 tmp_path: Path) -> None:
    from petitions.audit.snapshots import snapshot_digest, split_snapshot

    path = _copy(built, tmp_path / "recomputed.sqlite")
    db = sqlite3.connect(path)
    oid, version, topic, state = next(r for r in db.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_snapshots")
        if "网格员张".encode() in r[3])
    parts = split_snapshot(state)
    assert parts is not None
    chain_hash, _, body = parts
    body = body.replace("网格员张".encode(), "网格员王".encode())
    digest = snapshot_digest(UUID(oid).hex, version, topic, chain_hash, body)
    forged = (b'{"chain_hash":"' + chain_hash.encode() + b'","digest":"' + digest.encode()
              + b'",' + body[1:])
    db.execute("UPDATE stored_snapshots SET state=? WHERE originator_id=? AND "
               "originator_version=?", (forged, oid, version))
    db.commit()
    db.close()
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        report = verify_store(svc)
    assert [(p.kind, p.version) for p in report.problems] == [("snapshot", version)]
    assert "differs from the state replayed" in report.problems[0].message


def test_a_key_row_moved_to_another_petitioner_does_not_open(built: Path,
                                                             tmp_path: Path) -> None:
    path = _copy(built, tmp_path / "keys.sqlite")
    db = sqlite3.connect(path)
    (key_id, petitioner) = db.execute(
        "SELECT key_id, petitioner_id FROM petitioner_keys ORDER BY rowid").fetchone()
    db.execute("UPDATE petitioner_keys SET petitioner_id='someone-else' WHERE key_id=?",
               (key_id,))
    db.commit()
    db.close()
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        report = verify_store(svc)
    assert [p.kind for p in report.problems] == ["key_row"]
    assert key_id in report.problems[0].message and petitioner


def test_views_are_compared_with_a_rebuild(built: Path, tmp_path: Path) -> None:
    path = _copy(built, tmp_path / "views.sqlite")
    with PetitionService.open(str(path)) as svc:
        svc.list_petitions()
        report = verify_store(svc, views=True)
        assert report.ok and report.views == svc.read_models.position() > 0
        pid = svc.list_petitions()[0].id
    execute(path, "UPDATE petition_index SET assignee='网格员王' WHERE id=?", (str(pid),))
    result = CliRunner().invoke(main, ["--db", str(path), "--json", "audit", "verify",
                                       "--views"])
    assert result.exit_code == 1
    first = json.loads(result.output)["first_problem"]
    assert first["kind"] == "view" and str(pid) in first["message"]


def test_postgres_last_event_snapshot_and_key_row(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from petitions.persistence import postgres_conninfo

    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    for url in fresh_backend_url("postgres", tmp_path):
        schema = url.rpartition("=")[2]
        with PetitionService.open(url, snapshot_interval=4) as svc:
            ids = build(svc, 2)
            assert verify_store(svc).ok
        pid = ids[-1]
        with psycopg.connect(postgres_conninfo(url), autocommit=True) as conn:
            last = conn.execute(f'SELECT max(originator_version) FROM "{schema}".'
                                "petitions_events WHERE originator_id=%s", (pid,)).fetchone()
            assert last is not None
            conn.execute(f'UPDATE "{schema}".petitions_events SET state = '
                         "convert_to(replace(convert_from(state, 'UTF8'), '\"actor\"', "
                         "'\"actoR\"'), 'UTF8') WHERE originator_id=%s AND "
                         "originator_version=%s", (pid, last[0]))
            conn.execute(f'UPDATE "{schema}".petitions_snapshots SET state = '
                         "convert_to(replace(convert_from(state, 'UTF8'), '网格员张', "
                         "'网格员王'), 'UTF8') WHERE originator_id=%s", (ids[0],))
            conn.execute(f'UPDATE "{schema}".petitioner_keys SET petitioner_id = '
                         "'someone-else' WHERE key_id = (SELECT min(key_id) FROM "
                         f'"{schema}".petitioner_keys)')
        with PetitionService.open(url, snapshot_interval=4) as svc:
            assert svc.get(ids[0]).assignee == "网格员张"
            report = verify_store(svc)
        found = {(p.kind, p.petition_id, p.version) for p in report.problems}
        assert ("altered", str(pid), last[0]) in found
        assert any(k == "snapshot" and p == str(ids[0]) for k, p, _ in found)
        assert any(k == "key_row" for k, _, _ in found)


def test_a_snapshot_stored_before_chain_hashes_is_not_read_and_checked_by_replay(
        built: Path, tmp_path: Path) -> None:
    """Stores made before issue 13: their snapshots are plain JSON."""
    from petitions.audit.snapshots import split_snapshot

    path = _copy(built, tmp_path / "legacy.sqlite")
    db = sqlite3.connect(path)
    rows_ = db.execute("SELECT originator_id, originator_version, state "
                       "FROM stored_snapshots").fetchall()
    for oid, version, state in rows_:
        parts = split_snapshot(state)
        assert parts is not None
        db.execute("UPDATE stored_snapshots SET state=? WHERE originator_id=? AND "
                   "originator_version=?", (parts[2], oid, version))
    db.commit()
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        report = verify_store(svc)
        assert report.ok and report.snapshots == len(rows_)
    oid, version, state = next(r for r in db.execute(
        "SELECT originator_id, originator_version, state FROM stored_snapshots")
        if "网格员张".encode() in r[2])
    db.execute("UPDATE stored_snapshots SET state=? WHERE originator_id=? AND "
               "originator_version=?", (state.replace("网格员张".encode(), "网格员王".encode()),
                                        oid, version))
    db.commit()
    db.close()
    with PetitionService.open(str(path), snapshot_interval=4) as svc:
        assert svc.get(UUID(oid)).assignee == "网格员张"  # never read
        report = verify_store(svc)
    assert [(p.kind, p.version) for p in report.problems] == [("snapshot", version)]
