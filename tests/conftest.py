"""Shared fixtures: a PetitionService on each storage backend, and actors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from petitions import Actor, Location, Petitioner, PetitionService

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_BASE, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, private database URL for one test, per storage backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "petitions.sqlite")
        return
    if not _postgres_available():
        if os.environ.get("PETITIONS_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required but not reachable")
        pytest.skip("PostgreSQL not reachable")
    import psycopg

    schema = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?schema={schema}"
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def service(backend_url: str) -> Iterator[PetitionService]:
    svc = PetitionService.open(backend_url)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def clerk() -> Actor:
    return Actor("clerk-01", "intake_clerk")


@pytest.fixture
def worker() -> Actor:
    return Actor("caseworker-li", "caseworker")


@pytest.fixture
def supervisor() -> Actor:
    return Actor("supervisor-zhang", "supervisor")


@pytest.fixture
def auditor() -> Actor:
    return Actor("auditor-wu", "auditor")


def file_petition(svc: PetitionService, actor: Actor, **overrides: object) -> object:
    """File a typical petition (吉安园茅溪小区 parking), with overrides."""
    args: dict[str, object] = dict(
        actor=actor,
        petitioner=Petitioner(kind="resident", name="刘先生", phone="13800001234"),
        title="小区停车难",
        description="吉安园茅溪小区业主反映车位不足、乱停车严重",
        category="property_management",
        channel="door_to_door",
        location=Location(street="寸滩街道", community="保税商厦社区", grid="3"),
    )
    args.update(overrides)
    return svc.file(**args)  # type: ignore[arg-type]
