"""Issue 14, points 4, 5, 6 and 9: sign-for (签收), first contact (先行联系),
return (退单) and 定责 (``assign --final``); supervision levels (督办 黄牌/红牌);
the call-back's own deadline; the response rate as practised.

Limits are the standard workflow's ``[sign_for]`` (version 4): sign for and
return within 1 working day of the dispatch (Tianjin 2024), first contact
within 1 working day (an assumption), at most 2 returns.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cli import main
from petitions import (
    Actor,
    InvalidInput,
    NotOfAssignedUnit,
    PermissionDenied,
    PetitionService,
    TransitionNotAllowed,
)
from petitions.domain.commands import COMMANDS, ReturnOrder, Sign, choices
from tests.fixtures import file_petition
from workflows import Registry, vocabulary

SH = ZoneInfo("Asia/Shanghai")
HOTLINE = Actor("hotline-wang", "intake_clerk")
DESK = Actor("desk-li", "caseworker")
GRID = Actor("grid-hu", "grid_worker")
BOSS = Actor("boss-zhang", "supervisor")
REGISTER = Path(__file__).resolve().parent.parent / "petitions" / "data" / "jiangbei_register.toml"


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    """A time in March 2022 (Tue 22 March is a working day; 26–27 a weekend)."""
    return datetime(2022, month, day, hour, tzinfo=SH)


def dispatched(svc: PetitionService, unit: str = "铁山坪街道", when: datetime | None = None
               ) -> UUID:
    when = when or at(22)
    pid = file_petition(svc, HOTLINE, at=when)
    svc.accept(pid, actor=DESK, at=when)  # type: ignore[arg-type]
    svc.assign(pid, actor=DESK, unit=unit, person="胡安庆", at=when)  # type: ignore[arg-type]
    assert isinstance(pid, UUID)
    return pid


def test_the_commands_are_in_the_table_and_the_vocabulary() -> None:
    assert COMMANDS["sign"] is Sign and COMMANDS["return"] is ReturnOrder
    assert {"sign", "return", "contact"} <= vocabulary.COMMANDS
    assert {"sign", "contact"} <= vocabulary.IN_PLACE and "return" not in vocabulary.IN_PLACE
    reg = Registry.shipped()
    wf = reg.current("standard")
    assert wf.version == 5 and wf.sign_for is not None
    assert (wf.sign_for.return_limit, wf.sign_for.sign_within.amount,  # type: ignore[union-attr]
            wf.sign_for.sign_within.unit) == (2, 1, "working_days")  # type: ignore[union-attr]
    assert wf.roles_for("sign") == ("caseworker", "grid_worker")
    assert wf.targets("resolution", "return") == ("dispatch",)
    assert [c.code for c in choices(wf, "resolution", "escalation_levels")] == ["yellow", "red"]
    # Version 3 stays as it was: no sign-for, no levels.
    v3 = reg.get("standard", 3)
    assert v3.sign_for is None and v3.targets("resolution", "sign") is None


def test_sign_and_first_contact_in_time(service: PetitionService) -> None:
    pid = dispatched(service)
    view = service.get(pid)
    # Dispatched Tue 22 March 10:00: due 24:00 of the next working day.
    due = datetime(2022, 3, 23, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert (view.sign_by, view.return_by, view.contact_by) == (due, due, due)
    with pytest.raises(PermissionDenied):
        service.sign(pid, actor=HOTLINE, at=at(22, 11))
    signed = service.sign(pid, actor=GRID, at=at(22, 11))
    assert signed.signed_at == at(22, 11) and signed.stage == "resolution"
    with pytest.raises(TransitionNotAllowed, match="already signed"):
        service.sign(pid, actor=GRID, at=at(22, 12))
    with pytest.raises(TransitionNotAllowed, match="no longer be returned"):
        service.return_order(pid, actor=GRID, reason="不属本单位职责", at=at(22, 12))
    contacted = service.contact(pid, actor=GRID, note="电话联系诉求人", at=at(23, 9))
    assert contacted.contacted_at == at(23, 9)
    with pytest.raises(TransitionNotAllowed, match="first contact"):
        service.contact(pid, actor=GRID, at=at(23, 10))
    events = {e.type: e for e in service.history(pid)}
    assert events["Signed"].data["in_time"] is True
    assert events["Signed"].text_zh == ("铁山坪街道签收工单（grid-hu），按时"
                                        "（时限 2022-03-23 24:00）")
    assert events["Signed"].text_en == ("铁山坪街道 signed for the order (grid-hu), in time "
                                        "(due 2022-03-23 24:00)")
    assert "首次联系诉求人" in events["Contacted"].text_zh
    assert "签收时限 2022-03-23 24:00" in events["Assigned"].text_zh
    assert "sign for by 2022-03-23 24:00" in events["Assigned"].text_en


def test_returns_go_back_to_dispatch_until_a_supervisor_names_the_unit(
        service: PetitionService) -> None:
    pid = dispatched(service, unit="华新街街道")
    back = service.return_order(pid, actor=DESK, reason="不属本街道辖区", at=at(22, 11))
    assert (back.stage, back.lead_unit, back.returns) == ("dispatch", None, 1)
    assert back.sign_by is None
    service.assign(pid, actor=DESK, unit="寸滩街道", person="张", at=at(22, 12))
    service.return_order(pid, actor=GRID, reason="不属本街道辖区", at=at(22, 13))
    # Two returns (Tianjin 2024: after 3 dispatches the hotline names the unit).
    with pytest.raises(TransitionNotAllowed, match="return limit reached"):
        service.assign(pid, actor=DESK, unit="铁山坪街道", person="胡安庆", at=at(22, 14))
    with pytest.raises(TransitionNotAllowed, match="return limit reached"):
        service.assign(pid, actor=BOSS, unit="铁山坪街道", person="胡安庆", at=at(22, 14))
    with pytest.raises(PermissionDenied, match="assign --final"):
        service.assign(pid, actor=DESK, unit="铁山坪街道", person="胡安庆", final=True,
                       at=at(22, 14))
    final = service.assign(pid, actor=BOSS, unit="铁山坪街道", person="胡安庆", final=True,
                           at=at(22, 14))
    assert final.final_assignment is True and final.return_by is None
    assert final.sign_by is not None and final.returns == 2
    with pytest.raises(TransitionNotAllowed, match="定责"):
        service.return_order(pid, actor=GRID, reason="again", at=at(22, 15))
    history = service.history(pid)
    returned = [e for e in history if e.type == "Returned"]
    assert [e.data["returns"] for e in returned] == [1, 2]
    assert returned[0].text_zh == "华新街街道退单（desk-li，第1次），退回派单：不属本街道辖区"
    assert returned[1].text_en == ("寸滩街道 returned the order (grid-hu, return 2), back to "
                                   "dispatch: 不属本街道辖区")
    last = [e for e in history if e.type == "Assigned"][-1]
    assert "（定责）" in last.text_zh and "(final: 定责)" in last.text_en


def test_a_return_after_its_window_is_refused(service: PetitionService) -> None:
    pid = dispatched(service, when=at(25, 16))  # Friday: due Monday 28 March 24:00
    assert service.get(pid).return_by == datetime(2022, 3, 28, 16, tzinfo=ZoneInfo("UTC"))
    version = service.get(pid).version
    with pytest.raises(TransitionNotAllowed, match="time to return it has passed"):
        service.return_order(pid, actor=DESK, reason="不属本单位", at=at(29, 9))
    assert service.get(pid).version == version
    late = service.sign(pid, actor=DESK, at=at(29, 9))  # signing late is recorded as late
    assert late.signed_at == at(29, 9)
    signed = next(e for e in service.history(pid) if e.type == "Signed")
    assert signed.data["in_time"] is False and "超时" in signed.text_zh


def test_a_register_person_acts_only_for_their_units_line(service: PetitionService) -> None:
    service.load_register(REGISTER, actor=Actor("admin", "administrator"))
    hu = Actor("hu-anqing", "grid_worker")  # 胡安庆, 铁山坪街道网格服务队 (report line 69)
    ours = dispatched(service, unit="TSP")  # 铁山坪街道, the team's street
    assert service.sign(ours, actor=hu, at=at(22, 11)).signed_at is not None
    other = dispatched(service, unit="华新街街道")
    with pytest.raises(NotOfAssignedUnit, match="rule: the assigned unit"):
        service.return_order(other, actor=hu, reason="不属本单位", at=at(22, 11))
    # Someone the register does not list is left to the workflow's roles.
    assert service.return_order(other, actor=DESK, reason="不属本单位",
                                at=at(22, 11)).returns == 1


def _unit_group(rows: list[dict[str, Any]], unit: str) -> dict[str, Any]:
    return {r["group"]: r for r in rows}[unit]


def test_levels_and_supervision_are_counted_per_unit(service: PetitionService) -> None:
    pid = dispatched(service)
    with pytest.raises(InvalidInput) as refused:
        service.escalate(pid, actor=BOSS, reason="久拖未决", level="purple", at=at(22, 11))
    assert refused.value.params["valid"] == "yellow, red"
    service.sign(pid, actor=GRID, at=at(22, 11))
    service.contact(pid, actor=GRID, at=at(22, 11))
    service.remind(pid, actor=HOTLINE, note="请尽快办理", at=at(22, 12))
    service.escalate(pid, actor=BOSS, reason="久拖未决", level="yellow", at=at(22, 13))
    view = service.escalate(pid, actor=BOSS, reason="仍未办结", level="red", at=at(22, 14))
    service.escalate(pid, actor=BOSS, reason="督办", at=at(22, 15))  # without a level
    assert view.escalation_levels == ("yellow", "red") and view.escalations == 2
    texts = [e.text_zh for e in service.history(pid) if e.type == "Escalated"]
    assert texts == ["boss-zhang督办（黄牌）：久拖未决", "boss-zhang督办（红牌）：仍未办结",
                     "boss-zhang督办：督办"]
    service.reply(pid, actor=DESK, outcome="support", text="已办", at=at(22, 16))
    resolved = service.resolve(pid, actor=DESK, at=at(22, 16))
    # The call-back's own limit (review stage: 3 working days from resolve).
    assert resolved.callback_due == datetime(2022, 3, 25, 16, tzinfo=ZoneInfo("UTC"))
    service.callback(pid, actor=HOTLINE, contacted=True, resolved=True, rating="satisfied",
                     at=at(23))
    stats = [g.to_dict() for g in service.stats("unit")]
    row = _unit_group(stats, "铁山坪街道")
    assert (row["reminders"], row["escalations"], row["escalation_levels"]) == (
        1, 3, {"red": 1, "yellow": 1})
    assert (row["responded"], row["signed_in_time"], row["contacted_in_time"]) == (1, 1, 1)
    assert row["response_rate"] == 1.0
    ranked = _unit_group([r.to_dict() for r in service.rank("unit")], "铁山坪街道")
    assert (ranked["reminders"], ranked["escalations"], ranked["returns"]) == (1, 3, 0)
    assert ranked["escalation_levels"] == {"red": 1, "yellow": 1}


def test_an_unreachable_call_back_is_recorded_and_reported_apart(
        service: PetitionService) -> None:
    pid = dispatched(service)
    service.sign(pid, actor=GRID, at=at(22, 11))
    service.reply(pid, actor=DESK, outcome="support", text="已办", at=at(22, 12))
    service.resolve(pid, actor=DESK, at=at(22, 12))
    view = service.callback(pid, actor=HOTLINE, contacted=False, resolved=False, rating=None,
                            at=at(23))
    assert (view.stage, view.last_contacted) == ("review", False)
    assert view.callback_due is not None  # still due: another attempt
    (group,) = service.stats("street")
    assert (group.valid, group.unreachable, group.rated, group.satisfaction_rate) == (
        1, 1, 0, None)
    # Signed in time, but no first contact: not responded to.
    assert (group.signed_in_time, group.responded) == (1, 0)


def _cli(db: str, role: str, *args: str, lang: str = "en") -> Any:
    return CliRunner().invoke(main, ["--lang", lang, "--db", db, "--actor", f"{role}-1",
                                     "--role", role, *args])


def test_cli_sign_return_final_and_levels(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    with PetitionService.open(db) as svc:
        pid = dispatched(svc, unit="华新街街道", when=datetime.now(SH))
        number = str(svc.get(pid).number)
    out = _cli(db, "caseworker", "--json", "return", number, "--reason", "不属本街道辖区")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["returns"] == 1
    assert _cli(db, "caseworker", "assign", number, "--unit", "寸滩街道",
                "--person", "张").exit_code == 0
    assert _cli(db, "grid_worker", "return", number, "--reason", "不属本辖区").exit_code == 0
    refused = _cli(db, "caseworker", "assign", number, "--unit", "铁山坪街道", "--person",
                   "胡安庆", lang="zh")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "退单次数已达上限" in refused.output and len(refused.output.strip().splitlines()) == 1
    done = _cli(db, "supervisor", "--json", "assign", number, "--unit", "铁山坪街道",
                "--person", "胡安庆", "--final")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["final_assignment"] is True
    no = _cli(db, "grid_worker", "return", number, "--reason", "x", lang="zh")
    assert no.exit_code == 1 and "已定责派单，不得再退单" in no.output
    assert _cli(db, "grid_worker", "sign", number).exit_code == 0
    assert _cli(db, "grid_worker", "contact", number, "--note", "电话联系").exit_code == 0
    bad = _cli(db, "supervisor", "escalate", number, "--reason", "久拖", "--level", "purple",
               lang="zh")
    assert bad.exit_code == 2 and "yellow (黄牌)" in bad.output
    shown = _cli(db, "supervisor", "--json", "escalate", number, "--reason", "久拖",
                 "--level", "red")
    assert json.loads(shown.output)["escalation_levels"] == ["red"]
    history = _cli(db, "auditor", "history", number, lang="zh").output
    assert "签收工单" in history and "退单（" in history and "督办（红牌）" in history
    assert "督办等级: 无 → 红牌" in history
    for command, word in (("sign", "签收"), ("return", "退单"), ("contact", "先行联系")):
        for lang in ("zh", "en"):
            helped = _cli(db, "caseworker", command, "--help", lang=lang)
            assert helped.exit_code == 0 and word in helped.output
    helped = _cli(db, "caseworker", "assign", "--help", lang="zh")
    assert "定责" in helped.output and "--final" in helped.output


def test_the_loader_checks_sign_for_and_levels() -> None:
    from workflows import WorkflowInvalid, load_text

    text = (Path(__file__).resolve().parent.parent / "workflows" / "definitions"
            / "standard.toml").read_text("utf-8")
    start = text.index("\n[sign_for]\n")
    end = text.index("# Supervision (督办) levels")
    without = text[:start] + text[end:]
    with pytest.raises(WorkflowInvalid, match=r"stages.resolution.commands.sign: needs a "
                                              r"\[sign_for\] table"):
        load_text(without)
    bad = (text.replace("return_limit = 2", "return_limit = -1")
           .replace('sign_within = { amount = 1, unit = "working_days" }',
                    'sign_within = { amount = 1, unit = "fortnights" }')
           .replace('yellow = { zh = "黄牌", en = "yellow card" }', '"yellow card" = "黄牌"'))
    with pytest.raises(WorkflowInvalid) as problems:
        load_text(bad)
    keys = {p.key for p in problems.value.problems}
    assert {"sign_for.return_limit", "sign_for.sign_within.unit",
            "escalation.levels.yellow card"} <= keys
