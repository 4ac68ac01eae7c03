"""The same caller's related cases (shown with a petition) skip a case whose
stored history is damaged — bytes that do not decode, or decode and then fail
to apply — and report it on one line naming petition, version and position,
as the views report the events they skip; any other fault is not hidden."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from petitions import Actor, PetitionService
from petitions.core import Store
from petitions.domain.values import Petitioner
from tests.fixtures import file_petition

CLERK, WORKER = Actor("hotline-wang", "intake_clerk"), Actor("li", "caseworker")
CALLER = Petitioner(kind="resident", name="刘先生", phone="13800001234")


def _two_cases(db: str) -> tuple[UUID, UUID]:
    with PetitionService.open(db) as svc:
        shown = file_petition(svc, CLERK, petitioner=CALLER, title="甲")
        other = file_petition(svc, CLERK, petitioner=CALLER, title="乙")
        svc.accept(other, actor=WORKER)  # type: ignore[arg-type]
        svc.assign(other, actor=WORKER, unit="寸滩街道", person="张",  # type: ignore[arg-type]
                   co_units=["华新街街道"])
        assert [r.title for r in svc.get(shown).related] == ["乙"]  # type: ignore[arg-type]
    return shown, other  # type: ignore[return-value]


def _damage(db: str, petition_id: UUID, topic: str, old: bytes, new: bytes) -> tuple[int, int]:
    con = sqlite3.connect(db)
    try:
        position, version, state = con.execute(
            "SELECT rowid, originator_version, state FROM stored_events "
            "WHERE originator_id=? AND topic LIKE ?", (petition_id.hex, f"%{topic}")).fetchone()
        assert old in state
        con.execute("UPDATE stored_events SET state=? WHERE rowid=?",
                    (state.replace(old, new), position))
        con.commit()
    finally:
        con.close()
    return int(version), int(position)


@pytest.mark.parametrize(("topic", "old", "new"), [
    # Decodes (valid JSON, a known type), then fails in apply: co_units is no list.
    ("Petition.Assigned", '"co_units":["华新街街道"]'.encode(), b'"co_units":5'),
    # Does not decode at all.
    ("Petition.Assigned", b'"co_units":[', b'"co_units":[\xff\x00'),
])
def test_a_damaged_related_case_is_reported_and_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, topic: str, old: bytes,
        new: bytes) -> None:
    db = str(tmp_path / "office.sqlite")
    shown, other = _two_cases(db)
    version, position = _damage(db, other, topic, old, new)
    with PetitionService.open(db) as svc, caplog.at_level(logging.WARNING, "petitions"):
        caplog.clear()
        view = svc.get(shown)
        assert view.title == "甲" and view.related == ()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1, lines
    assert (str(other) in lines[0] and f"version {version}" in lines[0]
            and f"position {position}" in lines[0] and "\n" not in lines[0])


def test_a_fault_that_is_not_damage_is_not_hidden(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "office.sqlite")
    shown, other = _two_cases(db)
    load = Store.load

    def faulty(self: Store, petition_id: UUID | str) -> object:
        if petition_id == other:
            raise TypeError("a bug, not damage")
        return load(self, petition_id)

    monkeypatch.setattr(Store, "load", faulty)
    with PetitionService.open(db) as svc:
        view = svc.get(shown)  # the related cases are looked up when first read
        with pytest.raises(TypeError, match="a bug"):
            view.related  # noqa: B018
