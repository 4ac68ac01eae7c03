"""Read models: the case index, caseloads, campaign progress and text search,
kept in step with the events exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.readmodels import projection as projection_module

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
SUPERVISOR = Actor("supervisor-zhang", "supervisor")

STREETS = ("寸滩街道", "华新街街道", "江北城街道")
GRIDS = ("1", "2", "3")


def file(svc: PetitionService, title: str = "小区停车难",
         description: str = "吉安园茅溪小区业主反映车位不足、乱停车严重",
         street: str = "寸滩街道", grid: str = "3", category: str = "property_management",
         campaign_id: UUID | None = None, at: datetime | None = None) -> UUID:
    return svc.file(actor=CLERK, petitioner=Petitioner(id="", kind="resident", name="刘先生"),
                    title=title, description=description, category=category,
                    channel="door_to_door",
                    location=Location(street=street, community="保税商厦社区", grid=grid),
                    campaign_id=campaign_id, at=at)


def handle_to_review(svc: PetitionService, pid: UUID, person: str = "网格员张") -> None:
    svc.accept(pid, actor=WORKER)
    svc.assign(pid, actor=WORKER, unit="寸滩街道", person=person)
    svc.reply(pid, actor=WORKER, outcome="support", text="已处理")
    svc.resolve(pid, actor=WORKER)


def test_case_index_follows_commands(service: PetitionService) -> None:
    pid = file(service)
    [case] = service.list_petitions()
    # Filed and the intake clock it started.
    assert (case.id, case.stage, case.status, case.version) == (str(pid), "intake", "open", 2)
    assert case.deadline is not None and case.deadline_state == "on_time"
    handle_to_review(service, pid)
    service.callback(pid, actor=CLERK, contacted=True, resolved=True, rating="satisfied")
    service.close(pid, actor=WORKER)
    [case] = service.list_petitions()
    assert (case.stage, case.status, case.outcome) == ("closed", "closed", "resolved")
    assert case.version == service.get(pid).version
    assert (case.lead_unit, case.assignee, case.last_rating) == ("寸滩街道", "网格员张",
                                                                "satisfied")
    assert case.workflow == "standard"
    assert case.petitioner_kind == "resident"


def test_definitions_are_skipped(service: PetitionService) -> None:
    # The first filing also stores the workflow definition's text (another aggregate).
    file(service)
    file(service, title="第二件")
    assert service.read_models.count() == 2
    assert service.read_models.position() == service.recorder.max_notification_id()


def test_filters(service: PetitionService) -> None:
    a = file(service, street="寸滩街道", grid="1")
    b = file(service, street="寸滩街道", grid="2")
    c = file(service, street="华新街街道", grid="1", category="traffic")
    handle_to_review(service, b, person="王强")
    service.withdraw(c, actor=CLERK, reason="已自行解决")

    def ids(**filters: Any) -> set[str]:
        return {p.id for p in service.list_petitions(**filters)}

    assert ids(street="寸滩街道") == {str(a), str(b)}
    assert ids(street="寸滩街道", grid="1") == {str(a)}
    assert ids(status="closed") == {str(c)}
    assert ids(status="open", stage="review") == {str(b)}
    assert ids(assignee="王强") == {str(b)}
    assert ids(unit="寸滩街道") == {str(b)}
    assert ids(category="traffic") == {str(c)}
    assert ids(outcome="withdrawn") == {str(c)}
    assert ids(workflow="standard") == {str(a), str(b), str(c)}
    assert ids(street="寸滩街道", status="closed") == set()
    assert service.read_models.count(street="寸滩街道") == 2
    assert [p.id for p in service.list_petitions(limit=1)] != []
    assert len(service.list_petitions(limit=2)) == 2


def test_unknown_filter_is_refused(service: PetitionService) -> None:
    from petitions import InvalidInput

    with pytest.raises(InvalidInput) as info:
        service.list_petitions(colour="red")
    assert "colour" in str(info.value)


def test_chinese_text_search(service: PetitionService) -> None:
    parking = file(service, title="小区停车难", description="业主反映车位不足")
    lift = file(service, title="老旧楼加装电梯", description="五楼老人上下楼困难")
    shop = file(service, title="商铺噪音扰民", description="夜间KTV噪音 100% 超标")
    assert [p.id for p in service.search("停车")] == [str(parking)]         # two characters
    assert [p.id for p in service.search("加装电梯")] == [str(lift)]        # trigram path
    assert [p.id for p in service.search("上下楼")] == [str(lift)]          # in description
    assert [p.id for p in service.search("ktv")] == [str(shop)]             # case-insensitive
    assert [p.id for p in service.search("100%")] == [str(shop)]            # no wildcard
    assert [p.id for p in service.search("%")] == [str(shop)]
    assert service.search("菜市场") == []
    assert [p.id for p in service.search("老", street="寸滩街道")] == [str(lift)]


def test_a_page_found_before_its_numbers_are_joined_is_the_page_of_one_join(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL finds a page of cases before it joins their work-order
    # numbers (``PAGE_FIRST``; SQLite joins as it reads): lists, pages,
    # searches and the deadline queue give the same rows, numbers and order
    # either way, on both backends.
    base = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    streets = ["寸滩街道", "江北城街道"]
    for i in range(23):  # some filed at the same time: ordered by id then
        file(service, title=["小区停车难", "老旧楼加装电梯"][i % 2], street=streets[i % 3 % 2],
             at=base + timedelta(hours=i // 2))

    def everything() -> list[Any]:
        found: list[Any] = []
        for offset in (0, 5, 20):
            found.append(service.list_petitions(limit=5, offset=offset))
            found.append(service.list_petitions(street="寸滩街道", status="open", limit=4,
                                                offset=offset))
        found.append(service.list_petitions(text="加装电梯", limit=7))
        found.append(service.list_petitions(text="停车", street="江北城街道", limit=3, offset=1))
        found.append(service.list_petitions(overdue=True, due_within=timedelta(days=30),
                                            limit=6))
        return [[(p.id, p.number, p.title, p.filed_at) for p in page] for page in found]

    store = type(service.read_models.store)
    first = everything()
    assert [len(page) for page in first] == [5, 4, 5, 4, 3, 0, 7, 3, 6]
    assert all(number for page in first for _, number, _, _ in page)
    monkeypatch.setattr(store, "PAGE_FIRST", not store.PAGE_FIRST)
    assert everything() == first


def test_caseload_and_campaign_progress(service: PetitionService) -> None:
    campaign = service.open_campaign(actor=SUPERVISOR, name="吉安园茅溪小区进家入户",
                                     location=Location(street="寸滩街道"))
    a = file(service, campaign_id=campaign)
    b = file(service, campaign_id=campaign)
    file(service)
    handle_to_review(service, a, person="王强")
    handle_to_review(service, b, person="王强")
    service.callback(a, actor=CLERK, contacted=True, resolved=True, rating="satisfied")
    service.close(a, actor=WORKER)
    loads = {c.person: (c.open, c.closed) for c in service.read_models.caseload("assignee")}
    assert loads == {"王强": (1, 1)}
    [progress] = service.read_models.campaigns()
    assert (progress.campaign_id, progress.total, progress.open, progress.closed,
            progress.resolved) == (str(campaign), 2, 1, 1, 1)


def test_mediator_caseload(service: PetitionService) -> None:
    pid = file(service)
    svc = service
    svc.accept(pid, actor=WORKER)
    svc.assign(pid, actor=WORKER, unit="寸滩街道", person="王强")
    svc.open_mediation(pid, actor=WORKER, mediator="老马", parties=["业主", "物业"])
    assert [(c.person, c.open) for c in svc.read_models.caseload("mediator")] == [("老马", 1)]
    svc.withdraw(pid, actor=CLERK, reason="和解")
    assert [(c.person, c.open, c.closed)
            for c in svc.read_models.caseload("mediator")] == [("老马", 0, 1)]


# ------------------------------------------------------------ rebuilding
def random_history(svc: PetitionService, rng: random.Random, petitions: int = 12, *,
                   catch_up: bool = False) -> None:
    """Random but valid commands over several petitions; with ``catch_up``, the
    views catch up after every command (one small batch each time)."""
    start = datetime(2022, 3, 1, tzinfo=UTC)
    campaigns = [svc.open_campaign(actor=SUPERVISOR, name=f"进家入户第{n}批",
                                   at=start - timedelta(days=1)) for n in (1, 2)]
    ids = [file(svc, street=rng.choice(STREETS), grid=rng.choice(GRIDS),
                campaign_id=rng.choice([None, *campaigns]),
                at=start + timedelta(days=i)) for i in range(petitions)]
    people = ["王强", "李工", "胡安庆"]
    for _ in range(petitions * 6):
        pid = rng.choice(ids)
        view = svc.get(pid)
        allowed = [c for c in view.allowed_commands if c not in ("escalate", "extend")]
        if not allowed:
            continue
        command = rng.choice(allowed)
        try:
            if command == "accept":
                svc.accept(pid, actor=WORKER)
            elif command == "reject":
                svc.reject(pid, actor=WORKER, reason="不属于受理范围", referral="区法院")
            elif command == "duplicate":
                other = rng.choice([i for i in ids if i != pid])
                svc.duplicate(pid, actor=WORKER, original_id=other)
            elif command == "assign":
                svc.assign(pid, actor=WORKER, unit=rng.choice(STREETS),
                           person=rng.choice(people))
            elif command == "transfer":
                svc.transfer(pid, actor=WORKER, unit="区住建委", person=rng.choice(people),
                             reason="专业对口")
            elif command == "dispute":
                svc.dispute(pid, actor=WORKER, reason="不属本单位职责")
            elif command == "open_mediation":
                svc.open_mediation(pid, actor=WORKER, mediator=rng.choice(people),
                                   parties=["业主", "物业"])
            elif command == "record_session":
                svc.record_session(pid, actor=WORKER, place="社区", participants=["业主"])
            elif command == "agree":
                svc.agree(pid, actor=WORKER, terms="和解")
            elif command == "fail_mediation":
                svc.fail_mediation(pid, actor=WORKER, reason="未达成一致")
            elif command == "act":
                svc.act(pid, actor=WORKER, action="现场查看")
            elif command == "reply":
                svc.reply(pid, actor=WORKER, outcome=rng.choice(["support", "explain"]),
                          text="答复")
            elif command == "resolve":
                svc.resolve(pid, actor=WORKER)
            elif command == "callback":
                contacted = rng.random() < 0.8
                svc.callback(pid, actor=CLERK, contacted=contacted,
                             resolved=rng.random() < 0.7,
                             rating=rng.choice(["satisfied", "basically_satisfied",
                                                "unsatisfied"]) if contacted else None)
            elif command == "reopen":
                svc.reopen(pid, actor=WORKER, to=rng.choice(["mediation", "resolution"]),
                           reason="不满意")
            elif command == "close":
                svc.close(pid, actor=WORKER)
            elif command == "note":
                svc.note(pid, actor=WORKER, text="备注")
            elif command == "withdraw" and rng.random() < 0.3:
                svc.withdraw(pid, actor=CLERK, reason="撤回")
        except Exception as exc:  # refused by a rule the random walk did not check
            from petitions import PetitionError

            assert isinstance(exc, PetitionError)
        if catch_up:
            svc.read_models.catch_up()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebuild_equals_incremental(service: PetitionService, seed: int) -> None:
    random_history(service, random.Random(seed), catch_up=True)
    incremental = service.read_models.store.dump()
    assert len(incremental["petition_index"]) == 12
    # Each index row agrees with the aggregate it summarises.
    for row in incremental["petition_index"]:
        view = service.get(row[0])
        assert (row[1], row[5], row[7]) == (view.version, view.stage, view.outcome)
    service.read_models.rebuild()
    assert service.read_models.store.dump() == incremental
    assert service.read_models.position() == service.recorder.max_notification_id()


def test_catch_up_resumes_after_a_crash(service: PetitionService,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while applying a batch writes nothing of it: the views stay at
    their last tracked position and finish the work on the next catch-up."""
    service.read_models.inline = False  # views are only updated by the catch-ups below
    random_history(service, random.Random(7), petitions=6)
    service.read_models.catch_up()
    before = service.read_models.store.dump()
    before_position = service.read_models.position()
    more = file(service, title="新的诉求")
    handle_to_review(service, more)

    # Events are applied by apply_event or, read straight from their bytes,
    # by apply_fast: the third applied, whichever way, fails.
    calls = {"n": 0}

    def flaky(real: Any) -> Any:
        def apply(tx: Any, event: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("power cut")
            real(tx, event)
        return apply

    for name in ("apply_event", "apply_fast"):
        monkeypatch.setattr(projection_module, name, flaky(getattr(projection_module, name)))
    with pytest.raises(RuntimeError):
        service.read_models.catch_up()
    assert calls["n"] == 3
    assert service.read_models.position() == before_position
    assert service.read_models.store.dump() == before
    monkeypatch.undo()
    assert service.read_models.catch_up() > 0
    after = service.read_models.store.dump()
    service.read_models.rebuild()
    assert service.read_models.store.dump() == after
    assert str(more) in {row[0] for row in after["petition_index"]}


def test_two_processes_catching_up_apply_each_event_once(backend_url: str) -> None:
    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        a.read_models.inline = b.read_models.inline = False
        for i in range(5):
            file(a, title=f"诉求{i}")
        a.read_models.catch_up()
        assert b.read_models.catch_up() == 0  # a's tracking record says they are done
        assert b.read_models.count() == 5
        handle_to_review(b, UUID(b.list_petitions()[0].id))
        b.read_models.catch_up()
        dump = a.read_models.store.dump()
        a.read_models.rebuild()
        assert a.read_models.store.dump() == dump
    finally:
        a.shutdown()
        b.shutdown()


def test_projection_runner_on_postgres(backend_url: str) -> None:
    """On PostgreSQL the same projection runs under eventsourcing's runner."""
    if not backend_url.startswith("postgresql://"):
        pytest.skip("the projection runner follows PostgreSQL only")
    from petitions.readmodels.runner import runner

    svc = PetitionService.open(backend_url)
    try:
        svc.read_models.inline = False
        svc.read_models.store.create_table()  # type: ignore[attr-defined]
        with runner(backend_url) as r:
            pids = [file(svc, title=f"诉求{i}") for i in range(3)]
            handle_to_review(svc, pids[0])
            r.wait(svc.recorder.max_notification_id(), timeout=10)
        assert svc.read_models.position() == svc.recorder.max_notification_id()
        by_runner = svc.read_models.store.dump()
        assert {row[0] for row in by_runner["petition_index"]} == {str(p) for p in pids}
        svc.read_models.rebuild()
        assert svc.read_models.store.dump() == by_runner
    finally:
        svc.shutdown()
