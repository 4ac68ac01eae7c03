"""Signed seals: keys, constant size, and detection of a fully re-hashed rewrite."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from uuid import UUID

import pytest

from petitions import PetitionService
from petitions.audit import (
    AuditError,
    ChainBroken,
    SealInvalid,
    keygen,
    make_seal,
    read_seal,
    verify_store,
    write_seal,
)
from tests.audit_support import WORKER, build, row, rows, set_state, spec_hash, state_json


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return keygen(tmp_path / "seal.key")


def sealed_store(tmp_path: Path, key: Path, count: int = 3) -> tuple[Path, list[UUID], Path]:
    path = tmp_path / "sealed.sqlite"
    seal_file = tmp_path / "checkpoint.seal"
    with PetitionService.open(str(path)) as svc:
        ids = build(svc, count)
        write_seal(make_seal(svc, key), seal_file)
    return path, ids, seal_file


def test_keygen_writes_a_private_key_only_its_owner_reads_and_a_public_key(
        keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert public.name == "seal.key.pub"
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    with pytest.raises(AuditError, match="already exists"):
        keygen(private)


def test_a_seal_verifies_against_an_unchanged_store_and_later_events(
        tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    path, ids, seal_file = sealed_store(tmp_path, private)
    seal = read_seal(seal_file)
    assert seal.position == rows(path)[-1][0]
    assert seal.events == len(rows(path))
    with PetitionService.open(str(path)) as svc:
        svc.note(ids[0], actor=WORKER, text="封存之后的新备注")  # after the seal: allowed
        report = verify_store(svc, seal=seal, public_key=public)
    assert report.ok, report.problems
    assert report.seal is not None and report.seal["matches"] is True
    assert report.events == seal.events + 1


def test_seals_have_constant_size(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, _ = keys
    small = tmp_path / "small"
    big = tmp_path / "big"
    small.mkdir()
    big.mkdir()
    _, _, seal_small = sealed_store(small, private, count=1)
    _, _, seal_big = sealed_store(big, private, count=12)
    size_small, size_big = seal_small.stat().st_size, seal_big.stat().st_size
    assert size_big - size_small <= 4  # only the digits of the counters grow
    assert size_big < 600


def test_rewriting_an_event_and_recomputing_every_hash_breaks_the_seal(
        tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    path, ids, seal_file = sealed_store(tmp_path, private)
    pid = ids[1]
    # The attacker has write access: change the reply of version 9, then
    # re-link every later event of the chain so all chains verify again.
    versions = sorted(r[2] for r in rows(path) if r[1] == pid.hex)
    prev_hash = None
    for version in versions:
        _, topic, state = row(path, pid, version)
        if version >= 9:
            text = state.decode()
            if version == 9:
                text = text.replace("已增设停车位", "不予支持")
            assert prev_hash is not None
            text = text[:14] + prev_hash + text[78:]
            state = text.encode()
            set_state(path, pid, version, state)
        prev_hash = spec_hash(pid.hex, version, topic, state)
    assert state_json(row(path, pid, 9)[2])["text"] == "不予支持"
    with PetitionService.open(str(path)) as svc:
        assert not verify_store(svc).ok, "the recorded chain head still names the old one"
    # ... so the attacker rewrites the recorded head too.
    from tests.audit_support import execute

    execute(path, "UPDATE chain_heads SET hash=? WHERE originator_id=?", (prev_hash, pid.hex))
    with PetitionService.open(str(path)) as svc:
        plain = verify_store(svc)
        assert plain.ok, "the rewrite is consistent: chains and heads alone cannot see it"
        sealed = verify_store(svc, seal=read_seal(seal_file), public_key=public)
    assert not sealed.ok
    assert sealed.first_problem is not None and sealed.first_problem.kind == "seal"
    assert "rewritten" in sealed.first_problem.message
    assert sealed.seal is not None and sealed.seal["matches"] is False


def test_removing_sealed_events_breaks_the_seal(tmp_path: Path,
                                                keys: tuple[Path, Path]) -> None:
    private, public = keys
    path, _, seal_file = sealed_store(tmp_path, private)
    last_pos, oid = rows(path)[-1][0], rows(path)[-1][1]
    from tests.audit_support import execute

    execute(path, "DELETE FROM stored_events WHERE rowid=?", (last_pos,))
    with PetitionService.open(str(path)) as svc:
        heads = verify_store(svc)
        # The recorded chain head names the removed event.
        assert heads.first_problem is not None and heads.first_problem.kind == "head"
        report = verify_store(svc, seal=read_seal(seal_file), public_key=public)
    assert not report.ok
    assert any("before the seal's position" in str(p) for p in report.problems)
    assert oid


def test_an_altered_seal_file_or_a_wrong_key_is_refused(tmp_path: Path,
                                                        keys: tuple[Path, Path]) -> None:
    private, public = keys
    path, _, seal_file = sealed_store(tmp_path, private)
    data = json.loads(seal_file.read_text())
    data["events"] += 1
    forged = tmp_path / "forged.seal"
    forged.write_text(json.dumps(data))
    other_private, other_public = keygen(tmp_path / "other.key")
    with PetitionService.open(str(path)) as svc:
        with pytest.raises(SealInvalid, match="signature is not valid"):
            verify_store(svc, seal=read_seal(forged), public_key=public)
        with pytest.raises(SealInvalid, match="another key"):
            verify_store(svc, seal=read_seal(seal_file), public_key=other_public)
        with pytest.raises(SealInvalid, match="needs the public key"):
            verify_store(svc, seal=read_seal(seal_file))
    assert other_private.exists()


def test_a_broken_store_is_not_sealed(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, _ = keys
    path = tmp_path / "broken.sqlite"
    with PetitionService.open(str(path)) as svc:
        (pid,) = build(svc, 1)
    _, _, state = row(path, pid, 3)  # Accepted
    assert b"caseworker-li" in state
    set_state(path, pid, 3, state.replace(b"caseworker-li", b"caseworker-lx"))
    with PetitionService.open(str(path)) as svc, pytest.raises(ChainBroken):
        make_seal(svc, private)
