"""The `petitions audit` commands."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import attrs
import pytest
from click.testing import CliRunner

from cli import main
from petitions import PetitionService
from tests.audit_support import build, execute, row, rows, set_state


@pytest.fixture(autouse=True)
def _no_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite default: no master key configured (not one left in the
    environment by a PostgreSQL test), so each store keeps its key beside it."""
    from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, list[UUID]]:
    path = tmp_path / "cli.sqlite"
    with PetitionService.open(str(path)) as svc:
        ids = build(svc, 2)
    return path, ids


def run(db: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_keygen_seal_and_verify(tmp_path: Path, store: tuple[Path, list[UUID]]) -> None:
    db, _ = store
    key = tmp_path / "k"
    code, out, _ = run(db, "audit", "keygen", str(key))
    assert code == 0 and key.exists() and Path(f"{key}.pub").exists()
    code, _, err = run(db, "audit", "keygen", str(key))
    assert code == 1 and "already exists" in err and len(err.strip().splitlines()) == 1
    seal = tmp_path / "s.seal"
    code, out, _ = run(db, "audit", "seal", "--key", str(key), "--out", str(seal))
    assert code == 0 and seal.exists() and f"up to position {rows(db)[-1][0]}" in out
    code, out, _ = run(db, "audit", "verify", "--seal", str(seal), "--public-key", f"{key}.pub")
    assert code == 0 and out.startswith(f"ok: {len(rows(db))} events in 3 chains")
    code, out, _ = run(db, "--json", "audit", "verify")
    assert code == 0 and json.loads(out)["ok"] is True


def test_verify_names_the_first_broken_event_on_one_line(
        store: tuple[Path, list[UUID]]) -> None:
    db, ids = store
    _, _, state = row(db, ids[0], 5)  # Assigned
    set_state(db, ids[0], 5, state.replace("网格员张".encode(), "网格员王".encode()))
    code, out, err = run(db, "audit", "verify")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert f"petition {ids[0]}, version 5" in err
    code, out, _ = run(db, "--json", "audit", "verify")
    report = json.loads(out)
    assert code == 1 and report["first_problem"]["version"] == 5
    assert report["first_problem"]["petition_id"] == str(ids[0])


def test_export_then_import_into_an_empty_database(
        tmp_path: Path, store: tuple[Path, list[UUID]]) -> None:
    db, ids = store
    log = tmp_path / "log.jsonl"
    code, out, _ = run(db, "audit", "export", str(log))
    assert code == 0 and f"exported {len(rows(db))} events" in out
    target = tmp_path / "target.sqlite"
    code, _, err = run(target, "audit", "import", str(log), "--actor", "wu", "--role", "auditor")
    assert code == 1 and "auditor" in err and rows(target) == []
    code, out, _ = run(target, "audit", "import", str(log), "--actor", "admin",
                       "--role", "administrator")
    assert code == 0 and out.startswith(f"imported {len(rows(db))} events")
    code, _, err = run(target, "audit", "import", str(log), "--actor", "admin",
                       "--role", "administrator")
    assert code == 1 and "not empty" in err
    with PetitionService.open(str(db)) as a, PetitionService.open(str(target)) as b:
        # Personal fields are ciphertext in the log: without the data keys the
        # copy cannot read them ...
        for i in ids:
            left, right = a.get(i), b.get(i)
            # (nor index its callers: no related cases yet)
            assert attrs.evolve(left, petitioner=right.petitioner, related=()) == right
            assert left.petitioner.id == right.petitioner.id
            assert right.petitioner.name is None
            # ... which reads as sealed (unavailable here), never as erased.
            assert right.petitioner.sealed and not right.petitioner.erased
    code, out, _ = run(target, "show", str(ids[0]))
    assert code == 0 and "sealed" in out and "erased" not in out
    # ... so the keys move beside the log, re-wrapped for the target's master key.
    keys = tmp_path / "keys.jsonl"
    code, _, err = run(target, "privacy", "keys", "status", "--actor", "admin")
    assert code == 1 and "role" in err  # no default administrator
    code, _, err = run(target, "privacy", "keys", "status", "--actor", "admin",
                       "--role", "administrator")
    assert code == 0 and Path(f"{target}.key").exists(), err  # the target's master key
    code, out, err = run(db, "privacy", "keys", "export", str(keys), "--for-key-file",
                         f"{target}.key", "--actor", "admin", "--role", "administrator")
    assert code == 0, err
    code, out, err = run(target, "privacy", "keys", "import", str(keys), "--actor", "admin",
                         "--role", "administrator")
    assert code == 0 and out.startswith("imported"), err
    with PetitionService.open(str(db)) as a, PetitionService.open(str(target)) as b:
        assert [a.get(i) for i in ids] == [b.get(i) for i in ids]


def test_the_keys_move_with_the_log_in_one_step(
        tmp_path: Path, store: tuple[Path, list[UUID]]) -> None:
    """README "Moving a store": export log and keys, then one ``audit import --keys``."""
    db, ids = store
    target_key = tmp_path / "secure" / "target.key"
    target_key.parent.mkdir()
    code, out, _ = run(db, "privacy", "keys", "new")
    target_key.write_text(out)
    log, keys = tmp_path / "log.jsonl", tmp_path / "keys.jsonl"
    assert run(db, "audit", "export", str(log))[0] == 0
    code, _, err = run(db, "privacy", "keys", "export", str(keys), "--for-key-file",
                       str(target_key), "--actor", "admin", "--role", "administrator")
    assert code == 0, err
    target = tmp_path / "target.sqlite"
    env = {"PETITIONS_MASTER_KEY_FILE": str(target_key)}
    code, _, err = run(target, "audit", "import", str(log), "--keys", str(tmp_path / "no"),
                       "--actor", "admin", "--role", "administrator", env=env)
    assert code == 2 and not target.exists()
    code, out, err = run(target, "audit", "import", str(log), "--keys", str(keys),
                         "--actor", "admin", "--role", "administrator", env=env)
    assert code == 0 and "data key row" in out, err
    assert not Path(f"{target}.key").exists()
    code, left, _ = run(db, "--json", "show", str(ids[0]))
    code2, right, _ = run(target, "--json", "show", str(ids[0]), env=env)
    assert code == code2 == 0 and json.loads(left) == json.loads(right)
    assert json.loads(right)["petitioner"]["name"] == "居民0"
    code, out, _ = run(target, "--json", "audit", "verify", env=env)
    assert code == 0 and json.loads(out)["keys"] == len(ids)


def test_a_broken_store_is_neither_sealed_nor_exported(
        tmp_path: Path, store: tuple[Path, list[UUID]]) -> None:
    db, ids = store
    execute(db, "DELETE FROM stored_events WHERE originator_id=? AND originator_version=2",
            (ids[1].hex,))
    run(db, "audit", "keygen", str(tmp_path / "k"))
    code, _, err = run(db, "audit", "seal", "--key", str(tmp_path / "k"),
                       "--out", str(tmp_path / "s"))
    assert code == 1 and f"petition {ids[1]}, version 2" in err
    assert not (tmp_path / "s").exists()
    code, _, err = run(db, "audit", "export", str(tmp_path / "x.jsonl"))
    assert code == 1 and not (tmp_path / "x.jsonl").exists()
