"""Every demo case keeps its workflow's time limits: swept at each of its
recorded times, nothing is overdue (the seed report's cases are cases handled
in time; a demo that breaches its own limits tells a different story)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from petitions import PetitionService
from petitions.demo import CASES, Case, load_case
from petitions.domain.petition import Petition, petition_id_for


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2022, 12, 31, tzinfo=ZoneInfo("Asia/Shanghai"))

    def __call__(self) -> datetime:
        return self.now


def overdue_moments(svc: PetitionService, pid: UUID) -> list[str]:
    """Each recorded time at which the petition, as it stood just before, had a
    running, unpaused clock whose deadline had passed."""
    found: list[str] = []
    events = svc.petition_events(pid)
    petition: Petition | None = None
    for event in events:
        if petition is not None and petition.outcome is None:
            when = event.occurred_at
            if petition.deadline_state(when) == "breached":
                found.append(f"v{event.originator_version} {type(event).__name__} at "
                             f"{when.isoformat()}: stage {petition.clock_stage} was due "
                             f"{petition.clock_deadline}")
        petition = event.mutate(petition)  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"case{c.number}")
def test_each_demo_case_is_never_overdue_at_its_recorded_times(
        backend_url: str, case: Case) -> None:
    with PetitionService.open(backend_url, clock=Clock()) as svc:
        load_case(svc, case)
        problems: list[str] = []
        for filing in case.filings:
            pid = petition_id_for(filing.key)
            kinds = [type(e).__name__ for e in svc.petition_events(pid)]
            assert "ClockStarted" in kinds or filing.workflow == "none", filing.key
            problems += [f"{filing.key}: {p}" for p in overdue_moments(svc, pid)]
        assert problems == []
