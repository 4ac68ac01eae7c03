"""首接负责 in its real sense: whoever first receives a request owns it until it
is accepted or handed over — enforced where a workflow declares it."""

from __future__ import annotations

import pytest

from petitions import Actor, Location, Petitioner, PetitionService, TransitionNotAllowed
from workflows import Registry

FIRST = Actor("intake-a", "intake_clerk")
OTHER = Actor("intake-b", "intake_clerk")
BOSS = Actor("duty-supervisor", "supervisor")


def phoned_in(svc: PetitionService) -> object:
    return svc.file(actor=FIRST,
                    petitioner=Petitioner(kind="resident", name="（示例）通用社区老人"),
                    title="老人来电：身体不适", description="电话求助", category="elderly_care",
                    channel="hotline", location=Location(street="石马河街道"),
                    workflow="emergency_care")


def test_only_emergency_care_declares_it() -> None:
    declared = {wf.name for wf in Registry.shipped().all() if wf.first_receiver_owns}
    assert declared == {"emergency_care"}


def test_the_receiver_owns_the_call_until_it_is_handed_over(service: PetitionService) -> None:
    pid = phoned_in(service)
    with pytest.raises(TransitionNotAllowed, match="首接负责: intake-a"):
        service.accept(pid, actor=OTHER)
    assert service.get(pid).version == 2  # Filed, ClockStarted: nothing written
    service.transfer(pid, actor=FIRST, unit="石马河街道", person="intake-b",
                     reason="交接班")
    with pytest.raises(TransitionNotAllowed, match="首接负责: intake-b"):
        service.accept(pid, actor=FIRST)  # handed over: no longer the first receiver's
    service.accept(pid, actor=OTHER)
    assert service.get(pid).stage == "dispatch"


def test_a_supervisor_may_step_in_and_acceptance_ends_it(service: PetitionService) -> None:
    pid = phoned_in(service)
    service.accept(pid, actor=BOSS)
    service.assign(pid, actor=Actor("grid", "grid_worker"), unit="通用社区", person="网格员")
    assert service.get(pid).stage == "response"
