"""Issue 13, point 5 — never a traceback, generated from the CLI's command tree.

Every leaf command of the CLI (walked from the click groups, as
``tests/test_side_doors.py`` does) is run with hostile values, one parameter at
a time: huge and negative numbers, values of the wrong type, empty and 1 MB
text, undecodable bytes (non-UTF-8 arguments reach Python as lone
surrogates), and with a hostile store: a text file or a missing folder as
``--db``, a read-only database, a store with a corrupted event.  Each run must
end with exit 1 (refused) or 2 (usage) and one line on stderr — never a
traceback — and write nothing: every table of the database is compared, row
for row, before and after, and so are the files beside it.

Run time: each command gets ONE hostile class per run, chosen by rotation from
a seed (``HOSTILE_SEED``, default: today's date, printed in the test ids), so
that successive runs cover every class; a few commands get the full sweep
every run.  ``HOSTILE_FULL=1`` sweeps every class for every command.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import pytest
from click.testing import CliRunner

from cli import main
from petitions.domain.petition import READ_ONLY_ROLES
from tests.test_side_doors import (
    CLI_TREE,
    OTHER_WRITERS,
    TABLE_COMMANDS,
    Path_,
    _snapshot,
    _value,
    granted,
    pristine,
)
from workflows.vocabulary import ROLES

__all__ = ["pristine"]  # the side-door test's store (a module fixture here too)

HUGE = "99999999999999999999"
MEGABYTE = "x" * 1_000_000
UNDECODABLE = b"\xff\xfe\xb0\xa1".decode("utf-8", "surrogateescape")

#: Hostile values for a parameter: classes of values, each applied to every
#: parameter it fits, one parameter at a time.
VALUE_CLASSES = ("huge", "negative", "wrong_type", "empty", "megabyte", "undecodable")
#: Hostile stores, each tried with well-formed arguments.
STORE_CLASSES = ("db_text_file", "db_missing_folder", "db_read_only", "db_corrupted")
CLASSES = VALUE_CLASSES + STORE_CLASSES

#: Commands swept with every class on every run.
FULL_SWEEP: frozenset[Path_] = frozenset({
    ("file",), ("note",), ("extend",), ("list",), ("show",), ("import",),
    ("privacy", "erase"), ("audit", "verify"), ("calendar", "workdays"),
})

#: Commands that run until stopped: only values refused before they start.
LONG_RUNNING: frozenset[Path_] = frozenset({("serve",), ("views", "run")})

#: Commands that touch no store (a bad --db does not concern them).
STORELESS: frozenset[Path_] = frozenset({
    ("calendar", "is-workday"), ("calendar", "workdays"), ("workflows", "list"),
    ("workflows", "show"), ("workflows", "validate"), ("audit", "keygen"),
    ("privacy", "keys", "new"),
})

WRITERS = set(TABLE_COMMANDS) | set(OTHER_WRITERS)
SEED = int(os.environ.get("HOSTILE_SEED") or date.today().toordinal())
FULL = os.environ.get("HOSTILE_FULL") == "1"


def _applicable(path: Path_) -> list[str]:
    """The classes that fit ``path``: a value class when one of its parameters
    takes such a value; the store classes unless it runs until stopped."""
    found = [kind for kind in VALUE_CLASSES
             if any(hostile_values(p, kind, path) for p in CLI_TREE[path].params)]
    return found + ([] if path in LONG_RUNNING else list(STORE_CLASSES))


def _cases() -> Iterator[Any]:
    for index, path in enumerate(sorted(CLI_TREE)):
        fitting = _applicable(path)
        classes = (fitting if FULL or path in FULL_SWEEP
                   else [fitting[(index + SEED) % len(fitting)]] if fitting else [])
        for kind in classes:
            yield pytest.param(path, kind, id=f"{' '.join(path)}-{kind}-seed{SEED}")


def role_for(path: Path_) -> str:
    """A role allowed to run ``path`` (so a refusal is the value's, not the role's)."""
    if path not in WRITERS:
        return "supervisor"
    for role in ("supervisor", "administrator", "caseworker", "intake_clerk",
                 *sorted(ROLES)):
        if role not in READ_ONLY_ROLES and granted(path, role):
            return role
    return "supervisor"


def _is_text(param: click.Parameter) -> bool:
    return isinstance(param.type, click.types.StringParamType)


def _is_number(param: click.Parameter) -> bool:
    return isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType))


def hostile_values(param: click.Parameter, kind: str, path: Path_) -> list[str]:
    """The hostile values of class ``kind`` for ``param`` (none: it does not fit)."""
    if isinstance(param, click.Option) and param.is_flag:
        return []
    typed = isinstance(param.type, (click.Choice, click.DateTime, click.types.BoolParamType))
    timed = type(param.type).__name__ in ("Time", "Duration")
    if path in LONG_RUNNING and kind not in ("negative", "wrong_type"):
        return []
    dated = isinstance(param.type, click.DateTime) or type(param.type).__name__ == "Time"
    if kind == "huge":
        if _is_number(param):
            return [HUGE]
        if dated:  # the end of the calendar (and days counted after it)
            return ["9999-12-30"]
        if timed and type(param.type).__name__ == "Duration":
            return [HUGE + "w"]
        if param.name == "older_than":
            return [HUGE + "y"]
        return []
    if kind == "negative":
        if dated:  # the start of the calendar (a time zone away from before it)
            return ["0001-01-01"]
        return ["-5"] if _is_number(param) else []
    if kind == "wrong_type":
        if _is_number(param) or typed or timed:
            return ["not-a-value"]
        if param.name in ("petition_id", "original_id"):
            return ["not-an-id"]
        return []
    if kind == "empty":
        # An empty required text (an optional one's empty is its default).
        return [""] if param.required and (_is_text(param) or typed) else []
    if kind == "megabyte":
        return [MEGABYTE] if _is_text(param) else []
    if kind == "undecodable":
        if _is_text(param):
            return [UNDECODABLE]
        if isinstance(param.type, click.Path) and param.required and path[0] != "audit":
            return [f"/nonexistent-{UNDECODABLE}/in.jsonl"]
        return []
    return []


def _build(path: Path_, store: dict[str, Any], out: Path,
           hostile: tuple[click.Parameter, str] | None = None) -> list[str]:
    """Well-formed arguments (required parameters), with ``hostile``'s parameter
    given its hostile value."""
    args: list[str] = list(path)
    for param in CLI_TREE[path].params:
        if hostile is not None and param is hostile[0]:
            value = hostile[1]
        elif param.required:
            value = _value(param, path, store, out)
        else:
            continue
        if isinstance(param, click.Argument):
            args.append(value)
        else:
            assert isinstance(param, click.Option)
            if param.is_flag:
                args.append(param.opts[0])
            else:
                args.extend([max(param.opts, key=len), value])
    return args


class _Stuck(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Stuck("the command ran on (it should have been refused)")


#: The language of this test's messages (each case picks one: both are covered).
LANG = {"lang": "en"}

#: Click's own English, which a Chinese reader must not be shown.
CLICK_ENGLISH = ("Invalid value", "is not one of", "Missing", "No such", "Got unexpected",
                 "requires an argument", "does not take", "Usage:")


def invoke(db: str, args: list[str], role: str) -> tuple[int, str]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        result = CliRunner().invoke(main, ["--lang", LANG["lang"], "--db", db, "--actor",
                                           "op-1", "--role", role, *args])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if isinstance(result.exception, _Stuck):
        pytest.fail(f"{args[:3]}…: ran on for a minute")
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        err += "".join(traceback.format_exception(result.exception))
    return result.exit_code, err


def one_line(code: int, err: str, what: Any, codes: tuple[int, ...] = (1, 2)) -> None:
    assert "Traceback" not in err, (what, err)
    assert code in codes, (what, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: "), (what, err)
    if code == 2:
        assert "--help" in lines[0], (what, err)
        if LANG["lang"] == "zh":
            assert not any(w in lines[0] for w in CLICK_ENGLISH), (what, err)


def _files(folder: Path) -> dict[str, bytes]:
    """The files of the store's folder (SQLite's -shm is a lock index, not data)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.endswith("-shm")
            and (p.stat().st_size or not p.name.endswith("-wal"))}


