"""Standard workflow version 5 (issue 14's gaps): sign-for limits per urgency
(Tianjin 2024: 15 minutes where life or property is at risk, 30 for water,
power, gas or heating — which urgency is which case is an assumption marked in
the TOML), and a transfer (转办/改派) that the new unit signs for anew.  Version
4 petitions keep their behaviour: the limits and the transfer they pinned."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from petitions import Actor, PetitionService, TransitionNotAllowed
from petitions.domain import hotline
from petitions.domain.petition import Petition
from petitions.domain.values import Location, Petitioner
from tests.fixtures import file_petition
from workflows import Registry, WorkflowInvalid, load_text, shipped_texts

SH = ZoneInfo("Asia/Shanghai")
HOTLINE = Actor("hotline-wang", "intake_clerk")
DESK = Actor("desk-li", "caseworker")
GRID = Actor("grid-hu", "grid_worker")
#: Tuesday 22 March 2022, 10:00 (a working day).
WHEN = datetime(2022, 3, 22, 10, tzinfo=SH)
NEXT_DAY_END = datetime(2022, 3, 24, 0, tzinfo=SH)  # 24:00 of the next working day


def dispatched(svc: PetitionService, urgency: str = "normal") -> UUID:
    pid = file_petition(svc, HOTLINE, at=WHEN, urgency=urgency, title=f"件 {urgency}")
    svc.accept(pid, actor=DESK, at=WHEN)  # type: ignore[arg-type]
    svc.assign(pid, actor=DESK, unit="铁山坪街道", person="胡安庆", at=WHEN)  # type: ignore[arg-type]
    assert isinstance(pid, UUID)
    return pid


def test_the_sign_for_limit_follows_the_urgency(service: PetitionService) -> None:
    wf = Registry.shipped().current("standard")
    assert wf.version == 5 and wf.sign_for is not None and wf.sign_for.transfer_signs_anew
    views = {u: service.get(dispatched(service, u)) for u in ("emergency", "urgent", "normal")}
    assert views["emergency"].sign_by == WHEN + timedelta(minutes=15)
    assert views["urgent"].sign_by == WHEN + timedelta(minutes=30)
    assert views["normal"].sign_by == NEXT_DAY_END
    # Return and first contact do not depend on the urgency (an assumption, marked).
    assert {v.return_by for v in views.values()} == {NEXT_DAY_END}
    assert {v.contact_by for v in views.values()} == {NEXT_DAY_END}
    # Signed 20 minutes after the dispatch: late for an emergency, in time if urgent.
    late = service.sign(views["emergency"].id, actor=GRID, at=WHEN + timedelta(minutes=20))
    ok = service.sign(views["urgent"].id, actor=GRID, at=WHEN + timedelta(minutes=20))
    told = {v.id: next(e for e in service.history(v.id) if e.type == "Signed")
            for v in (late, ok)}
    assert told[late.id].data["in_time"] is False and told[ok.id].data["in_time"] is True


def test_a_transfer_is_signed_for_anew_by_the_new_unit(service: PetitionService) -> None:
    pid = dispatched(service)
    service.sign(pid, actor=GRID, at=WHEN + timedelta(hours=1))
    service.contact(pid, actor=GRID, note="电话联系", at=WHEN + timedelta(hours=2))
    moved_at = datetime(2022, 3, 25, 9, tzinfo=SH)  # Friday
    moved = service.transfer(pid, actor=DESK, unit="寸滩街道", person="张", reason="属地调整",
                             at=moved_at)
    assert moved.lead_unit == "寸滩街道" and moved.signed_at is None
    assert moved.contacted_at is None
    # Counted from the transfer: 24:00 of the next working day (Monday 28 March).
    assert moved.sign_by == moved.return_by == moved.contact_by == datetime(
        2022, 3, 29, 0, tzinfo=SH)
    signed = service.sign(pid, actor=GRID, at=moved_at + timedelta(hours=1))
    assert signed.signed_at == moved_at + timedelta(hours=1)
    with pytest.raises(TransitionNotAllowed, match="already signed"):
        service.sign(pid, actor=GRID, at=moved_at + timedelta(hours=2))
    transferred = next(e for e in service.history(pid) if e.type == "Transferred")
    assert transferred.data["signs_anew"] is True
    assert "签收时限 2022-03-28 24:00" in transferred.text_zh
    assert "sign for by 2022-03-28 24:00" in transferred.text_en


def test_a_transfer_without_sign_for_records_none() -> None:
    """Under a workflow without ``[sign_for]`` (standard version 3) a transfer
    starts no sign-for."""
    v3 = Registry.shipped().get("standard", 3)
    p = Petition.file(v3, actor=HOTLINE, occurred_at=WHEN,
                      petitioner=Petitioner(kind="resident", name="刘"), channel="hotline",
                      category="environment", title="噪音", description="d",
                      location=Location())
    p.accept(v3, DESK, WHEN)
    p.assign(v3, DESK, WHEN, "铁山坪街道", "胡安庆")
    p.transfer(v3, DESK, WHEN + timedelta(hours=2), "寸滩街道", "张", "属地调整")
    event = p.collect_events()[-1]
    assert isinstance(event, Petition.Transferred)
    assert (event.signs_anew, event.sign_by, event.return_by, event.contact_by) == (
        False, None, None, None)
    assert p.lead_unit == "寸滩街道" and p.sign_by is None


def test_a_version_4_petition_keeps_the_previous_units_sign_for() -> None:
    """Under version 4 (pinned by the petitions filed under it) the urgency does
    not change the sign-for limit and a transfer keeps the sign-for state."""
    v4 = Registry.shipped().get("standard", 4)
    p = Petition.file(v4, actor=HOTLINE, occurred_at=WHEN,
                      petitioner=Petitioner(kind="resident", name="刘"), channel="hotline",
                      category="environment", title="燃气泄漏", description="d",
                      location=Location(), urgency="emergency")
    p.accept(v4, DESK, WHEN)
    p.assign(v4, DESK, WHEN, "铁山坪街道", "胡安庆")
    assert p.sign_by == NEXT_DAY_END  # not 15 minutes: version 4 has no limits per urgency
    hotline.sign(p, v4, GRID, WHEN + timedelta(hours=1))
    p.transfer(v4, DESK, WHEN + timedelta(hours=2), "寸滩街道", "张", "属地调整")
    assert p.lead_unit == "寸滩街道" and p.signed_at == WHEN + timedelta(hours=1)
    assert p.sign_by == NEXT_DAY_END


def test_the_urgency_table_is_checked() -> None:
    text = dict(shipped_texts())["workflows/definitions/standard.toml"]
    bad = text.replace("[sign_for.urgency.urgent]", "[sign_for.urgency.someday]")
    with pytest.raises(WorkflowInvalid, match=r"sign_for\.urgency\.someday"):
        load_text(bad)
    bad = text.replace("transfer_signs_anew = true", 'transfer_signs_anew = "yes"')
    with pytest.raises(WorkflowInvalid, match="transfer_signs_anew"):
        load_text(bad)


def test_the_views_count_a_transfer_signed_for_anew(service: PetitionService) -> None:
    """The rates read the views: the previous unit's sign-for in time does not
    count for the unit the order was transferred to until that unit signs."""
    pid = dispatched(service)
    service.sign(pid, actor=GRID, at=WHEN + timedelta(hours=1))
    service.contact(pid, actor=GRID, note="电话联系", at=WHEN + timedelta(hours=2))
    moved_at = datetime(2022, 3, 25, 9, tzinfo=SH)
    service.transfer(pid, actor=DESK, unit="寸滩街道", person="张", reason="属地调整",
                     at=moved_at)
    service.reply(pid, actor=DESK, outcome="support", text="已办", at=moved_at)
    service.resolve(pid, actor=DESK, at=moved_at)
    service.callback(pid, actor=HOTLINE, contacted=True, resolved=True, rating="satisfied",
                     at=moved_at + timedelta(hours=1))
    (group,) = [g for g in service.stats("unit") if g.group == "寸滩街道"]
    assert (group.valid, group.signed_in_time, group.contacted_in_time) == (1, 0, 0)
