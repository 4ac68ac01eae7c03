"""The demo: the seed's Jiangbei cases 1–9, each taken as far as the report takes it.

Source: a 2022 report on Jiangbei District, Chongqing (SCENARIOS.md; the
report is /work/shared/seed/000_838b948ff11e4f2f.txt, lines cited below).
Every case is data — who filed what, where, through which channel, under
which workflow, and the steps that followed — fed through the public service
API.  Each case runs under the workflow that fits it, as the Gherkin
specifications in ``features/`` do.

What the demo holds to:

* Only the people, units and events the report names.  Where it names no
  person, a role or the unit stands in (社区党委书记, 包联干部, 寸滩街道党工委);
  where it says nothing of a call-back (回访), none is recorded and the case
  waits for it — words of satisfaction the report quotes (case 3's 很满意,
  case 5's thanks, case 7's 心里踏实多了) are said to the report, not asked for
  by a call-back, so they are recorded as notes.  Where the report describes a
  capability (case 6's SOS button) and no incident, no incident is recorded.
* The report gives no dates except 1 March 2022 (case 5's job fair) and
  "2019年起" (case 9): every other time is an *assumption*, chosen so that each
  case keeps its workflow's time limits (``tests/test_demo_timelines.py``
  sweeps every case at each of its recorded times and finds nothing overdue).


====  ======================  ===================================================
case  workflow                what is recorded
====  ======================  ===================================================
1     ``property_dispute``    early intervention, two joint meetings (联席会议) as
                              mediation sessions, the six-step election plan done
                              step by step with evidence, call-back, closed
2     ``property_dispute`` +  the door-to-door campaign (进家入户) with its 34
      ``campaign``            suggestions, each filed under ``campaign`` and
                              resolved by the street (一一落实解决), each waiting
                              for its call-back; the compound's own petition
                              left where the report leaves it (preparing the
                              election)
3–5   ``enterprise_service``  liaison / chamber-of-commerce channels (accepted on
                              filing), co-handling units, on-site office meeting
6     ``standard``            208 elderly households assessed and fitted with
                              smart home-care kits (徐英's SOS button among
                              them); the project "basically complete", so left
                              in handling.  No SOS call is recorded: the report
                              tells of none (``emergency_care`` is what such a
                              call would run under; features/case6 shows it)
7     ``standard``            standalone smoke alarms for 40 lone elderly, listed
                              from the community's service roster and visits
8–9   ``standard``            grid worker's visit (waiting for the call-back);
                              龙兴寺码头 (the works paused the clock)
====  ======================  ===================================================

Running the demo twice changes nothing: every filing carries an idempotency
key, the campaign is found again by its name, opener and opening time, and
only the steps a petition does not have yet are recorded (so an interrupted
run is completed, not duplicated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
from eventsourcing.utils import get_topic

from petitions.campaigns import CampaignProgress
from petitions.domain.campaign import Campaign
from petitions.domain.petition import petition_id_for
from petitions.domain.values import Actor, Location, Petitioner
from petitions.errors import InvalidInput
from petitions.service import PetitionService
from petitions.views import PetitionView

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _t(month: int, day: int, hour: int, minute: int = 0, *, year: int = 2022) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


#: The event each demo command records (to tell which steps are done).
EVENT_OF = {
    "accept": "Accepted", "assign": "Assigned", "open_mediation": "MediationOpened",
    "record_session": "MediationSessionRecorded", "agree": "AgreementReached",
    "plan_step": "PlanStepCompleted", "act": "ActionRecorded",
    "on_site_meeting": "OnSiteMeetingHeld", "reply": "Replied", "resolve": "Resolved",
    "callback": "CallbackRecorded", "close": "Closed", "note": "NoteAdded",
    "pause": "ClockPaused", "resume": "ClockResumed",
}


@attrs.frozen
class Step:
    """One command of a case: the service method, who, when, and its arguments."""

    command: str = attrs.field(validator=attrs.validators.in_(EVENT_OF))
    actor: Actor
    at: datetime
    args: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Filing:
    """One petition: how it was filed, and the steps that followed."""

    key: str
    workflow: str
    filed_by: Actor
    filed_at: datetime
    petitioner: Petitioner
    title: str
    description: str
    category: str
    channel: str
    location: Location
    steps: tuple[Step, ...]
    matter_type: str = "claim"


@attrs.frozen
class DemoCampaign:
    """A door-to-door campaign (进家入户) and the suggestions it collected."""

    name: str
    opened_by: Actor
    opened_at: datetime
    location: Location
    description: str
    suggestions: tuple[Filing, ...]


@attrs.frozen
class Case:
    """A case of the report: its own petition and, for case 2, its campaign."""

    number: int
    name: str
    petition: Filing
    campaign: DemoCampaign | None = None

    @property
    def key(self) -> str:
        return self.petition.key

    @property
    def workflow(self) -> str:
        return self.petition.workflow

    @property
    def filings(self) -> tuple[Filing, ...]:
        """Every petition of the case: its own, then its campaign's suggestions."""
        extra = self.campaign.suggestions if self.campaign else ()
        return (self.petition, *extra)


