"""The demo: cases 1–9 under their own workflows, idempotent, on every backend."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
from click.testing import CliRunner
from eventsourcing.utils import get_topic

from cli import main
from petitions import EventView, PetitionService
from petitions.demo import (
    CASES,
    EVENT_OF,
    Case,
    CaseResult,
    Filing,
    load_all,
    load_case,
    open_campaign,
    petition_total,
    run_case_3,
)
from petitions.domain.campaign import Campaign
from petitions.domain.petition import petition_id_for
from petitions.timefmt import local

ELECTION = ["publicise", "nominate_representatives", "collect_applications",
            "form_working_group", "prepare_assembly", "lawful_election"]


def campaigns_opened(svc: PetitionService) -> int:
    found = svc.recorder.select_notifications(start=0, limit=1000,
                                              topics=[get_topic(Campaign.Opened)],
                                              inclusive_of_start=False)
    return len(found)


def types(svc: PetitionService, pid: UUID) -> list[str]:
    """The demo's own events: without what the time limits recorded (``Clock…``)."""
    return [type(e).__name__ for e in svc.petition_events(pid)
            if not type(e).__name__.startswith("Clock")]


def handled(svc: PetitionService, pid: UUID) -> list[EventView]:
    """The history without what the time limits recorded (``Clock…``)."""
    return [e for e in svc.history(pid) if not e.type.startswith("Clock")]


def assert_complete(svc: PetitionService, filing: Filing) -> None:
    """The petition holds exactly its filing (with an acceptance on filing when
    the workflow accepts its channel so) and each of its steps once, in order."""
    seen = types(svc, petition_id_for(filing.key))
    assert seen[0] == "Filed"
    rest = seen[1:]
    wf = svc.workflow(filing.workflow)
    if filing.channel in wf.channels_accepted_on_filing:
        assert rest[0] == "Accepted" and filing.steps[0].command != "accept", filing.key
        rest = rest[1:]
    assert rest == [EVENT_OF[s.command] for s in filing.steps
                    if not EVENT_OF[s.command].startswith("Clock")], filing.key


def by_number(results: list[CaseResult]) -> dict[int, CaseResult]:
    return {r.case.number: r for r in results}


def test_twice_adds_nothing(service: PetitionService) -> None:
    ticks: list[int] = []
    first = load_all(service, progress=lambda: ticks.append(1))
    assert len(ticks) == petition_total() == 9 + 34
    assert [r.case.number for r in first] == list(range(1, 10))
    assert all(r.new for r in first)
    position = service.recorder.max_notification_id()
    second = load_all(service)
    assert not any(r.new for r in second)
    assert service.recorder.max_notification_id() == position
    assert [(r.petition_id, r.view.version, r.events) for r in second] == [
        (r.petition_id, r.view.version, r.events) for r in first]
    assert campaigns_opened(service) == 1
    assert run_case_3(service) == (first[2].petition_id, False)
    for case in CASES:
        for filing in case.filings:
            assert_complete(service, filing)


def test_each_case_under_its_workflow(service: PetitionService) -> None:
    results = by_number(load_all(service))
    workflows = {n: r.view.workflow.name for n, r in results.items()}
    assert workflows == {1: "property_dispute", 2: "property_dispute",
                         3: "enterprise_service", 4: "enterprise_service",
                         5: "enterprise_service", 6: "standard", 7: "standard",
                         8: "standard", 9: "standard"}
    stages = {n: (r.view.stage, r.view.outcome) for n, r in results.items()}
    # The report tells of no call-back (回访) in any case: each waits for one,
    # or is still being handled where the report leaves it.
    waiting = ("review", None)
    assert stages == {1: waiting, 2: ("mediation", None), 3: waiting, 4: waiting, 5: waiting,
                      6: ("resolution", None), 7: waiting, 8: waiting, 9: waiting}
    for r in results.values():
        assert r.view.last_rating is None, r.case.name
        for filing in r.case.filings:
            kinds = types(service, petition_id_for(filing.key))
            assert "CallbackRecorded" not in kinds and "Closed" not in kinds, filing.key
        for event in service.petition_events(r.petition_id):
            assert event.occurred_at.tzinfo is not None
    assert {local(r.view.filed_at).year for n, r in results.items() if n != 9} == {2022}
    assert local(results[9].view.updated_at).year == 2022


