"""A store written by earlier code still loads, replays and verifies.

``tests/data/main_e67075d/store.sqlite`` was written by the code of main at
commit e67075d (see ``make_store.py`` there): the demo's cases and a few side
paths, with ``expected.json`` holding what that code showed for every
petition.  Event classes and their topics must not change under it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from petitions.audit import verify_store
from petitions.domain.values import Actor
from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV
from petitions.service import PetitionService

FIXTURE = Path(__file__).parent / "data" / "main_e67075d"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURE / "expected.json").read_text("utf-8"))


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture, its master key file beside it as it was written
    (and no other master key configured)."""
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    db = tmp_path / "store.sqlite"
    shutil.copyfile(FIXTURE / "store.sqlite", db)
    shutil.copyfile(FIXTURE / "store.sqlite.key", tmp_path / "store.sqlite.key")
    return db


def test_the_fixture_covers_the_side_paths() -> None:
    types = {t for case in EXPECTED.values() for t in case["types"]}
    assert len(EXPECTED) == 50
    assert {"Rejected", "MarkedDuplicate", "Withdrawn", "Reopened", "ClockPaused",
            "ClockResumed", "DeadlineExtended", "Escalated", "ReReviewAnswered",
            "PlanStepCompleted", "MediationSessionRecorded", "OnSiteMeetingHeld"} <= types
    assert any(case["erased"] for case in EXPECTED.values())


def test_every_petition_loads_and_replays_as_it_did(old_store: Path) -> None:
    with PetitionService.open(str(old_store)) as svc:
        for pid, was in EXPECTED.items():
            view = svc.get(pid)
            assert [view.workflow.name, view.workflow.version] == was["workflow"], pid
            assert (view.stage, view.outcome, view.version) == (
                was["stage"], was["outcome"], was["version"]), pid
            assert view.petitioner.erased == was["erased"], pid
            assert view.stage_label.zh and view.stage_label.en
            history = svc.history(pid)
            assert [e.type for e in history] == was["types"], pid
            assert all(e.text_zh and e.text_en for e in history), pid
        # The read models are rebuilt from that history alone.
        assert svc.read_models.rebuild() == svc.recorder.max_notification_id()
        assert len(svc.list_petitions(limit=None)) == len(EXPECTED)


def test_it_verifies_and_takes_new_commands(old_store: Path) -> None:
    with PetitionService.open(str(old_store)) as svc:
        report = verify_store(svc)
        assert report.ok and report.chains >= len(EXPECTED)
        still_open = next(pid for pid, c in EXPECTED.items() if c["stage"] == "mediation")
        boss = Actor("supervisor-zhang", "supervisor")
        view = svc.note(still_open, actor=boss, text="新代码追加的备注")
        assert view.version == EXPECTED[still_open]["version"] + 1
        assert verify_store(svc).ok
    result = CliRunner().invoke(main, ["--db", str(old_store), "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    result = CliRunner().invoke(main, ["--db", str(old_store), "--json", "show", still_open])
    assert result.exit_code == 0 and json.loads(result.stdout)["notes"] >= 1
