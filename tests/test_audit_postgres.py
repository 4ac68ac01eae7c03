"""The audit chain on PostgreSQL (skipped when no server answers on 127.0.0.1:5432)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from petitions import Actor, PetitionService
from petitions.audit import (
    export_log,
    import_log,
    keygen,
    make_seal,
    verify_store,
)
from tests.audit_support import WORKER, build

PG = os.environ.get("PETITIONS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _connect() -> object:
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                               autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")


@pytest.fixture
def pg_url() -> Iterator[tuple[str, object]]:
    conn = _connect()
    schema = f"audit_{uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[attr-defined]
    try:
        yield f"{PG}?schema={schema}", conn
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]


def test_chains_seal_and_tamper_detection_on_postgres(
        pg_url: tuple[str, object], tmp_path: Path) -> None:
    url, conn = pg_url
    schema = url.rpartition("=")[2]
    with PetitionService.open(url, snapshot_interval=3) as svc:
        ids = build(svc, 3)
        svc.note(ids[0], actor=WORKER, text="快照之后")
        report = verify_store(svc)
        assert report.ok, report.problems
        assert report.events == 1 + 3 * 6 + 2 + 1
        private, public = keygen(tmp_path / "k")
        seal = make_seal(svc, private)
        export_log(svc, tmp_path / "pg.jsonl")
    # Change one byte of version 3 of the second petition.
    conn.execute(  # type: ignore[attr-defined]
        f'UPDATE "{schema}".petitions_events SET state = '
        "convert_to(replace(convert_from(state, 'UTF8'), '网格员张', '网格员李'), 'UTF8') "
        "WHERE originator_id = %s AND originator_version = 3", (ids[1],))
    with PetitionService.open(url) as svc:
        broken = verify_store(svc)
        sealed = verify_store(svc, seal=seal, public_key=public)
    assert broken.first_problem is not None
    assert (broken.first_problem.petition_id, broken.first_problem.version) == (str(ids[1]), 3)
    assert not sealed.ok


def test_export_from_sqlite_imports_into_postgres(pg_url: tuple[str, object],
                                                  tmp_path: Path) -> None:
    url, _ = pg_url
    src_path = tmp_path / "src.sqlite"
    with PetitionService.open(str(src_path)) as src:
        ids = build(src, 2)
        export_log(src, tmp_path / "log.jsonl")
        with PetitionService.open(url) as dst:
            import_log(dst, tmp_path / "log.jsonl", actor=Actor("admin", "administrator"))
            assert verify_store(dst).merkle_root == verify_store(src).merkle_root
            for pid in ids:
                assert dst.get(pid) == src.get(pid)
