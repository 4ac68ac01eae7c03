"""Step definitions of the Gherkin specifications, in English and Chinese.

Steps speak the caseworkers' language and call only the public library API
(``petitions.PetitionService`` and the values it takes and returns).  Every
action can also be *tried* ("… tries to …", "…试图…"): a tried action that is
refused is remembered, so a later step can check why, and that nothing was
written.  Times come from the scenario's own clock ("it is 2022-03-01 09:00"),
so deadlines and review windows are checked against the dates in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from pytest_bdd import given, parsers, then, when

from petitions import Actor, Location, Petitioner, PetitionError, PetitionService

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: How people are called in the steps → their role.
ROLE_WORDS = {
    "the intake clerk": "intake_clerk",
    "intake clerk": "intake_clerk",
    "caseworker": "caseworker",
    "liaison cadre": "caseworker",
    "grid worker": "grid_worker",
    "mediator": "mediator",
    "supervisor": "supervisor",
    "auditor": "auditor",
    "the SOS gateway": "portal",
    "the alarm gateway": "portal",
    "the portal": "portal",
    "受理员": "intake_clerk",
    "社区干部": "caseworker",
    "网格员": "grid_worker",
    "调解员": "mediator",
    "街道领导": "supervisor",
    "审计员": "auditor",
}

OUTCOME_WORDS = {"支持": "support", "解释说明": "explain", "不予支持": "not_support",
                 "维持": "uphold", "变更": "revise"}
RATING_WORDS = {"满意": "satisfied", "很满意": "satisfied", "基本满意": "basically_satisfied",
                "不满意": "unsatisfied"}

FIELD_WORDS = {
    "诉求人": "petitioner", "诉求人编号": "petitioner id", "类型": "kind", "标题": "title",
    "内容": "description", "类别": "category", "渠道": "channel", "事项类型": "matter type",
    "街道": "street", "社区": "community", "网格": "grid", "编号": "ref",
    "诉求类型": "type", "紧急程度": "urgency", "匿名": "anonymous",
}
#: Request types and urgency named in Chinese (the codes are accepted too).
TYPE_WORDS = {"咨询": "consultation", "求助": "help", "投诉": "complaint", "举报": "report",
              "建议": "suggestion", "表扬": "praise"}
URGENCY_WORDS = {"一般": "normal", "紧急": "urgent", "特急": "emergency"}


def actor_of(text: str) -> Actor:
    """``caseworker 李红`` → Actor("李红", "caseworker"); ``the intake clerk`` too."""
    text = text.strip()
    for words, role in sorted(ROLE_WORDS.items(), key=lambda kv: -len(kv[0])):
        if text.startswith(words):
            name = text[len(words):].strip() or role
            return Actor(name, role)
    raise AssertionError(f"no role in {text!r}; start with one of {sorted(ROLE_WORDS)}")


def quoted(text: str) -> list[str]:
    """Every "quoted" item of a list such as ``"a", "b" and "c"`` (or 「、」 lists)."""
    return re.findall(r'"([^"]+)"', text)


class World:
    """What a scenario has seen so far."""

    def __init__(self, service: PetitionService) -> None:
        self.svc = service
        self.now = datetime.now(SHANGHAI) - timedelta(days=400)
        self.refs: dict[str, UUID] = {}
        self.current: UUID | None = None
        self.error: PetitionError | None = None
        self.version_before: int | None = None
        self.campaign: UUID | None = None
        self.filings = 0
        self.refs_before: dict[str, UUID] = {}

    @property
    def pid(self) -> UUID:
        assert self.current is not None, "no appeal has been filed in this scenario"
        return self.current

    def attempt(self, trying: bool, action: Callable[[], Any]) -> None:
        """Run ``action``; when only trying, keep a refusal instead of failing."""
        self.error = None
        self.version_before = self.svc.get(self.current).version if self.current else None
        self.refs_before = dict(self.refs)
        if not trying:
            action()
            return
        try:
            action()
        except PetitionError as exc:
            self.error = exc

    def ref(self, name: str) -> UUID:
        assert name in self.refs, f"no appeal filed as {name!r}; known: {sorted(self.refs)}"
        return self.refs[name]


def overdue_moments(svc: PetitionService, pid: UUID) -> list[str]:
    """Each recorded time at which the petition, as it stood just before, had a
    running, unpaused clock whose deadline had passed."""
    found: list[str] = []
    petition: Any = None
    for event in svc.petition_events(pid):
        if (petition is not None and petition.outcome is None
                and petition.deadline_state(event.occurred_at) == "breached"):
            found.append(f"{pid} v{event.originator_version} {type(event).__name__}: "
                         f"stage {petition.clock_stage} was due {petition.clock_deadline}")
        petition = event.mutate(petition)
    return found


@pytest.fixture(autouse=True)
def world(service: PetitionService) -> Iterator[World]:
    """The scenario's world.  Autouse, so that every scenario requests ``service``
    statically and runs once per storage backend (steps are resolved late).

    After the scenario, every appeal it filed is swept at each of its recorded
    times: a specification of a real case keeps its workflow's time limits."""
    found = World(service)
    yield found
    problems: list[str] = []
    for case in service.list_petitions(limit=None):
        problems += overdue_moments(service, UUID(case.id))
    assert problems == [], problems


