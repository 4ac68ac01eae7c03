"""The demo: a seed case taken through the standard lifecycle.

Case 3 of the seed (SCENARIOS.md): 西南证券, an enterprise in 江北城街道,
reports that cars parked around its building block traffic.  The street acts
with the district traffic police, holds an on-site office meeting, fixes it,
and the property manager reports being very satisfied.

Running the demo twice changes nothing: every filing carries an idempotency
key, and a case that already exists is left as it is.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from petitions.domain.petition import petition_id_for
from petitions.domain.values import Actor, Location, Petitioner
from petitions.service import PetitionService

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 6, day, hour, minute, tzinfo=SHANGHAI)


def run_case_3(svc: PetitionService) -> tuple[UUID, bool]:
    """File and handle the 西南证券 case; return its id and whether it was new."""
    key = "demo:jiangbei:case-3:xinan-securities"
    pid = petition_id_for(key)
    if svc.exists(pid):
        return pid, False
    clerk = Actor("liaison-cadre-zhou", "intake_clerk")
    worker = Actor("caseworker-li", "caseworker")
    filed = svc.file(
        actor=clerk,
        petitioner=Petitioner(id="enterprise-xinan-securities", kind="enterprise",
                              name="西南证券", phone="023-00000000"),
        title="写字楼周边车辆乱停堵塞交通",
        description="西南证券反映：公司所在楼宇周边车辆乱停乱放，早晚高峰交通拥堵，员工与客户出行困难。",
        category="traffic",
        channel="enterprise_liaison",
        location=Location(street="江北城街道", community="", grid="", address="西南证券大楼"),
        idempotency_key=key,
        at=_t(6, 9, 30),
    )
    assert filed == pid
    svc.accept(pid, actor=worker, note="包联干部上报，当即受理", at=_t(6, 10))
    svc.assign(pid, actor=worker, unit="江北城街道平安办", person="网格长王强",
               co_units=["区交警支队"], at=_t(6, 10, 30))
    svc.act(pid, actor=worker, action="会同区交警支队现场查看，制定停车疏导方案", at=_t(7, 9))
    svc.act(pid, actor=worker, action="与企业召开现场办公会，明确划线停车与错峰出行", at=_t(8, 15))
    svc.reply(pid, actor=worker, outcome="support",
              text="已会同交警施划停车位并加强巡查，周边交通恢复通畅。", at=_t(10, 16))
    svc.resolve(pid, actor=worker, summary="停车秩序整治完成", at=_t(10, 17))
    svc.callback(pid, actor=worker, contacted=True, resolved=True, rating="satisfied",
                 comment="物业负责人表示很满意", at=_t(13, 10))
    svc.close(pid, actor=worker, note="回访满意，办结", at=_t(13, 10, 5))
    return pid, True
