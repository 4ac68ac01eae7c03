"""The SQLite key table made by this release has one index on the petitioner
(``petitioner_keys_one_live``) where older stores have two (the live key,
unique, and all of a petitioner's keys): a new key is one index entry fewer
per filing.  It keeps every rule of the two: one live key per petitioner, any
number of erased ones, and a petitioner's keys found by the index.  Stores made
before keep their two indexes and are not given the new one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from petitions import Actor, Petitioner, PetitionService
from petitions.privacy.keys import KeyRow, KeyTable

ADMIN = Actor("admin-01", "administrator")
CLERK = Actor("clerk-01", "intake_clerk")
OLD_INDEXES = {"petitioner_keys_live", "petitioner_keys_by_petitioner"}


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {str(r[0]) for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'petitioner_keys' AND sql IS NOT NULL")}


def file(svc: PetitionService, petitioner_id: str, name: str = "刘先生") -> object:
    return svc.file(actor=CLERK, petitioner=Petitioner(kind="resident", name=name,
                                                       id=petitioner_id, phone="13812345678"),
                    title="小区停车难", description="车位不足", category="other",
                    channel="hotline")


def plan(path: Path, where: str) -> str:
    with sqlite3.connect(path) as db:
        return " ".join(str(r[-1]) for r in db.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM petitioner_keys WHERE {where}", ("p-1",)))


def test_a_new_store_has_one_index_and_keeps_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with PetitionService.open(str(path)) as svc:
        first = file(svc, "p-1")
        assert indexes(path) == {KeyTable.ONE_INDEX}
        table = svc.privacy.keyring.table
        live = table.live("p-1")
        assert live is not None
        # A second live key for the same petitioner is refused ...
        other = KeyRow("f" * 32, "p-1", b"x", live.master, live.created_at, None)
        assert table.insert(other) is False
        with pytest.raises(Exception, match="UNIQUE"), svc.recorder.datastore.transaction(
                commit=True) as c:
            table.writer(other)(c)
        # ... erased ones are not: erase, file again, erase again.
        svc.privacy.erase("p-1", actor=ADMIN, legal_basis="本人请求")
        second = file(svc, "p-1", name="新的名字")
        assert svc.get(second).petitioner.name == "新的名字"
        svc.privacy.erase("p-1", actor=ADMIN, legal_basis="本人请求")
        rows = table.of_petitioner("p-1")
        assert len(rows) == 2 and all(r.erased_at and r.wrapped is None for r in rows)
        assert table.live("p-1") is None
        assert svc.get(first).petitioner.erased
        third = file(svc, "p-1", name="第三")
        assert svc.get(third).petitioner.name == "第三"
        assert len(table.of_petitioner("p-1")) == 3
        assert table.counts() == (1, 2)  # p-1's third key live, two erased
    # Opened again: the old indexes are not added.
    with PetitionService.open(str(path)) as svc:
        assert svc.get(third).petitioner.name == "第三"
    assert indexes(path) == {KeyTable.ONE_INDEX}
    # Both look-ups by petitioner use it.
    assert KeyTable.ONE_INDEX in plan(path, "petitioner_id = ? AND erased_at IS NULL")
    assert KeyTable.ONE_INDEX in plan(path, "petitioner_id = ?")


def test_a_store_made_before_keeps_its_two_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the key table as releases before made it
        db.execute("CREATE TABLE petitioner_keys (key_id TEXT PRIMARY KEY, "
                   "petitioner_id TEXT NOT NULL, wrapped BLOB, master TEXT NOT NULL, "
                   "created_at TEXT NOT NULL, erased_at TEXT)")
        db.execute("CREATE UNIQUE INDEX petitioner_keys_live ON petitioner_keys "
                   "(petitioner_id) WHERE erased_at IS NULL")
    with PetitionService.open(str(path)) as svc:
        pid = file(svc, "p-1")
        assert indexes(path) == OLD_INDEXES  # the missing one made, as before
        assert svc.get(pid).petitioner.name == "刘先生"
        svc.privacy.erase("p-1", actor=ADMIN, legal_basis="本人请求")
        again = file(svc, "p-1", name="新的名字")
        assert svc.get(again).petitioner.name == "新的名字"
        assert len(svc.privacy.keyring.table.of_petitioner("p-1")) == 2
    assert indexes(path) == OLD_INDEXES
