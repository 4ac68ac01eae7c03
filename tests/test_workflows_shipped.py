"""The shipped workflows, new workflows as data, validation and diagrams."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from petitions import Actor, InvalidInput, Location, Petitioner, PetitionService
from petitions.errors import RepeatFiling, TransitionNotAllowed
from workflows import Registry, WorkflowInvalid, load_path, load_text, shipped_texts, to_mermaid

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"standard", "property_dispute", "enterprise_service", "emergency_care",
           "letters_and_visits", "campaign"}

clerk = Actor("clerk-01", "intake_clerk")
worker = Actor("li", "caseworker")
boss = Actor("zhang", "supervisor")


def test_every_shipped_workflow_loads_and_names_its_source() -> None:
    texts = dict(shipped_texts())
    names = {load_text(text, source_name=f).name for f, text in texts.items()}
    assert names == SHIPPED
    for file, text in texts.items():
        head = text.split("\nname", 1)[0]
        assert head.startswith("#"), f"{file} starts without a comment naming its source"
        assert re.search(r"(case|Case|cases|信访工作条例|SCENARIOS)", head), file


def test_emergency_care_has_no_mediation_and_minute_limits() -> None:
    wf = Registry.shipped().get("emergency_care")
    mediation = {"open_mediation", "record_session", "agree", "fail_mediation"}
    for stage in wf.stages:
        assert not mediation & set(wf.commands_in(stage)), stage
    units = {s.limit.unit for s in wf.stages.values() if s.limit}
    assert units <= {"minutes", "hours"} and "minutes" in units
    assert wf.channels_accepted_on_filing == {"sos_device", "smoke_alarm"}


def test_letters_and_visits_limits_follow_the_regulation() -> None:
    wf = Registry.shipped().get("letters_and_visits")
    limits = {name: (s.limit.amount, s.limit.unit, s.limit.start)
              for name, s in wf.stages.items() if s.limit}
    assert limits["intake"] == (15, "days", "file")
    assert limits["handling"] == (60, "days", "accept")
    assert limits["review"] == (30, "days", "request_review")
    assert limits["rereview"] == (30, "days", "request_rereview")
    assert wf.extension_cap_days == 30 and wf.extension_notifies_petitioner
    assert wf.review is not None
    assert (wf.review.request_within_days, wf.review.rereview_request_within_days) == (30, 30)
    assert set(wf.matter_types) == {"suggestion", "report", "claim"}


def test_six_step_plan_is_data() -> None:
    plan = Registry.shipped().get("property_dispute").plans["owners_committee_election"]
    assert [s.label.zh for s in plan.steps] == [
        "组织宣传", "推选代表", "收集申请", "搭建专班", "大会筹备", "依法选举"]


NEW_WORKFLOW = """
# A street office's own lift-installation workflow (老旧楼加装电梯), with a plan.
name = "lift_installation"
version = 1
initial = "intake"

[stages.intake]
commands = { accept = "works" }

[stages.works]
limit = { amount = 6, unit = "days", from = "accept" }
commands = { plan_step = "stay", reply = "stay", resolve = "done" }

[stages.done]
terminal = true

[requires]
resolve = ["plan_complete", "replied"]

[plans.lift]
steps = [{ code = "consent", label = "业主同意" }, { code = "build", label = "施工" }]

