"""``audit verify`` covers the tables written beside the events (issue 13, point 2):
``work_orders``, ``work_order_counters`` and ``caller_index``, on both backends.

Each test tampers with the database as someone who can write it but has not the
master key would, and asserts that the change is reported at its table and row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner

from cli import main
from petitions import Actor, Petitioner, PetitionService
from petitions.audit import verify_store
from petitions.audit.verify import Report
from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, new_master_key_text
from tests.audit_support import CLERK, build
from tests.fixtures import BACKENDS, fresh_backend_url

ADMIN = Actor("admin-1", "administrator")


class Db:
    """Plain SQL on the store, as whoever can write the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgres")
        self.prefix = f'"{url.rpartition("=")[2]}".' if self.postgres else ""

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        sql = statement.replace("{s}", self.prefix)
        if self.postgres:
            import psycopg

            from petitions.persistence import postgres_conninfo

            with psycopg.connect(postgres_conninfo(self.url), autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)
                return list(cur.fetchall()) if cur.description else []
        with sqlite3.connect(self.url) as db:
            found = db.execute(sql, params).fetchall()
        db.close()
        return found


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[UUID], Db]]:
    """A store of three filed petitions (numbers 1–3 of the year, each with a
    phone in the caller index), on each backend, under a configured master key."""
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    for url in fresh_backend_url(request.param, tmp_path):
        with PetitionService.open(url) as svc:
            ids = build(svc, 3)
            report = verify_store(svc)
            assert report.ok, report.problems
            assert report.side_tables is not None
            assert report.side_tables["work_orders"] == 3
            assert report.side_tables["authenticated"] == 4  # 3 numbers and the counter
            assert report.side_tables["callers_derived"] == 3
            assert report.side_tables["not_checkable"] == []
        yield url, ids, Db(url)


def verify(url: str) -> Report:
    with PetitionService.open(url) as svc:
        return verify_store(svc)


def located(report: Report) -> list[tuple[str | None, str | None, str]]:
    return [(p.table, p.row, p.kind) for p in report.problems]


