"""Stored history must load forever: a version-1 event is upcast on reading."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from petitions import Actor, PetitionService
from petitions.domain.petition import Petition

FIXTURE = Path(__file__).parent / "data" / "assigned_v1.json"


def load_fixture(svc: PetitionService) -> UUID:
    rows = json.loads(FIXTURE.read_text("utf-8"))["events"]
    svc.recorder.insert_events([
        StoredEvent(
            originator_id=UUID(r["originator_id"]),
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=json.dumps(r["state"], ensure_ascii=False).encode("utf-8"),
        )
        for r in rows
    ])
    return UUID(rows[0]["originator_id"])


def test_fixture_really_is_version_1() -> None:
    rows = json.loads(FIXTURE.read_text("utf-8"))["events"]
    assigned = [r for r in rows if r["topic"].endswith("Petition.Assigned")]
    assert len(assigned) == 1
    assert "class_version" not in assigned[0]["state"]
    assert "co_units" not in assigned[0]["state"]
    assert Petition.Assigned.class_version == 3  # v3: sign-for limits and 定责


def test_version_1_assigned_event_is_upcast(tmp_path: Path) -> None:
    svc = PetitionService.open(str(tmp_path / "old.sqlite"))
    pid = load_fixture(svc)
    view = svc.get(pid)
    assert (view.stage, view.lead_unit) == ("resolution", "郭家沱街道城管科")
    assert view.assignee == "张科长"
    assert view.co_units == ()
    assigned = svc.history(pid)[2]
    assert assigned.type == "Assigned" and assigned.data["co_units"] == []
    # upcast through version 2 to 3: no sign-for limits, not final (定责)
    assert assigned.data["final"] is False and assigned.data["sign_by"] is None
    # The upcast petition goes on under today's code, and new events are version 3.
    worker = Actor("caseworker-li", "caseworker")
    svc.transfer(pid, actor=worker, unit="郭家沱街道环卫所", person="王所长", reason="职责划分")
    svc.shutdown()

    svc = PetitionService.open(str(tmp_path / "old.sqlite"))
    assert svc.get(pid).lead_unit == "郭家沱街道环卫所"
    assert svc.get(pid, version=3).lead_unit == "郭家沱街道城管科"
    svc.shutdown()
