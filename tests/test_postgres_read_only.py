"""Read-only access on PostgreSQL (issue 13, points 3 and 5): an auditor's
database role that may only read the schema (``USAGE`` on it, ``SELECT`` on
its tables) reads every case, history and figure — correctly, even where the
office's views lag behind the events — and every writing command is refused on
one line, exit 1, with not a row or sequence of the schema changed.  So is a
writer's URL with ``?mode=ro``, and a role facing a schema that holds no store
(it may not create one) gets one line and nothing is created.

These tests need the PostgreSQL server (CI sets PETITIONS_REQUIRE_POSTGRES=1,
so they fail there rather than skip); each makes its own schema and its own
role, and drops both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from tests.fixtures import POSTGRES_SERVER, fresh_backend_url, require_postgres
from tests.test_hostile_generated import LONG_RUNNING, STORELESS, WRITERS, role_for
from tests.test_side_doors import CLI_TREE, NO_ROLE, Path_, _args


def run(url: str, *args: str, role: str = "auditor") -> tuple[int, str, str]:
    who = ["--actor", "op-1", *(["--role", role] if role else [])]
    result = CliRunner().invoke(main, ["--lang", "en", "--db", url, *who, *args])
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        err += "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.stdout, err


def one_line(code: int, err: str, what: Any) -> None:
    assert code == 1, (what, code, err)
    assert "Traceback" not in err, (what, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: "), (what, err)


def _admin(*statements: str, fetch: str | None = None) -> list[tuple[Any, ...]]:
    """Run ``statements`` as the server's administrator (autocommit)."""
    import psycopg

    from petitions.persistence import postgres_conninfo

    with psycopg.connect(postgres_conninfo(POSTGRES_SERVER), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
        return list(conn.execute(fetch).fetchall()) if fetch else []


@contextmanager
def reader_role(schema: str | None) -> Iterator[str]:
    """A login role that may only read ``schema`` (``USAGE`` on it and
    ``SELECT`` on its tables, as a DBA grants an auditor; none at all for
    ``None``); dropped afterwards."""
    role = f"pgro_{uuid.uuid4().hex[:12]}"
    grants = ([f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
               f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}']
              if schema else [])
    _admin(f"CREATE ROLE {role} LOGIN", *grants)
    try:
        yield role
    finally:
        _admin(f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def as_role(url: str, role: str) -> str:
    """``url`` (the test server's, with its ``?schema=``) connecting as ``role``."""
    assert url.startswith("postgresql://postgres@"), url
    return url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


def schema_of(url: str) -> str:
    from petitions.persistence import postgres_schema

    found = postgres_schema(url)
    assert found
    return found


def _relations(schema: str) -> list[tuple[Any, ...]]:
    """``(name, kind)`` of the tables (``r``) and sequences (``S``) of ``schema``."""
    return _admin(fetch="SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                  f"ON n.oid = c.relnamespace WHERE n.nspname = '{schema}' "
                  "AND c.relkind IN ('r', 'S') ORDER BY c.relname")


def stored(schema: str) -> dict[str, list[str]]:
    """Every row of every table, and every sequence's state, of ``schema``."""
    out: dict[str, list[str]] = {}
    for name, kind in _relations(schema):
        columns = "last_value, is_called" if kind == "S" else "*"
        rows = _admin(fetch=f'SELECT {columns} FROM "{schema}"."{name}"')
        out[name] = sorted(repr(r) for r in rows)
    return out


def file_one(url: str, title: str) -> str:
    code, out, err = run(url, "file", "--kind", "resident", "--name", "甄女士", "--phone",
                         "13912345678", "--title", title, "--description", "夜间不亮",
                         "--category", "environment", "--channel", "hotline",
                         role="intake_clerk")
    assert code == 0, err
    return out.strip()


def parse(out: str) -> Any:
    """A JSON answer (the feed: one JSON line per event)."""
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return [json.loads(line) for line in out.splitlines()]


Args = tuple[str, ...]
READS: tuple[Args, ...] = (
    ("list",), ("show", "{pid}"), ("history", "{pid}"), ("stats",), ("caseload",), ("feed",),
    ("audit", "verify"), ("audit", "verify", "--views"), ("db", "info"))
#: Read as JSON on both roles, which must give the same answers.
SAME: tuple[Args, ...] = (
    ("list",), ("show", "{pid}"), ("history", "{pid}"), ("stats",), ("caseload",), ("feed",))
WRITES: tuple[Args, ...] = (("note", "{pid}", "--text", "x"), ("accept", "{pid}"),
    ("file", "--kind", "resident", "--name", "某", "--title", "t", "--description", "d",
     "--category", "environment", "--channel", "hotline"))


@pytest.mark.parametrize("how", ["select-only role", "mode=ro"])
def test_a_read_only_postgres_role_reads_and_refuses_writes_on_one_line(
        tmp_path: Path, how: str) -> None:
    """An auditor's role with only ``USAGE`` and ``SELECT`` (or a writer's URL
    with ``?mode=ro``) reads every case, history and figure; the office's views
    lag behind the events here (a petition filed after they last caught up),
    and the answers are those of a writer all the same.  Every write is
    refused on one line naming the store read-only, and nothing is written."""
    for url in fresh_backend_url("postgres", tmp_path):
        first = file_one(url, "路灯")
        assert run(url, "accept", first, role="caseworker")[0] == 0
        assert run(url, "list")[0] == 0  # the views catch up …
        pid = file_one(url, "井盖")  # … and fall behind again
        schema = schema_of(url)
        with reader_role(schema) as role:
            reader = (as_role(url, role) if how == "select-only role"
                      else url + "&mode=ro")
            before = stored(schema)
            answers: dict[tuple[str, ...], Any] = {}
            for args in READS:
                code, out, err = run(reader, *(a.replace("{pid}", pid) for a in args))
                assert code == 0 and not err.strip(), (args, err)
                assert out.strip(), args
            for args in SAME:
                code, out, err = run(reader, "--json", *(a.replace("{pid}", pid) for a in args))
                assert code == 0, (args, err)
                answers[args] = parse(out)
            assert {c["title"] for c in answers[("list",)]} == {"路灯", "井盖"}
            for args in WRITES:
                code, _, err = run(reader, *(a.replace("{pid}", pid) for a in args),
                                   role="supervisor")
                one_line(code, err, args)
                assert "read-only" in err, err
            assert stored(schema) == before  # not a row, not a sequence number
            for args in SAME:  # a writer (whose read catches the views up) sees the same
                code, out, err = run(url, "--json", *(a.replace("{pid}", pid) for a in args))
                assert code == 0, (args, err)
                assert parse(out) == answers[args], args


@pytest.mark.parametrize("schema_is", ["empty", "missing"])
def test_a_read_only_role_facing_no_store_gets_one_line_and_nothing_is_created(
        tmp_path: Path, schema_is: str) -> None:
    """A role that may not create the tables of a fresh schema (or the schema
    itself) is told so on one line, for a read as for a write, and nothing is
    created."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex}"
    if schema_is == "empty":
        _admin(f'CREATE SCHEMA "{schema}"')
    try:
        with reader_role(schema if schema_is == "empty" else None) as role:
            url = f"{as_role(POSTGRES_SERVER, role)}?schema={schema}"
            cases: list[tuple[tuple[str, ...], str]] = [
                (("list",), "auditor"), (("audit", "verify"), "auditor"),
                (("db", "init"), "administrator"), (WRITES[2], "intake_clerk")]
            for args, who in cases:
                code, _, err = run(url, *args, role=who)
                one_line(code, err, args)
                assert "has no table petitions_events" in err, err
                assert "nothing was written" in err, err
        exists = _admin(fetch=f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'")
        assert exists == [(1 if schema_is == "empty" else 0,)]
        if schema_is == "empty":
            assert stored(schema) == {}
    finally:
        _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_read_only_role_reads_a_store_without_the_later_tables(tmp_path: Path) -> None:
    """A store of an older release has only its events, snapshots and keys
    (no work orders, views, chain heads): read-only, it is read all the same
    (no number is shown, none is allocated), and nothing is created."""
    for url in fresh_backend_url("postgres", tmp_path):
        pid = file_one(url, "路灯")
        assert run(url, "list")[0] == 0
        schema = schema_of(url)
        kept = ("petitions_events", "petitions_snapshots", "petitioner_keys",
                "petitioner_keys_epoch")
        later = [t for t, kind in _relations(schema) if kind == "r" and t not in kept]
        assert "work_orders" in later and "petitions_heads" in later, later
        _admin(*(f'DROP TABLE "{schema}"."{t}" CASCADE' for t in later))
        with reader_role(schema) as role:
            reader = as_role(url, role)
            before = stored(schema)
            for args in READS:
                code, out, err = run(reader, *(a.replace("{pid}", pid) for a in args))
                assert code == 0 and not err.strip() and out.strip(), (args, err)
            assert "路灯" in run(reader, "list")[1]
            code, _, err = run(reader, "note", pid, "--text", "x", role="supervisor")
            one_line(code, err, "note")
            assert stored(schema) == before


# ---------------------------------------------------- every command, generated
@pytest.fixture(scope="module")
def pg_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One PostgreSQL store with two filed petitions and the files the commands
    need (as ``tests/test_side_doors.py``'s ``pristine``), and a role that may
    only read it."""
    base = tmp_path_factory.mktemp("pg-read-only")
    mp = pytest.MonkeyPatch()
    for name in ("PETITIONS_ROLE", "PETITIONS_ACTOR", "PETITIONS_DB"):
        mp.delenv(name, raising=False)
    try:
        for url in fresh_backend_url("postgres", base):
            ids = [file_one(url, title) for title in ("路灯不亮", "噪音扰民")]
            code, out, err = run(url, "--json", "show", ids[0], role="intake_clerk")
            assert code == 0, err
            petitioner = json.loads(out)["petitioner"]["id"]
            files = base / "files"
            files.mkdir()
            (files / "in.jsonl").write_text(json.dumps({
                "idempotency_key": "pg-read-only-1", "title": "t", "description": "d",
                "category": "environment", "channel": "hotline",
                "petitioner": {"kind": "resident", "name": "某"}}, ensure_ascii=False) + "\n")
            assert run(url, "audit", "export", str(files / "log.jsonl"))[0] == 0
            code, out, _ = run(url, "privacy", "keys", "new", role=NO_ROLE)
            (files / "other.key").write_text(out)
            code, _, err = run(url, "privacy", "keys", "export", str(files / "keys.jsonl"),
                               "--for-key-file", str(files / "other.key"),
                               role="administrator")
            assert code == 0, err
            assert run(url, "list")[0] == 0  # the views caught up
            with reader_role(schema_of(url)) as role:
                yield {"url": url, "reader": as_role(url, role), "schema": schema_of(url),
                       "ids": ids, "petitioner": petitioner, "files": files}
    finally:
        mp.undo()


@pytest.mark.parametrize("path", sorted(p for p in CLI_TREE
                                        if p not in STORELESS and p not in LONG_RUNNING),
                         ids=" ".join)
def test_every_command_on_a_read_only_postgres_role(path: Path_, pg_store: dict[str, Any],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command of the CLI run by a role that may only read: a writing
    command is refused on one line (exit 1, or 0 when it had nothing to write)
    and writes nothing; a reading one ends as it does for a writer, without a
    word about being read-only."""
    monkeypatch.chdir(tmp_path)  # (a relative file a command writes lands here)
    out = tmp_path / "out"
    out.mkdir()
    args = _args(path, pg_store, out)
    role = role_for(path)
    if path not in WRITERS:  # what a writer's role gets
        expected, _, _ = run(pg_store["url"], *_args(path, pg_store, tmp_path), role=role)
        for written in tmp_path.iterdir():
            if written.is_file():
                written.unlink()
    before = stored(pg_store["schema"])
    code, _, err = run(pg_store["reader"], *args, role=role)
    assert "Traceback" not in err, (path, err)
    if path in WRITERS:
        assert code in (0, 1), (path, code, err)
        if code == 1:
            one_line(code, err, path)
    else:
        assert code == expected, (path, code, expected, err)
        assert "read-only" not in err, (path, err)
    assert stored(pg_store["schema"]) == before, (path, "wrote")


def test_the_url_alone_says_read_only_for_postgres() -> None:
    """``mode=ro`` in a PostgreSQL URL is read without connecting (what the role
    may do is known only once connected)."""
    from petitions.persistence import is_read_only_url

    assert is_read_only_url("postgresql://auditor@127.0.0.1:5432/test?schema=s&mode=ro")
    assert not is_read_only_url("postgresql://auditor@127.0.0.1:5432/test?schema=s")
