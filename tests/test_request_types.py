"""Request types and urgency, 即时办结 and anonymous filing (issue 14, points 2 and 8).

Limits per type (Guangdong's 12345 rules) and per urgency (Tianjin's, 2024)
are data of the standard workflow, version 4; a consultation may be answered
at once and closed without dispatch; consultations, reports and suggestions
may be filed anonymously, and their call-back is then impossible, recorded as
such and counted apart from the rates.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cli import main
from petitions import Actor, InvalidInput, PermissionDenied, PetitionService
from petitions.domain.commands import COMMANDS, AnswerNow
from petitions.domain.values import Location, Petitioner
from petitions.privacy import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV
from tests.fixtures import file_petition
from workflows import vocabulary

SH = ZoneInfo("Asia/Shanghai")
HOTLINE = Actor("hotline-wang", "intake_clerk")
WORKER = Actor("li", "caseworker")
BOSS = Actor("zhang", "supervisor")
NOBODY = Petitioner(kind="resident", name="")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def anonymous(svc: PetitionService, request_type: str = "report", **extra: object) -> object:
    args: dict[str, object] = {"title": "工地夜间施工", "description": "某工地夜间施工扰民",
                               **extra}
    return file_petition(svc, HOTLINE, petitioner=NOBODY, request_type=request_type,
                         anonymous=True, **args)


# ------------------------------------------------------------ types, urgency
def test_answer_now_is_in_the_command_table() -> None:
    assert COMMANDS["answer_now"] is AnswerNow and AnswerNow.cli == ("answer-now",)
    assert "answer_now" in vocabulary.COMMANDS and "answer_now" not in vocabulary.IN_PLACE
    from petitions.labels import command_label

    assert (command_label("answer_now", "zh"), command_label("answer_now", "en")) == (
        "即时办结", "answer at once")


def test_type_and_urgency_are_shown_and_default_to_complaint(
        service: PetitionService) -> None:
    plain = service.get(file_petition(service, HOTLINE))  # type: ignore[arg-type]
    assert (plain.type, plain.urgency, plain.anonymous) == ("complaint", "normal", False)
    assert plain.matter_type == "claim"
    help_ = service.get(file_petition(  # type: ignore[arg-type]
        service, HOTLINE, request_type="help", urgency="urgent", title="停水求助"))
    data = help_.to_dict()
    assert (data["type"], data["urgency"]) == ("help", "urgent")
    assert (help_.type_label.zh, help_.urgency_label.zh) == ("求助", "紧急")
    report = service.get(file_petition(service, HOTLINE, request_type="report",  # type: ignore[arg-type]
                                       title="举报违建"))
    assert report.matter_type == "report"  # 检举控告: whistle-blower confidentiality applies
    listed = {c.title: c for c in service.list_petitions(type="help")}
    assert set(listed) == {"停水求助"} and listed["停水求助"].urgency == "urgent"
    assert {c.title for c in service.list_petitions(urgency="normal")} == {"小区停车难", "举报违建"}
    for bad in ({"request_type": "gossip"}, {"urgency": "whenever"}):
        with pytest.raises(InvalidInput):
            file_petition(service, HOTLINE, **bad)


def test_limits_follow_type_and_urgency(service: PetitionService) -> None:
    """Tianjin: accept within 15 minutes where life or property is at risk, 30
    for water, power, gas and heating; Guangdong: a consultation is answered
    within 2 working days, a help request within 10, a complaint within 15."""
    filed = at(2026, 6, 1, 9, 0)  # a Monday
    emergency = file_petition(service, HOTLINE, urgency="emergency", at=filed, title="煤气泄漏")
    urgent = file_petition(service, HOTLINE, urgency="urgent", at=filed, title="停水")
    normal = file_petition(service, HOTLINE, at=filed, title="噪音")
    assert service.get(emergency).deadline == filed + timedelta(minutes=15)  # type: ignore[arg-type]
    assert service.get(urgent).deadline == filed + timedelta(minutes=30)  # type: ignore[arg-type]
    assert service.get(normal).deadline == at(2026, 6, 4)  # type: ignore[arg-type]  # 2 working days, 24:00
    due = {}
    for request_type in ("consultation", "help", "complaint"):
        pid = file_petition(service, HOTLINE, request_type=request_type, at=filed,
                            title=request_type)
        service.accept(pid, actor=WORKER, at=filed)  # type: ignore[arg-type]
        view = service.assign(pid, actor=WORKER, unit="寸滩街道", person="张",  # type: ignore[arg-type]
                              at=filed)
        due[request_type] = view.deadline
    # Working days from Tuesday 2 June 2026 (the day of dispatch is not
    # counted), to 24:00 of the last; 19 June is the Dragon Boat Festival.
    assert due == {"consultation": at(2026, 6, 4), "help": at(2026, 6, 16),
                   "complaint": at(2026, 6, 24)}


def test_a_consultation_is_answered_at_once(service: PetitionService) -> None:
    pid = file_petition(service, HOTLINE, request_type="consultation", title="社保转移咨询")
    with pytest.raises(PermissionDenied):
        service.answer_now(pid, actor=Actor("hu", "grid_worker"), text="请到窗口办理")  # type: ignore[arg-type]
    view = service.answer_now(pid, actor=HOTLINE, text="请携带身份证到街道社保窗口办理")  # type: ignore[arg-type]
    assert (view.stage, view.status, view.outcome) == ("closed", "closed", "resolved")
    assert view.reply_text == "请携带身份证到街道社保窗口办理" and view.lead_unit is None
    event = next(e for e in service.history(pid)  # type: ignore[arg-type]
                 if e.type == "AnsweredAtOnce")
    assert event.actor == HOTLINE.id and "即时办结" in event.text("zh")
    closed = {c.title: c for c in service.list_petitions(status="closed")}
    assert closed["社保转移咨询"].outcome == "resolved"
    complaint = file_petition(service, HOTLINE, title="投诉")
    with pytest.raises(InvalidInput, match="type"):
        service.answer_now(complaint, actor=HOTLINE, text="x")  # type: ignore[arg-type]
    service.accept(complaint, actor=WORKER)  # type: ignore[arg-type]
    consult = file_petition(service, HOTLINE, request_type="consultation", title="已受理咨询")
    service.accept(consult, actor=WORKER)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="answer_now"):  # only at intake, before dispatch
        service.answer_now(consult, actor=HOTLINE, text="x")  # type: ignore[arg-type]


# ------------------------------------------------------------- anonymous
def test_anonymous_filing_names_nobody(service: PetitionService) -> None:
    pid = anonymous(service)
    view = service.get(pid, viewer=BOSS)  # type: ignore[arg-type]
    assert view.anonymous is True and view.type == "report" and view.matter_type == "report"
    shown = view.petitioner
    assert not (shown.name or shown.phone or shown.id_number or shown.address)
    assert anonymous(service, "suggestion", title="增设公交站") and anonymous(
        service, "consultation", title="咨询办证")
    with pytest.raises(InvalidInput, match="anonymous"):
        anonymous(service, "complaint", title="匿名投诉")  # not for a complaint
    with pytest.raises(InvalidInput, match="anonymous"):
        file_petition(service, HOTLINE, request_type="report", anonymous=True)  # named
    with pytest.raises(InvalidInput, match=r"petitioner\.name"):
        file_petition(service, HOTLINE, petitioner=NOBODY)  # a name unless anonymous
    # The feed withholds every petitioner; an anonymous one has nothing to give.
    filed = next(c for c in service.changes() if c.type == "Filed"
                 and str(c.petition_id) == str(pid))
    text = json.dumps(filed.to_dict(), ensure_ascii=False)
    assert filed.data["anonymous"] is True and filed.data["petitioner"]["name"] is None
    assert "13800001234" not in text and "刘先生" not in text


def test_the_call_back_of_an_anonymous_petition_is_impossible(service: PetitionService) -> None:
    pid = anonymous(service, location=Location(street="寸滩街道"))
    service.accept(pid, actor=WORKER)  # type: ignore[arg-type]
    service.assign(pid, actor=WORKER, unit="寸滩街道", person="张")  # type: ignore[arg-type]
    service.reply(pid, actor=WORKER, outcome="support", text="已查处")  # type: ignore[arg-type]
    service.resolve(pid, actor=WORKER)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="anonymous"):
        service.callback(pid, actor=HOTLINE, contacted=True, resolved=True,  # type: ignore[arg-type]
                         rating="satisfied")
    from petitions.errors import CallbackNotIndependent

    with pytest.raises(CallbackNotIndependent):  # the unit does not record its own
        service.callback(pid, actor=Actor(WORKER.id, "supervisor"), contacted=False,  # type: ignore[arg-type]
                         resolved=False)
    view = service.callback(pid, actor=HOTLINE, contacted=False, resolved=False)  # type: ignore[arg-type]
    assert view.callback_impossible is True and view.last_contacted is False
    assert [e.type for e in service.history(pid)][-1] == "CallbackImpossible"  # type: ignore[arg-type]
    closed = service.close(pid, actor=WORKER)  # type: ignore[arg-type]
    assert closed.outcome == "resolved"
    # A named petition of the same street, called back: the only valid one.
    named = file_petition(service, HOTLINE, title="named")
    service.accept(named, actor=WORKER)  # type: ignore[arg-type]
    service.assign(named, actor=WORKER, unit="寸滩街道", person="张")  # type: ignore[arg-type]
    # signed for and first contact made in time: responded to (standard v4)
    service.sign(named, actor=WORKER)  # type: ignore[arg-type]
    service.contact(named, actor=WORKER)  # type: ignore[arg-type]
    service.reply(named, actor=WORKER, outcome="support", text="已办")  # type: ignore[arg-type]
    service.resolve(named, actor=WORKER)  # type: ignore[arg-type]
    service.callback(named, actor=HOTLINE, contacted=True, resolved=True,  # type: ignore[arg-type]
                     rating="satisfied")
    group = {g.group: g for g in service.stats("street")}["寸滩街道"]
    assert (group.valid, group.unreachable, group.impossible) == (1, 0, 1)
    assert group.satisfaction_rate == 1.0 and group.response_rate == 1.0
    assert group.to_dict()["impossible"] == 1


def test_old_petitions_read_as_complaints_of_normal_urgency(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = Path(__file__).parent / "data" / "main_e67075d"
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    db = tmp_path / "store.sqlite"
    shutil.copyfile(fixture / "store.sqlite", db)
    shutil.copyfile(fixture / "store.sqlite.key", tmp_path / "store.sqlite.key")
    with PetitionService.open(str(db)) as svc:
        cases = svc.list_petitions(limit=None)
        assert cases and {(c.type, c.urgency, c.anonymous) for c in cases} == {
            ("complaint", "normal", False)}
        view = svc.get(cases[0].id)
        assert (view.type, view.urgency, view.anonymous) == ("complaint", "normal", False)


# ------------------------------------------------------------------- CLI
def _cli(db: Path, *args: str, role: str = "intake_clerk", actor: str = "wang",
         lang: str = "en") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), "--lang", lang, "--actor", actor,
                                       "--role", role, *args])
    return result.exit_code, result.stdout, result.stderr


FILE = ("file", "--kind", "resident", "--category", "other", "--channel", "hotline")


def test_cli_types_answer_now_and_anonymous(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    code, out, err = _cli(db, *FILE, "--name", "张三", "--type", "consultation",
                          "--title", "社保咨询", "--description", "如何办理社保转移")
    assert code == 0, err
    consult = out.strip()
    code, out, err = _cli(db, "answer-now", consult, "--text", "请到街道社保窗口办理")
    assert code == 0 and "Closed" in out, err
    shown = json.loads(_cli(db, "--json", "show", consult)[1])
    assert (shown["type"], shown["urgency"], shown["status"]) == ("consultation", "normal",
                                                                   "closed")
    code, out, err = _cli(db, *FILE, "--anonymous", "--type", "report", "--urgency",
                          "emergency", "--title", "夜间施工", "--description", "工地夜间施工扰民")
    assert code == 0, err
    report = out.strip()
    shown = json.loads(_cli(db, "--json", "show", report, role="supervisor")[1])
    assert (shown["type"], shown["urgency"], shown["anonymous"]) == ("report", "emergency",
                                                                     True)
    assert shown["petitioner"]["name"] is None and shown["petitioner"]["phone"] is None
    listed = json.loads(_cli(db, "--json", "list", "--type", "report")[1])
    assert [c["id"] for c in listed] == [report] and listed[0]["anonymous"] is True
    # Refusals: one line, exit 1, in the language asked for.
    code, _, err = _cli(db, "answer-now", report, "--text", "x", lang="zh")
    assert code == 1 and "只有以下类型可以即时办结" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(db, *FILE, "--anonymous", "--title", "t", "--description", "d",
                        lang="zh")
    assert code == 1 and "本流程只允许以下类型匿名登记" in err and "Traceback" not in err
    code, _, err = _cli(db, *FILE, "--anonymous", "--name", "李", "--type", "suggestion",
                        "--title", "t", "--description", "d")
    assert code == 1 and "names no petitioner" in err
    code, _, err = _cli(db, *FILE, "--type", "gossip", "--name", "李", "--title", "t",
                        "--description", "d")
    assert code == 2 and "gossip" in err
    for step in (("accept", report), ("assign", report, "--unit", "寸滩街道", "--person", "张"),
                 ("reply", report, "--outcome", "support", "--text", "已查处"),
                 ("resolve", report)):
        assert _cli(db, *step, role="caseworker", actor="li")[0] == 0
    code, _, err = _cli(db, "callback", report, "--contacted", "--resolved", "--rating",
                        "satisfied", lang="zh")
    assert code == 1 and "匿名登记，无法回访" in err
    code, out, err = _cli(db, "callback", report, "--not-contacted", "--unresolved")
    assert code == 0, err
    stats = json.loads(_cli(db, "--json", "stats", "--by", "unit")[1])
    assert [(g["group"], g["valid"], g["impossible"]) for g in stats] == [("寸滩街道", 0, 1)]
    code, out, _ = _cli(db, "stats", "--by", "unit", lang="zh")
    assert "无法回访（匿名）" in out
    history = _cli(db, "history", report, role="supervisor", lang="zh")[1]
    assert "回访无法进行" in history