@attrs.frozen
class CaseResult:
    """A case after loading: its own petition as it stands, and its campaign."""

    case: Case
    petition_id: UUID
    view: PetitionView
    new: bool  # whether this run recorded anything for the case
    events: int  # petition events of the case (its own and its suggestions')
    petitions: int
    campaign: CampaignProgress | None

    def to_dict(self) -> dict[str, Any]:
        campaign = None
        if self.campaign is not None:
            campaign = {"id": str(self.campaign.id), "name": self.campaign.name,
                        "collected": self.campaign.collected,
                        "resolved": self.campaign.resolved,
                        "closed_other": self.campaign.closed_other,
                        "open": self.campaign.open,
                        "awaiting_callback": self.campaign.awaiting_callback}
        return {"case": self.case.number, "name": self.case.name,
                "street": self.view.location.street, "workflow": self.view.workflow.name,
                "stage": self.view.stage, "outcome": self.view.outcome,
                "events": self.events, "petitions": self.petitions, "new": self.new,
                "campaign": campaign}


# Actors of the report (real names where it gives them).
CLERK = Actor("jiangbei-intake-clerk", "intake_clerk")
HUAXINJIE = Actor("huaxinjie-community-party-committee", "caseworker")
CUNTAN = Actor("cuntan-caseworker", "caseworker")
CUNTAN_VISITOR = Actor("cuntan-door-to-door-team", "grid_worker")
#: The report names 寸滩街道党工委 as the one who collected and resolved the
#: suggestions; it stands in as the person responsible.
CUNTAN_COMMITTEE = "寸滩街道党工委"
JIANGBEICHENG = Actor("jiangbeicheng-liaison-cadre", "caseworker")
DASHIBA = Actor("dashiba-chamber-secretary", "caseworker")
YUZUI = Actor("yuzui-liaison-cadre", "caseworker")
SHIMAHE = Actor("shimahe-street-caseworker", "caseworker")
FUSHENG = Actor("fusheng-community-worker", "caseworker")
HU_ANQING = Actor("grid-worker-hu-anqing", "grid_worker")
TIESHANPING = Actor("tieshanping-command-centre", "caseworker")
GUOJIATUO_LEAD = Actor("guojiatuo-street-leader", "supervisor")
LUOCHASI_GRID = Actor("luochasi-grid-worker", "grid_worker")
GUOJIATUO = Actor("guojiatuo-caseworker", "caseworker")

#: The plan of case 1 and its six steps, in order, with what showed each was done.
ELECTION_PLAN = "owners_committee_election"
ELECTION_STEPS = (
    # The report names the six steps and what the last one produced; the
    # evidence of the first five is the step as the report names it.
    ("publicise", _t(1, 24, 9), "“六步工作法”：组织宣传"),
    ("nominate_representatives", _t(2, 10, 9), "“六步工作法”：推选代表"),
    ("collect_applications", _t(2, 21, 9), "“六步工作法”：收集申请"),
    ("form_working_group", _t(2, 28, 9), "“六步工作法”：搭建专班"),
    ("prepare_assembly", _t(3, 7, 9), "“六步工作法”：大会筹备"),
    ("lawful_election", _t(3, 20, 15),
     "依法选举新一届业委会：5名成员中党员3人、群众2人，业委会主任兼任小区党支部书记"),
)

MAOXI = Location(street="寸滩街道", community="保税商厦社区", place="吉安园茅溪小区")
MAOXI_SUGGESTIONS = 34


