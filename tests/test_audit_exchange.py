"""Export the event log as JSON Lines and import it into an empty store."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest

from petitions import Actor, PermissionDenied, PetitionService
from petitions.audit import (
    ChainBroken,
    ImportRefused,
    export_log,
    history,
    import_log,
    keygen,
    make_seal,
    verify_store,
)
from tests.audit_support import CLERK, build, rows, spec_hash

ADMIN = Actor("admin-01", "administrator")


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path, list[UUID]]:
    source = tmp_path / "source.sqlite"
    out = tmp_path / "log.jsonl"
    with PetitionService.open(str(source)) as svc:
        ids = build(svc, 3)
        export_log(svc, out)
    return source, out, ids


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(t) for t in path.read_text("utf-8").splitlines()]


def test_export_writes_one_event_per_line_then_a_closing_line(
        exported: tuple[Path, Path, list[UUID]]) -> None:
    source, out, ids = exported
    stored = rows(source)
    data = lines(out)
    events, end = data[:-1], data[-1]
    assert len(events) == len(stored)
    for line, (pos, oid, version, topic, state) in zip(events, stored, strict=True):
        assert line["position"] == pos
        assert line["petition_id"] == str(UUID(oid))
        assert line["version"] == version
        assert line["topic"] == topic
        assert line["type"] == topic.rpartition(":")[2]
        assert str(line["state"]).encode() == state
        assert line["hash"] == spec_hash(oid, version, topic, state)
        assert isinstance(line["time"], str) and line["time"].endswith("+00:00")
    assert {line["petition_id"] for line in events} >= {str(i) for i in ids}
    assert end["end"]["events"] == len(stored)  # type: ignore[index]
    assert end["end"]["last_position"] == stored[-1][0]  # type: ignore[index]


def test_import_into_an_empty_store_reproduces_state_views_and_hashes(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]]) -> None:
    source, out, ids = exported
    target = tmp_path / "target.sqlite"
    with PetitionService.open(str(target)) as dst:
        report = import_log(dst, out, actor=ADMIN)
        assert report.events == len(rows(source))
        with PetitionService.open(str(source)) as src:
            # The personal data keys move beside the log, re-wrapped for the
            # target's master key (the log holds only ciphertext).
            keys = tmp_path / "keys.jsonl"
            moved = src.privacy.export_keys(ADMIN, keys, dst.privacy.keyring.master)
            assert moved > 0 and dst.privacy.import_keys(ADMIN, keys) == moved
            assert verify_store(dst).merkle_root == verify_store(src).merkle_root
            for pid in ids:
                assert dst.get(pid) == src.get(pid)
                assert dst.history(pid) == src.history(pid)
                assert history(dst, pid) == history(src, pid)
    assert [r[1:] for r in rows(target)] == [r[1:] for r in rows(source)]


def test_import_is_an_administrators_command(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]]) -> None:
    _, out, _ = exported
    target = tmp_path / "target.sqlite"
    with PetitionService.open(str(target)) as dst:
        for role in ("auditor", "supervisor"):
            with pytest.raises(PermissionDenied):
                import_log(dst, out, actor=Actor("x", role))
    assert rows(target) == []


def test_import_into_a_non_empty_store_is_refused_and_writes_nothing(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]]) -> None:
    _, out, _ = exported
    target = tmp_path / "busy.sqlite"
    with PetitionService.open(str(target)) as dst:
        build(dst, 1)
        before = rows(target)
        with pytest.raises(ImportRefused, match="not empty"):
            import_log(dst, out, actor=ADMIN)
    assert rows(target) == before


def _tamper(out: Path, edit: object) -> Path:
    data = out.read_text("utf-8").splitlines()
    edit(data)  # type: ignore[operator]
    bad = out.with_name("tampered.jsonl")
    bad.write_text("\n".join(data) + "\n", "utf-8")
    return bad


def _change_state(data: list[str]) -> None:
    line = json.loads(data[4])
    line["state"] = line["state"].replace("caseworker-li", "caseworker-lx")
    data[4] = json.dumps(line, ensure_ascii=False)


def _change_state_and_hashes(data: list[str]) -> None:
    line = json.loads(data[4])
    line["state"] = line["state"].replace("caseworker-li", "caseworker-lx")
    oid = UUID(line["petition_id"]).hex
    line["hash"] = spec_hash(oid, line["version"], line["topic"], line["state"].encode())
    data[4] = json.dumps(line, ensure_ascii=False)


def _drop_event(data: list[str]) -> None:
    del data[3]


def _truncate(data: list[str]) -> None:
    del data[-1]


def _swap(data: list[str]) -> None:
    data[2], data[3] = data[3], data[2]


@pytest.mark.parametrize("edit", [_change_state, _change_state_and_hashes, _drop_event,
                                  _truncate, _swap])
def test_a_tampered_file_is_refused_and_nothing_is_written(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]], edit: object) -> None:
    _, out, _ = exported
    bad = _tamper(out, edit)
    target = tmp_path / "target.sqlite"
    with PetitionService.open(str(target)) as dst, pytest.raises(
            ImportRefused, match=r"altered|removed|truncated|missing|version|position"):
        import_log(dst, bad, actor=ADMIN)
    assert rows(target) == []


def test_a_file_rewritten_consistently_is_caught_by_a_seal(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]]) -> None:
    source, out, ids = exported
    private, public = keygen(tmp_path / "k")
    with PetitionService.open(str(source)) as svc:
        seal = make_seal(svc, private)
    # Rewrite the last event of a chain and fix its hash and the closing line.
    data = lines(out)
    last = max(i for i, line in enumerate(data[:-1]) if line["petition_id"] == str(ids[0]))
    line = data[last]
    line["state"] = str(line["state"]).replace("群众反映强烈", "无")
    line["hash"] = spec_hash(UUID(str(line["petition_id"])).hex, int(line["version"]),  # type: ignore[call-overload]
                             str(line["topic"]), str(line["state"]).encode())
    from petitions.audit.merkle import merkle_root

    heads = {}
    for entry in data[:-1]:
        heads[UUID(str(entry["petition_id"])).hex] = (entry["version"], entry["hash"])
    data[-1]["end"]["merkle_root"] = merkle_root(heads)  # type: ignore[index]
    bad = tmp_path / "consistent.jsonl"
    bad.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data), "utf-8")
    target = tmp_path / "t.sqlite"
    with PetitionService.open(str(target)) as dst:
        report = import_log(dst, bad, actor=ADMIN)  # consistent: accepted without a seal
        assert report.ok
    target2 = tmp_path / "t2.sqlite"
    with PetitionService.open(str(target2)) as dst, pytest.raises(ImportRefused,
                                                                  match="rewritten"):
        import_log(dst, bad, actor=ADMIN, seal=seal, public_key=public)
    assert rows(target2) == []


def test_a_broken_store_is_not_exported(tmp_path: Path) -> None:
    source = tmp_path / "s.sqlite"
    with PetitionService.open(str(source)) as svc:
        build(svc, 1)
    from tests.audit_support import execute

    execute(source, "DELETE FROM stored_events WHERE rowid=3")
    out = tmp_path / "x.jsonl"
    with PetitionService.open(str(source)) as svc, pytest.raises(ChainBroken):
        export_log(svc, out)
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_after_import_the_store_takes_new_commands(
        tmp_path: Path, exported: tuple[Path, Path, list[UUID]]) -> None:
    _, out, ids = exported
    target = tmp_path / "target.sqlite"
    with PetitionService.open(str(target)) as dst:
        import_log(dst, out, actor=ADMIN)
        dst.note(ids[0], actor=CLERK, text="导入后追加")
        assert verify_store(dst).ok