[roles]
file = ["intake_clerk"]
accept = ["intake_clerk"]
plan_step = ["caseworker"]
reply = ["caseworker"]
resolve = ["caseworker"]
"""


def test_a_new_workflow_is_only_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    (folder / "lift.toml").write_text(NEW_WORKFLOW, encoding="utf-8")
    assert load_path(folder / "lift.toml").name == "lift_installation"
    with PetitionService.open(str(tmp_path / "p.sqlite"), workflow_dirs=[folder]) as svc:
        pid = svc.file(actor=clerk, petitioner=Petitioner(id="r1", kind="resident",
                                                          name="赵女士"),
                       title="加装电梯", description="老旧楼加装电梯", category="lift",
                       channel="walk_in", workflow="lift_installation")
        svc.accept(pid, actor=clerk)
        svc.reply(pid, actor=worker, outcome="support", text="已加装")
        with pytest.raises(TransitionNotAllowed, match="requires plan_complete"):
            svc.resolve(pid, actor=worker)
        svc.plan_step(pid, actor=worker, plan="lift", step="consent", evidence="2/3 业主签字")
        svc.plan_step(pid, actor=worker, plan="lift", step="build", evidence="竣工验收")
        view = svc.resolve(pid, actor=worker)
        assert (view.stage, view.status) == ("done", "closed")
        assert view.workflow.name == "lift_installation"
        assert view.plan_steps_done == ("consent", "build")


BROKEN = """
name = "broken"
version = 0
initial = "nowhere"
reopen_limit = -1
colour = "red"

[stages.intake]
commands = { accept = "dispatch", fly = "closed", reply = "closed" }
limit = { amount = 0, unit = "weeks", from = "teleport" }

[stages.closed]
terminal = true
commands = { note = "stay" }

[stages.island]
commands = { note = "stay" }

[requires]
accept = ["moon_is_full"]