def test_case_1_dongfang_jiayuan(service: PetitionService) -> None:
    r = load_case(service, CASES[0])
    view = r.view
    assert (r.case.name, view.location.street) == ("东方家园", "华新街街道")
    assert view.parties == ("业主代表", "原业委会", "物业公司")
    assert view.sessions == 2 and view.mediation_state is not None
    assert view.plan == "owners_committee_election"
    assert list(view.plan_steps_done) == ELECTION
    history = handled(service, r.petition_id)
    seen = [e.type for e in history]
    first_step = seen.index("PlanStepCompleted")
    assert seen.index("AgreementReached") < first_step
    assert seen.count("MediationSessionRecorded") == 2
    steps = [e for e in history if e.type == "PlanStepCompleted"]
    assert [e.data["step"] for e in steps] == ELECTION
    assert [e.occurred_at for e in steps] == sorted(e.occurred_at for e in steps)
    assert all(e.data["evidence"] for e in steps)
    assert "5名" in steps[-1].data["evidence"] and "党员3人" in steps[-1].data["evidence"]
    assert seen[-1] == "Resolved" and "CallbackRecorded" not in seen
    assert view.lead_unit == "社区党委"


def test_case_2_campaign_of_34_suggestions(service: PetitionService) -> None:
    r = load_case(service, CASES[1])
    assert r.view.location.community == "保税商厦社区" and "1224户" in r.view.description
    assert (r.view.workflow.name, r.view.stage, r.view.status) == (
        "property_dispute", "mediation", "open")
    assert r.view.campaign_id is None  # the compound's own petition is not a suggestion
    assert r.campaign is not None
    # 一一落实解决: every suggestion resolved by the street; the report tells of
    # no call-back, so each waits for one (none is closed).
    assert (r.campaign.collected, r.campaign.resolved, r.campaign.open,
            r.campaign.awaiting_callback) == (34, 0, 34, 34)
    assert r.petitions == 35
    for pid in r.campaign.petition_ids:
        view = service.get(pid)
        assert (view.workflow.name, view.matter_type, view.campaign_id) == (
            "campaign", "suggestion", r.campaign.id)
        assert (view.stage, view.outcome, view.channel) == ("review", None, "door_to_door")
        assert view.lead_unit == "寸滩街道" and view.assignee == "寸滩街道党工委"
        assert "callback" in view.allowed_commands
        kinds = types(service, pid)
        assert "CallbackRecorded" not in kinds and "Closed" not in kinds
    assert r.events == r.view.version + sum(service.get(pid).version
                                            for pid in r.campaign.petition_ids)
    assert service.read_models.campaigns()[0].campaign_id == str(r.campaign.id)


def test_cases_3_to_5_enterprise_service(service: PetitionService) -> None:
    results = by_number(load_all(service))
    for n in (3, 4, 5):
        history = handled(service, results[n].petition_id)
        assert [e.type for e in history[:2]] == ["Filed", "Accepted"]
        assert history[1].occurred_at == history[0].occurred_at  # accepted on filing
    xinan = results[3].view
    assert (xinan.channel, xinan.co_units) == ("enterprise_liaison", ("区交警支队",))
    meeting = [e for e in handled(service, xinan.id) if e.type == "OnSiteMeetingHeld"]
    assert len(meeting) == 1 and "区交警支队" in str(meeting[0].data)
    # 王晓华's words were said to the report: a note; the call-back is still due.
    xinan_history = handled(service, xinan.id)
    assert "CallbackRecorded" not in [e.type for e in xinan_history]
    assert xinan_history[-1].type == "NoteAdded" and "很满意" in xinan_history[-1].data["text"]
    assert xinan.petitioner.phone in (None, "")  # the report gives no phone
    qixiang = results[4].view
    assert qixiang.channel == "chamber_of_commerce"
    # The street is accountable; its chamber of commerce links the bank platform.
    assert (qixiang.lead_unit, qixiang.co_units) == ("大石坝街道", ("大石坝街道商会",))
    assert "100余万元" in (qixiang.reply_text or "")
    hankook = handled(service, results[5].petition_id)
    assert "CallbackRecorded" not in [e.type for e in hankook]  # a thank-you is no 回访
    assert hankook[-1].type == "NoteAdded" and "表扬" in hankook[-1].data["text"]
    fair = [e for e in handled(service, results[5].petition_id) if "春风行动" in str(e.data)]
    assert local(fair[0].occurred_at).date().isoformat() == "2022-03-01"
    assert "56家企业" in fair[0].data["action"]