def test_a_changed_number_is_located(store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    db.run("UPDATE {s}work_orders SET number = ? WHERE petition_id = ?",
           _number(db, ids[2]).replace("000003", "000007"),
           str(ids[2]))
    report = verify(url)
    assert not report.ok
    rows = {(t, r) for t, r, _ in located(report)}
    assert ("work_orders", f"petition {ids[2]}") in rows, report.problems


def test_a_number_moved_to_another_petition_is_caught_by_its_mac(
        store: tuple[str, list[UUID], Db]) -> None:
    """Swapping two petitions' whole rows keeps every derivable fact true (both
    petitions exist, same year, serials intact): only the MAC, with the
    petition id bound in, tells."""
    url, ids, db = store
    db.run("UPDATE {s}work_orders SET petition_id = 'x' WHERE petition_id = ?", str(ids[0]))
    db.run("UPDATE {s}work_orders SET petition_id = ? WHERE petition_id = ?",
           str(ids[0]), str(ids[1]))
    db.run("UPDATE {s}work_orders SET petition_id = ? WHERE petition_id = 'x'", str(ids[1]))
    report = verify(url)
    assert {(t, r) for t, r, _ in located(report)} == {
        ("work_orders", f"petition {ids[0]}"), ("work_orders", f"petition {ids[1]}")}
    assert all("authentication code does not match" in p.message for p in report.problems)


def test_a_deleted_number_is_located(store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    db.run("DELETE FROM {s}work_orders WHERE petition_id = ?", str(ids[1]))
    report = verify(url)
    assert len(report.problems) == 1, report.problems
    problem = report.problems[0]
    assert (problem.table, problem.row) == ("work_orders", f"scope |{_year(db)}")
    assert "serial 2 " in problem.message and "no row holds it" in problem.message


def test_the_newest_number_deleted_with_its_counter_lowered_is_caught(
        store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    db.run("DELETE FROM {s}work_orders WHERE petition_id = ?", str(ids[2]))
    db.run("UPDATE {s}work_order_counters SET last = 2")
    report = verify(url)
    assert [(t, k) for t, _, k in located(report)] == [
        ("work_order_counters", "work_order_counter")], report.problems


def test_an_inserted_number_is_caught(store: tuple[str, list[UUID], Db]) -> None:
    url, _, db = store
    year = _year(db)
    ghost = str(uuid4())
    db.run("INSERT INTO {s}work_orders (petition_id, number, year, serial, mac) "
           "VALUES (?, ?, ?, 4, NULL)", ghost, f"{year}-000004", year)
    db.run("UPDATE {s}work_order_counters SET last = 4")
    report = verify(url)
    rows = located(report)
    assert ("work_orders", f"petition {ghost}", "work_order") in rows, rows
    assert any(t == "work_order_counters" for t, _, _ in rows), rows


def test_a_changed_counter_is_caught(store: tuple[str, list[UUID], Db]) -> None:
    url, _, db = store
    db.run("UPDATE {s}work_order_counters SET last = last + 5")
    report = verify(url)
    rows = located(report)
    scope = f"scope |{_year(db)}"
    assert ("work_order_counters", scope, "work_order_counter") in rows, rows
    assert ("work_orders", scope, "work_order") in rows  # serials 4–8 have no row


def test_a_changed_caller_index_row_is_located(store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    (digest,) = db.run("SELECT digest FROM {s}caller_index WHERE petition_id = ?",
                       str(ids[1]))[0]
    forged = ("0" if digest[0] != "0" else "1") + digest[1:]
    db.run("UPDATE {s}caller_index SET digest = ? WHERE petition_id = ?", forged, str(ids[1]))
    report = verify(url)
    assert {(t, r) for t, r, _ in located(report)} == {
        ("caller_index", f"petition {ids[1]} phone {forged[:16]}"),   # not derivable
        ("caller_index", f"petition {ids[1]} phone {digest[:16]}"),   # derivable, missing
    }, report.problems


def test_a_deleted_caller_index_row_is_located(store: tuple[str, list[UUID], Db]) -> None:
    """The petition's only entry deleted: the number's MAC says the filing
    indexed its caller, the sealed phone says which entry must be there."""
    url, ids, db = store
    (digest,) = db.run("SELECT digest FROM {s}caller_index WHERE petition_id = ?",
                       str(ids[0]))[0]
    db.run("DELETE FROM {s}caller_index WHERE petition_id = ?", str(ids[0]))
    report = verify(url)
    assert located(report) == [("caller_index", f"petition {ids[0]} phone {digest[:16]}",
                                "caller_index")]
    assert "missing" in report.problems[0].message


def test_an_inserted_caller_index_row_is_located(store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    fake = "ab" * 32
    db.run("INSERT INTO {s}caller_index (digest, kind, petitioner_id, petition_id) "
           "VALUES (?, 'id_number', 'p-2', ?)", fake, str(ids[2]))
    db.run("INSERT INTO {s}caller_index (digest, kind, petitioner_id, petition_id) "
           "VALUES (?, 'phone', 'p-9', ?)", fake, str(uuid4()))
    report = verify(url)
    rows = located(report)
    assert ("caller_index", f"petition {ids[2]} id_number {fake[:16]}", "caller_index") in rows
    assert sum(1 for t, _, _ in rows if t == "caller_index") == 2, rows


def test_without_the_master_key_what_needs_it_is_not_checkable_not_passed(
        store: tuple[str, list[UUID], Db], monkeypatch: pytest.MonkeyPatch) -> None:
    url, ids, db = store
    monkeypatch.delenv(MASTER_KEY_ENV)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    report = verify(url)
    assert report.ok and report.side_tables is not None
    assert report.side_tables["authenticated"] == 0
    assert report.side_tables["callers_derived"] == 0
    assert len(report.side_tables["not_checkable"]) == 2
    assert all("not checkable without keys" in t for t in report.side_tables["not_checkable"])
    # What follows from the events alone is still checked.
    db.run("DELETE FROM {s}work_orders WHERE petition_id = ?", str(ids[1]))
    db.run("UPDATE {s}caller_index SET petitioner_id = 'p-9' WHERE petition_id = ?",
           str(ids[0]))
    assert {t for t, _, _ in located(verify(url))} == {"work_orders", "caller_index"}


def test_a_store_without_macs_opens_and_its_rows_are_unauthenticated_not_tampered(
        store: tuple[str, list[UUID], Db]) -> None:
    """Rows written before rows were authenticated: the column added on open,
    the rows checked against the events and listed, new rows authenticated."""
    url, ids, db = store
    db.run("ALTER TABLE {s}work_orders DROP COLUMN mac")
    db.run("ALTER TABLE {s}work_order_counters DROP COLUMN mac")
    with PetitionService.open(url) as svc:
        report = verify_store(svc)
        assert report.ok, report.problems
        assert report.side_tables is not None
        assert report.side_tables["unauthenticated_count"] == 4
        assert {"table": "work_orders", "row": f"petition {ids[0]}"} in (
            report.side_tables["unauthenticated"])
        svc.file(actor=CLERK, petitioner=Petitioner(id="p-new", kind="resident",
                                                    name="新居民", phone="13900001111"),
                 title="噪音", description="夜间施工", category="property_management",
                 channel="door_to_door")
        again = verify_store(svc)
    assert again.ok, again.problems
    assert again.side_tables is not None
    assert again.side_tables["authenticated"] == 2  # the new number and the counter
    assert again.side_tables["unauthenticated_count"] == 3
    # A MAC removed from a number newer than an authenticated one is not "legacy".
    db.run("UPDATE {s}work_orders SET mac = NULL WHERE serial = 4")
    assert [(t, k) for t, _, k in located(verify(url))] == [("work_orders", "work_order")]


def test_rotation_and_erasure_keep_the_side_tables_verified(
        store: tuple[str, list[UUID], Db], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from petitions.privacy import load_master_key

    url, ids, db = store
    with PetitionService.open(url) as svc:
        svc.privacy.erase("p-1", actor=ADMIN, legal_basis="本人申请")
        assert verify_store(svc).ok
        keyfile = tmp_path / "new.key"
        keyfile.write_text(new_master_key_text())
        new = load_master_key("", {MASTER_KEY_FILE_ENV: str(keyfile)})
        svc.privacy.rotate(ADMIN, new)
    monkeypatch.delenv(MASTER_KEY_ENV)
    monkeypatch.setenv(MASTER_KEY_FILE_ENV, str(keyfile))
    with PetitionService.open(url) as svc:
        report = verify_store(svc)
        assert report.ok, report.problems
        assert report.side_tables is not None
        assert report.side_tables["authenticated"] == 4
        assert svc.caller_petitions(phone="13800001234") == sorted([ids[0], ids[2]])
    assert db.run("SELECT COUNT(*) FROM {s}caller_index")[0][0] == 2


def test_the_cli_locates_a_side_table_problem_in_text_and_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    path = tmp_path / "cli.sqlite"
    with PetitionService.open(str(path)) as svc:
        ids = build(svc, 2)
    ok = CliRunner().invoke(main, ["--db", str(path), "--lang", "en", "audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 side-table rows authenticated" in ok.output
    Db(str(path)).run("UPDATE work_orders SET serial = 7 WHERE petition_id = ?", str(ids[0]))
    result = CliRunner().invoke(main, ["--db", str(path), "--json", "audit", "verify"])
    assert result.exit_code == 1
    first = json.loads(result.output)["first_problem"]
    assert (first["table"], first["row"], first["petition_id"]) == (
        "work_orders", f"petition {ids[0]}", str(ids[0]))
    text = CliRunner().invoke(main, ["--db", str(path), "--lang", "en", "audit", "verify"])
    assert text.exit_code == 1
    assert f"work_orders [petition {ids[0]}]" in text.stderr


def test_the_cli_says_what_it_could_not_check_without_keys(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    path = tmp_path / "nokey.sqlite"
    with PetitionService.open(str(path)) as svc:
        build(svc, 1)
    monkeypatch.delenv(MASTER_KEY_ENV)
    result = CliRunner().invoke(main, ["--db", str(path), "--lang", "en", "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "not checkable without keys" in result.stderr


def _number(db: Db, pid: UUID) -> str:
    return str(db.run("SELECT number FROM {s}work_orders WHERE petition_id = ?",
                      str(pid))[0][0])


def _year(db: Db) -> int:
    return int(db.run("SELECT year FROM {s}work_orders")[0][0])


def test_an_entry_left_by_an_interrupted_erasure_is_reported_as_such(
        store: tuple[str, list[UUID], Db]) -> None:
    url, ids, db = store
    (row,) = db.run("SELECT digest, kind, petitioner_id, petition_id FROM {s}caller_index "
                    "WHERE petition_id = ?", str(ids[1]))
    with PetitionService.open(url) as svc:
        svc.privacy.erase("p-1", actor=ADMIN, legal_basis="本人申请")
        assert verify_store(svc).ok
    db.run("INSERT INTO {s}caller_index (digest, kind, petitioner_id, petition_id) "
           "VALUES (?, ?, ?, ?)", *row)
    report = verify(url)
    assert located(report) == [("caller_index", f"petition {ids[1]} phone {row[0][:16]}",
                                "caller_index")]
    assert "erased" in report.problems[0].message
