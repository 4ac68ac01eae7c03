"""Work-order numbers (工单号) and caller look-up (blind index), on both backends."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cli import main
from petitions import Actor, Petitioner, PetitionNotFound, PetitionService
from petitions.errors import InvalidInput
from petitions.privacy.callers import normalise_id_number, normalise_phone
from petitions.sidetables import NUMBER
from tests.fixtures import file_petition, fresh_backend_url

SH = ZoneInfo("Asia/Shanghai")


def test_numbers_increase_per_year_and_resolve(service: PetitionService, clerk: Actor,
                                               worker: Actor) -> None:
    old = file_petition(service, clerk, at=datetime(2025, 12, 31, 23, 0, tzinfo=SH))
    first = file_petition(service, clerk, at=datetime(2026, 1, 1, 0, 30, tzinfo=SH))
    second = file_petition(service, clerk, title="第二件")
    assert service.get(old).number == "2025-000001"
    assert service.get(first).number == "2026-000001"
    assert service.get(second).number == "2026-000002"
    # Every command and query takes the number as well as the id.
    view = service.accept("2026-000002", actor=worker)
    assert view.id == second and view.number == "2026-000002"
    assert "Accepted" in [e.type for e in service.history("2026-000002")]
    with pytest.raises(PetitionNotFound):
        service.get("2026-000999")
    with pytest.raises(InvalidInput):
        service.get("not-a-number")
    listed = {c.id: c.number for c in service.list_petitions()}
    assert listed[str(first)] == "2026-000001"


def test_office_prefix_from_configuration(service: PetitionService, clerk: Actor,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITIONS_OFFICE_PREFIX", "JB")
    pid = file_petition(service, clerk)
    number = service.get(pid).number
    assert number is not None and number.startswith("JB-") and NUMBER.match(number)
    assert service.get(number).id == pid
    monkeypatch.setenv("PETITIONS_OFFICE_PREFIX", "J B!")
    with pytest.raises(InvalidInput):
        file_petition(service, clerk, title="坏前缀")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_numbers_unique_under_concurrent_writers(backend: str, tmp_path: Path) -> None:
    writers, each = 6, 8
    for url in fresh_backend_url(backend, tmp_path):
        with PetitionService.open(url) as svc:  # create the tables (and a key) once
            warm = file_petition(svc, Actor("clerk", "intake_clerk"))
        ids: list[UUID] = []
        errors: list[BaseException] = []
        start = threading.Barrier(writers)

        def write(n: int, url: str, start: threading.Barrier, ids: list[UUID],
                  errors: list[BaseException]) -> None:
            with PetitionService.open(url) as svc:
                actor = Actor(f"clerk-{n}", "intake_clerk")
                start.wait()
                for i in range(each):
                    try:
                        ids.append(file_petition(svc, actor, title=f"并发 {n}-{i}",
                                                 petitioner=Petitioner(kind="resident",
                                                                       name="刘先生")))
                    except BaseException as exc:  # pragma: no cover - reported below
                        errors.append(exc)

        threads = [threading.Thread(target=write, args=(n, url, start, ids, errors))
                   for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with PetitionService.open(url) as svc:
            numbers = [svc.number_of(pid) for pid in [warm, *ids]]
        assert len(ids) == writers * each
        year = datetime.now(SH).year
        assert sorted(numbers) == [f"{year}-{n:06d}" for n in range(1, writers * each + 2)]


def test_number_not_taken_by_a_failed_filing(service: PetitionService, clerk: Actor) -> None:
    file_petition(service, clerk, idempotency_key="k1")
    file_petition(service, clerk, idempotency_key="k1")  # the same filing: no new number
    second = file_petition(service, clerk, title="另一件")
    assert service.get(second).number.endswith("-000002")  # type: ignore[union-attr]


def test_sqlite_filing_numbers_without_returning(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a filing bumps the counter and reads it back in its own
    transaction without ``RETURNING`` (for whose rows SQLite makes a temporary
    table each time); the numbers stay consecutive, a batch's too, and the
    counter's authentication code verifies."""
    from typing import Any

    from petitions.audit import verify_store
    from petitions.recorders import StatementCachingPool

    statements: list[str] = []
    create = StatementCachingPool._create_connection

    def traced(self: StatementCachingPool) -> Any:
        connection = create(self)
        connection._sqlite_conn.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(StatementCachingPool, "_create_connection", traced)
    clerk = Actor("clerk-01", "intake_clerk")
    with PetitionService.open(str(tmp_path / "p.sqlite")) as svc:
        first = file_petition(svc, clerk)
        statements.clear()
        second = file_petition(svc, clerk, title="第二件",
                               petitioner=Petitioner(kind="resident", name="王女士"))
        filing = [s for s in statements if "work_order" in s]
        assert filing and not any("RETURNING" in s.upper() for s in filing), filing
        batch = svc.file_batch([{"actor": clerk, "petitioner": Petitioner(
            kind="resident", name=f"居民{i}"), "title": f"批量 {i}", "description": "批量",
            "category": "other", "channel": "hotline", "idempotency_key": f"b{i}"}
            for i in range(3)])
        year = datetime.now(SH).year
        numbers = [svc.number_of(pid) for pid in
                   [first, second, *(found[0] for found in batch)]]  # type: ignore[index]
        assert numbers == [f"{year}-{n:06d}" for n in range(1, 6)]
        report = verify_store(svc)
        assert report.ok, report.problems
        assert report.side_tables is not None
        assert report.side_tables["authenticated"] == 6  # 5 numbers and the counter


