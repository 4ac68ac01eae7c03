"""Shared fixtures: a PetitionService on each storage backend, and actors.

A pytest plugin (registered by the root ``conftest.py``), so that both
``tests/`` and the Gherkin specifications in ``features/`` use the same
``backend_url`` and ``service`` fixtures, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from petitions.core import Store
from petitions.domain.values import Actor, Location, Petitioner
from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, new_master_key_text
from petitions.service import PetitionService


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite's parsed-TOML cache off the user's own ``~/.cache``: one
    folder for the session (subprocesses inherit it), removed afterwards."""
    if "PETITIONS_CACHE_DIR" not in os.environ:
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="petitions-test-cache-")
        os.environ["PETITIONS_CACHE_DIR"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


#: The PostgreSQL server of development and CI machines (trust auth).
POSTGRES_SERVER = os.environ.get("PETITIONS_TEST_POSTGRES",
                                  "postgresql://postgres@127.0.0.1:5432/test")


@functools.cache
def postgres_unreachable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    from petitions.persistence import postgres_conninfo

    try:
        with psycopg.connect(postgres_conninfo(POSTGRES_SERVER), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {POSTGRES_SERVER} is not reachable: {first}"
    return None


def require_postgres() -> None:
    """Skip the calling test without a server, or fail under PETITIONS_REQUIRE_POSTGRES=1."""
    reason = postgres_unreachable()
    if reason is None:
        return
    if os.environ.get("PETITIONS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (PETITIONS_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(reason)


def fresh_backend_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, private store: a SQLite file, or a new PostgreSQL schema dropped after use.

    PostgreSQL requires a configured master key for personal data: when none is
    set, one is set in the environment for as long as the store is in use (so
    worker processes started meanwhile share it).
    """
    if kind == "sqlite":
        yield str(tmp_path / "petitions.sqlite")
        return
    require_postgres()
    from petitions.postgres import drop_schema

    url = f"{POSTGRES_SERVER}?schema=t_{uuid.uuid4().hex}"
    own_key = not os.environ.get(MASTER_KEY_ENV) and not os.environ.get(MASTER_KEY_FILE_ENV)
    if own_key:
        os.environ[MASTER_KEY_ENV] = new_master_key_text()
    try:
        yield url
    finally:
        if own_key:
            os.environ.pop(MASTER_KEY_ENV, None)
        drop_schema(url)


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, private database URL for one test, per storage backend.

    Every test that stores or queries takes this (or ``service``) and so runs on
    SQLite and on PostgreSQL; each PostgreSQL run gets its own schema, and a
    master key for personal data (PostgreSQL requires one to be configured).
    """
    yield from fresh_backend_url(request.param, tmp_path)


@pytest.fixture
def service(backend_url: str) -> Iterator[PetitionService]:
    svc = PetitionService.open(backend_url)
    try:
        yield svc
    finally:
        svc.shutdown()


@contextmanager
def store_beside(svc: PetitionService, **kwargs: object) -> Iterator[Store]:
    """The store core on the same database as ``svc`` (not ``:memory:``): for
    tests that look at aggregates, which the service never hands out."""
    store = Store(url=svc.url, **kwargs)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()


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