[roles]
accept = ["wizard"]
"""


def test_a_broken_workflow_reports_every_problem_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as caught:
        load_path(path)
    found = {(p.file, p.key) for p in caught.value.problems}
    expected_keys = {
        "version", "initial", "reopen_limit", "colour",
        "stages.intake.commands.fly", "stages.intake.commands.accept",
        "stages.intake.commands.reply", "stages.intake.limit.amount",
        "stages.intake.limit.unit", "stages.closed.commands", "stages.island",
        "requires.accept", "roles.accept", "roles.file",
    }
    assert {k for _, k in found} >= expected_keys, sorted(found)
    assert {f for f, _ in found} == {str(path)}
    message = str(caught.value)
    for key in expected_keys:
        assert f"{path}: {key}: " in message


def test_review_commands_need_review_windows() -> None:
    text = NEW_WORKFLOW.replace('resolve = "done" }', 'resolve = "done", request_review = "done" }')
    text = text.replace('resolve = ["caseworker"]', 'resolve = ["caseworker"]\n'
                        'request_review = ["caseworker"]')
    with pytest.raises(WorkflowInvalid) as caught:
        load_text(text, source_name="office.toml")
    assert [p.key for p in caught.value.problems] == ["stages.works.commands.request_review"]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_workflow_draws_as_mermaid(name: str) -> None:
    wf = Registry.shipped().get(name)
    for lang in ("zh", "en"):
        chart = to_mermaid(wf, lang)
        lines = chart.splitlines()
        assert lines[0] == "stateDiagram-v2"
        assert f"    [*] --> {wf.initial}" in lines
        for stage in wf.stages.values():
            assert any(line.startswith(f"    {stage.name}: ") for line in lines)
            for command in stage.transitions:
                assert any(line.startswith(f"    {stage.name} --> ") and command in line
                           for line in lines), (stage.name, command)


def test_docs_show_every_shipped_diagram() -> None:
    docs = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    for wf in Registry.shipped().all():
        assert f"```mermaid\n{to_mermaid(wf)}```" in docs, (
            f"docs/workflows.md is out of date for {wf.name}; "
            "regenerate it with python docs/gen_workflows.py")


def test_standard_v1_text_is_unchanged() -> None:
    """Version 1 stays beside version 2, byte for byte: stored petitions pin its hash
    (tests/data/assigned_v1.json was filed under it)."""
    text = dict(shipped_texts())["workflows/definitions/standard_v1.toml"]
    wf = load_text(text)
    assert (wf.name, wf.version) == ("standard", 1)
    assert wf.sha256.startswith("c7d3e2a16460")
    pinned = (ROOT / "workflows" / "definitions" / "standard_v1.toml").read_bytes()
    assert pinned.decode("utf-8") == text


def test_standard_v2_text_is_unchanged() -> None:
    """Version 2 of "standard" (issue 15's) stays beside version 3 (issue 14's
    independent call-back, 催办, 核减), byte for byte: petitions filed under it pin its hash."""
    text = dict(shipped_texts())["workflows/definitions/standard_v2.toml"]
    wf = load_text(text)
    assert (wf.name, wf.version) == ("standard", 2)
    assert wf.sha256.startswith("1d0210b603b5")
    assert not wf.independent_callback and not wf.may("supervisor", "remind")


def test_standard_v3_text_is_unchanged() -> None:
    """Version 3 of "standard" (independent call-back, 催办, 核减) stays beside
    version 4 (request types, urgency, anonymous filing), byte for byte."""
    text = dict(shipped_texts())["workflows/definitions/standard_v3.toml"]
    wf = load_text(text)
    assert (wf.name, wf.version) == ("standard", 3)
    assert wf.sha256.startswith("d83eef594eb2")
    assert wf.independent_callback and not wf.type_limits and not wf.anonymous_types
    assert wf.targets("intake", "answer_now") is None


def test_standard_v4_text_is_unchanged() -> None:
    """Version 4 of "standard" (request types, urgency, sign-for and return)
    stays beside version 5 (sign-for per urgency, a transfer signed for anew),
    byte for byte: petitions filed under it pin its hash."""
    text = dict(shipped_texts())["workflows/definitions/standard_v4.toml"]
    wf = load_text(text)
    assert (wf.name, wf.version) == ("standard", 4)
    assert wf.sha256 == "e650828be850ad673608982a2c8bf3f9d3f1e33a9ec7883dfe016f7f1790d690"
    assert wf.sign_for is not None and not wf.sign_for.transfer_signs_anew
    assert not wf.sign_for.urgency_limits


def test_standard_v4_limits_per_type_and_urgency() -> None:
    """Guangdong's answer limits per type, Tianjin's acceptance limits per
    urgency: data of the standard workflow, version 4."""
    from workflows import Registry

    wf = Registry.shipped().current("standard")
    answer = {t: (wf.limit_for("resolution", t).amount, wf.limit_for("resolution", t).unit)
              for t in ("consultation", "help", "complaint", "report", "suggestion")}
    assert answer == {"consultation": (2, "working_days"), "help": (10, "working_days"),
                      "complaint": (15, "working_days"), "report": (15, "working_days"),
                      "suggestion": (10, "working_days")}
    emergency = wf.limit_for("intake", "complaint", "emergency")
    urgent = wf.limit_for("intake", "complaint", "urgent")
    assert (emergency.amount, emergency.unit, emergency.start) == (15, "minutes", "file")
    assert (urgent.amount, urgent.unit) == (30, "minutes")
    assert wf.limit_for("intake") == wf.stage("intake").limit
    assert wf.limit_for("resolution", "consultation").escalate_on_breach  # the stage's
    assert wf.anonymous_types == {"consultation", "report", "suggestion"}
    assert wf.answer_now_types == {"consultation"}
    assert wf.targets("intake", "answer_now") == ("closed",)


def test_every_changed_workflow_keeps_its_older_versions() -> None:
    from workflows import Registry

    reg = Registry.shipped()
    for wf in reg.all():
        assert wf.version == (5 if wf.name == "standard" else 2)
        for older in range(1, wf.version):
            assert reg.get(wf.name, older).version == older
    assert reg.current("standard").independent_callback
    # version 3 stays byte for byte beside version 4 (sign-for and return)
    v3 = reg.get("standard", 3)
    assert v3.independent_callback and v3.sign_for is None and not v3.escalation_levels
    assert reg.current("standard").sign_for is not None


# ------------------------------------------------------------- engine
def _lv(svc: PetitionService, at: datetime, title: str = "停车费上涨") -> object:
    return svc.file(actor=clerk, petitioner=Petitioner(id="chen", kind="resident",
                                                       name="陈先生"),
                    title=title, description="物业擅自提高停车费",
                    category="property_management", channel="letter",
                    workflow="letters_and_visits", at=at)


def test_letters_and_visits_refuses_unknown_matter_type(service: PetitionService) -> None:
    with pytest.raises(InvalidInput, match="matter_type"):
        service.file(actor=clerk, petitioner=Petitioner(id="x", kind="resident", name="x"),
                     title="t", description="d", category="other", channel="letter",
                     workflow="campaign", matter_type="report")


def test_rereview_window_and_repeat_filing(service: PetitionService) -> None:
    t0 = datetime.now(UTC) - timedelta(days=300)
    pid = _lv(service, t0)
    service.accept(pid, actor=clerk, at=t0)
    service.assign(pid, actor=worker, unit="信访办", person="li", at=t0)
    service.reply(pid, actor=worker, outcome="not_support", text="程序合法", at=t0)
    service.resolve(pid, actor=worker, at=t0)
    service.request_review(pid, actor=clerk, reason="不服", at=t0 + timedelta(days=30))
    with pytest.raises(InvalidInput, match="outcome"):
        service.answer_review(pid, actor=boss, outcome="maybe", text="x")
    service.answer_review(pid, actor=boss, outcome="uphold", text="维持", unit="区信访办",
                          at=t0 + timedelta(days=40))
    with pytest.raises(TransitionNotAllowed, match="window has passed"):
        # 30 days (moved past a holiday at most by a week) from the review answer
        service.request_rereview(pid, actor=clerk, reason="不服",
                                 at=t0 + timedelta(days=80))
    service.request_rereview(pid, actor=clerk, reason="不服", at=t0 + timedelta(days=70))
    view = service.answer_rereview(pid, actor=boss, outcome="uphold", text="终结",
                                   unit="市信访办", at=t0 + timedelta(days=80))
    assert (view.stage, view.outcome) == ("concluded", "concluded")
    with pytest.raises(RepeatFiling) as caught:
        _lv(service, t0 + timedelta(days=90), title=" 停车费上涨！")
    assert caught.value.concluded == (pid,)
    other = _lv(service, t0 + timedelta(days=90), title="电梯故障")
    assert service.get(other).stage == "intake"


def test_campaign_progress_counts_its_own_petitions(service: PetitionService) -> None:
    cid = service.open_campaign(actor=worker, name="进家入户",
                                location=Location(street="寸滩街道", community="保税商厦社区"))
    ids = [service.file(actor=worker, petitioner=Petitioner(id=f"r{i}", kind="resident",
                                                            name=f"居民{i}"),
                        title=f"建议{i}", description="建议", category="other",
                        channel="door_to_door", workflow="campaign",
                        matter_type="suggestion", campaign_id=cid) for i in range(3)]
    service.withdraw(ids[2], actor=worker, reason="已自行解决")
    for pid in ids[:1]:
        service.assign(pid, actor=worker, unit="社区", person="li")
        service.reply(pid, actor=worker, outcome="support", text="已落实")
        service.resolve(pid, actor=worker)
        service.callback(pid, actor=worker, contacted=True, resolved=True, rating="satisfied")
        service.close(pid, actor=worker)
    progress = service.campaign_progress(cid)
    assert (progress.collected, progress.resolved, progress.closed_other, progress.open) == (
        3, 1, 1, 1)
    assert progress.petition_ids == tuple(ids)
    with pytest.raises(InvalidInput, match="campaign_id"):
        service.file(actor=worker, petitioner=Petitioner(id="r", kind="resident", name="r"),
                     title="t", description="d", category="other", channel="door_to_door",
                     workflow="campaign", matter_type="suggestion", campaign_id=ids[0])