def test_cases_6_to_9(service: PetitionService) -> None:
    results = by_number(load_all(service))
    # Case 6: the home-care project, not an SOS call (the report tells of none).
    care = results[6].view
    assert (care.workflow.name, care.channel, care.stage) == ("standard", "door_to_door",
                                                             "resolution")
    assert "208户" in care.description and care.petitioner.name == "石马河街道208户老人家庭"
    care_history = handled(service, care.id)
    assert [e.type for e in care_history] == ["Filed", "Accepted", "Assigned", "ActionRecorded",
                                              "ActionRecorded", "NoteAdded"]
    assert any("SOS" in str(e.data) and "徐英" in str(e.data) for e in care_history)
    assert "基本完成" in care_history[-1].data["text"]
    alarms = results[7].view
    assert (alarms.channel, alarms.location.community) == ("door_to_door", "福生路社区")
    assert "社区服务名单" in alarms.description and "40户" in alarms.description
    alarm_history = handled(service, alarms.id)
    assert alarm_history[1].type == "Accepted"
    assert any("独立烟感报警器" in str(e.data) for e in alarm_history)
    assert alarm_history[-1].type == "NoteAdded" and "心里踏实" in alarm_history[-1].data["text"]
    grid = results[8].view
    assert (grid.channel, grid.assignee) == ("grid_visit", "胡安庆")
    assert "callback" in grid.allowed_commands
    wharf = results[9].view
    assert wharf.location.place == "龙兴寺码头" and wharf.matter_type == "suggestion"
    kinds = [type(e).__name__ for e in service.petition_events(wharf.id)]
    assert kinds.index("ClockPaused") < kinds.index("ClockResumed") < kinds.index("Replied")


def test_interrupted_run_is_completed(service: PetitionService) -> None:
    """Part of case 1 and of case 2's campaign, as an interrupted run leaves them;
    the next run records the rest, once."""
    one, two = CASES[0], CASES[1]
    assert two.campaign is not None
    part_one = attrs.evolve(one, petition=attrs.evolve(one.petition,
                                                       steps=one.petition.steps[:9]))
    suggestions = tuple(attrs.evolve(s, steps=s.steps[:i % 4])
                        for i, s in enumerate(two.campaign.suggestions[:5]))
    part_two = attrs.evolve(two, petition=attrs.evolve(two.petition, steps=()),
                            campaign=attrs.evolve(two.campaign, suggestions=suggestions))
    load_case(service, part_one)
    load_case(service, part_two)
    assert list(service.get(petition_id_for(one.key)).plan_steps_done) == ELECTION[:2]
    results = by_number(load_all(service))
    assert all(results[n].new for n in results)
    assert campaigns_opened(service) == 1
    assert results[2].campaign is not None
    assert (results[2].campaign.collected, results[2].campaign.awaiting_callback) == (34, 34)
    assert list(results[1].view.plan_steps_done) == ELECTION
    for case in (one, two):
        for filing in case.filings:
            assert_complete(service, filing)


def test_campaign_opened_before_an_interruption_is_found_again(
        service: PetitionService) -> None:
    plan = CASES[1].campaign
    assert plan is not None
    cid, new = open_campaign(service, plan)
    assert new
    assert open_campaign(service, plan) == (cid, False)
    result = load_case(service, CASES[1])
    assert result.campaign is not None and result.campaign.id == cid
    assert campaigns_opened(service) == 1


def test_cli_demo_twice(backend_url: str) -> None:
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(main, ["--db", backend_url, "--lang", "en", "--json",
                                      "--actor", "admin", "--role", "administrator", *args])
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    first = run("demo")
    second = run("demo")
    assert [c["new"] for c in first] == [True] * 9
    assert [c["new"] for c in second] == [False] * 9
    keys = ("case", "name", "street", "workflow", "stage", "outcome", "events")
    assert [{k: c[k] for k in keys} for c in second] == [{k: c[k] for k in keys}
                                                         for c in first]
    assert {c["name"]: c["workflow"] for c in first}["西南证券"] == "enterprise_service"
    assert first[1]["campaign"]["collected"] == first[1]["campaign"]["awaiting_callback"] == 34
    assert len(run("list", "--limit", "100")) == 9 + 34


def test_demo_data_is_valid() -> None:
    """Every case names itself, and its times run forward."""
    assert len({c.number for c in CASES}) == 9
    for case in CASES:
        assert isinstance(case, Case) and case.name
        for filing in case.filings:
            times: list[datetime] = [filing.filed_at, *(s.at for s in filing.steps)]
            assert times == sorted(times), filing.key
