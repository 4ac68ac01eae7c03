"""The unit register's look-up on every ``assign`` (issue 18, point 3): one
look-up per command, and on SQLite, while no register is loaded, one
statement of its own — never a stale answer (another process's register is
seen by the next command)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.domain.register import REGISTER_ID
from petitions.recorders import StatementCachingPool

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
ADMIN = Actor("admin", "administrator")
REGISTER = Path(__file__).resolve().parent.parent / "petitions" / "data" / \
    "jiangbei_register.toml"


def file(svc: PetitionService) -> UUID:
    return svc.file(actor=CLERK, petitioner=Petitioner(kind="resident", name="居民"),
                    title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                    category="property_management", channel="door_to_door",
                    location=Location(street="寸滩街道", community="保税商厦社区", grid="3"))


def test_an_absent_id_is_looked_up_again_with_one_statement_on_sqlite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite an id found absent is looked up again with one ``SELECT`` in
    auto-commit mode (no ``BEGIN``/``ROLLBACK``), which leaves no transaction
    open, and finds it once another process has stored it."""
    made: list[sqlite3.Connection] = []
    statements: list[str] = []
    create = StatementCachingPool._create_connection

    def traced(self: StatementCachingPool) -> Any:
        connection = create(self)
        made.append(connection._sqlite_conn)
        connection._sqlite_conn.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(StatementCachingPool, "_create_connection", traced)
    url = str(tmp_path / "petitions.sqlite")
    a, b = PetitionService.open(url), PetitionService.open(url)
    try:
        store: Any = a._store
        assert store.find(REGISTER_ID) is None  # remembered as absent
        statements.clear()
        assert store.find(REGISTER_ID) is None
        assert len(statements) == 1, statements
        assert statements[0].startswith("SELECT 1 FROM stored_events WHERE originator_id = ")
        assert REGISTER_ID.hex in statements[0]
        assert not any(c.in_transaction for c in made)
        b.load_register(REGISTER, actor=ADMIN)
        assert store.find(REGISTER_ID) is not None
        assert a.register() is not None
    finally:
        a.shutdown()
        b.shutdown()


@pytest.mark.parametrize("loaded", [False, True])
def test_an_assign_looks_the_register_up_once(
        backend_url: str, monkeypatch: pytest.MonkeyPatch,
        loaded: bool) -> None:
    """However many co-handling units an ``assign`` names, the register is
    looked up once; with one loaded, every unit given by code becomes its name
    (the same register for all), without one the units stay as given."""
    svc = PetitionService.open(backend_url)
    try:
        if loaded:
            svc.load_register(REGISTER, actor=ADMIN)
        pid = file(svc)
        svc.accept(pid, actor=WORKER)
        register = svc.register()
        codes = ([next(u for u in register.units if u.name_zh == name).code
                  for name in ("寸滩街道", "铁山坪街道", "复盛镇")]
                 if register is not None else ["寸滩街道", "某单位", "另一单位"])
        store: Any = svc._store
        find = type(store).find
        looked_up: list[Any] = []

        def counting(self: Any, aggregate_id: Any) -> Any:
            if aggregate_id == REGISTER_ID:
                looked_up.append(aggregate_id)
            return find(self, aggregate_id)

        monkeypatch.setattr(type(store), "find", counting)
        view = svc.assign(pid, actor=WORKER, unit=codes[0], person="网格员张",
                          co_units=codes[1:])
        assert looked_up == [REGISTER_ID]
        if loaded:
            assert (view.lead_unit, view.co_units) == ("寸滩街道", ("铁山坪街道", "复盛镇"))
        else:
            assert (view.lead_unit, view.co_units) == ("寸滩街道", ("某单位", "另一单位"))
    finally:
        svc.shutdown()