# ---------------------------------------------------------------- callers
def test_normalising() -> None:
    assert normalise_phone("+86 138-0000-1234") == "13800001234"
    assert normalise_phone("0086 13800001234") == "13800001234"
    assert normalise_phone("023-6789 1234") == "02367891234"
    assert normalise_id_number("50010519900101123x ") == "50010519900101123X"


def test_caller_lookup_and_related(service: PetitionService, clerk: Actor,
                                   worker: Actor, supervisor: Actor) -> None:
    caller = Petitioner(kind="resident", name="刘先生", phone="13800001234",
                        id_number="50010519900101123X")
    a = file_petition(service, clerk, petitioner=caller, title="停车难")
    b = file_petition(service, clerk, title="噪音扰民",
                      petitioner=Petitioner(kind="resident", name="刘先生",
                                            phone="+86 138 0000 1234"))
    c = file_petition(service, clerk, title="路灯不亮",
                      petitioner=Petitioner(kind="resident", name="王女士",
                                            id_number="50010519900101123x"))
    other = file_petition(service, clerk, title="别人",
                          petitioner=Petitioner(kind="resident", name="张", phone="13900000000"))
    assert {x.id for x in service.list_petitions(phone="138-0000-1234")} == {str(a), str(b)}
    assert {x.id for x in service.list_petitions(id_number="50010519900101123x")} == \
        {str(a), str(c)}
    assert {x.id for x in service.list_petitions(phone="13900000000")} == {str(other)}
    assert service.list_petitions(phone="13700000000") == []
    related = {r.id for r in service.get(a).related}
    assert related == {b, c}
    assert service.get(other).related == ()
    # A closed case is no longer "related" (only open cases are).
    service.withdraw(b, actor=worker, reason="已自行解决")
    assert {r.id for r in service.get(a).related} == {c}


def test_no_clear_numbers_in_the_database(tmp_path: Path, clerk: Actor) -> None:
    db = tmp_path / "p.sqlite"
    with PetitionService.open(str(db)) as svc:
        file_petition(svc, clerk, petitioner=Petitioner(
            kind="resident", name="刘先生", phone="13812345678",
            id_number="500105199001011234"))
        assert len(svc.list_petitions(phone="13812345678")) == 1
    raw = db.read_bytes() + (Path(str(db) + "-wal").read_bytes()
                             if Path(str(db) + "-wal").exists() else b"")
    for clear in (b"13812345678", b"500105199001011234", b"1234"):
        assert clear not in raw or clear == b"1234"  # digits may occur by chance only
    assert b"13812345678" not in raw and b"500105199001011234" not in raw
    with sqlite3.connect(db) as conn:
        digests = [r[0] for r in conn.execute("SELECT digest FROM caller_index")]
    assert len(digests) == 2 and all(len(d) == 64 for d in digests)


