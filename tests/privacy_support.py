"""Helpers for the privacy tests: backends, raw scans of the stored bytes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petitions import PetitionService
from petitions.privacy import MASTER_KEY_ENV, new_master_key_text
from tests.fixtures import fresh_backend_url


def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh URL for ``request.param`` (sqlite or postgres)."""
    if request.param == "sqlite":
        monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
        yield str(tmp_path / "petitions.sqlite")
        return
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    yield from fresh_backend_url("postgres", tmp_path)


def raw_bytes(svc: PetitionService) -> bytes:
    """Everything the database holds for ``svc``, as bytes (SQLite file and WAL,
    or every row of every table of the PostgreSQL schema, as text)."""
    url = svc.url
    if url.startswith("postgres"):
        import psycopg

        schema = url.rsplit("schema=", 1)[1]
        out = []
        from petitions.persistence import postgres_conninfo

        with psycopg.connect(postgres_conninfo(url)) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,))]
            for table in tables:
                for row in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t'):
                    out.append(row[0])
        return "\n".join(out).encode()
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(url + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def exposes(raw: bytes, needle: str) -> bool:
    """Whether ``needle`` is in ``raw`` as UTF-8, or hex of UTF-8 (PostgreSQL bytea)."""
    b = needle.encode()
    return b in raw or b.hex().encode() in raw


def stored(svc: PetitionService) -> list[tuple[Any, int, str, bytes]]:
    """Every stored event, as stored."""
    out: list[tuple[Any, int, str, bytes]] = []
    start: int | None = None
    while True:
        batch = svc.recorder.select_notifications(start=start, limit=500,
                                                  inclusive_of_start=start is None)
        out.extend((n.originator_id, n.originator_version, n.topic, bytes(n.state))
                   for n in batch)
        if len(batch) < 500:
            return out
        start = batch[-1].id


def env_has_key() -> bool:
    return bool(os.environ.get(MASTER_KEY_ENV))
