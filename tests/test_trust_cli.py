"""Issue 13 through the command line: the master key (point 4), what a caseworker
sees in text ``show`` (point 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

PHONE = "13912345678"


def run(db: Path, *args: str, role: str | None = "intake_clerk",
        env: dict[str, str] | None = None) -> tuple[int, str, str]:
    who = ["--actor", "op-1", "--role", role] if role else []
    result = CliRunner().invoke(main, ["--db", str(db), *who, *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _no_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite default: no master key configured, so one is made beside the file."""
    from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)


def _file(db: Path) -> str:
    code, out, err = run(db, "file", "--kind", "resident", "--name", "甄女士", "--phone", PHONE,
                         "--address", "红石路88号", "--title", "路灯不亮",
                         "--description", "小区路灯坏了", "--category", "environment",
                         "--channel", "hotline")
    assert code == 0, err
    return out.strip()


def test_the_cli_says_once_where_it_created_the_key(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _no_configured_key(monkeypatch)
    db = tmp_path / "office.sqlite"
    code, _, err = run(db, "file", "--kind", "resident", "--name", "甄女士", "--title", "t",
                       "--description", "d", "--category", "environment",
                       "--channel", "hotline")
    assert code == 0
    lines = [line for line in err.splitlines() if "master key" in line]
    assert len(lines) == 1 and f"{db}.key" in lines[0], err
    code, _, err = run(db, "list")
    assert code == 0 and "master key" not in err  # once: the file exists now


def test_keys_status_warns_when_the_key_lies_beside_the_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_configured_key(monkeypatch)
    db = tmp_path / "office.sqlite"
    _file(db)
    code, out, err = run(db, "privacy", "keys", "status", role="administrator")
    assert code == 0 and "1 live" in out
    assert "beside the database" in err and "PETITIONS_MASTER_KEY_FILE" in err
    code, out, _ = run(db, "--json", "privacy", "keys", "status", role="administrator")
    assert "beside the database" in json.loads(out)["warning"]
    # Moved elsewhere and configured: no warning, same data.
    elsewhere = tmp_path / "secure"
    elsewhere.mkdir()
    Path(f"{db}.key").rename(elsewhere / "master.key")
    env = {"PETITIONS_MASTER_KEY_FILE": str(elsewhere / "master.key")}
    code, out, err = run(db, "--json", "privacy", "keys", "status", role="administrator",
                         env=env)
    assert code == 0 and json.loads(out)["warning"] is None and "beside" not in err
    code, out, _ = run(db, "--json", "list", env=env)
    assert code == 0 and not Path(f"{db}.key").exists()


def test_gitignore_excludes_key_files() -> None:
    lines = (Path(__file__).parent.parent / ".gitignore").read_text().splitlines()
    assert "*.key" in lines


def test_privacy_commands_need_an_explicit_role(tmp_path: Path) -> None:
    db = tmp_path / "office.sqlite"
    _file(db)
    for args in (("privacy", "keys", "status"), ("privacy", "erase", "x", "--legal-basis", "b"),
                 ("privacy", "retain", "--older-than", "3y", "--dry-run")):
        result = CliRunner().invoke(main, ["--db", str(db), *args, "--actor", "admin"])
        assert result.exit_code == 1 and "--role" in result.stderr, (args, result.output)
        code, _, err = run(db, *args, role="auditor")
        assert code == 1 and "auditor" in err, args


def test_text_show_has_the_masked_phone_and_the_case_facts(tmp_path: Path) -> None:
    db = tmp_path / "office.sqlite"
    pid = _file(db)
    assert run(db, "accept", pid, role="caseworker")[0] == 0
    code, _, err = run(db, "assign", pid, "--unit", "寸滩街道", "--person", "网格员张",
                       "--co-unit", "区住建委", "--co-unit", "区城管局", role="caseworker")
    assert code == 0, err
    assert run(db, "reply", pid, "--outcome", "support", "--text", "已修复路灯",
               role="caseworker")[0] == 0
    code, out, _ = run(db, "show", pid, role="caseworker")
    assert code == 0
    assert "139****5678" in out and PHONE not in out
    assert "红石路88号" in out
    assert "区住建委" in out and "区城管局" in out and "已修复路灯" in out
    assert "Reopened" in out
    # --reveal: the full number, and the reveal is recorded.
    code, out, _ = run(db, "show", pid, "--reveal", role="caseworker")
    assert code == 0 and PHONE in out
    code, out, err = run(db, "show", pid, "--reveal", role="auditor")
    assert code == 1 and "auditor" in err and PHONE not in out
    from petitions import PetitionService

    with PetitionService.open(str(db)) as svc:
        view = svc.get(pid)
        assert view.petitioner.id is not None
        record = svc.privacy.record_of(view.petitioner.id)
    reveals = [e for e in record if type(e).__name__ == "Revealed"]
    assert [e.actor.id for e in reveals] == ["op-1"]


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the SQLite file."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '%fts%' AND name NOT LIKE '%_data' AND name NOT LIKE '%_idx' "
            "AND name NOT LIKE '%_docsize' AND name NOT LIKE '%_config' "
            "AND name NOT LIKE '%_content'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        con.close()


def test_auditors_write_nothing_through_any_writing_operation(tmp_path: Path) -> None:
    db = tmp_path / "office.sqlite"
    pid = _file(db)
    assert run(db, "list")[0] == 0  # views caught up
    filings = tmp_path / "in.jsonl"
    filings.write_text(json.dumps({
        "idempotency_key": "k-1", "title": "t", "description": "d",
        "category": "environment", "channel": "hotline",
        "petitioner": {"kind": "resident", "name": "某"}}, ensure_ascii=False) + "\n")
    log, keys = tmp_path / "log.jsonl", tmp_path / "keys.jsonl"
    assert run(db, "audit", "export", str(log), role="auditor")[0] == 0
    keyfile = tmp_path / "other.key"
    keyfile.write_text(run(db, "privacy", "keys", "new")[1])
    keys.write_text("")
    before = _snapshot(db)
    writing = [
        ("import", str(filings)), ("campaign", "open", "--name", "进家入户"), ("demo",),
        ("views", "rebuild"), ("db", "init"), ("accept", pid), ("note", pid, "--text", "x"),
        ("privacy", "erase", "x", "--legal-basis", "b"),
        ("privacy", "retain", "--older-than", "1d"),
        ("privacy", "keys", "rotate", "--new-key-file", str(keyfile)),
        ("privacy", "keys", "import", str(keys)),
        ("privacy", "keys", "export", str(tmp_path / "k2"), "--for-key-file", str(keyfile)),
        ("audit", "import", str(log)), ("sweep",),
    ]
    for args in writing:
        code, _, err = run(db, *args, role="auditor")
        assert code == 1, (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
        assert _snapshot(db) == before, args
    assert not (tmp_path / "k2").exists()