def _maoxi_suggestion(i: int) -> Filing:
    """The ``i``-th of the 34 suggestions collected door to door (1-based).

    Report line 21 says only that 34 suggestions were collected and each was
    resolved (一一落实解决): it gives no suggestion's content, no resident's
    name and no call-back.  So each suggestion is a placeholder filed by an
    unnamed resident, resolved by the street, and left waiting for its
    call-back (回访) like every case whose call-back the report does not tell.
    The times are assumptions that keep the ``campaign`` workflow's limits.
    """
    collected = _t(2, 21 + (i - 1) // 7, 9 + (i - 1) % 7, 30)
    # Dispatched the next working day; settled within 15 working days.
    collected_day = 21 + (i - 1) // 7
    assigned = _t(2, 28, 9) if collected_day == 25 else _t(2, collected_day + 1, 9)
    done = _t(3, 1 + (i - 1) % 14, 10)
    return Filing(
        key=f"demo:jiangbei:2022:case-2:maoxi-suggestion-{i:02d}", workflow="campaign",
        filed_by=CUNTAN_VISITOR, filed_at=collected,
        petitioner=Petitioner(id=f"resident-maoxi-{i:02d}", kind="resident",
                              name=f"吉安园茅溪小区居民（第{i}条建议）"),
        title=f"居民建议第{i}条",
        description=f"“进家入户”走访收集的第{i}条居民建议（报告未载明各条建议的内容）。",
        category="property_management", channel="door_to_door", location=MAOXI,
        matter_type="suggestion",
        steps=(
            Step("assign", CUNTAN, assigned,
                 {"unit": "寸滩街道", "person": CUNTAN_COMMITTEE}),
            Step("act", CUNTAN, done, {"action": "一一落实解决"}),
            Step("reply", CUNTAN, done.replace(hour=15),
                 {"outcome": "support", "text": f"第{i}条建议已落实解决。"}),
            Step("resolve", CUNTAN, done.replace(hour=16)),
        ),
    )


CASES: tuple[Case, ...] = (
    Case(number=1, name="东方家园", petition=Filing(
        key="demo:jiangbei:2022:case-1:dongfang-jiayuan", workflow="property_dispute",
        filed_by=CLERK, filed_at=_t(1, 10, 9),
        petitioner=Petitioner(id="collective-dongfang-jiayuan-owners", kind="collective",
                              name="东方家园小区业主"),
        title="东方家园小区物业矛盾，业委会亟需依法换届",
        description="东方家园小区始建于2000年，人口众多、住宅集中；随着小区老化，物业矛盾随之"
                    "产生、积累，业主要求依法选举新一届业委会。",
        category="property_management", channel="joint_meeting",
        location=Location(street="华新街街道", place="东方家园小区"),
        steps=(
            Step("accept", HUAXINJIE, _t(1, 10, 10), {"note": "社区党组织了解情况后提前介入"}),
            Step("assign", HUAXINJIE, _t(1, 10, 11),
                 {"unit": "社区党委", "person": "社区党委书记"}),
            Step("open_mediation", HUAXINJIE, _t(1, 11, 9),
                 {"mediator": "社区党委书记", "parties": ["业主代表", "原业委会", "物业公司"]}),
            Step("record_session", HUAXINJIE, _t(1, 14, 19),
                 # ASSUMPTION: the report names no meeting place or date.
                 {"place": "东方家园小区",
                  "participants": ["业主代表", "原业委会", "物业公司", "社区党委"],
                  "minutes": "联席会议梳理业主反映强烈的急事难事，逐一调查"}),
            Step("act", HUAXINJIE, _t(1, 18, 9),
                 {"action": "社区党委组织人员上门解释，逐户听取业主意见建议"}),
            Step("record_session", HUAXINJIE, _t(1, 21, 19),
                 {"place": "东方家园小区",
                  "participants": ["业主代表", "物业公司", "社区党委"],
                  "minutes": "联席会议研究急事难事，逐一协调解决"}),
            Step("agree", HUAXINJIE, _t(1, 21, 21),
                 {"terms": "急事难事逐一协调解决；在社区党组织全程指导监督下，"
                           "按“六步工作法”依法选举新一届业委会"}),
            *(Step("plan_step", HUAXINJIE, at,
                   {"plan": ELECTION_PLAN, "step": code, "evidence": evidence})
              for code, at, evidence in ELECTION_STEPS),
            Step("reply", HUAXINJIE, _t(3, 21, 10),
                 {"outcome": "support",
                  "text": "依法选举产生新一届业委会，5名成员中党员3人、群众2人，"
                          "业委会主任兼任小区党支部书记；业主急事难事已逐一协调解决。"}),
            Step("resolve", HUAXINJIE, _t(3, 21, 11), {"summary": "新一届业委会依法选举产生"}),
        ))),
    Case(number=2, name="吉安园茅溪小区", petition=Filing(
        key="demo:jiangbei:2022:case-2:jiayuan-maoxi", workflow="property_dispute",
        filed_by=CLERK, filed_at=_t(2, 14, 9),
        petitioner=Petitioner(id="collective-maoxi-owners", kind="collective",
                              name="吉安园茅溪小区业主"),
        title="吉安园茅溪小区业委会行使权力不规范、停车难，与物业公司矛盾激化",
        description="小区共有居民1224户，原有业委会行使权力不规范、小区停车难等问题一直困扰"
                    "居民，与物业公司的矛盾不断激化。",
        category="property_management", channel="door_to_door", location=MAOXI,
        steps=(
            Step("accept", CUNTAN, _t(2, 14, 10), {"note": "寸滩街道党工委高度重视"}),
            Step("assign", CUNTAN, _t(2, 14, 11),
                 {"unit": "寸滩街道", "person": CUNTAN_COMMITTEE}),
            Step("act", CUNTAN, _t(2, 25, 17),
                 {"action": "开展“进家入户”走访活动，充分收集居民建议34条"}),
            Step("act", CUNTAN, _t(3, 15, 17), {"action": "34条居民建议一一落实解决"}),
            Step("note", CUNTAN, _t(3, 16, 9),
                 {"text": "为业委会选举工作做好铺垫，筹备新一届业委会选举"}),
        )),
        campaign=DemoCampaign(
            name="吉安园茅溪小区“进家入户”走访", opened_by=CUNTAN, opened_at=_t(2, 21, 9),
            location=MAOXI,
            description="寸滩街道党工委对小区1224户居民进家入户走访，收集意见建议并一一落实。",
            suggestions=tuple(_maoxi_suggestion(i) for i in range(1, MAOXI_SUGGESTIONS + 1)))),
    Case(number=3, name="西南证券", petition=Filing(
        key="demo:jiangbei:2022:case-3:xinan-securities", workflow="enterprise_service",
        filed_by=JIANGBEICHENG, filed_at=_t(4, 11, 9, 30),
        petitioner=Petitioner(id="enterprise-xinan-securities", kind="enterprise",
                              name="西南证券"),
        title="写字楼周边车辆乱停堵塞交通",
        description="新入驻的西南证券反映：公司周边车辆停放影响交通，希望街道帮忙协调解决。",
        category="traffic", channel="enterprise_liaison",
        location=Location(street="江北城街道", place="西南证券大楼"),
        steps=(
            Step("assign", JIANGBEICHENG, _t(4, 11, 10),
                 {"unit": "江北城街道", "person": "包联干部",
                  "co_units": ["区交警支队"]}),
            Step("on_site_meeting", JIANGBEICHENG, _t(4, 11, 14),
                 {"place": "西南证券大楼",
                  "participants": ["西南证券", "区交警支队", "江北城街道"],
                  "minutes": "现场办公，与企业面对面交流，听取意见建议，实地论证整治方案"}),
            Step("act", JIANGBEICHENG, _t(4, 12, 9),
                 {"action": "会同区交警支队梳理交通突出问题，规范周边车辆停放，加强巡查"}),
            Step("reply", JIANGBEICHENG, _t(4, 14, 16),
                 {"outcome": "support", "text": "车辆乱停现象已整治，周边交通秩序大为改观。"}),
            Step("resolve", JIANGBEICHENG, _t(4, 14, 17), {"summary": "停车秩序整治完成"}),
            # 王晓华 (the building's property company, not the petitioner) said
            # this to the report; no call-back (回访) is told: a note, and the
            # call-back is still due.
            Step("note", JIANGBEICHENG, _t(4, 15, 10),
                 {"text": "西南证券第一太平戴维斯物业公司总经理王晓华：通过整治之后，车辆乱停"
                          "现象大为改观，我们街道能够这么快地解决难题很满意"}),
        ))),
    Case(number=4, name="齐祥灯饰", petition=Filing(
        key="demo:jiangbei:2022:case-4:qixiang-lighting", workflow="enterprise_service",
        filed_by=DASHIBA, filed_at=_t(2, 14, 10),
        petitioner=Petitioner(id="enterprise-qixiang-lighting", kind="enterprise",
                              name="齐祥灯饰（负责人黄瀚）"),
        title="企业资金周转困难，请求融资对接",
        description="齐祥灯饰遇到资金瓶颈，经营周转困难，通过街道商会反映融资需求。",
        category="business_environment", channel="chamber_of_commerce",
        location=Location(street="大石坝街道"),
        steps=(
            # The street is accountable (lead unit); its chamber of commerce
            # does the linking (co-handling unit).
            Step("assign", DASHIBA, _t(2, 14, 14),
                 {"unit": "大石坝街道", "person": "商会负责人",
                  "co_units": ["大石坝街道商会"]}),
            Step("act", DASHIBA, _t(2, 15, 10),
                 {"action": "商会帮忙联系“渝融通”银企对接服务平台"}),
            Step("act", DASHIBA, _t(2, 18, 10), {"action": "提供100余万元的资金支持"}),
            Step("reply", DASHIBA, _t(2, 18, 15),
                 {"outcome": "support", "text": "经“渝融通”平台对接，企业获得100余万元资金支持。"}),
            Step("resolve", DASHIBA, _t(2, 18, 16), {"summary": "融资100余万元到位"}),
            Step("note", DASHIBA, _t(2, 21, 10),
                 {"text": "齐祥灯饰负责人黄瀚：多亏商会帮忙联系“渝融通”银企对接服务平台，"
                          "有效解决了公司的燃眉之急"}),
        ))),
    Case(number=5, name="韩泰轮胎", petition=Filing(
        key="demo:jiangbei:2022:case-5:hankook-tire", workflow="enterprise_service",
        filed_by=YUZUI, filed_at=_t(2, 24, 9),
        petitioner=Petitioner(id="enterprise-hankook-tire", kind="enterprise",
                              name="韩泰轮胎（鱼复工业园区）"),
        title="企业用工短缺，招工难",
        description="鱼复工业园区韩泰轮胎等企业反映用工短缺、招工难，请求镇政府帮助对接求职人员。",
        category="employment", channel="enterprise_liaison",
        location=Location(street="鱼嘴镇", place="鱼复工业园区"),
        steps=(
            Step("assign", YUZUI, _t(2, 24, 10), {"unit": "鱼嘴镇", "person": "包联干部"}),
            Step("act", YUZUI, _t(3, 1, 9),
                 {"action": "举办2022年江北区“春风行动”招聘会，海尔、韩泰轮胎等56家企业入场招聘"}),
            Step("act", YUZUI, _t(3, 2, 10),
                 {"action": "韩泰轮胎现场收获30余名意向人员，10名已通知入职体检"}),
            Step("reply", YUZUI, _t(3, 3, 10),
                 {"outcome": "support", "text": "已通过“春风行动”招聘会帮助企业解决用工需求。"}),
            Step("resolve", YUZUI, _t(3, 3, 11)),
            # The firm's own call of thanks is a praise (表扬), not a call-back
            # (回访) asked by the town: there is no praise request type yet, so
            # it is recorded as a note and the call-back is still awaited.
            Step("note", YUZUI, _t(3, 4, 10),
                 {"text": "表扬：鱼复工业园区韩泰轮胎人力资源部门负责人向鱼嘴镇政府打来电话"
                          "表示感谢——“感谢政府，帮助我们企业解决用工需求”"}),
        ))),
    # Report lines 49–57: 石马河街道 assessed the needs of 208 elderly
    # households and fitted each with a smart home-care kit made to measure
    # (徐英, 通用社区南桥晓月小区, has an SOS button linked to the street and
    # the community, and a night light, by her bed); the project is "basically
    # complete".  The report tells of no SOS call: none is recorded, and the
    # case stays in handling, as far as the report takes it.  Like case 7 it is
    # a need the street found, under ``standard``.  ASSUMPTIONS: the times, and
    # that the assessment was made door to door (the report says only 需求评估).
    Case(number=6, name="石马河街道适老化改造", petition=Filing(
        key="demo:jiangbei:2022:case-6:shimahe-home-care", workflow="standard",
        filed_by=SHIMAHE, filed_at=_t(4, 6, 9),
        petitioner=Petitioner(id="collective-shimahe-elderly-households", kind="collective",
                              name="石马河街道208户老人家庭"),
        title="老人居家养老安全隐患，需适老化改造",
        description="老人上了年纪，行动不便；石马河街道对辖区208户老人家庭进行需求评估，"
                    "根据每位老人的身体状况、行为习惯以及个人需求量身打造智慧居家助老系统。",
        category="elderly_care", channel="door_to_door",
        location=Location(street="石马河街道"),
        steps=(
            Step("accept", SHIMAHE, _t(4, 6, 9, 30)),
            Step("assign", SHIMAHE, _t(4, 6, 10),
                 {"unit": "石马河街道", "person": "石马河街道负责人"}),
            Step("act", SHIMAHE, _t(4, 13, 17),
                 {"action": "对辖区208户老人家庭进行需求评估"}),
            Step("act", SHIMAHE, _t(4, 22, 17),
                 {"action": "量身打造并安装智慧居家助老系统；通用社区南桥晓月小区居民徐英家床边"
                            "安装了与街道社区联网的“SOS”一键呼叫器和小夜灯"}),
            Step("note", SHIMAHE, _t(4, 25, 10),
                 {"text": "石马河街道负责人：老年人家适老化改造安装项目已基本完成"}),
        ))),
    # Report lines 59–61: the community listed, from its service roster and
    # earlier publicity visits, 40 elderly people living alone who needed a
    # smoke alarm; the town decided to fit standalone alarms (独立烟感报警器).
    # Not an emergency call: a need found by the community, under ``standard``.
    Case(number=7, name="福生路社区烟感报警器", petition=Filing(
        key="demo:jiangbei:2022:case-7:fusheng-smoke-alarms", workflow="standard",
        filed_by=FUSHENG, filed_at=_t(1, 4, 9),
        petitioner=Petitioner(id="collective-fusheng-elderly", kind="collective",
                              name="复盛镇40户独居老人"),
        title="独居老人冬季取暖火灾隐患，需安装烟雾报警器",
        description="一入寒冬，很多家庭会用到烤火炉、发热设备取暖，辖区独居老人平时无人照料；"
                    "通过社区服务名单以及前期的宣传走访，统计出40户需要安装烟雾报警器的独居老人。",
        category="fire_safety", channel="door_to_door",
        location=Location(street="复盛镇", community="福生路社区"),
        steps=(
            Step("accept", FUSHENG, _t(1, 4, 9, 30)),
            Step("assign", FUSHENG, _t(1, 4, 10),
                 {"unit": "复盛镇", "person": "福生路社区工作人员",
                  "co_units": ["福生路社区"]}),
            Step("act", FUSHENG, _t(1, 14, 15),
                 {"action": "复盛镇为40户独居老人安装独立烟感报警器"}),
            Step("reply", FUSHENG, _t(1, 14, 16),
                 {"outcome": "support", "text": "40户独居老人家中已安装独立烟感报警器。"}),
            Step("resolve", FUSHENG, _t(1, 14, 17)),
            # The elderly and their children said this to the report; no
            # call-back (回访) is told: a note, and the call-back is still due.
            Step("note", FUSHENG, _t(1, 17, 10),
                 {"text": "老人及其子女们纷纷表示：装了烟雾报警器之后，心里踏实多了"}),
        ))),
    # Report lines 67–71: grid workers visit lone elderly residents, chat with
    # them and check their homes for hazards.  The report names no household
    # and no particular hazard; the case waits for its call-back.
    Case(number=8, name="铁山坪网格走访", petition=Filing(
        key="demo:jiangbei:2022:case-8:tieshanping-grid", workflow="standard",
        filed_by=HU_ANQING, filed_at=_t(3, 22, 14),
        petitioner=Petitioner(id="resident-tieshanping-lone-elderly", kind="resident",
                              name="铁山坪街道独居老人"),
        title="网格员上门走访独居老人，帮助检查隐患",
        description="针对辖区孤老、独居老人较多的状况，网格员上门走访，陪老人聊天，"
                    "帮助老人检查隐患，为老人提供力所能及的帮助。",
        category="elderly_care", channel="grid_visit",
        location=Location(street="铁山坪街道"),
        steps=(
            Step("accept", TIESHANPING, _t(3, 22, 14, 30), {"note": "网格员上报"}),
            Step("assign", TIESHANPING, _t(3, 22, 15),
                 {"unit": "铁山坪街道网格服务队", "person": "胡安庆"}),
            Step("act", HU_ANQING, _t(3, 23, 9), {"action": "上门陪老人聊天，帮助老人检查隐患"}),
            Step("reply", TIESHANPING, _t(3, 25, 10),
                 {"outcome": "support", "text": "已上门走访，帮助老人检查隐患。"}),
            Step("resolve", TIESHANPING, _t(3, 25, 11)),
        ))),
    Case(number=9, name="龙兴寺码头", petition=Filing(
        key="demo:jiangbei:2022:case-9:longxingsi-wharf", workflow="standard",
        filed_by=LUOCHASI_GRID, filed_at=_t(4, 2, 10, year=2019),
        petitioner=Petitioner(id="collective-hongjiang-residents", kind="collective",
                              name="罗刹寺社区红江村居民"),
        title="龙兴寺码头乱搭乱建，居民希望整治为休闲场所",
        description="龙兴寺码头曾是望江人进城出城的必经通道，如今留下一片乱搭乱建和违法建筑，"
                    "居民希望整治环境，建设望江休闲空间。",
        # ASSUMPTION: the report does not say how the residents' wish reached
        # the street (it surveyed their needs, line 39); a grid visit is assumed.
        category="environment", channel="grid_visit", matter_type="suggestion",
        location=Location(street="郭家沱街道", community="罗刹寺社区", place="龙兴寺码头"),
        steps=(
            Step("accept", GUOJIATUO, _t(4, 2, 11, year=2019)),
            Step("assign", GUOJIATUO, _t(4, 3, 9, year=2019),
                 {"unit": "郭家沱街道", "person": "郭家沱街道"}),
            # Demolition and building take years, not 15 working days: the
            # street's leader pauses the clock for the works (report line 39).
            Step("pause", GUOJIATUO_LEAD, _t(4, 3, 10, year=2019),
                 {"reason": "拆除违法建筑、修建观江平台与军工文化公园，工程期间暂停计时"}),
            Step("act", GUOJIATUO, _t(6, 28, 9, year=2019), {"action": "拆除龙兴寺码头违法建筑"}),
            Step("act", GUOJIATUO, _t(12, 20, 9, year=2019),
                 {"action": "平整场地，修建“观江平台”"}),
            Step("act", GUOJIATUO, _t(9, 30, 9, year=2021),
                 {"action": "依据历史记载与郭家沱人的记忆调研居民需求，建起“军工文化公园”"}),
            Step("resume", GUOJIATUO_LEAD, _t(3, 21, 9), {"reason": "工程完成"}),
            Step("reply", GUOJIATUO, _t(3, 28, 10),
                 {"outcome": "support",
                  "text": "观江平台与军工文化公园已建成，龙兴寺码头成为居民的“望江”打卡地。"}),
            Step("resolve", GUOJIATUO, _t(3, 28, 11)),
        ))),
)


def petition_total() -> int:
    """How many petitions the demo loads (for a progress bar)."""
    return sum(len(case.filings) for case in CASES)


def _steps_done(svc: PetitionService, pid: UUID, steps: tuple[Step, ...]) -> int:
    """How many of ``steps`` are recorded already: the longest run of steps whose
    events appear in this order in the petition's history (an acceptance on
    filing, or anything else recorded meanwhile, may come between)."""
    recorded = iter([type(e).__name__ for e in svc.petition_events(pid)][1:])
    done = 0
    for step in steps:
        if EVENT_OF[step.command] not in recorded:
            break
        done += 1
    return done


def run_filing(svc: PetitionService, filing: Filing,
               campaign_id: UUID | None = None) -> tuple[UUID, bool]:
    """File and handle one petition (only what is missing); return its id and
    whether anything was recorded."""
    pid = petition_id_for(filing.key)
    new = False
    if svc.exists(pid):
        found = svc.get(pid).workflow.name
        if found != filing.workflow:
            raise InvalidInput("workflow", f"the demo petition {filing.key} was filed under "
                               f"{found!r}, not {filing.workflow!r}", kind="demo_mismatch")
    else:
        filed = svc.file(actor=filing.filed_by, petitioner=filing.petitioner,
                         title=filing.title, description=filing.description,
                         category=filing.category, channel=filing.channel,
                         location=filing.location, workflow=filing.workflow,
                         matter_type=filing.matter_type, idempotency_key=filing.key,
                         campaign_id=campaign_id, at=filing.filed_at)
        assert filed == pid
        new = True
    for step in filing.steps[_steps_done(svc, pid, filing.steps):]:
        getattr(svc, step.command)(pid, actor=step.actor, at=step.at, **step.args)
        new = True
    return pid, new


def _opened_campaigns(svc: PetitionService) -> Iterator[Campaign.Opened]:
    """Every campaign opening in the store, oldest first."""
    topics = [get_topic(Campaign.Opened)]
    position = 0
    while True:
        batch = svc.recorder.select_notifications(start=position, limit=500, topics=topics,
                                                  inclusive_of_start=False)
        for notification in batch:
            position = notification.id
            event = svc.mapper.to_domain_event(notification)
            if isinstance(event, Campaign.Opened):
                yield event
        if len(batch) < 500:
            return


def open_campaign(svc: PetitionService, plan: DemoCampaign) -> tuple[UUID, bool]:
    """The campaign of ``plan``: the one opened before (same name, opener and
    time), else a new one; return its id and whether it is new."""
    for opened in _opened_campaigns(svc):
        if (opened.name, opened.actor, opened.occurred_at) == (
                plan.name, plan.opened_by, plan.opened_at):
            return opened.originator_id, False
    return svc.open_campaign(actor=plan.opened_by, name=plan.name, location=plan.location,
                             description=plan.description, at=plan.opened_at), True


def load_case(svc: PetitionService, case: Case,
              progress: Callable[[], None] | None = None) -> CaseResult:
    """Load one case (only what is missing), calling ``progress`` after each petition."""
    tick = progress or (lambda: None)
    pid, new = run_filing(svc, case.petition)
    tick()
    events = svc.get(pid).version
    count = 1
    campaign: CampaignProgress | None = None
    if case.campaign is not None:
        cid, opened = open_campaign(svc, case.campaign)
        new = new or opened
        for suggestion in case.campaign.suggestions:
            sid, added = run_filing(svc, suggestion, campaign_id=cid)
            new = new or added
            events += svc.get(sid).version
            count += 1
            tick()
        campaign = svc.campaign_progress(cid)
    return CaseResult(case=case, petition_id=pid, view=svc.get(pid), new=new, events=events,
                      petitions=count, campaign=campaign)


def run_case(svc: PetitionService, case: Case) -> tuple[UUID, bool]:
    """File and handle ``case`` (only what is missing); return its own petition's
    id and whether anything was recorded."""
    result = load_case(svc, case)
    return result.petition_id, result.new


def load_all(svc: PetitionService,
             progress: Callable[[], None] | None = None, *,
             operator: Actor | None = None) -> list[CaseResult]:
    """Load cases 1–9, calling ``progress`` after each of the
    :func:`petition_total` petitions, then the seed's unit register.
    ``operator``: who runs the load, refused unless ``petitions/data/operations.toml``
    grants them ``demo`` (the cases' events are recorded as the report's people did
    them)."""
    if operator is not None:
        from petitions.operations import check

        check(operator, "demo")
    results = [load_case(svc, case, progress) for case in CASES]
    load_register(svc)
    return results


#: Who loads the seed's unit register (a system actor, not a person).
REGISTRAR = Actor("jiangbei-register", "administrator")


def load_register(svc: PetitionService) -> bool:
    """Load the unit register of the seed's Jiangbei streets and communities
    (``petitions/data/jiangbei_register.toml``, every entry citing the report);
    whether it changed (loading it again records nothing)."""
    from importlib import resources

    found = resources.files("petitions").joinpath("data/jiangbei_register.toml")
    with resources.as_file(found) as path:
        return svc.load_register(path, actor=REGISTRAR)[1]


def run_all(svc: PetitionService) -> list[tuple[Case, UUID, bool]]:
    """Load cases 1–9; return each case with its id and whether it was new."""
    return [(r.case, r.petition_id, r.new) for r in load_all(svc)]


def run_case_3(svc: PetitionService) -> tuple[UUID, bool]:
    """File and handle the 西南证券 case; return its id and whether it was new."""
    return run_case(svc, CASES[2])
