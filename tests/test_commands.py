"""Every command of the standard workflow, and every error, through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from petitions import (
    Actor,
    ConcurrentUpdate,
    InvalidInput,
    PermissionDenied,
    Person,
    Petitioner,
    PetitionError,
    PetitionNotFound,
    PetitionService,
    TransitionNotAllowed,
    WorkflowNotFound,
    retry_on_conflict,
)
from tests.conftest import file_petition, store_beside


def count(svc: PetitionService, pid: object) -> int:
    return len(svc.history(pid))  # type: ignore[arg-type]


def to_resolution(svc: PetitionService, pid: object, worker: Actor) -> None:
    svc.accept(pid, actor=worker)  # type: ignore[arg-type]
    svc.assign(pid, actor=worker, unit="寸滩街道", person="网格员张")  # type: ignore[arg-type]


def to_review(svc: PetitionService, pid: object, worker: Actor) -> None:
    to_resolution(svc, pid, worker)
    svc.reply(pid, actor=worker, outcome="support", text="已协调增设车位")  # type: ignore[arg-type]
    svc.resolve(pid, actor=worker)  # type: ignore[arg-type]


def test_filing_records_everything(service: PetitionService, clerk: Actor) -> None:
    pid = file_petition(service, clerk)
    v = service.get(pid)  # type: ignore[arg-type]
    assert isinstance(pid, UUID)
    # Filing records the petition and starts the intake clock (2 working days).
    assert (v.stage, v.status, v.outcome, v.version) == ("intake", "open", None, 2)
    assert v.deadline is not None and v.deadline > v.filed_at
    assert v.workflow.name == "standard" and len(v.workflow.sha256) == 64
    assert v.location.community == "保税商厦社区"
    assert v.petitioner.id  # assigned on filing
    assert v.filed_at.tzinfo is not None
    event, clock = service.history(pid)  # type: ignore[arg-type]
    assert (event.type, event.actor, event.role) == ("Filed", "clerk-01", "intake_clerk")
    assert (clock.type, clock.data["for_stage"]) == ("ClockStarted", "intake")


def test_full_standard_lifecycle(service: PetitionService, clerk: Actor, worker: Actor,
                                 supervisor: Actor) -> None:
    pid = file_petition(service, clerk)
    service.accept(pid, actor=worker, note="当日受理")
    v = service.assign(pid, actor=worker, unit="寸滩街道", person="网格员张",
                       co_units=["区交警支队"])
    assert (v.stage, v.lead_unit, v.co_units) == ("resolution", "寸滩街道", ("区交警支队",))
    v = service.transfer(pid, actor=worker, unit="保税商厦社区", person="社区书记",
                         reason="属社区管辖")
    assert (v.lead_unit, v.assignee) == ("保税商厦社区", "社区书记")
    v = service.open_mediation(pid, actor=worker, mediator="老马", apprentice="小马",
                               parties=["业主代表", "物业公司"])
    assert (v.stage, v.mediator, v.apprentice) == ("mediation", "老马", "小马")
    v = service.record_session(pid, actor=Actor("laoma", "mediator"), place="社区会议室",
                               participants=["业主代表", "业委会", "物业公司"],
                               minutes="联席会议商定划线停车")
    assert v.sessions == 1
    v = service.agree(pid, actor=worker, terms="物业划定临时车位 40 个")
    assert (v.stage, v.mediation_state) == ("resolution", "agreed")
    service.act(pid, actor=Actor("grid-3", "grid_worker"), action="现场核实车位施划")
    service.note(pid, actor=clerk, text="业主来电催办")
    service.escalate(pid, actor=supervisor, reason="涉及业委会换届，街道督办")
    service.extend(pid, actor=supervisor, days=5, reason="等待业主大会")
    v = service.reply(pid, actor=worker, outcome="support", text="已增设车位")
    assert v.reply_outcome == "support"
    v = service.resolve(pid, actor=worker, summary="车位问题解决")
    assert v.stage == "review"
    v = service.callback(pid, actor=clerk, contacted=True, resolved=True,
                         rating="basically-satisfied", comment="基本满意")
    assert v.last_rating == "basically_satisfied"
    v = service.close(pid, actor=worker, note="回访基本满意")  # type: ignore[assignment]
    assert v is not None
    assert (v.stage, v.status, v.outcome) == ("closed", "closed", "resolved")
    assert v.escalations == 1 and v.extension_days == 5 and v.notes == 1
    types = [e.type for e in service.history(pid)]
    # Each stage with a time limit starts its clock as the petition enters it.
    assert types == ["Filed", "ClockStarted", "Accepted", "ClockStarted", "Assigned",
                     "ClockStarted", "Transferred", "MediationOpened", "ClockStarted",
                     "MediationSessionRecorded", "AgreementReached", "ClockStarted",
                     "ActionRecorded", "NoteAdded", "Escalated", "DeadlineExtended", "Replied",
                     "Resolved", "ClockStarted", "CallbackRecorded", "Closed"]
    assert v.version == len(types)
    assert v.allowed_commands == ()


def test_reject_with_referral(service: PetitionService, clerk: Actor) -> None:
    pid = file_petition(service, clerk)
    v = service.reject(pid, actor=clerk, reason="属司法程序事项", referral="江北区人民法院")
    assert (v.status, v.outcome, v.referral) == ("closed", "rejected", "江北区人民法院")
    with pytest.raises(InvalidInput) as info:
        service.reject(file_petition(service, clerk), actor=clerk, reason="x", referral=" ")
    assert info.value.field == "referral"


def test_duplicate_of_existing_petition(service: PetitionService, clerk: Actor) -> None:
    first = file_petition(service, clerk)
    second = file_petition(service, clerk)
    v = service.duplicate(second, actor=clerk, original_id=first)
    assert (v.outcome, v.duplicate_of) == ("duplicate", first)
    third = file_petition(service, clerk)
    with pytest.raises(PetitionNotFound):
        service.duplicate(third, actor=clerk, original_id=uuid4())
    with pytest.raises(InvalidInput):
        service.duplicate(third, actor=clerk, original_id=third)
    assert count(service, third) == 2  # Filed and the intake clock: nothing more


def test_withdraw_any_time_before_closing(service: PetitionService, clerk: Actor,
                                          worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    v = service.withdraw(pid, actor=Actor("wechat", "portal"), reason="问题已自行解决")
    assert (v.outcome, v.status) == ("withdrawn", "closed")
    with pytest.raises(TransitionNotAllowed) as info:
        service.withdraw(pid, actor=clerk, reason="again")
    assert info.value.allowed == ()


def test_dispute_sends_back_to_dispatch(service: PetitionService, clerk: Actor,
                                        worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_resolution(service, pid, worker)
    v = service.dispute(pid, actor=Actor("grid-3", "grid_worker"), reason="不属本单位职责")
    assert (v.stage, v.lead_unit) == ("dispatch", None)
    v = service.assign(pid, actor=worker, unit="区住建委", person="科长")
    assert (v.stage, v.lead_unit) == ("resolution", "区住建委")


def test_mediation_can_fail(service: PetitionService, clerk: Actor, worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_resolution(service, pid, worker)
    service.open_mediation(pid, actor=worker, mediator="老马", parties=["业主", "物业"])
    v = service.fail_mediation(pid, actor=worker, reason="物业拒绝让步")
    assert (v.stage, v.mediation_state) == ("resolution", "failed")


def test_unsatisfied_reopens_up_to_the_limit(service: PetitionService, clerk: Actor,
                                             worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    for n, target in enumerate(["mediation", "resolution"], start=1):
        service.callback(pid, actor=clerk, contacted=True, resolved=False, rating="unsatisfied")
        v = service.reopen(pid, actor=worker, to=target, reason="居民不满意")
        assert (v.stage, v.reopen_count) == (target, n)
        if target == "mediation":
            service.agree(pid, actor=worker, terms="再次协商")
        service.reply(pid, actor=worker, outcome="explain", text="再次说明")
        service.resolve(pid, actor=worker)
    service.callback(pid, actor=clerk, contacted=True, resolved=False, rating="unsatisfied")
    before = count(service, pid)
    with pytest.raises(TransitionNotAllowed) as info:
        service.reopen(pid, actor=worker, to="resolution", reason="第三次")
    assert "reopen limit of 2 reached" in str(info.value)
    assert count(service, pid) == before
    assert service.close(pid, actor=worker, note="多次解释仍不满意") is not None


def test_reopen_needs_an_unsatisfied_callback(service: PetitionService, clerk: Actor,
                                              worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    with pytest.raises(TransitionNotAllowed, match="requires unsatisfied"):
        service.reopen(pid, actor=worker, to="resolution", reason="?")
    service.callback(pid, actor=clerk, contacted=True, resolved=True, rating="satisfied")
    with pytest.raises(TransitionNotAllowed, match="requires unsatisfied"):
        service.reopen(pid, actor=worker, to="resolution", reason="?")
    service.callback(pid, actor=clerk, contacted=True, resolved=False, rating="unsatisfied")
    with pytest.raises(InvalidInput) as info:
        service.reopen(pid, actor=worker, to="intake", reason="?")
    assert info.value.field == "to"
    with pytest.raises(InvalidInput):
        service.reopen(pid, actor=worker, reason="no target")


def test_close_needs_a_callback_and_resolve_needs_a_reply(
        service: PetitionService, clerk: Actor, worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_resolution(service, pid, worker)
    with pytest.raises(TransitionNotAllowed, match="requires replied"):
        service.resolve(pid, actor=worker)
    service.reply(pid, actor=worker, outcome="not-support", text="不符合政策")
    service.resolve(pid, actor=worker)
    with pytest.raises(TransitionNotAllowed, match="requires callback_recorded"):
        service.close(pid, actor=worker)


def test_callback_values_are_checked(service: PetitionService, clerk: Actor,
                                     worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    with pytest.raises(InvalidInput) as info:
        service.callback(pid, actor=clerk, contacted=True, resolved=True, rating="happy")
    assert "satisfied, basically_satisfied, unsatisfied" in str(info.value)
    with pytest.raises(InvalidInput):
        service.callback(pid, actor=clerk, contacted=True, resolved=True)
    with pytest.raises(InvalidInput):
        service.callback(pid, actor=clerk, contacted=False, resolved=False, rating="satisfied")
    v = service.callback(pid, actor=clerk, contacted=False, resolved=False)
    assert v.last_contacted is False and v.last_rating is None


def test_transition_not_allowed_names_stage_and_allowed(
        service: PetitionService, clerk: Actor, worker: Actor) -> None:
    pid = file_petition(service, clerk)
    with pytest.raises(TransitionNotAllowed) as info:
        service.resolve(pid, actor=worker)
    err = info.value
    assert err.stage == "intake" and err.command == "resolve"
    assert err.allowed == ("accept", "reject", "duplicate", "answer_now", "note", "escalate",
                           "extend", "remind", "exclude", "withdraw")
    assert "intake" in str(err) and "accept" in str(err)
    assert count(service, pid) == 2  # Filed and the intake clock: nothing more


@pytest.mark.parametrize("role", ["auditor", "portal", "mediator"])
def test_roles_that_may_not_accept(service: PetitionService, clerk: Actor, role: str) -> None:
    pid = file_petition(service, clerk)
    with pytest.raises(PermissionDenied) as info:
        service.accept(pid, actor=Actor("x", role))
    assert info.value.role == role
    assert "caseworker" in info.value.allowed_roles
    assert count(service, pid) == 2  # Filed and the intake clock: nothing more


def test_auditor_issues_nothing(service: PetitionService, clerk: Actor, worker: Actor,
                                auditor: Actor) -> None:
    with pytest.raises(PermissionDenied):
        file_petition(service, auditor)
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    for call in (
        lambda: service.note(pid, actor=auditor, text="x"),
        lambda: service.escalate(pid, actor=auditor, reason="x"),
        lambda: service.callback(pid, actor=auditor, contacted=True, resolved=True,
                                 rating="satisfied"),
        lambda: service.withdraw(pid, actor=auditor, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert count(service, pid) == 9  # 5 commands and the 4 clocks they started


def test_supervisor_escalates_and_extends(service: PetitionService, clerk: Actor,
                                          worker: Actor, supervisor: Actor) -> None:
    pid = file_petition(service, clerk)
    with pytest.raises(PermissionDenied):
        service.extend(pid, actor=worker, days=3, reason="x")
    v = service.extend(pid, actor=supervisor, days=3, reason="材料待补", approver="主任王")
    assert v.extension_days == 3
    history = service.history(pid)
    assert history[-1].data["approver"] == "主任王"
    with pytest.raises(InvalidInput):
        service.extend(pid, actor=supervisor, days=0, reason="x")


def test_bad_input_is_refused_with_the_field(service: PetitionService, clerk: Actor) -> None:
    with pytest.raises(InvalidInput) as info:
        file_petition(service, clerk, category="potholes")
    assert info.value.field == "category"
    assert "traffic" in str(info.value) and "property_management" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        file_petition(service, clerk, channel="pigeon")
    assert info.value.field == "channel" and "sos_device" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        file_petition(service, clerk, title="  ")
    assert info.value.field == "title"
    with pytest.raises(InvalidInput) as info:
        file_petition(service, clerk, petitioner=Petitioner(kind="alien", name="x"))
    assert info.value.field == "petitioner.kind"
    reps = tuple(Person(f"代表{i}") for i in range(6))
    with pytest.raises(InvalidInput) as info:
        file_petition(service, clerk, petitioner=Petitioner(kind="collective", name="业主",
                                                            representatives=reps))
    assert info.value.field == "petitioner.representatives"
    ok = file_petition(service, clerk, petitioner=Petitioner(kind="collective", name="东方家园业主",
                                                             representatives=reps[:5]))
    assert len(service.get(ok).petitioner.representatives) == 5  # type: ignore[arg-type]
    with pytest.raises(WorkflowNotFound):
        file_petition(service, clerk, workflow="nope")
    with pytest.raises(InvalidInput):
        service.get("not-a-uuid")


def test_times_in_the_world(service: PetitionService, clerk: Actor, worker: Actor) -> None:
    late = datetime(2022, 3, 1, 9, 0, tzinfo=UTC)
    pid = file_petition(service, clerk, at=late)
    assert service.get(pid).filed_at == late  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="future"):
        service.accept(pid, actor=worker, at=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(InvalidInput, match="before the petition was filed"):
        service.accept(pid, actor=worker, at=late - timedelta(days=1))
    with pytest.raises(InvalidInput, match="time zone"):
        service.accept(pid, actor=worker, at=datetime(2022, 3, 2, 9, 0))
    v = service.accept(pid, actor=worker, at=late + timedelta(hours=2))
    events = service.history(pid)  # type: ignore[arg-type]
    assert events[-1].occurred_at == late + timedelta(hours=2)
    assert events[-1].recorded_at > events[-1].occurred_at  # store's own time
    assert [e.type for e in events[-2:]] == ["Accepted", "ClockStarted"]
    assert v.version == 4


def test_not_found(service: PetitionService, worker: Actor) -> None:
    missing = uuid4()
    with pytest.raises(PetitionNotFound):
        service.get(missing)
    with pytest.raises(PetitionNotFound):
        service.accept(missing, actor=worker)
    with pytest.raises(PetitionNotFound):
        service.history(missing)


def test_idempotent_filing(service: PetitionService, clerk: Actor) -> None:
    a = file_petition(service, clerk, idempotency_key="12345:2022-000931")
    b = file_petition(service, clerk, idempotency_key="12345:2022-000931", title="重复提交")
    assert a == b
    assert service.get(a).title == "小区停车难"  # type: ignore[arg-type]
    assert count(service, a) == 2  # Filed and its intake clock, once
    c = file_petition(service, clerk, idempotency_key="12345:2022-000932")
    assert c != a


def test_expected_version_and_concurrent_update(service: PetitionService, clerk: Actor,
                                                worker: Actor) -> None:
    pid = file_petition(service, clerk)
    with pytest.raises(ConcurrentUpdate):
        service.accept(pid, actor=worker, expected_version=1)
    assert service.accept(pid, actor=worker, expected_version=2).version == 4

    # Two writers load the same version; the second save conflicts and writes nothing.
    from eventsourcing.persistence import IntegrityError

    from petitions.domain.petition import Petition

    with store_beside(service) as store:
        first: Petition = store.load(pid)  # type: ignore[arg-type]
        second: Petition = store.load(pid)  # type: ignore[arg-type]
        wf = store.workflow_of(first)
        now = datetime.now(UTC)
        first.note(wf, worker, now, "甲")
        second.note(wf, worker, now, "乙")
        store.save(first)
        with pytest.raises(IntegrityError):
            store.save(second)
    assert [e.data.get("text") for e in service.history(pid)][-1] == "甲"


def test_retry_on_conflict_retries_only_conflicts(service: PetitionService, clerk: Actor,
                                                  worker: Actor) -> None:
    pid = file_petition(service, clerk)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentUpdate(pid)
        return "done"

    assert retry_on_conflict(flaky) == "done" and len(calls) == 3
    with pytest.raises(ConcurrentUpdate):
        retry_on_conflict(lambda: (_ for _ in ()).throw(ConcurrentUpdate(pid)), attempts=2)
    with pytest.raises(TransitionNotAllowed):
        retry_on_conflict(service.resolve, pid, actor=worker)


def test_get_at_version(service: PetitionService, clerk: Actor, worker: Actor) -> None:
    pid = file_petition(service, clerk)
    to_review(service, pid, worker)
    # Filed, ClockStarted, Accepted, ClockStarted, Assigned, ClockStarted, …
    assert service.get(pid, version=1).stage == "intake"  # type: ignore[arg-type]
    assert service.get(pid, version=5).stage == "resolution"  # type: ignore[arg-type]
    assert service.get(pid, version=5).version == 5  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        service.get(pid, version=99)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        service.get(pid, version=0)  # type: ignore[arg-type]


def test_all_errors_are_petition_errors() -> None:
    for cls in (ConcurrentUpdate, InvalidInput, PermissionDenied, PetitionNotFound,
                TransitionNotAllowed, WorkflowNotFound):
        assert issubclass(cls, PetitionError)


def test_snapshots_do_not_change_state(tmp_path: Path, clerk: Actor, worker: Actor) -> None:
    svc = PetitionService.open(str(tmp_path / "snap.sqlite"), snapshot_interval=3)
    plain = PetitionService.open(str(tmp_path / "plain.sqlite"), snapshot_interval=0)
    for s in (svc, plain):
        pid = file_petition(s, clerk, idempotency_key="same")
        to_review(s, pid, worker)
        for i in range(4):
            s.note(pid, actor=worker, text=f"备注{i}")
    with store_beside(svc, snapshot_interval=3) as store:
        assert store.snapshots is not None
        assert len(list(store.snapshots.get(pid))) >= 2  # type: ignore[arg-type]
    with store_beside(plain, snapshot_interval=0) as store:
        assert store.snapshots is None
    a, b = svc.get(pid).to_dict(), plain.get(pid).to_dict()  # type: ignore[arg-type]
    for d in (a, b):
        d.pop("recorded_at"), d.pop("updated_at"), d.pop("filed_at")
        d["petitioner"].pop("id")
    assert a == b
    svc.shutdown()
    plain.shutdown()


def test_memory_database_works_across_threads(clerk: Actor) -> None:
    import threading

    svc = PetitionService.open(":memory:")
    ids: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            ids.append(file_petition(svc, clerk))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(svc.get(i).stage == "intake" for i in ids)  # type: ignore[arg-type]
    assert len(set(ids)) == 4
    svc.shutdown()


def test_what_the_service_returns_keeps_it_open(tmp_path: object, clerk: Actor) -> None:
    """eventsourcing 9.5 closes an application's connections when it is garbage
    collected; a feed taken from a service nobody else holds must still work."""
    import gc
    from pathlib import Path

    db = str(Path(str(tmp_path)) / "gc.sqlite")
    svc = PetitionService.open(db)
    pid = file_petition(svc, clerk)
    svc.shutdown()
    feed = PetitionService.open(db).changes(after=0)
    gc.collect()
    assert [c.petition_id for c in feed] == [pid, pid]  # Filed, ClockStarted
    with PetitionService.open(db) as again:
        assert again.get(pid).stage == "intake"  # type: ignore[arg-type]


def test_callback_is_independent_of_who_handled_it(service: PetitionService, clerk: Actor,
                                                   worker: Actor, supervisor: Actor) -> None:
    from petitions import CallbackNotIndependent, PermissionDenied

    pid = file_petition(service, clerk)
    service.accept(pid, actor=worker)
    service.assign(pid, actor=worker, unit="寸滩街道", person="张")
    service.reply(pid, actor=supervisor, outcome="support", text="已办")
    service.resolve(pid, actor=worker)
    version = service.get(pid).version
    # The standard workflow gives call-backs to the hotline and supervisors, not to the unit.
    with pytest.raises(PermissionDenied) as denied:
        service.callback(pid, actor=worker, contacted=True, resolved=True, rating="satisfied")
    assert not isinstance(denied.value, CallbackNotIndependent)
    # A supervisor who replied may not rate the work either: the rule is named.
    with pytest.raises(CallbackNotIndependent, match="independent call-back"):
        service.callback(pid, actor=supervisor, contacted=True, resolved=True,
                         rating="satisfied")
    assert service.get(pid).version == version
    # A call-back that cannot reach the petitioner is recorded as such, by the hotline.
    view = service.callback(pid, actor=clerk, contacted=False, resolved=False)
    assert view.last_contacted is False and view.last_rating is None
    # The call-back has its own time limit after resolution (review stage).
    wf = service.workflow("standard")
    limit = wf.stage("review").limit
    assert limit is not None and limit.start == "resolve"
