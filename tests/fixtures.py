"""Shared fixtures: a PetitionService on each storage backend, and actors.

A pytest plugin (registered by the root ``conftest.py``), so that both
``tests/`` and the Gherkin specifications in ``features/`` use the same
``backend_url`` and ``service`` fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petitions import Actor, Location, Petitioner, PetitionService


@pytest.fixture(params=["sqlite"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, private database URL for one test, per storage backend."""
    return str(tmp_path / "petitions.sqlite")


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
