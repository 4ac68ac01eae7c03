"""The audit chain on PostgreSQL (skipped when no server answers on 127.0.0.1:5432)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petitions import Actor, PetitionService
from petitions.audit import (
    export_log,
    import_log,
    keygen,
    make_seal,
    verify_store,
)
from petitions.privacy import MASTER_KEY_ENV, new_master_key_text
from tests.audit_support import WORKER, build
from tests.fixtures import fresh_backend_url


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    """A fresh PostgreSQL schema (the shared fixture's rules: skipped without a
    server, failed under PETITIONS_REQUIRE_POSTGRES=1) and a connection to it."""
    import psycopg

    from petitions.persistence import postgres_conninfo

    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    for url in fresh_backend_url("postgres", tmp_path):
        with psycopg.connect(postgres_conninfo(url), autocommit=True) as conn:
            yield url, conn


def test_chains_seal_and_tamper_detection_on_postgres(
        pg_url: tuple[str, object], tmp_path: Path) -> None:
    url, conn = pg_url
    schema = url.rpartition("=")[2]
    with PetitionService.open(url, snapshot_interval=3) as svc:
        ids = build(svc, 3)
        svc.note(ids[0], actor=WORKER, text="快照之后")
        report = verify_store(svc)
        assert report.ok, report.problems
        assert report.events == 1 + 3 * 9 + 2 + 1  # 9 events each: see build()
        private, public = keygen(tmp_path / "k")
        seal = make_seal(svc, private)
        export_log(svc, tmp_path / "pg.jsonl")
    # Change one byte of version 5 (Assigned) of the second petition.
    conn.execute(  # type: ignore[attr-defined]
        f'UPDATE "{schema}".petitions_events SET state = '
        "convert_to(replace(convert_from(state, 'UTF8'), '网格员张', '网格员李'), 'UTF8') "
        "WHERE originator_id = %s AND originator_version = 5", (ids[1],))
    with PetitionService.open(url) as svc:
        broken = verify_store(svc)
        sealed = verify_store(svc, seal=seal, public_key=public)
    assert broken.first_problem is not None
    assert (broken.first_problem.petition_id, broken.first_problem.version) == (str(ids[1]), 5)
    assert not sealed.ok


def test_export_from_sqlite_imports_into_postgres(pg_url: tuple[str, object],
                                                  tmp_path: Path) -> None:
    url, _ = pg_url
    src_path = tmp_path / "src.sqlite"
    with PetitionService.open(str(src_path)) as src:
        ids = build(src, 2)
        export_log(src, tmp_path / "log.jsonl")
        with PetitionService.open(url) as dst:
            admin = Actor("admin", "administrator")
            import_log(dst, tmp_path / "log.jsonl", actor=admin)
            assert verify_store(dst).merkle_root == verify_store(src).merkle_root
            keys = tmp_path / "keys.jsonl"
            src.privacy.export_keys(admin, keys, dst.privacy.keyring.master)
            dst.privacy.import_keys(admin, keys)
            for pid in ids:
                assert dst.get(pid) == src.get(pid)
