"""Issue 13, point 3 — no side doors, generated from the command table and the
CLI's command tree.

Every leaf of the CLI is classified: a handling command of the command table
(:data:`petitions.domain.commands.COMMANDS`, granted per workflow), another
command that writes (granted by ``operations.toml``, ``privacy.toml`` or the
workflow's ``file`` permission) or a command that only reads.  A command added
to the CLI without being classified here fails :func:`test_every_cli_command_is_classified`.

Every writing command is then run as every role of the vocabulary, and with no
role at all, on a copy of the same store, with arguments made from its click
parameters:

- an auditor is refused on one line, and every table is unchanged, byte for byte;
- without ``--role`` it is refused (no default administrator), nothing written;
- a role that neither the workflow nor the policy grants is refused, nothing
  written — so whatever a command wrote, a granted role wrote it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cli import main
from petitions.domain.commands import COMMANDS
from petitions.domain.petition import READ_ONLY_ROLES
from petitions.operations import operations_policy
from petitions.privacy.policy import privacy_policy
from workflows import Registry
from workflows.vocabulary import ROLES

Path_ = tuple[str, ...]

#: The other commands that write to the store (or write keys out of it), and
#: what grants them: ("operations", op) — petitions/data/operations.toml;
#: ("privacy", action) — petitions/data/privacy.toml; ("workflow", action) —
#: the standard workflow's [roles]; ("writer", "") — any role that may write
#: (the deadline sweep writes as the system; only read-only roles are refused).
OTHER_WRITERS: dict[Path_, tuple[str, str]] = {
    ("file",): ("workflow", "file"),
    ("import",): ("workflow", "file"),
    ("campaign", "open"): ("operations", "campaign_open"),
    ("demo",): ("operations", "demo"),
    ("views", "rebuild"): ("operations", "views_rebuild"),
    ("db", "init"): ("operations", "db_init"),
    ("audit", "import"): ("operations", "audit_import"),
    ("privacy", "erase"): ("privacy", "erase"),
    ("privacy", "retain"): ("privacy", "retain"),
    ("privacy", "keys", "rotate"): ("privacy", "keys"),
    ("privacy", "keys", "import"): ("privacy", "keys"),
    ("privacy", "keys", "export"): ("privacy", "keys"),
    ("sweep",): ("writer", ""),
    ("calendar", "recheck"): ("writer", ""),
    ("org", "load"): ("register", ""),
    ("db", "reindex"): ("operations", "db_init"),
    ("api-key", "create"): ("api_keys", ""),
    ("api-key", "revoke"): ("api_keys", ""),
}

#: Commands that only read the store (the read models catch up as they read:
#: that is derived data, rebuilt from the events), or touch no store at all.
READERS: frozenset[Path_] = frozenset({
    ("audit", "export"), ("audit", "keygen"), ("audit", "seal"), ("audit", "verify"),
    ("calendar", "is-workday"), ("calendar", "workdays"), ("campaign", "show"),
    ("caseload",), ("db", "info"), ("feed",), ("history",), ("list",),
    ("privacy", "keys", "new"), ("privacy", "keys", "status"), ("show",), ("stats",),
    ("views", "run"), ("workflows", "list"), ("api-key", "list"), ("serve",),
    ("org", "show"), ("rank",), ("report",), ("workflows", "show"),
    ("workflows", "validate"),
    # A reader of the case index; with --reveal it records each reveal in the
    # petitioner's privacy record, granted by privacy.toml [roles] reveal, as
    # ``show --reveal`` does (tests/test_export.py: an auditor is refused and
    # nothing is recorded).
    ("export", "cases"),
})

TABLE_COMMANDS: dict[Path_, str] = {tuple(c.cli): name for name, c in COMMANDS.items()}
WRITERS: list[Path_] = sorted([*TABLE_COMMANDS, *OTHER_WRITERS])
NO_ROLE = ""


def _leaves(group: click.Group, path: Path_ = ()) -> Iterator[tuple[Path_, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name), command


CLI_TREE: dict[Path_, click.Command] = dict(_leaves(main))


def test_every_cli_command_is_classified() -> None:
    assert CLI_TREE, "no commands found: the walk is broken"
    # Every handling command of the table has its CLI command ...
    assert set(TABLE_COMMANDS) <= set(CLI_TREE), set(TABLE_COMMANDS) - set(CLI_TREE)
    # ... and every CLI command is a handling command, another writer or a reader.
    classified = set(TABLE_COMMANDS) | set(OTHER_WRITERS) | READERS
    assert set(CLI_TREE) == classified, (set(CLI_TREE) ^ classified)
    assert not (set(TABLE_COMMANDS) | set(OTHER_WRITERS)) & READERS


def test_sign_for_commands_are_writers_granted_to_the_assigned_units_roles() -> None:
    """签收, 先行联系, 退单 (issue 14): handling commands of the table, written by
    the roles the standard workflow gives the assigned unit only."""
    for path in (("sign",), ("contact",), ("return",)):
        assert path in TABLE_COMMANDS and path in CLI_TREE and path not in READERS
        assert {r for r in ROLES if granted(path, r)} == {"grid_worker", "caseworker"}
    assert {r for r in ROLES if granted(("escalate",), r)} == {"supervisor"}


def granted(path: Path_, role: str) -> bool:
    """Whether the workflow or a policy grants ``role`` the command at ``path``."""
    if not role or role in READ_ONLY_ROLES:
        return False
    standard = Registry.shipped().get("standard")
    if path in TABLE_COMMANDS:
        name = TABLE_COMMANDS[path]
        if name in ("pause", "resume") and name not in standard.roles:
            name = "extend"  # a workflow that does not name them: extend's roles
        return standard.may(role, name)
    kind, what = OTHER_WRITERS[path]
    if kind == "workflow":
        return standard.may(role, what)
    if kind == "operations":
        return operations_policy().may(role, what)
    if kind == "privacy":
        return privacy_policy().may(role, what)
    if kind == "register":
        from petitions.service import PetitionService

        return role in PetitionService.REGISTER_ROLES
    if kind == "api_keys":
        from petitions.http.keys import KEY_ADMIN_ROLES

        return role in KEY_ADMIN_ROLES
    return kind == "writer"


def _snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every stored table of the SQLite file (full-text index
    shadow tables included), as stored."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        con.close()


def _cli(db: Path, args: list[str], role: str) -> tuple[int, str, str]:
    who = ["--actor", "op-1", *(["--role", role] if role else [])]
    result = CliRunner().invoke(main, ["--lang", "en", "--db", str(db), *who, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One store with two filed petitions, its views caught up, and the files
    the commands need (an import file, a log export, key files)."""
    mp = pytest.MonkeyPatch()
    for name in ("PETITIONS_MASTER_KEY", "PETITIONS_MASTER_KEY_FILE", "PETITIONS_ROLE",
                 "PETITIONS_ACTOR", "PETITIONS_DB"):
        mp.delenv(name, raising=False)
    base = tmp_path_factory.mktemp("side-doors")
    db = base / "store" / "office.sqlite"
    db.parent.mkdir()
    ids = []
    for name in ("甄女士", "钱先生"):
        code, out, err = _cli(db, ["file", "--kind", "resident", "--name", name, "--phone",
                                   "13912345678", "--title", "路灯不亮", "--description",
                                   "夜间路灯不亮", "--category", "environment",
                                   "--channel", "hotline"], "intake_clerk")
        assert code == 0, err
        ids.append(out.strip())
    code, out, err = _cli(db, ["--json", "show", ids[0]], "intake_clerk")
    assert code == 0, err
    petitioner = json.loads(out)["petitioner"]["id"]
    assert _cli(db, ["list"], "caseworker")[0] == 0  # the views caught up
    files = base / "files"
    files.mkdir()
    (files / "in.jsonl").write_text(json.dumps({
        "idempotency_key": "side-door-1", "title": "t", "description": "d",
        "category": "environment", "channel": "hotline",
        "petitioner": {"kind": "resident", "name": "某"}}, ensure_ascii=False) + "\n")
    assert _cli(db, ["audit", "export", str(files / "log.jsonl")], "auditor")[0] == 0
    code, out, _ = _cli(db, ["privacy", "keys", "new"], NO_ROLE)
    (files / "other.key").write_text(out)
    code, _, err = _cli(db, ["privacy", "keys", "export", str(files / "keys.jsonl"),
                             "--for-key-file", str(db.parent / "office.sqlite.key")],
                        "administrator")
    assert code == 0, err
    yield {"db": db, "ids": ids, "petitioner": petitioner, "files": files}
    mp.undo()