def _corrupt(db: Path, petition_id: str) -> int:
    con = sqlite3.connect(db)
    try:
        position, state = con.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id=? "
            "AND originator_version=1", (UUID(petition_id).hex,)).fetchone()
        con.execute("UPDATE stored_events SET state=? WHERE rowid=?",
                    (state[:100] + b"\xff\x00garbage", position))
        con.commit()
    finally:
        con.close()
    return int(position)


@pytest.mark.parametrize(("path", "kind"), list(_cases()))
def test_every_command_with_hostile_input(path: Path_, kind: str, pristine: dict[str, Any],
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.chdir(tmp_path)  # (a relative file a command writes lands here)
    # Half the cases in Chinese, half in English (which half rotates with the seed).
    monkeypatch.setitem(LANG, "lang", "zh" if (sum(map(ord, " ".join(path) + kind)) + SEED)
                        % 2 else "en")
    work = tmp_path / "store"
    shutil.copytree(pristine["db"].parent, work)
    db = work / pristine["db"].name
    out = tmp_path / "out"
    out.mkdir()
    role = role_for(path)
    if kind in VALUE_CLASSES:
        _values(path, kind, db, pristine, role, out)
    else:
        _stores(path, kind, db, _build(path, pristine, out), role, tmp_path, pristine)


def _values(path: Path_, kind: str, db: Path, store: dict[str, Any], role: str,
            out: Path) -> None:
    before, files = _snapshot(db), _files(db.parent)
    tried = 0
    for param in CLI_TREE[path].params:
        for value in hostile_values(param, kind, path):
            tried += 1
            code, err = invoke(str(db), _build(path, store, out, (param, value)), role)
            one_line(code, err, (path, param.name, value[:40]))
            assert _snapshot(db) == before, (path, param.name, value[:40], "wrote")
            assert not any(out.iterdir()), (path, param.name, "wrote a file")
    assert _files(db.parent) == files
    if not tried:
        pytest.skip(f"no parameter of {' '.join(path)} takes a {kind} value")


def _stores(path: Path_, kind: str, db: Path, args: list[str], role: str, tmp_path: Path,
            store: dict[str, Any]) -> None:
    if path in LONG_RUNNING:
        pytest.skip(f"{' '.join(path)} runs until stopped")
    if kind == "db_text_file":
        text = db.parent / "notes.txt"
        text.write_text("hello\n" * 100)
        code, err = invoke(str(text), args, role)
        if path in STORELESS:
            assert "Traceback" not in err and code in (0, 1, 2), err
        else:
            one_line(code, err, path, (1,))
        assert text.read_text() == "hello\n" * 100
        return
    if kind == "db_missing_folder":
        missing = db.parent / "missing" / "x.sqlite"
        code, err = invoke(str(missing), args, role)
        if path in STORELESS:
            assert "Traceback" not in err and code in (0, 1, 2), err
        else:
            one_line(code, err, path, (1,))
        assert not missing.parent.exists()
        return
    if kind == "db_read_only":
        if path not in WRITERS and path not in STORELESS:  # on the writable store …
            writable = tmp_path / "writable"
            shutil.copytree(db.parent, writable)
            (tmp_path / "out2").mkdir()
            expected, _ = invoke(str(writable / db.name),
                                 _build(path, store, tmp_path / "out2"), role)
        files = _files(db.parent)
        db.chmod(0o444)
        try:
            code, err = invoke(str(db), args, role)
        finally:
            db.chmod(0o644)
        assert "Traceback" not in err, (path, err)
        if path in STORELESS:
            pass  # (it does not open the store: whatever it does, it writes nothing there)
        elif path in WRITERS:  # refused on one line, unless it had nothing to write
            assert code in (0, 1), (path, code, err)
            if code == 1:
                one_line(code, err, path, (1,))
        else:  # … it does on the read-only one
            assert code == expected, (path, code, expected, err)
            assert "read-only" not in err and "只读" not in err, (path, err)
        assert _files(db.parent) == files, (path, "wrote")
        return
    assert kind == "db_corrupted"
    position = _corrupt(db, store["ids"][0])
    invoke(str(db), ["list"], "supervisor")  # the views record the poisoned event
    before, files = _snapshot(db), _files(db.parent)
    code, err = invoke(str(db), args, role)
    assert "Traceback" not in err, err
    if store["ids"][0] in args[len(path):len(path) + 1]:  # about the corrupted petition
        one_line(code, err, path)
        if code == 1:  # (2: an argument is not valid for any workflow: said first)
            assert store["ids"][0] in err, err
            assert f"position {position}" in err or f"位置 {position}" in err, err
    else:
        assert len(err.strip().splitlines()) <= 1, err
    if code != 0 or path not in WRITERS:
        assert _snapshot(db) == before, (path, "wrote")
        assert _files(db.parent) == files or code == 0, path