def test_erasure_removes_index_entries(service: PetitionService, clerk: Actor) -> None:
    admin = Actor("admin-he", "administrator")
    pid = file_petition(service, clerk)
    petitioner_id = service.petition_events(pid)[0].petitioner.id  # type: ignore[attr-defined]
    assert service.side_tables.count_callers(petitioner_id) == 1
    service.privacy.erase(petitioner_id, actor=admin, legal_basis="本人请求")
    assert service.side_tables.count_callers(petitioner_id) == 0
    assert service.list_petitions(phone="13800001234") == []


def test_cli_number_and_caller(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    run = CliRunner().invoke
    base = ["--db", db, "--actor", "clerk", "--role", "intake_clerk"]
    filed = run(main, [*base, "file", "--kind", "resident", "--name", "刘先生", "--phone",
                       "13800001234", "--title", "停车难", "--description", "车位不足",
                       "--category", "traffic", "--channel", "hotline"])
    assert filed.exit_code == 0, filed.output
    pid = filed.stdout.strip()
    shown = json.loads(run(main, [*base, "--json", "show", pid]).output)
    number = shown["number"]
    assert NUMBER.match(number) and shown["related"] == []
    again = json.loads(run(main, [*base, "--json", "show", number]).output)
    assert again["id"] == pid
    accepted = run(main, [*base, "--role", "caseworker", "accept", number])
    assert accepted.exit_code == 0, accepted.output
    listed = json.loads(run(main, [*base, "--json", "list", "--phone", "138 0000 1234"]).output)
    assert [c["number"] for c in listed] == [number]
    table = run(main, [*base, "--lang", "en", "list", "--phone", "13800001234"])
    assert number in table.output
    missing = run(main, [*base, "show", "2020-000999"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    both = run(main, [*base, "list", "--phone", "1", "--overdue"])
    assert both.exit_code == 2


def test_numbers_in_a_pipelined_transaction_are_read_from_a_cursor_of_their_own(
        tmp_path: Path) -> None:
    # PostgreSQL: eventsourcing inserts events in pipeline mode, and the rows
    # written with them go first on the same cursor (the key rows by
    # ``executemany``).  psycopg (3.3) can hand the results of that
    # ``executemany``, arriving late, to the cursor's next ``execute`` — the
    # counter's bump — so reading the bump's row on that cursor failed now
    # and then ("the last operation didn't produce records (command status:
    # INSERT 0 1)"; bench/city.py's import of 50,000 filings, 5 runs in 5).
    # Here the given cursor refuses every read after an ``executemany``, as
    # psycopg may: the numbers are read all the same, and are the counter's.
    import psycopg

    from petitions.sidetables import side_tables, write_numbers

    url = next(backend := fresh_backend_url("postgres", tmp_path))
    try:
        with PetitionService.open(url) as svc:
            tables = side_tables(svc._store)
            tables.create()

            class Hazard:
                """The events' cursor, as psycopg may leave it after an executemany."""

                def __init__(self, cursor: psycopg.Cursor[object]) -> None:
                    self.cursor, self.connection = cursor, cursor.connection
                    self.many = False

                def executemany(self, *args: object) -> None:
                    self.many = True
                    self.cursor.executemany(*args)  # type: ignore[arg-type]

                def execute(self, *args: object) -> None:
                    self.cursor.execute(*args)  # type: ignore[arg-type]

                def fetchall(self) -> list[object]:
                    if self.many:
                        raise psycopg.ProgrammingError("the last operation didn't produce "
                                                       "records (command status: INSERT 0 1)")
                    return self.cursor.fetchall()

            found: list[list[str]] = []
            for round_ in range(2):
                datastore = svc._store.recorder.datastore  # type: ignore[attr-defined]
                with datastore.get_connection() as conn, conn.pipeline(), \
                        conn.transaction(), conn.cursor() as cursor:
                    given = Hazard(cursor)
                    given.executemany("SELECT %s", [(i,) for i in range(50)])
                    found.append(write_numbers(given, tables, [
                        (f"{3 * round_ + n:032x}", 2026, "JB", None, False)
                        for n in range(3)]))
            assert found == [[f"JB-2026-{n:06d}" for n in (1, 2, 3)],
                             [f"JB-2026-{n:06d}" for n in (4, 5, 6)]]
    finally:
        next(backend, None)