def _value(param: click.Parameter, path: Path_, store: dict[str, Any], out: Path) -> str:
    """A well-formed value for a required parameter (the refusal under test is
    the role's, not a malformed argument's)."""
    files: Path = store["files"]
    name = param.name or ""
    by_name = {
        "petition_id": store["ids"][0], "original_id": store["ids"][1],
        "petitioner_id": store["petitioner"], "older_than": "1d",
        "new_key_file": str(files / "other.key"), "for_key_file": str(files / "other.key"),
        "category": "environment", "channel": "hotline", "to": "resolution",
        "outcome": "support" if path == ("reply",) else "uphold",
    }
    if name in by_name:
        return by_name[name]
    if name == "file":
        return {("import",): str(files / "in.jsonl"),
                ("audit", "import"): str(files / "log.jsonl"),
                ("privacy", "keys", "import"): str(files / "keys.jsonl"),
                }.get(path, str(out / "written.jsonl"))
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, click.types.BoolParamType):
        return "yes"
    if isinstance(param.type, click.types.IntParamType):
        return "1"
    if isinstance(param.type, click.DateTime):
        return "2026-01-05"
    return "x"


def _args(path: Path_, store: dict[str, Any], out: Path) -> list[str]:
    command = CLI_TREE[path]
    args: list[str] = list(path)
    for param in command.params:
        if not param.required:
            continue
        value = _value(param, path, store, out)
        if isinstance(param, click.Argument):
            args.append(value)
        else:
            assert isinstance(param, click.Option)
            if param.is_flag:
                args.append(param.opts[0])
            else:
                args.extend([max(param.opts, key=len), value])
    if path == ("file",):
        args.extend(["--name", "x"])  # optional only for --anonymous filings
    return args