def action(pattern: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register an action step for Given and When, with an optional "tries to".

    ``pattern`` follows the actor; ``{try}`` marks where "tries to " (English)
    or "试图" (Chinese) may stand.
    """
    regex = pattern.replace("{try}", "(?P<trying>tries to |试图)?")
    full = parsers.re(r"(?P<who>.+?)" + regex)

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        # stacklevel 2: inject the step fixtures into this module, not into register()
        given(full, stacklevel=2)(fn)
        when(full, stacklevel=2)(fn)
        return fn

    return register


# ----------------------------------------------------------------- the clock
@given(parsers.re(r"it is (?P<when>\d{4}-\d\d-\d\d \d\d:\d\d)(?: in Jiangbei)?"))
@given(parsers.re(r"现在是(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d)"))
def clock_is(world: World, when: str) -> None:
    world.now = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


@given(parsers.re(r"(?P<n>\d+) (?P<unit>minute|minutes|hour|hours|day|days) (?:pass|passes|later)"))
@when(parsers.re(r"(?P<n>\d+) (?P<unit>minute|minutes|hour|hours|day|days) (?:pass|passes|later)"))
@given(parsers.re(r"(?P<n>\d+)(?P<unit>分钟|小时|天)后"))
@when(parsers.re(r"(?P<n>\d+)(?P<unit>分钟|小时|天)后"))
def time_passes(world: World, n: str, unit: str) -> None:
    key = {"minute": "minutes", "分钟": "minutes", "hour": "hours", "小时": "hours",
           "day": "days", "天": "days"}.get(unit, unit)
    world.now += timedelta(**{key: int(n)})


# ----------------------------------------------------------------- filing
def _fields(datatable: list[list[str]]) -> dict[str, str]:
    out = {}
    for row in datatable:
        assert len(row) == 2, f"expected 'field | value' rows, got {row}"
        out[FIELD_WORDS.get(row[0].strip(), row[0].strip())] = row[1].strip()
    return out


def file_appeal(world: World, who: str, workflow: str, fields: dict[str, str],
                trying: bool, campaign: UUID | None = None) -> None:
    anonymous = fields.get("anonymous", "") in ("yes", "是")
    name = fields.get("petitioner", "") if anonymous else fields["petitioner"]
    petitioner = Petitioner(id="" if anonymous else fields.get("petitioner id",
                                                               f"petitioner:{name}"),
                            kind=fields.get("kind", "resident"), name=name,
                            phone=fields.get("phone", ""))
    request_type = fields.get("type")
    request_type = TYPE_WORDS.get(request_type, request_type) if request_type else None
    urgency = fields.get("urgency", "normal")
    urgency = URGENCY_WORDS.get(urgency, urgency)
    location = Location(street=fields.get("street", ""), community=fields.get("community", ""),
                        grid=fields.get("grid", ""), place=fields.get("place", ""))

    def run() -> None:
        world.filings += 1
        pid = world.svc.file(
            actor=actor_of(who), petitioner=petitioner, title=fields["title"],
            description=fields.get("description", fields["title"]),
            category=fields.get("category", "other"), channel=fields.get("channel", "walk_in"),
            location=location, workflow=workflow,
            matter_type=fields.get("matter type"), campaign_id=campaign, at=world.now,
            request_type=request_type, urgency=urgency, anonymous=anonymous)
        world.current = pid
        world.refs[fields.get("ref", fields["title"])] = pid

    world.attempt(trying, run)


@action(r' (?P<trying>tries to )?files? an appeal under the "(?P<workflow>[^"]+)" workflow:')
@action(r'(?P<trying>试图)?按"(?P<workflow>[^"]+)"流程登记诉求：')
def files_appeal(world: World, who: str, workflow: str, datatable: list[list[str]],
                 trying: str | None = None) -> None:
    file_appeal(world, who, workflow, _fields(datatable), bool(trying))


# ------------------------------------------------------------- intake etc.
@action(r" {try}accepts? the appeal")
@action(r"{try}受理该诉求")
def accepts(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.accept(world.pid, actor=actor_of(who),
                                                          at=world.now))


@action(r' {try}rejects? the appeal because "(?P<reason>[^"]+)", referring the petitioner '
        r'to "(?P<referral>[^"]+)"')
def rejects(world: World, who: str, reason: str, referral: str,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.reject(
        world.pid, actor=actor_of(who), reason=reason, referral=referral, at=world.now))


@action(r' {try}marks? the appeal as a duplicate of "(?P<original>[^"]+)"')
def marks_duplicate(world: World, who: str, original: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.duplicate(
        world.pid, actor=actor_of(who), original_id=world.ref(original),
        note="same matter, merged", at=world.now))


@action(r' {try}withdraws? the appeal because "(?P<reason>[^"]+)"')
def withdraws(world: World, who: str, reason: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.withdraw(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@action(r' {try}(?:assigns?|dispatch(?:es)?) the appeal (?:straight )?to "(?P<unit>[^"]+)", '
        r'person "(?P<person>[^"]+)"(?: with co-handling by (?P<co>.+))?')
@action(r'{try}将诉求派给"(?P<unit>[^"]+)"，责任人"(?P<person>[^"]+)"(?:，协办单位(?P<co>.+))?')
def assigns(world: World, who: str, unit: str, person: str, co: str | None = None,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.assign(
        world.pid, actor=actor_of(who), unit=unit, person=person,
        co_units=quoted(co or ""), at=world.now))


# ------------------------------------------------------------- mediation
@action(r' {try}opens? mediation by "(?P<mediator>[^"]+)" between (?P<parties>.+)')
@action(r'{try}组织调解，调解员"(?P<mediator>[^"]+)"，当事各方(?P<parties>.+)')
def opens_mediation(world: World, who: str, mediator: str, parties: str,
                    trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.open_mediation(
        world.pid, actor=actor_of(who), mediator=mediator, parties=quoted(parties),
        at=world.now))


@action(r' {try}records? a joint meeting at "(?P<place>[^"]+)" with (?P<people>.+)')
@action(r'{try}在"(?P<place>[^"]+)"召开联席会议，参加(?P<people>.+)')
def records_joint_meeting(world: World, who: str, place: str, people: str,
                          trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.record_session(
        world.pid, actor=actor_of(who), place=place, participants=quoted(people),
        minutes="联席会议研究业主急事难事", at=world.now))


@action(r' {try}records? the agreement "(?P<terms>[^"]+)"')
@action(r'{try}记录调解协议"(?P<terms>[^"]+)"')
def agrees(world: World, who: str, terms: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.agree(
        world.pid, actor=actor_of(who), terms=terms, at=world.now))


# ------------------------------------------------------------- resolution
def _plan_and_step(world: World, plan_text: str, step_text: str) -> tuple[str, str]:
    """A plan and step named by code or by label (Chinese or English), as the
    petition's own workflow version offers them."""
    def code_of(text: str, kind: str) -> str:
        for choice in world.svc.choices(world.pid, kind):
            if text in (choice.code, choice.label_zh, choice.label_en):
                return choice.code
        return text

    return code_of(plan_text, "plans"), code_of(step_text, "plan_steps")


@action(r' {try}completes? the step "(?P<step>[^"]+)" of the "(?P<plan>[^"]+)" plan '
        r'with evidence "(?P<evidence>[^"]+)"')
@action(r'{try}完成"(?P<plan>[^"]+)"的"(?P<step>[^"]+)"步骤，依据"(?P<evidence>[^"]+)"')
def completes_plan_step(world: World, who: str, plan: str, step: str, evidence: str,
                        trying: str | None = None) -> None:
    plan_code, step_code = _plan_and_step(world, plan, step)
    world.attempt(bool(trying), lambda: world.svc.plan_step(
        world.pid, actor=actor_of(who), plan=plan_code, step=step_code, evidence=evidence,
        at=world.now))


@action(r' {try}records? the action "(?P<what>[^"]+)"')
@action(r'{try}记录处置措施"(?P<what>[^"]+)"')
def records_action(world: World, who: str, what: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.act(
        world.pid, actor=actor_of(who), action=what, at=world.now))


@action(r' {try}pauses? the clock because "(?P<reason>[^"]+)"')
def pauses_clock(world: World, who: str, reason: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.pause(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@action(r' {try}resumes? the clock')
def resumes_clock(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.resume(
        world.pid, actor=actor_of(who), at=world.now))


@action(r' {try}records? the note "(?P<text>[^"]+)"')
@action(r'{try}记录备注"(?P<text>[^"]+)"')
def records_note(world: World, who: str, text: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.note(
        world.pid, actor=actor_of(who), text=text, at=world.now))


@action(r' {try}holds? an on-site office meeting at "(?P<place>[^"]+)" with (?P<people>.+)')
def holds_on_site_meeting(world: World, who: str, place: str, people: str,
                          trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.on_site_meeting(
        world.pid, actor=actor_of(who), place=place, participants=quoted(people),
        minutes="现场办公，面对面听取企业意见", at=world.now))


@action(r' {try}repl(?:y|ies) in writing "(?P<outcome>[^"]+)": "(?P<text>[^"]+)"')
@action(r'{try}书面答复"(?P<outcome>[^"]+)"："(?P<text>[^"]+)"')
def replies(world: World, who: str, outcome: str, text: str,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.reply(
        world.pid, actor=actor_of(who), outcome=OUTCOME_WORDS.get(outcome, outcome),
        text=text, at=world.now))


@action(r" {try}resolves? the appeal")
@action(r"{try}办理完毕")
def resolves(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.resolve(
        world.pid, actor=actor_of(who), at=world.now))


# ----------------------------------------------------------- satisfaction
@action(r' {try}calls? the petitioner back, who says it is (?P<solved>solved|not solved) '
        r'and is "(?P<rating>[^"]+)"(?:: "(?P<comment>[^"]+)")?')
@action(r'{try}回访诉求人，问题(?P<solved>已解决|未解决)，评价"(?P<rating>[^"]+)"'
        r'(?:："(?P<comment>[^"]+)")?')
def calls_back(world: World, who: str, solved: str, rating: str, comment: str | None = None,
               trying: str | None = None) -> None:
    code = RATING_WORDS.get(rating, rating.replace(" ", "_"))
    world.attempt(bool(trying), lambda: world.svc.callback(
        world.pid, actor=actor_of(who), contacted=True,
        resolved=solved in ("solved", "已解决"), rating=code, comment=comment or "",
        at=world.now))


@action(r" {try}closes? the appeal")
@action(r"{try}办结该诉求")
def closes(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.close(
        world.pid, actor=actor_of(who), at=world.now))


@action(r' {try}reopens? the appeal into (?P<stage>\w+) because "(?P<reason>[^"]+)"')
def reopens(world: World, who: str, stage: str, reason: str,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.reopen(
        world.pid, actor=actor_of(who), to=stage, reason=reason, at=world.now))


@action(r' {try}extends? the deadline by (?P<days>\d+) days, approved by "(?P<approver>[^"]+)", '
        r'because "(?P<reason>[^"]+)"')
def extends(world: World, who: str, days: str, approver: str, reason: str,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.extend(
        world.pid, actor=actor_of(who), days=int(days), approver=approver, reason=reason,
        at=world.now))


# ------------------------------------------------------- review (信访)
@action(r' {try}records? that the petitioner asks for a (?P<level>review|re-review) '
        r'because "(?P<reason>[^"]+)"')
def requests_review(world: World, who: str, level: str, reason: str,
                    trying: str | None = None) -> None:
    command = world.svc.request_review if level == "review" else world.svc.request_rereview
    world.attempt(bool(trying), lambda: command(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@action(r' {try}answers? the (?P<level>review|re-review): "(?P<outcome>[^"]+)", '
        r'"(?P<text>[^"]+)"')
def answers_review(world: World, who: str, level: str, outcome: str, text: str,
                   trying: str | None = None) -> None:
    command = world.svc.answer_review if level == "review" else world.svc.answer_rereview
    actor = actor_of(who)  # "supervisor 区信访办": the answering unit is 区信访办
    world.attempt(bool(trying), lambda: command(
        world.pid, actor=actor, outcome=OUTCOME_WORDS.get(outcome, outcome),
        text=text, unit=actor.id, at=world.now))


# ------------------------------------------------------------- campaigns
@action(r' opens? the door-to-door campaign "(?P<name>[^"]+)" in (?P<street>\S+) '
        r'(?P<community>\S+)')
@action(r'开展"(?P<name>[^"]+)"进家入户走访活动，地点(?P<street>\S+?)(?P<community>\S+社区)')
def opens_campaign(world: World, who: str, name: str, street: str, community: str) -> None:
    world.campaign = world.svc.open_campaign(
        actor=actor_of(who), name=name, location=Location(street=street, community=community),
        at=world.now)


@action(r' (?:collects?|records?) (?P<n>\d+) suggestions? door to door')
@action(r'入户收集居民建议(?P<n>\d+)条')
def collects_suggestions(world: World, who: str, n: str) -> None:
    """Placeholders: the report gives neither the suggestions' content nor who made them."""
    assert world.campaign is not None, "open the campaign first"
    for i in range(1, int(n) + 1):
        file_appeal(world, who, "campaign", {
            "petitioner": f"吉安园茅溪小区居民（第{i}条建议）", "title": f"居民建议第{i}条",
            "description": f"进家入户走访收集的第{i}条居民建议（报告未载明内容）",
            "category": "property_management", "channel": "door_to_door",
            "matter type": "suggestion", "street": "寸滩街道", "community": "保税商厦社区",
            "ref": f"suggestion {i}",
        }, trying=False, campaign=world.campaign)


@action(r' (?:resolves?|settles?) every collected suggestion one by one, assigning them to '
        r'"(?P<unit>[^"]+)"')
@action(r'逐一落实每条建议，责任单位"(?P<unit>[^"]+)"')
def resolves_all(world: World, who: str, unit: str) -> None:
    """Assign, act, reply and resolve each suggestion (一一落实解决); no call-back is
    recorded, as the report tells of none."""
    assert world.campaign is not None
    actor = actor_of(who)
    progress = world.svc.campaign_progress(world.campaign)
    for pid in progress.petition_ids:
        world.current = pid
        world.svc.assign(pid, actor=actor, unit=unit, person=actor.id, at=world.now)
        world.svc.act(pid, actor=actor, action="一一落实解决", at=world.now)
        world.svc.reply(pid, actor=actor, outcome="support", text="已落实解决", at=world.now)
        world.svc.resolve(pid, actor=actor, at=world.now)


# ================================================================ outcomes
def _stage_matches(world: World, wanted: str) -> None:
    view = world.svc.get(world.pid)
    label = view.stage_label  # from the workflow version the petition was filed under
    assert wanted in (view.stage, label.zh, label.en), (
        f"the appeal is in stage {view.stage!r} ({label.zh}), not {wanted!r}")


@then(parsers.re(r'the appeal is (?:in|at) stage "(?P<stage>[^"]+)"'))
@then(parsers.re(r'该诉求处于"(?P<stage>[^"]+)"阶段'))
def in_stage(world: World, stage: str) -> None:
    _stage_matches(world, stage)


@then(parsers.re(r'the appeal is closed as "(?P<outcome>[^"]+)"'))
@then(parsers.re(r'该诉求已办结，结果为"(?P<outcome>[^"]+)"'))
def closed_as(world: World, outcome: str) -> None:
    view = world.svc.get(world.pid)
    assert view.status == "closed", f"the appeal is still open in stage {view.stage!r}"
    assert view.outcome == outcome, f"outcome is {view.outcome!r}, not {outcome!r}"


@then(parsers.re(r'it is refused as "(?P<code>[^"]+)", saying "(?P<text>[^"]+)"'))
@then(parsers.re(r'系统拒绝（(?P<code>[^）]+)），提示"(?P<text>[^"]+)"'))
def refused(world: World, code: str, text: str) -> None:
    assert world.error is not None, "the action was carried out, not refused"
    assert world.error.code == code, f"refused as {world.error.code!r}: {world.error}"
    assert text in str(world.error), f"{text!r} is not in {str(world.error)!r}"


@then("nothing was written")
@then("没有写入任何记录")
def nothing_written(world: World) -> None:
    assert world.error is not None, "the action was carried out, not refused"
    assert world.refs == world.refs_before, "a new appeal was filed"
    if world.version_before is not None:
        assert world.svc.get(world.pid).version == world.version_before


@then(parsers.re(r'the history shows (?P<events>.+)'))
@then(parsers.re(r'历史记录依次包含(?P<events>.+)'))
def history_shows(world: World, events: str) -> None:
    """The listed events appear in this order (others may come between)."""
    seen = [e.type for e in world.svc.history(world.pid)]
    wanted = quoted(events)
    it = iter(seen)
    missing = [w for w in wanted if w not in it]
    assert not missing, f"{wanted} not in order in {seen}"


@then(parsers.re(r'"(?P<event>\w+)" was recorded by "(?P<who>[^"]+)"(?: with "(?P<text>[^"]+)")?'))
def recorded_by(world: World, event: str, who: str, text: str | None = None) -> None:
    found = [e for e in world.svc.history(world.pid) if e.type == event]
    assert found, f"no {event} in the history"
    assert any(e.actor == who for e in found), f"{event} by {[e.actor for e in found]}"
    if text:
        assert any(text in str(e.data) for e in found), f"{text!r} not in {found[-1].data}"


@then(parsers.re(r'the appeal was accepted on filing'))
@then(parsers.re(r'该诉求提交即受理'))
def accepted_on_filing(world: World) -> None:
    history = world.svc.history(world.pid)
    # The intake clock starts with the filing and stops with the acceptance.
    assert [e.type for e in history[:4]] == ["Filed", "ClockStarted", "Accepted",
                                             "ClockStarted"], [e.type for e in history]
    assert history[2].occurred_at == history[0].occurred_at


@then(parsers.re(r'the lead unit is "(?P<unit>[^"]+)", person "(?P<person>[^"]+)"'
                 r'(?:, co-handled by (?P<co>.+))?'))
def lead_unit(world: World, unit: str, person: str, co: str | None = None) -> None:
    view = world.svc.get(world.pid)
    assert (view.lead_unit, view.assignee) == (unit, person)
    assert list(view.co_units) == quoted(co or "")


@then(parsers.re(r'the plan steps done are (?P<steps>.+)'))
@then(parsers.re(r'已完成的步骤依次为(?P<steps>.+)'))
def plan_steps_done(world: World, steps: str) -> None:
    view = world.svc.get(world.pid)  # labels come with the view, from its pinned workflow
    assert view.plan is not None and len(view.plan_step_labels) == len(view.plan_steps_done)
    assert [label.zh for label in view.plan_step_labels] == quoted(steps)


@then(parsers.re(r'(?P<n>\d+) joint meetings? (?:was|were) recorded'))
@then(parsers.re(r'共记录联席会议(?P<n>\d+)次'))
def sessions(world: World, n: str) -> None:
    assert world.svc.get(world.pid).sessions == int(n)


@then(parsers.re(r'the reply is "(?P<outcome>[^"]+)"'))
def reply_is(world: World, outcome: str) -> None:
    assert world.svc.get(world.pid).reply_outcome == OUTCOME_WORDS.get(outcome, outcome)


@then(parsers.re(r'the petitioner rated it "(?P<rating>[^"]+)"'))
@then(parsers.re(r'诉求人评价为"(?P<rating>[^"]+)"'))
def rated(world: World, rating: str) -> None:
    assert world.svc.get(world.pid).last_rating == RATING_WORDS.get(rating, rating)


@then(parsers.re(r'the appeal has been reopened (?P<n>\d+) times?'))
def reopened_times(world: World, n: str) -> None:
    assert world.svc.get(world.pid).reopen_count == int(n)


@then(parsers.re(r'the deadline is extended by (?P<days>\d+) days in all'))
def extended_days(world: World, days: str) -> None:
    assert world.svc.get(world.pid).extension_days == int(days)


@then(parsers.re(r'the campaign reports (?P<collected>\d+) collected and (?P<resolved>\d+) '
                 r'closed as resolved(?:, (?P<awaiting>\d+) awaiting the call-back)?'))
@then(parsers.re(r'活动显示收集建议(?P<collected>\d+)条、已办结(?P<resolved>\d+)条'
                 r'(?:、待回访(?P<awaiting>\d+)条)?'))
def campaign_reports(world: World, collected: str, resolved: str,
                     awaiting: str | None = None) -> None:
    assert world.campaign is not None
    progress = world.svc.campaign_progress(world.campaign)
    assert (progress.collected, progress.resolved) == (int(collected), int(resolved)), progress
    assert progress.awaiting_callback == int(awaiting or 0), progress
    for pid in progress.petition_ids:
        assert world.svc.get(pid).campaign_id == world.campaign


@then(parsers.re(r'"(?P<command>\w+)" is (?P<neg>not )?among the next steps'))
@then(parsers.re(r'下一步(?P<neg>不)?可以"(?P<command>\w+)"'))
def next_steps(world: World, command: str, neg: str | None = None) -> None:
    allowed = world.svc.get(world.pid).allowed_commands
    assert (command in allowed) is not bool(neg), f"next steps: {allowed}"


# ---------------------------------------------------------------------------
# Hotline practice (issue 14): work-order numbers, the unit register, caller
# look-up, rates and ranking.
# ---------------------------------------------------------------------------
FIELD_WORDS.update({"电话": "phone", "身份证号": "id number"})
REGISTER_ADMIN = Actor("register-admin", "administrator")


@given("the Jiangbei unit register is loaded")
@given("已载入江北区组织架构")
def jiangbei_register_loaded(world: World) -> None:
    from petitions.demo import load_register

    load_register(world.svc)


@then(parsers.re(r'the appeal\'s work-order number is "(?P<number>[^"]+)"'))
@then(parsers.re(r'该诉求的工单号为"(?P<number>[^"]+)"'))
def work_order_number(world: World, number: str) -> None:
    assert world.svc.get(world.pid).number == number


@action(r' {try}accepts? the appeal numbered "(?P<number>[^"]+)"')
@action(r'{try}受理工单"(?P<number>[^"]+)"')
def accepts_by_number(world: World, who: str, number: str, trying: str | None = None) -> None:
    def run() -> None:
        view = world.svc.accept(number, actor=actor_of(who), at=world.now)
        world.current = view.id

    world.attempt(bool(trying), run)


@then(parsers.re(r'looking up the (?P<kind>phone|ID number) "(?P<value>[^"]+)" finds '
                 r'(?P<titles>.+)'))
@then(parsers.re(r'按(?P<kind>电话|身份证号)"(?P<value>[^"]+)"查到(?P<titles>.+)'))
def caller_lookup(world: World, kind: str, value: str, titles: str) -> None:
    if kind in ("phone", "电话"):
        found = world.svc.list_petitions(phone=value)
    else:
        found = world.svc.list_petitions(id_number=value)
    wanted = quoted(titles)
    assert sorted(c.title for c in found) == sorted(wanted), [c.title for c in found]


@then(parsers.re(r'the appeal shows as related (?P<titles>.+)'))
@then(parsers.re(r'该诉求显示同一来电人的在办诉求(?P<titles>.+)'))
def related_shown(world: World, titles: str) -> None:
    related = world.svc.get(world.pid).related
    wanted = [] if titles.strip() in ("nothing", "无") else quoted(titles)
    assert sorted(r.title for r in related) == sorted(wanted), related


@then(parsers.re(r'the register lists (?P<people>.+) in "(?P<unit>[^"]+)"'))
@then(parsers.re(r'组织架构中"(?P<unit>[^"]+)"的人员为(?P<people>.+)'))
def register_lists(world: World, people: str, unit: str) -> None:
    register = world.svc.register()
    assert register is not None, "no register loaded"
    found = register.resolve(unit)
    assert sorted(p.name for p in register.people_of(found.code)) == sorted(quoted(people))


@then(parsers.re(r'"(?P<unit>[^"]+)" has (?P<n>\d+) units? of level "(?P<level>\w+)" below it'))
@then(parsers.re(r'"(?P<unit>[^"]+)"下设"(?P<level>\w+)"级单位(?P<n>\d+)个'))
def units_below(world: World, unit: str, n: str, level: str) -> None:
    register = world.svc.register()
    assert register is not None, "no register loaded"
    found = register.resolve(unit)
    assert len([u for u in register.children(found.code) if u.level == level]) == int(n)


@then(parsers.re(r'"(?P<target>[^"]+)" is looked after \(包联\) by "(?P<unit>[^"]+)"'))
@then(parsers.re(r'"(?P<target>[^"]+)"的包联单位是"(?P<unit>[^"]+)"'))
def liaison_of(world: World, target: str, unit: str) -> None:
    register = world.svc.register()
    assert register is not None, "no register loaded"
    holders = [register.unit(li.unit) for li in register.liaisons if li.target == target]
    assert [h.name_zh for h in holders if h is not None] == [unit]


@then(parsers.re(r'"(?P<unit>[^"]+)" has (?P<open>\d+) open appeals?, counting the units '
                 r'below it'))
@then(parsers.re(r'"(?P<unit>[^"]+)"连同下级单位共有在办诉求(?P<open>\d+)件'))
def rolled_up_caseload(world: World, unit: str, open: str) -> None:
    loads = {u: o for u, o, _ in world.svc.unit_caseload()}
    assert loads.get(unit, 0) == int(open), loads


@then(parsers.re(r'the satisfaction rate of "(?P<street>[^"]+)" is (?P<rate>[\d.]+)%, with '
                 r'(?P<unreachable>\d+) unreachable'))
@then(parsers.re(r'"(?P<street>[^"]+)"的满意率为(?P<rate>[\d.]+)%，未联系上(?P<unreachable>\d+)件'))
def satisfaction_of(world: World, street: str, rate: str, unreachable: str) -> None:
    groups = {g.group: g for g in world.svc.stats("street")}
    g = groups[street]
    assert g.satisfaction_rate is not None
    assert round(g.satisfaction_rate * 100, 1) == float(rate), g
    assert g.unreachable == int(unreachable), g


@action(r' {try}records? that the petitioner could not be reached')
@action(r'{try}回访未联系上诉求人')
def callback_unreachable(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.callback(
        world.pid, actor=actor_of(who), contacted=False, resolved=False, rating=None,
        at=world.now))


@then(parsers.re(r'ranked by (?P<by>street|unit), the order is (?P<groups>.+)'))
@then(parsers.re(r'按(?P<by>街道|单位)排名，依次为(?P<groups>.+)'))
def ranked(world: World, by: str, groups: str) -> None:
    key = {"街道": "street", "单位": "unit"}.get(by, by)
    rows = world.svc.rank(key)
    assert [r.group for r in rows] == quoted(groups), [(r.group, r.score) for r in rows]


@then(parsers.re(r'"(?P<street>[^"]+)" has no satisfaction rate yet, with (?P<unreachable>\d+) '
                 r'unreachable'))
@then(parsers.re(r'"(?P<street>[^"]+)"尚无满意率，未联系上(?P<unreachable>\d+)件'))
def no_satisfaction_yet(world: World, street: str, unreachable: str) -> None:
    g = {g.group: g for g in world.svc.stats("street")}[street]
    assert g.satisfaction_rate is None and g.rated == 0, g
    assert g.unreachable == int(unreachable), g


@action(r' {try}reminds? the handling unit(?: "(?P<note>[^"]+)")?')
@action(r'{try}催办(?:："(?P<note>[^"]+)")?')
def reminds(world: World, who: str, note: str | None = None,
            trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.remind(
        world.pid, actor=actor_of(who), note=note or "", at=world.now))


@action(r' {try}escalates? the appeal because "(?P<reason>[^"]+)"')
@action(r'{try}督办："(?P<reason>[^"]+)"')
def escalates(world: World, who: str, reason: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.escalate(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@action(r' {try}(?:to )?exclude(?:s)? the appeal from the rates because "(?P<reason>[^"]+)"')
@action(r'{try}核减该诉求："(?P<reason>[^"]+)"')
def excludes(world: World, who: str, reason: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.exclude(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@then(parsers.re(r'"(?P<unit>[^"]+)" has (?P<r>\d+) reminders? and (?P<e>\d+) escalations?'))
@then(parsers.re(r'"(?P<unit>[^"]+)"被催办(?P<r>\d+)次、督办(?P<e>\d+)次'))
def supervision_counted(world: World, unit: str, r: str, e: str) -> None:
    assert world.svc.supervision_counts().get(unit, (0, 0)) == (int(r), int(e))


@then(parsers.re(r'"(?P<street>[^"]+)" has no rates'))
@then(parsers.re(r'"(?P<street>[^"]+)"不计入考核'))
def no_rates(world: World, street: str) -> None:
    assert street not in {g.group for g in world.svc.stats("street")}


# ------------------------------------- sign-for, return, 定责, supervision levels
# 签收, 先行联系, 退单 and 定责 (standard workflow v4, [sign_for]); 督办 黄牌/红牌.
LEVEL_WORDS = {"黄牌": "yellow", "红牌": "red", "yellow": "yellow", "red": "red"}


@action(r' {try}signs? for the order')
@action(r'{try}签收工单')
def signs_for(world: World, who: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.sign(world.pid, actor=actor_of(who),
                                                       at=world.now))


@action(r' {try}records? first contact with the petitioner(?: "(?P<note>[^"]+)")?')
@action(r'{try}首次联系诉求人(?:："(?P<note>[^"]+)")?')
def first_contact(world: World, who: str, note: str | None = None,
                  trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.contact(
        world.pid, actor=actor_of(who), note=note or "", at=world.now))


@action(r' {try}returns? the order because "(?P<reason>[^"]+)"')
@action(r'{try}退单："(?P<reason>[^"]+)"')
def returns_order(world: World, who: str, reason: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.return_order(
        world.pid, actor=actor_of(who), reason=reason, at=world.now))


@action(r' {try}names? the handling unit \(定责\) "(?P<unit>[^"]+)", person "(?P<person>[^"]+)"')
@action(r'{try}定责派给"(?P<unit>[^"]+)"，责任人"(?P<person>[^"]+)"')
def assigns_finally(world: World, who: str, unit: str, person: str,
                    trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.assign(
        world.pid, actor=actor_of(who), unit=unit, person=person, final=True, at=world.now))


@action(r' {try}escalates? the appeal with a (?P<level>\w+) card because "(?P<reason>[^"]+)"')
@action(r'{try}以(?P<level>\w+?)督办该诉求："(?P<reason>[^"]+)"')
def escalates_at_level(world: World, who: str, level: str, reason: str,
                       trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.escalate(
        world.pid, actor=actor_of(who), reason=reason, level=LEVEL_WORDS.get(level, level),
        at=world.now))


@then(parsers.re(r'the order is signed for (?P<when>in time|late)'))
@then(parsers.re(r'工单已(?P<when>按时|超时)签收'))
def signed_for(world: World, when: str) -> None:
    signed = [e for e in world.svc.history(world.pid) if e.type == "Signed"]
    assert signed, "the order was not signed for"
    assert signed[-1].data["in_time"] is (when in ("in time", "按时")), signed[-1].data


@then(parsers.re(r'the order has been returned (?P<n>\d+) times?'))
@then(parsers.re(r'该工单已退单(?P<n>\d+)次'))
def returned_times(world: World, n: str) -> None:
    assert world.svc.get(world.pid).returns == int(n)


@then(parsers.re(r'"(?P<unit>[^"]+)" has (?P<y>\d+) yellow and (?P<r>\d+) red cards?, '
                 r'(?P<rem>\d+) reminders?'))
@then(parsers.re(r'"(?P<unit>[^"]+)"被黄牌督办(?P<y>\d+)次、红牌督办(?P<r>\d+)次，'
                 r'催办(?P<rem>\d+)次'))
def cards_counted(world: World, unit: str, y: str, r: str, rem: str) -> None:
    """Counted per unit in the rates (``stats --by unit``) and the ranking."""
    group = {g.group: g for g in world.svc.stats("unit")}[unit]
    levels = dict(group.escalation_levels)
    assert (levels.get("yellow", 0), levels.get("red", 0), group.reminders) == (
        int(y), int(r), int(rem)), group
    ranked = {row.group: row for row in world.svc.rank("unit")}[unit]
    assert dict(ranked.escalation_levels) == levels and ranked.reminders == int(rem)


@then(parsers.re(r'the response rate of "(?P<unit>[^"]+)" is (?P<rate>[\d.]+)%'))
@then(parsers.re(r'"(?P<unit>[^"]+)"的响应率为(?P<rate>[\d.]+)%'))
def response_rate(world: World, unit: str, rate: str) -> None:
    group = {g.group: g for g in world.svc.stats("unit")}[unit]
    assert group.response_rate is not None
    assert round(group.response_rate * 100, 1) == float(rate), group


# The register's 包联 as a given (a feature's background names the units it uses).
given(parsers.re(r'"(?P<target>[^"]+)"的包联单位是"(?P<unit>[^"]+)"'))(liaison_of)
# ------------------------------------- request types, urgency, anonymous (issue 14)
def _local(when: str) -> datetime:
    """``2022-06-01 10:15`` in Asia/Shanghai; ``24:00`` is the end of that day."""
    day, _, clock = when.partition(" ")
    if clock == "24:00":
        return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=SHANGHAI) + timedelta(days=1)
    return datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


@action(r' {try}answers? the consultation at once: "(?P<text>[^"]+)"')
@action(r'{try}即时办结该诉求，答复"(?P<text>[^"]+)"')
def answers_now(world: World, who: str, text: str, trying: str | None = None) -> None:
    world.attempt(bool(trying), lambda: world.svc.answer_now(
        world.pid, actor=actor_of(who), text=text, at=world.now))


@then(parsers.re(r'the appeal is a "(?P<type>[^"]+)" of "(?P<urgency>[^"]+)" urgency'))
@then(parsers.re(r'该诉求的诉求类型为"(?P<type>[^"]+)"，紧急程度为"(?P<urgency>[^"]+)"'))
def type_and_urgency(world: World, type: str, urgency: str) -> None:
    view = world.svc.get(world.pid)
    assert view.type == TYPE_WORDS.get(type, type), view.type
    assert view.urgency == URGENCY_WORDS.get(urgency, urgency), view.urgency
    assert type in (view.type, view.type_label.zh, view.type_label.en)


@then(parsers.re(r'the appeal is due (?:at|by) (?P<when>\d{4}-\d\d-\d\d \d\d:\d\d)'))
@then(parsers.re(r'该诉求的期限为(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d)'))
def due_at(world: World, when: str) -> None:
    view = world.svc.get(world.pid)
    assert view.deadline == _local(when), (view.clock_stage, view.deadline)


@then("the appeal is anonymous and names nobody")
@then("该诉求为匿名诉求，不显示任何诉求人信息")
def names_nobody(world: World) -> None:
    view = world.svc.get(world.pid, viewer=Actor("boss", "supervisor"))
    shown = view.petitioner
    assert view.anonymous and not (shown.name or shown.phone or shown.id_number
                                   or shown.address), shown


@then("the call-back is recorded as impossible")
@then("回访记录为无法回访")
def callback_impossible(world: World) -> None:
    view = world.svc.get(world.pid)
    assert view.callback_impossible and view.last_rating is None
    assert [e.type for e in world.svc.history(world.pid)][-1] == "CallbackImpossible"


@then(parsers.re(r'"(?P<street>[^"]+)" has (?P<valid>\d+) valid call-backs? and (?P<n>\d+) '
                 r'impossible \(anonymous\)'))
@then(parsers.re(r'"(?P<street>[^"]+)"有效回访(?P<valid>\d+)件，无法回访（匿名）(?P<n>\d+)件'))
def impossible_apart(world: World, street: str, valid: str, n: str) -> None:
    g = {g.group: g for g in world.svc.stats("street")}[street]
    assert (g.valid, g.impossible) == (int(valid), int(n)), g
