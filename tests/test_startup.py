"""Fast start (issue 12, point 6): what a command imports and validates.

The figures are in docs/benchmarks.md (``bench/startup.py``); these tests
hold the causes: the package root imports nothing until a name is used, a
command imports only what it uses, and the workflow registry validates a
definition only when it is first used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflows import Registry, WorkflowInvalid
from workflows.registry import _name_and_version, shipped_texts

ROOT = Path(__file__).resolve().parent.parent

#: Not needed to show, list or note a petition.
HEAVY = ("rich", "babel", "chinese_calendar", "petitions.audit.replay", "petitions.audit.verify",
         "petitions.audit.exchange",
         "petitions.deadlines.sweep", "petitions.feed", "petitions.demo", "petitions.importer",
         "petitions.privacy.retention", "workflows.diagram", "psycopg",
         # values are transcoded with attrs alone; logging is imported when the
         # library first logs; the calendar when a deadline is counted
         "cattrs", "logging", "petitions.deadlines.calendar", "petitions.deadlines.clock",
         "petitions.campaigns", "petitions.domain.register", "importlib.resources",
         # the report's charts (issue 17): matplotlib only when a report is drawn
         "matplotlib", "petitions.reports",
         # value and command classes are made by workflows.records, not by
         # attrs (which would compile their methods on every start)
         "attr", "attrs")


#: Not needed to read a petition once its TOML data is cached.
READ_LIGHT = ("pathlib", "urllib", "ipaddress", "secrets", "hmac", "tomllib")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json\n"
         "print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_package_imports_nothing_until_a_name_is_used() -> None:
    loaded = _modules_after("import petitions")
    assert {m for m in loaded if m.startswith("petitions.")} == {"petitions.lazy"}
    assert "eventsourcing" not in loaded
    used = _modules_after("from petitions import Actor\nassert Actor('a', 'b').role == 'b'")
    assert "petitions.domain.values" in used
    assert "petitions.service" not in used


def test_the_lazy_names_are_the_documented_ones() -> None:
    import petitions

    for name in petitions.__all__:
        assert getattr(petitions, name) is not None, name
    assert set(petitions.__all__) <= set(dir(petitions))
    with pytest.raises(AttributeError):
        petitions.NoSuchThing  # noqa: B018


@pytest.mark.slow
def test_show_list_and_note_import_nothing_they_do_not_use(tmp_path: Path) -> None:
    env = {"PETITIONS_DB": str(tmp_path / "p.sqlite"), "PETITIONS_ACTOR": "clerk",
           "PETITIONS_ROLE": "intake_clerk", "PETITIONS_LANG": "en",
           "PETITIONS_CACHE_DIR": str(tmp_path / "cache")}
    filed = subprocess.run(
        [sys.executable, "-m", "cli", "--json", "file", "--kind", "resident", "--name", "A",
         "--title", "Street lamp out", "--description", "The lamp at gate 2 is out.",
         "--category", "traffic", "--channel", "hotline"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    pid = json.loads(filed.stdout)["id"]
    for argv in (["show", pid], ["list"], ["note", pid, "--text", "called back"]):
        loaded = _modules_after(
            f"import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit as e:\n"
            f"    assert not e.code, e.code", env)
        assert "petitions.service" in loaded  # it did run
        assert not {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY}, argv
        if argv[0] != "list":  # the read models are for queues
            assert not {m for m in loaded if m.startswith("petitions.readmodels")}, argv
        else:  # catching up with the filing: without eventsourcing's Projection
            assert "petitions.readmodels.projection" in loaded
            assert not {m for m in loaded if m.startswith(("eventsourcing.projection",
                                                           "eventsourcing.dcb"))}
    # Reading a petition (again: the TOML it reads is parsed once, then cached):
    # no pathlib or urllib (paths as text), no key making, no TOML parser.
    # (An editable install's finder imports pathlib at start-up: not counted.)
    bare = _modules_after("pass", env)
    for argv in (["show", pid], ["note", pid, "--text", "called back again"]):
        loaded = _modules_after(f"import cli\ncli.main({argv!r}, standalone_mode=False)", env)
        assert "petitions.views" in loaded
        assert not {m for m in loaded - bare if m.split(".")[0] in READ_LIGHT}, argv
    # A queue whose views are current (the list above caught them up) applies
    # nothing: no projection, no eventsourcing projection module, no TOML.
    subprocess.run([sys.executable, "-m", "cli", "list"], cwd=ROOT, env={**os.environ, **env},
                   capture_output=True, check=True)
    loaded = _modules_after("import cli\ncli.main(['list'], standalone_mode=False)", env)
    assert "petitions.readmodels.queries" in loaded
    assert not {m for m in loaded - bare if m.split(".")[0] in READ_LIGHT}
    assert not {m for m in loaded if m.startswith(("petitions.readmodels.projection",
                                                   "eventsourcing.projection"))}


def test_help_pages_import_only_what_they_list() -> None:
    # A hand-written command: no library at all (and no logging set-up).
    loaded = _modules_after("import cli\ntry:\n    cli.main(['calendar', 'workdays', '--help'])"
                            "\nexcept SystemExit:\n    pass")
    assert not {m for m in loaded if m.startswith(("petitions", "eventsourcing", "rich"))}
    assert "logging" not in loaded
    # The top page lists the handling commands: the command table, not the service.
    loaded = _modules_after(
        "import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass")
    assert "petitions.domain.commands" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("attr", "attrs")}
    assert not {m for m in loaded if m.startswith(("petitions.service", "petitions.core",
                                                   "petitions.domain.petition", "eventsourcing",
                                                   "petitions.readmodels", "rich",
                                                   "matplotlib", "petitions.reports"))}


def test_a_command_builds_only_its_own_click_objects() -> None:
    # Hand-written commands are built when first asked for (cli.later): show's
    # help page builds show, not the other commands or their options.
    code = ("import cli\ntry:\n    cli.main(['show', '--help'])\nexcept SystemExit:\n    pass\n"
            "import click\nbuilt = [n for n, c in cli.main._own.items() if not isinstance(c, "
            "click.Group)]\nprint(sorted(built), len(cli.main._later) >= 12)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()[-1]
    assert out == "['show'] True"


def test_registry_validates_a_definition_on_first_use(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(
        'name = "broken"\nversion = 1\ninitial = "nowhere"\n[stages.intake]\n',
        encoding="utf-8")
    reg = Registry.shipped([tmp_path])  # nothing is validated yet
    assert "broken" in reg.names()
    assert reg.get("standard").name == "standard"
    with pytest.raises(WorkflowInvalid):
        reg.get("broken")
    with pytest.raises(WorkflowInvalid):
        reg.all()


def test_registry_finds_every_shipped_definition_by_name_and_hash() -> None:
    eager = Registry()
    for name, text in shipped_texts():
        eager.add_text(text, source_name=name)
    lazy = Registry.shipped()
    assert lazy.names() == eager.names()
    for wf in eager.all():
        assert lazy.current(wf.name) == wf
        assert lazy.by_hash(wf.sha256) == wf


@pytest.mark.parametrize(("text", "found"), [
    ('name = "a"\nversion = 2\n[title]\nname = "b"\n', ("a", 2)),
    ("# c\nversion = 3 # three\nname = 'x'\n", ("x", 3)),
    ('name = "a"\n', None),                           # no version: parsed at once
    ('name = "a"\nversion = "2"\n', None),            # not a number
    ('name = "a"\nname = "b"\nversion = 1\n', None),  # let the parser complain
    ('description = """\nname = "x"\n"""\nname = "a"\nversion = 1\n', None),
])
def test_name_and_version_are_read_only_when_unambiguous(
        text: str, found: tuple[str, int] | None) -> None:
    assert _name_and_version(text) == found


def test_a_definition_read_at_once_still_registers() -> None:
    reg = Registry()
    text = dict(shipped_texts())["workflows/definitions/standard.toml"]
    # Quoted keys cannot be read without parsing: the definition is loaded now.
    reg.add_lazy(text.replace('name = "standard"', '"name" = "standard"'), "quoted.toml")
    assert reg.current("standard").name == "standard"


@pytest.mark.parametrize("path", [
    "db.sqlite.key", "./db.sqlite.key", "/tmp//a/./b.key", "//net/share/x.key",
    "///root/x.key", "a/b/../c.key", ".", "", "/", "dir/", "./.hidden.key"])
def test_key_file_paths_are_written_as_pathlib_writes_them(path: str) -> None:
    from pathlib import Path

    from petitions.privacy.keys import key_file_for, path_text

    assert path_text(path) == str(Path(path))
    if path.endswith(".key"):
        db = path[:-len(".key")]
        assert key_file_for(db) == Path(path)
        assert str(key_file_for(f"sqlite:///{db}")) == path_text(path)