@pytest.mark.parametrize("path", WRITERS, ids=" ".join)
def test_every_writing_command_as_every_role(path: Path_, pristine: dict[str, Any],
                                             tmp_path: Path) -> None:
    before = _snapshot(pristine["db"])
    wrote: list[str] = []
    for role in [NO_ROLE, *sorted(ROLES)]:
        work = tmp_path / (role or "no-role")
        shutil.copytree(pristine["db"].parent, work)
        db = work / pristine["db"].name
        out = work / "out"
        out.mkdir()
        args = _args(path, pristine, out)
        code, _, err = _cli(db, args, role)
        # 2 would be a usage error: the arguments made here are well formed.
        assert "Traceback" not in err and code in (0, 1), (args, role, code, err)
        changed = _snapshot(db) != before or any(out.iterdir())
        if not role:
            assert code == 1 and "--role" in err, (args, err)
        if not role or role in READ_ONLY_ROLES:
            assert code == 1 and (not role or role in err), (args, err)
            assert len(err.strip().splitlines()) == 1, (args, role, err)
        if not granted(path, role):
            assert code != 0 and not changed, (args, role or "no role", code, err)
        elif code == 0 and changed:
            wrote.append(role)
    # Whoever wrote was granted: checked above.  Nobody else did.
    assert all(granted(path, r) for r in wrote)


def test_the_granted_roles_do_write(pristine: dict[str, Any], tmp_path: Path) -> None:
    """The other side: the same arguments, as a granted role, are accepted and
    write — so the refusals above are the role's."""
    for path, role in ((("accept",), "intake_clerk"), (("note",), "caseworker"),
                       (("file",), "intake_clerk"), (("import",), "intake_clerk"),
                       (("campaign", "open"), "grid_worker"),
                       (("privacy", "erase"), "administrator"),
                       (("privacy", "keys", "export"), "administrator")):
        work = tmp_path / "-".join(path)
        shutil.copytree(pristine["db"].parent, work)
        db = work / pristine["db"].name
        out = work / "out"
        out.mkdir()
        before = _snapshot(db)
        code, _, err = _cli(db, _args(path, pristine, out), role)
        assert code == 0, (path, role, err)
        assert _snapshot(db) != before or any(out.iterdir()), path
