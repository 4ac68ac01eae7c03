"""Never a traceback (issue 13, point 5): hostile values, a bad --db, a corrupted event."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner

from cli import main
from tests.fixtures import BACKENDS, fresh_backend_url


def run(db: str, *args: str, role: str = "supervisor") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", db, "--actor", "op", "--role", role, *args])
    return result.exit_code, result.stdout, result.stderr


def one_line(code: int, err: str, expected: int | tuple[int, ...] = 1) -> None:
    """Refused (exit 1) or a usage error (exit 2): one line on stderr."""
    codes = expected if isinstance(expected, tuple) else (expected,)
    assert code in codes, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: "), err
    if code == 2:
        assert "--help" in lines[0], err


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    for url in fresh_backend_url(request.param, tmp_path):
        code, out, err = run(url, "file", "--kind", "resident", "--name", "某", "--title", "t",
                             "--description", "d", "--category", "environment",
                             "--channel", "hotline", role="intake_clerk")
        assert code == 0, err
        pid = out.strip()
        assert run(url, "accept", pid, role="caseworker")[0] == 0
        yield url, pid
        return


HUGE = "99999999999999999999"


@pytest.mark.parametrize("args", [
    ("calendar", "workdays", "2026-09-30", "99999999"),
    ("show", "{pid}", "--version", HUGE),
    ("extend", "{pid}", "--days", "99999999999", "--reason", "r"),
    ("extend", "{pid}", "--days", "-5", "--reason", "r"),
    ("list", "--limit", HUGE),
    ("list", "--due-within", "99999999999w"),
    ("feed", "--after", HUGE),
    ("history", "not-an-id"),
    ("show", "\udcff\udcfe"),
    ("note", "{pid}", "--text", "x" * 1_000_000),
    ("note", "{pid}", "--text", ""),
    ("privacy", "retain", "--older-than", HUGE + "y", "--dry-run"),
])
def test_hostile_values_give_one_line(store: tuple[str, str], args: tuple[str, ...]) -> None:
    url, pid = store
    role = "administrator" if args[0] == "privacy" else "supervisor"
    before = run(url, "--json", "feed", role="auditor")[1]
    code, _, err = run(url, *(a.replace("{pid}", pid) for a in args), role=role)
    one_line(code, err, (1, 2))
    assert run(url, "--json", "feed", role="auditor")[1] == before  # nothing written


def test_a_text_file_or_missing_folder_as_db_gives_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    for db in (str(text), str(tmp_path / "missing" / "x.sqlite")):
        code, _, err = run(db, "list")
        one_line(code, err)
        assert "cannot use the store" in err
    assert text.read_text() == "hello\n" * 100


def test_a_corrupted_event_fails_only_its_own_petition(tmp_path: Path) -> None:
    db = str(tmp_path / "office.sqlite")
    ids = []
    for title in ("甲", "乙"):
        code, out, _ = run(db, "file", "--kind", "resident", "--name", "某", "--title", title,
                           "--description", "d", "--category", "environment",
                           "--channel", "hotline", role="intake_clerk")
        ids.append(out.strip())
    bad, good = ids
    con = sqlite3.connect(db)
    position, state = con.execute("SELECT rowid, state FROM stored_events WHERE originator_id=?"
                                  " AND originator_version=1", (UUID(bad).hex,)).fetchone()
    con.execute("UPDATE stored_events SET state=? WHERE rowid=?",
                (state[:100] + b"\xff\x00garbage", position))
    con.commit()
    con.close()
    for args in (("show", bad), ("history", bad), ("accept", bad)):
        code, _, err = run(db, *args, role="caseworker")
        one_line(code, err)
        assert bad in err and "version 1" in err and f"position {position}" in err, err
    code, out, _ = run(db, "show", good)
    assert code == 0 and "乙" in out
    for args in (("list",), ("stats",), ("caseload",)):
        code, out, err = run(db, "--json", *args)
        assert code == 0, err
        assert "Traceback" not in err and bad in err and f"position {position}" in err
    listed = json.loads(run(db, "--json", "list")[1])
    assert good in [c["id"] for c in listed]
    code, out, _ = run(db, "--json", "audit", "verify", role="auditor")
    first = json.loads(out)["first_problem"]
    assert code == 1 and (first["petition_id"], first["version"]) == (bad, 1)


def _filed_store(db: Path) -> str:
    code, out, err = run(str(db), "file", "--kind", "resident", "--name", "某", "--title", "路灯",
                         "--description", "d", "--category", "environment",
                         "--channel", "hotline", role="intake_clerk")
    assert code == 0, err
    return out.strip()


READS = (("list",), ("show", "{pid}"), ("history", "{pid}"), ("stats",), ("caseload",),
         ("feed",), ("audit", "verify"), ("audit", "verify", "--views"))
WRITES = (("note", "{pid}", "--text", "x"), ("accept", "{pid}"),
          ("file", "--kind", "resident", "--name", "某", "--title", "t", "--description", "d",
           "--category", "environment", "--channel", "hotline"))


@pytest.mark.parametrize("how", ["chmod 444", "read-only folder", "mode=ro"])
def test_a_read_only_database_is_read_and_refuses_writes_on_one_line(
        tmp_path: Path, how: str) -> None:
    """Reads work on a store that may not be written (its views, behind the
    events here, are built in memory); every write is refused on one line and
    not a byte of the folder changes.  (Tests run as root, whom permissions do
    not stop: the permission bits are honoured all the same.)"""
    folder = tmp_path / "store"
    folder.mkdir()
    db = folder / "office.sqlite"
    pid = _filed_store(db)  # the views never caught up: a read must build them
    url = str(db)
    if how == "chmod 444":
        db.chmod(0o444)
    elif how == "read-only folder":
        folder.chmod(0o555)
    else:
        url = f"file:{db}?mode=ro"
    def stored() -> dict[str, bytes]:  # (SQLite's -shm is its lock index, not data)
        return {p.name: p.read_bytes() for p in folder.iterdir()
                if not p.name.endswith("-shm") and (p.stat().st_size or "-" not in p.name)}

    before = stored()
    try:
        for args in READS:
            code, out, err = run(url, *(a.replace("{pid}", pid) for a in args), role="auditor")
            assert code == 0 and "Traceback" not in err, (args, err)
            assert out.strip(), args
        assert "路灯" in run(url, "list", role="auditor")[1]
        for args in WRITES:
            code, _, err = run(url, *(a.replace("{pid}", pid) for a in args), role="supervisor")
            one_line(code, err)
            assert "read-only" in err, err
        assert stored() == before
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


def test_a_read_only_store_of_an_older_release_is_read(tmp_path: Path) -> None:
    """The store written by an older release lacks today's tables (work orders,
    views, chain heads): read-only, it is read all the same, and nothing is
    allocated or created in it."""
    import shutil

    fixture = Path(__file__).parent / "data" / "main_e67075d"
    db = tmp_path / "store.sqlite"
    shutil.copyfile(fixture / "store.sqlite", db)
    shutil.copyfile(fixture / "store.sqlite.key", tmp_path / "store.sqlite.key")
    db.chmod(0o444)
    before = db.read_bytes()
    pid = next(iter(json.loads((fixture / "expected.json").read_text("utf-8"))))
    for args in (("show", pid), ("history", pid), ("list",), ("stats",),
                 ("audit", "verify")):
        code, _, err = run(str(db), *args, role="auditor")
        assert code == 0 and "Traceback" not in err, (args, err)
    code, _, err = run(str(db), "note", pid, "--text", "x", role="supervisor")
    one_line(code, err)
    assert db.read_bytes() == before
    db.chmod(0o644)


@pytest.mark.parametrize("hostile", [
    {"petitioner": {"phone": "1" * 2_000}},
    {"petitioner": {"name": "\udcff\udcfe"}},
    {"petitioner": {"address": "x" * 1_000_000}},
    {"location": {"place": "\udcb0"}},
    {"title": "\udcff"},
    {"description": "x" * 1_000_000},
    {"idempotency_key": "k" * 5_000},
    {"at": "0001-01-01T00:00:00+14:00"},
])
def test_the_library_refuses_what_it_cannot_store_and_writes_nothing(
        tmp_path: Path, hostile: dict[str, Any]) -> None:
    """Not only the CLI: the library (which the HTTP API calls) refuses text that
    is not UTF-8 or too long, and times outside the calendar, naming the field;
    nothing is stored.  (The CLI refuses them earlier, as usage errors.)"""
    from datetime import datetime

    from petitions import Actor, InvalidInput, Location, Petitioner, PetitionService

    with PetitionService.open(str(tmp_path / "lib.sqlite")) as svc:
        clerk = Actor("clerk", "intake_clerk")
        pid = svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="某"),
                       title="t", description="d", category="environment",
                       channel="hotline")
        before = svc.recorder.max_notification_id()
        kwargs: dict[str, Any] = {
            "actor": clerk, "title": "t", "description": "d", "category": "environment",
            "channel": "hotline",
            "petitioner": Petitioner(**{"kind": "resident", "name": "某",
                                        **hostile.get("petitioner", {})}),
            "location": Location(**hostile.get("location", {})),
        }
        for key in ("title", "description", "idempotency_key"):
            if key in hostile:
                kwargs[key] = hostile[key]
        if "at" in hostile:
            kwargs["at"] = datetime.fromisoformat(hostile["at"])
        with pytest.raises(InvalidInput):
            svc.file(**kwargs)
        for text in ("\udcff", "x" * 10_001):
            with pytest.raises(InvalidInput):
                svc.note(pid, actor=Actor("w", "supervisor"), text=text)
        assert svc.recorder.max_notification_id() == before
