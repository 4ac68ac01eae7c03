"""A store written by earlier code still loads, replays and verifies.

``tests/data/main_e67075d/store.sqlite`` was written by the code of main at
commit e67075d (see ``make_store.py`` there): the demo's cases and a few side
paths, with ``expected.json`` holding what that code showed for every
petition.  Event classes and their topics must not change under it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
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


def _clear_addresses(db: Path) -> dict[str, set[str]]:
    """Petition id → the location addresses its stored events hold in clear."""
    import sqlite3
    from uuid import UUID

    found: dict[str, set[str]] = {}
    con = sqlite3.connect(db)
    try:
        for oid, state in con.execute("SELECT originator_id, state FROM stored_events"):
            data = json.loads(state)
            where = (data.get("location") or {}).get("_data_") or {}
            if where.get("address"):
                found.setdefault(str(UUID(oid)), set()).add(where["address"])
    finally:
        con.close()
    return found


def test_clear_text_addresses_of_an_older_release_are_withheld_and_reported(
        old_store: Path) -> None:
    """Issue 13: events written before the address was sealed keep it in clear.
    Reads never show it; ``audit verify`` reports every such event (and
    snapshot), the history still verifies, and erasure does not remove it —
    which docs/security.md says plainly."""
    clear = _clear_addresses(old_store)
    assert len(clear) >= 5  # the fixture holds several (compounds, a wharf …)
    run = CliRunner().invoke
    result = run(main, ["--db", str(old_store), "--lang", "en", "audit", "verify"])
    assert result.exit_code == 0 and result.stdout.startswith("ok: "), result.output
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and "older release" in warning[0], result.stderr
    report = json.loads(run(main, ["--db", str(old_store), "--json", "audit", "verify"]).stdout)
    assert report["ok"] is True
    reported = {f["petition_id"] for f in report["legacy_clear_text"]
                if f["field"] == "location.address"}
    assert set(clear) <= reported
    assert all(f["version"] >= 1 and f["field"].endswith("location.address")
               for f in report["legacy_clear_text"])
    # Reads (every face of a case, the feed) never show it as a value.  (The
    # same names occur inside titles and descriptions, typed as free text.)
    words = {a for addresses in clear.values() for a in addresses}

    def values(data: Any) -> Iterator[Any]:
        if isinstance(data, dict):
            for item in data.values():
                yield from values(item)
        elif isinstance(data, list):
            for item in data:
                yield from values(item)
        else:
            yield data

    for pid in [p for p in clear if p in EXPECTED][:8]:
        for args in (("show", pid), ("history", pid)):
            out = run(main, ["--db", str(old_store), "--actor", "s", "--role", "supervisor",
                             "--json", *args]).stdout
            assert not words & set(values(json.loads(out))), args
        shown = json.loads(run(main, ["--db", str(old_store), "--json", "show", pid]).stdout)
        assert shown["location"]["place"] == "" and "address" not in shown["location"]
        text = run(main, ["--db", str(old_store), "--lang", "en", "show", pid]).stdout
        place = next(line for line in text.splitlines() if line.strip().startswith("Place"))
        assert not any(w in place for w in words), place
    feed = [json.loads(line) for line in run(
        main, ["--db", str(old_store), "--json", "feed"]).stdout.splitlines()]
    filed = [e for e in feed if e["petition_id"] in clear and e["type"] == "Filed"]
    assert len(filed) == len([p for p in clear if p in EXPECTED])  # (one is a campaign)
    assert all(e["data"]["location"]["place"] == "" and "address" not in e["data"]["location"]
               for e in filed)
    # Erasure cannot remove them: the event stays byte for byte (and verifies).
    with PetitionService.open(str(old_store)) as svc:
        pid = next(p for p in clear if p in EXPECTED and not EXPECTED[p]["erased"])
        petitioner = svc.get(pid).petitioner.id
        svc.privacy.erase(petitioner, actor=Actor("admin", "administrator"),
                          legal_basis="test")
        after = verify_store(svc)
        assert after.ok and pid in {f.petition_id for f in after.legacy_clear_text}
    assert _clear_addresses(old_store)[pid] == clear[pid]
    # The snapshots that copied it can go (reads replay the events instead);
    # the events themselves are the audit trail and stay.
    import sqlite3

    con = sqlite3.connect(old_store)
    con.execute("DELETE FROM stored_snapshots")
    con.commit()
    con.close()
    with PetitionService.open(str(old_store)) as svc:
        left = verify_store(svc)
        assert left.ok and left.legacy_clear_text
        assert not any(f.field.startswith("snapshot") for f in left.legacy_clear_text)
        assert svc.get(pid).stage == EXPECTED[pid]["stage"]
