"""The demo: the seed's Jiangbei cases 1–9, each taken as far as the report takes it.

Source: a 2022 report on Jiangbei District, Chongqing (SCENARIOS.md).  Every
case is data — who filed what, where, through which channel, and the steps
that followed, with the historical times — fed through the public service
API.  A case's ``workflow`` is one field: switching a case to another
workflow definition is a one-line change.

Running the demo twice changes nothing: every filing carries an idempotency
key, and only the steps a case does not have yet are recorded (so an
interrupted run is completed, not duplicated).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from petitions.domain.petition import petition_id_for
from petitions.domain.values import Actor, Location, Petitioner
from petitions.service import PetitionService

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=SHANGHAI)


@attrs.frozen
class Step:
    """One command of a case: the service method, who, when, and its arguments."""

    command: str
    actor: Actor
    at: datetime
    args: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Case:
    number: int
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


# Actors of the report (real names where it gives them).
CLERK = Actor("intake-clerk-chen", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
LIAISON = Actor("liaison-cadre-zhou", "intake_clerk")
HUAXINJIE = Actor("huaxinjie-caseworker", "caseworker")
CUNTAN = Actor("cuntan-caseworker", "caseworker")
DASHIBA = Actor("dashiba-chamber-liaison", "caseworker")
YUZUI = Actor("yuzui-employment-office", "caseworker")
SHIMAHE = Actor("shimahe-caseworker", "caseworker")
FUSHENG = Actor("fusheng-community-worker", "caseworker")
HU_ANQING = Actor("grid-worker-hu-anqing", "grid_worker")
TIESHANPING = Actor("tieshanping-command-centre", "caseworker")
GUOJIATUO = Actor("guojiatuo-caseworker", "caseworker")

CASES: tuple[Case, ...] = (
    Case(
        number=1, key="demo:jiangbei:case-1:dongfang-jiayuan", workflow="standard",
        filed_by=CLERK, filed_at=_t(3, 7, 9),
        petitioner=Petitioner(id="collective-dongfang-jiayuan-owners", kind="collective",
                              name="东方家园小区业主"),
        title="东方家园小区物业矛盾，业主要求依法选举业委会",
        description="东方家园小区始建于2000年，老旧小区物业矛盾不断积累，业主要求成立业主委员会、"
                    "依法选聘物业。",
        category="property_management", channel="door_to_door",
        location=Location(street="华新街街道", address="东方家园小区"),
        steps=(
            Step("accept", HUAXINJIE, _t(3, 7, 10), {"note": "社区党委提前介入"}),
            Step("assign", HUAXINJIE, _t(3, 7, 11),
                 {"unit": "华新街街道社区党委", "person": "社区党委书记"}),
            Step("open_mediation", HUAXINJIE, _t(3, 8, 9),
                 {"mediator": "社区党委书记", "parties": ["东方家园小区业主", "物业公司"]}),
            Step("record_session", HUAXINJIE, _t(3, 10, 19),
                 {"place": "东方家园社区会议室",
                  "participants": ["业主代表", "物业公司", "社区党委"],
                  "minutes": "联席会议逐一梳理业主急难愁盼问题"}),
            Step("agree", HUAXINJIE, _t(3, 15, 16),
                 {"terms": "在街道指导下按“六步工作法”依法选举业委会，急难问题逐一入户化解"}),
            Step("act", HUAXINJIE, _t(3, 20, 9), {"action": "组织宣传"}),
            Step("act", HUAXINJIE, _t(3, 27, 9), {"action": "推选代表"}),
            Step("act", HUAXINJIE, _t(4, 6, 9), {"action": "收集申请"}),
            Step("act", HUAXINJIE, _t(4, 13, 9), {"action": "搭建专班"}),
            Step("act", HUAXINJIE, _t(4, 24, 9), {"action": "大会筹备"}),
            Step("act", HUAXINJIE, _t(5, 8, 9),
                 {"action": "依法选举：选出5名业委会成员（3名党员），主任兼任小区党支部书记"}),
            Step("reply", HUAXINJIE, _t(5, 9, 10),
                 {"outcome": "support", "text": "业委会已依法选举产生，物业矛盾得到化解。"}),
            Step("resolve", HUAXINJIE, _t(5, 9, 11), {"summary": "业委会选举完成"}),
            Step("callback", CLERK, _t(5, 12, 10),
                 {"contacted": True, "resolved": True, "rating": "satisfied"}),
            Step("close", HUAXINJIE, _t(5, 12, 11), {"note": "回访满意，办结"}),
        ),
    ),
    Case(
        number=2, key="demo:jiangbei:case-2:jiayuan-maoxi", workflow="standard",
        filed_by=CLERK, filed_at=_t(4, 11, 9),
        petitioner=Petitioner(id="collective-maoxi-owners", kind="collective",
                              name="吉安园茅溪小区业主"),
        title="吉安园茅溪小区业委会不规范、停车难，与物业矛盾激化",
        description="小区共有居民1224户，原有业委会行使权力不规范，停车难等问题长期困扰居民，"
                    "与物业公司矛盾不断激化。",
        category="property_management", channel="door_to_door",
        location=Location(street="寸滩街道", community="保税商厦社区",
                          address="吉安园茅溪小区"),
        steps=(
            Step("accept", CUNTAN, _t(4, 11, 10), {"note": "街道党工委高度重视"}),
            Step("assign", CUNTAN, _t(4, 11, 11),
                 {"unit": "寸滩街道", "person": "保税商厦社区书记",
                  "co_units": ["保税商厦社区"]}),
            Step("act", CUNTAN, _t(4, 18, 9),
                 {"action": "开展进家入户走访，收集居民意见建议34条"}),
            Step("act", CUNTAN, _t(5, 20, 17), {"action": "34条意见建议逐一解决"}),
            Step("note", CUNTAN, _t(5, 23, 9), {"text": "正在筹备新一届业委会选举"}),
        ),
    ),
    Case(
        number=3, key="demo:jiangbei:case-3:xinan-securities", workflow="standard",
        filed_by=LIAISON, filed_at=_t(6, 6, 9, 30),
        petitioner=Petitioner(id="enterprise-xinan-securities", kind="enterprise",
                              name="西南证券", phone="023-00000000"),
        title="写字楼周边车辆乱停堵塞交通",
        description="西南证券反映：公司所在楼宇周边车辆乱停乱放，早晚高峰交通拥堵，员工与客户出行困难。",
        category="traffic", channel="enterprise_liaison",
        location=Location(street="江北城街道", community="", grid="", address="西南证券大楼"),
        steps=(
            Step("accept", WORKER, _t(6, 6, 10), {"note": "包联干部上报，当即受理"}),
            Step("assign", WORKER, _t(6, 6, 10, 30),
                 {"unit": "江北城街道平安办", "person": "网格长王强", "co_units": ["区交警支队"]}),
            Step("act", WORKER, _t(6, 7, 9),
                 {"action": "会同区交警支队现场查看，制定停车疏导方案"}),
            Step("act", WORKER, _t(6, 8, 15),
                 {"action": "与企业召开现场办公会，明确划线停车与错峰出行"}),
            Step("reply", WORKER, _t(6, 10, 16),
                 {"outcome": "support",
                  "text": "已会同交警施划停车位并加强巡查，周边交通恢复通畅。"}),
            Step("resolve", WORKER, _t(6, 10, 17), {"summary": "停车秩序整治完成"}),
            Step("callback", WORKER, _t(6, 13, 10),
                 {"contacted": True, "resolved": True, "rating": "satisfied",
                  "comment": "物业负责人表示很满意"}),
            Step("close", WORKER, _t(6, 13, 10, 5), {"note": "回访满意，办结"}),
        ),
    ),
    Case(
        number=4, key="demo:jiangbei:case-4:qixiang-lighting", workflow="standard",
        filed_by=DASHIBA, filed_at=_t(5, 16, 10),
        petitioner=Petitioner(id="enterprise-qixiang-lighting", kind="enterprise",
                              name="齐祥灯饰（负责人黄瀚）"),
        title="企业资金周转困难，请求融资对接",
        description="齐祥灯饰遇到资金瓶颈，经营周转困难，通过商会反映融资需求。",
        category="business_environment", channel="chamber_of_commerce",
        location=Location(street="大石坝街道"),
        steps=(
            Step("accept", DASHIBA, _t(5, 16, 11)),
            Step("assign", DASHIBA, _t(5, 16, 14),
                 {"unit": "大石坝街道商会", "person": "商会秘书长"}),
            Step("act", DASHIBA, _t(5, 20, 10),
                 {"action": "联系“渝融通”银企对接服务平台，促成银企对接"}),
            Step("reply", DASHIBA, _t(6, 2, 10),
                 {"outcome": "support", "text": "经“渝融通”平台对接，企业获得100余万元资金支持。"}),
            Step("resolve", DASHIBA, _t(6, 2, 11), {"summary": "融资100余万元到位"}),
            Step("callback", DASHIBA, _t(6, 6, 15),
                 {"contacted": True, "resolved": True, "rating": "satisfied",
                  "comment": "黄瀚：多亏商会帮忙，有效解决了公司的燃眉之急"}),
            Step("close", DASHIBA, _t(6, 6, 15, 10)),
        ),
    ),
    Case(
        number=5, key="demo:jiangbei:case-5:hankook-tire", workflow="standard",
        filed_by=YUZUI, filed_at=_t(2, 14, 10),
        petitioner=Petitioner(id="enterprise-hankook-tire", kind="enterprise",
                              name="韩泰轮胎（鱼复工业园区）"),
        title="企业招工难，用工短缺",
        description="韩泰轮胎等园区企业反映用工短缺、招工难，请求镇政府帮助对接求职人员。",
        category="employment", channel="enterprise_liaison",
        location=Location(street="鱼嘴镇", address="鱼复工业园区"),
        steps=(
            Step("accept", YUZUI, _t(2, 14, 11)),
            Step("assign", YUZUI, _t(2, 15, 9),
                 {"unit": "鱼嘴镇就业服务中心", "person": "就业服务专员"}),
            Step("act", YUZUI, _t(3, 1, 9),
                 {"action": "举办2022年江北区“春风行动”招聘会，海尔、韩泰轮胎等56家企业入场招聘"}),
            Step("reply", YUZUI, _t(3, 4, 10),
                 {"outcome": "support",
                  "text": "招聘会现场收获30余名意向人员，10名已通知入职体检。"}),
            Step("resolve", YUZUI, _t(3, 4, 11)),
            Step("callback", YUZUI, _t(3, 8, 10),
                 {"contacted": True, "resolved": True, "rating": "satisfied",
                  "comment": "人力资源部门负责人来电感谢镇政府"}),
            Step("close", YUZUI, _t(3, 8, 10, 30)),
        ),
    ),
    Case(
        number=6, key="demo:jiangbei:case-6:shimahe-elderly-kits", workflow="standard",
        filed_by=SHIMAHE, filed_at=_t(9, 5, 10),
        petitioner=Petitioner(id="resident-xu-ying", kind="resident", name="徐英"),
        title="高龄老人居家安全，需要适老化改造",
        description="辖区208户老人家庭需求评估后，需配备智慧居家助老设备（SOS一键呼叫器、小夜灯等）。",
        category="elderly_care", channel="door_to_door",
        location=Location(street="石马河街道", community="通用社区", address="南桥晓月小区"),
        steps=(
            Step("accept", SHIMAHE, _t(9, 5, 11)),
            Step("assign", SHIMAHE, _t(9, 6, 9),
                 {"unit": "石马河街道", "person": "通用社区工作人员"}),
            Step("act", SHIMAHE, _t(9, 20, 9), {"action": "完成208户老人家庭需求评估"}),
            Step("act", SHIMAHE, _t(10, 28, 16),
                 {"action": "安装智慧居家助老系统，SOS一键呼叫器与社区联网"}),
            Step("reply", SHIMAHE, _t(11, 1, 10),
                 {"outcome": "support", "text": "适老化改造安装项目已基本完成。"}),
            Step("resolve", SHIMAHE, _t(11, 1, 11)),
            Step("callback", SHIMAHE, _t(11, 4, 10),
                 {"contacted": True, "resolved": True, "rating": "basically-satisfied",
                  "comment": "按一下就有人上门服务"}),
            Step("close", SHIMAHE, _t(11, 4, 10, 30)),
        ),
    ),
    Case(
        number=7, key="demo:jiangbei:case-7:fusheng-smoke-alarms", workflow="standard",
        filed_by=FUSHENG, filed_at=_t(11, 14, 10),
        petitioner=Petitioner(id="collective-fusheng-elderly", kind="collective",
                              name="福生路社区独居老人"),
        title="独居老人冬季取暖火灾隐患，需安装烟雾报警器",
        description="入冬后家庭使用烤火炉等取暖设备，辖区40户独居老人无人照料，存在火灾隐患。",
        category="fire_safety", channel="grid_visit",
        location=Location(street="复盛镇", community="福生路社区"),
        steps=(
            Step("accept", FUSHENG, _t(11, 14, 11)),
            Step("assign", FUSHENG, _t(11, 15, 9),
                 {"unit": "复盛镇", "person": "福生路社区工作人员"}),
            Step("act", FUSHENG, _t(11, 18, 9),
                 {"action": "通过社区服务名单及走访统计40户需安装烟感的独居老人"}),
            Step("act", FUSHENG, _t(12, 1, 15), {"action": "为40户老人安装独立烟感报警器"}),
            Step("reply", FUSHENG, _t(12, 2, 10),
                 {"outcome": "support", "text": "40户独居老人烟雾报警器已安装完毕。"}),
            Step("resolve", FUSHENG, _t(12, 2, 11)),
            Step("callback", FUSHENG, _t(12, 6, 10),
                 {"contacted": True, "resolved": True, "rating": "satisfied",
                  "comment": "装了烟雾报警器之后，心里踏实多了"}),
            Step("close", FUSHENG, _t(12, 6, 10, 30)),
        ),
    ),
    Case(
        number=8, key="demo:jiangbei:case-8:tieshanping-grid", workflow="standard",
        filed_by=HU_ANQING, filed_at=_t(7, 11, 15),
        petitioner=Petitioner(id="resident-tieshanping-lone-elderly", kind="resident",
                              name="铁山坪独居老人"),
        title="独居老人家中隐患排查及邻里纠纷",
        description="网格员上门走访独居老人，发现家中用电隐患，老人与邻居因杂物堆放发生纠纷。",
        category="elderly_care", channel="grid_visit",
        location=Location(street="铁山坪街道", grid="第3网格"),
        steps=(
            Step("accept", TIESHANPING, _t(7, 11, 16), {"note": "网格员上报"}),
            Step("assign", TIESHANPING, _t(7, 11, 17),
                 {"unit": "铁山坪街道网格服务队", "person": "胡安庆"}),
            Step("act", HU_ANQING, _t(7, 12, 9), {"action": "上门检查用电隐患并协助整改"}),
            Step("open_mediation", TIESHANPING, _t(7, 12, 14),
                 {"mediator": "胡安庆", "parties": ["独居老人", "邻居"]}),
            Step("record_session", TIESHANPING, _t(7, 13, 10),
                 {"place": "楼道现场", "participants": ["胡安庆", "独居老人", "邻居"]}),
            Step("agree", TIESHANPING, _t(7, 13, 11), {"terms": "邻居清理楼道杂物，双方和解"}),
            Step("reply", TIESHANPING, _t(7, 14, 10),
                 {"outcome": "support", "text": "隐患已整改，邻里纠纷已化解。"}),
            Step("resolve", TIESHANPING, _t(7, 14, 11)),
        ),
    ),
    Case(
        number=9, key="demo:jiangbei:case-9:longxingsi-wharf", workflow="standard",
        filed_by=GUOJIATUO, filed_at=_t(3, 21, 10),
        petitioner=Petitioner(id="collective-luochasi-residents", kind="collective",
                              name="罗刹寺社区居民"),
        title="龙兴寺码头乱搭乱建，居民希望整治为休闲场所",
        description="龙兴寺码头留下一片乱搭乱建和违法建筑，居民希望整治环境，建设望江休闲空间。",
        category="environment", channel="door_to_door",
        location=Location(street="郭家沱街道", community="罗刹寺社区", address="龙兴寺码头"),
        steps=(
            Step("accept", GUOJIATUO, _t(3, 21, 11)),
            Step("assign", GUOJIATUO, _t(3, 22, 9),
                 {"unit": "郭家沱街道城市管理科", "person": "城管科长"}),
            Step("act", GUOJIATUO, _t(4, 15, 9), {"action": "拆除违法建筑，平整修建观江平台"}),
            Step("act", GUOJIATUO, _t(9, 30, 9),
                 {"action": "调研居民需求，建成军工文化公园"}),
            Step("reply", GUOJIATUO, _t(10, 8, 10),
                 {"outcome": "support", "text": "观江平台与军工文化公园已建成开放。"}),
            Step("resolve", GUOJIATUO, _t(10, 8, 11)),
            Step("callback", GUOJIATUO, _t(10, 12, 10),
                 {"contacted": True, "resolved": True, "rating": "satisfied"}),
            Step("close", GUOJIATUO, _t(10, 12, 10, 30)),
        ),
    ),
)


def _recorded_steps(svc: PetitionService, pid: UUID) -> int:
    """How many of a case's steps are already recorded (events after filing,
    not counting an acceptance made on filing, nor what time limits recorded)."""
    from petitions.deadlines.sweep import SWEEPER

    events = svc.history(pid)[1:]
    return sum(1 for e in events
               if not e.type.startswith("Clock") and e.actor != SWEEPER.id
               and not (e.type == "Accepted"
                        and e.data.get("note", "").startswith("accepted on filing")))


def run_case(svc: PetitionService, case: Case) -> tuple[UUID, bool]:
    """File and handle ``case`` (only what is missing); return its id and
    whether anything was recorded."""
    pid = petition_id_for(case.key)
    new = False
    if not svc.exists(pid):
        filed = svc.file(actor=case.filed_by, petitioner=case.petitioner, title=case.title,
                         description=case.description, category=case.category,
                         channel=case.channel, location=case.location,
                         workflow=case.workflow, idempotency_key=case.key,
                         at=case.filed_at)
        assert filed == pid
        new = True
    done = _recorded_steps(svc, pid)
    for step in case.steps[done:]:
        if step.command == "accept" and "accept" not in svc.get(pid).allowed_commands:
            continue  # accepted on filing under this workflow
        getattr(svc, step.command)(pid, actor=step.actor, at=step.at, **step.args)
        new = True
    return pid, new


def run_all(svc: PetitionService) -> list[tuple[Case, UUID, bool]]:
    """Load cases 1–9; return each case with its id and whether it was new."""
    return [(case, *run_case(svc, case)) for case in CASES]


def run_case_3(svc: PetitionService) -> tuple[UUID, bool]:
    """File and handle the 西南证券 case; return its id and whether it was new."""
    return run_case(svc, CASES[2])
