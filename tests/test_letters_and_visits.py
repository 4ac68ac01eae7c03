"""Letters and visits (信访工作条例 2022) to the letter: extensions only while
handling, delivery (送达) of written answers, review windows counted from
delivery to 24:00 and past holidays, reviews only of claims, answered by a unit
above the lead unit, hearings not counted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from petitions import (
    Actor,
    InvalidInput,
    Petitioner,
    PetitionService,
    TransitionNotAllowed,
)
from petitions.errors import RepeatFiling
from tests.test_cli import Cli

SH = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk", "intake_clerk")
WORKER = Actor("li", "caseworker")
HEAD = Actor("head", "supervisor")
LEAD = "华新街街道信访办"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def answered(svc: PetitionService, matter_type: str = "claim") -> object:
    """Filed 1 July 2026, handled by the street's office, answered 28 August."""
    pid = svc.file(actor=CLERK, petitioner=Petitioner(id="chen", kind="resident",
                                                      name="陈先生"),
                   title="停车费上涨", description="物业擅自提高停车费",
                   category="property_management", channel="letter",
                   workflow="letters_and_visits", matter_type=matter_type, at=at(2026, 7, 1))
    svc.accept(pid, actor=CLERK, at=at(2026, 7, 2))
    svc.assign(pid, actor=WORKER, unit=LEAD, person="li", at=at(2026, 7, 3))
    svc.reply(pid, actor=WORKER, outcome="not_support", text="程序合法", at=at(2026, 8, 28))
    svc.resolve(pid, actor=WORKER, at=at(2026, 8, 28, 10))
    return pid


def test_extend_only_while_handling_with_an_approver_and_a_notice(
        service: PetitionService) -> None:
    pid = service.file(actor=CLERK, petitioner=Petitioner(kind="resident", name="陈先生"),
                       title="t", description="d", category="other", channel="letter",
                       workflow="letters_and_visits", at=at(2026, 7, 1))
    with pytest.raises(TransitionNotAllowed, match="extend"):  # the acceptance decision
        service.extend(pid, actor=HEAD, days=5, reason="r", approver="主任",
                       at=at(2026, 7, 2))
    service.accept(pid, actor=CLERK, at=at(2026, 7, 2))
    service.assign(pid, actor=WORKER, unit=LEAD, person="li", at=at(2026, 7, 3))
    with pytest.raises(InvalidInput, match="approver"):
        service.extend(pid, actor=HEAD, days=5, reason="需调取材料", at=at(2026, 8, 20))
    before = service.get(pid).deadline
    view = service.extend(pid, actor=HEAD, days=20, reason="需调取材料", approver="区信访局局长",
                          at=at(2026, 8, 20))
    assert before is not None and view.deadline is not None
    assert (view.deadline - before).days == 20 and view.extension_days == 20
    notices = [e for e in service.history(pid) if e.type == "PetitionerNotified"]
    assert len(notices) == 1 and "需调取材料" in notices[0].data["text"]
    with pytest.raises(InvalidInput, match="at most 30 days"):
        service.extend(pid, actor=HEAD, days=11, reason="再延", approver="局长",
                       at=at(2026, 8, 21))
    service.reply(pid, actor=WORKER, outcome="explain", text="说明", at=at(2026, 8, 28))
    service.resolve(pid, actor=WORKER, at=at(2026, 8, 28, 10))
    with pytest.raises(TransitionNotAllowed, match="extend"):  # answered: no more extension
        service.extend(pid, actor=HEAD, days=5, reason="r", approver="局长",
                       at=at(2026, 8, 29))


def test_review_window_runs_from_delivery_to_24_00_past_the_holiday(
        service: PetitionService) -> None:
    pid = answered(service)
    view = service.deliver(pid, actor=CLERK, via="post", at=at(2026, 9, 1, 15))
    delivered = [e for e in service.history(pid) if e.type == "AnswerDelivered"]
    assert (delivered[0].data["answer"], delivered[0].data["method"]) == ("reply", "post")
    assert view.version == service.get(pid).version
    with pytest.raises(TransitionNotAllowed, match="no written answer is waiting"):
        service.deliver(pid, actor=CLERK, at=at(2026, 9, 2))  # delivered once
    # 30 days after 1 September is 1 October, National Day: the window runs to
    # 24:00 of the next working day, Thursday 8 October 2026.
    with pytest.raises(TransitionNotAllowed) as refused:
        service.request_review(pid, actor=CLERK, reason="不服", at=at(2026, 10, 9, 0, 1))
    assert "until 2026-10-08 24:00" in str(refused.value)
    assert "delivery of the reply at 2026-09-01 15:00" in str(refused.value)
    service.request_review(pid, actor=CLERK, reason="不服", at=at(2026, 10, 8, 23, 59))
    assert service.get(pid).stage == "review"


def test_reviewed_above_the_lead_unit_re_reviewed_above_that_then_final(
        service: PetitionService) -> None:
    pid = answered(service)
    service.deliver(pid, actor=CLERK, via="in_person", at=at(2026, 8, 31))
    service.request_review(pid, actor=CLERK, reason="不服", at=at(2026, 9, 10))
    with pytest.raises(InvalidInput, match="unit"):
        service.answer_review(pid, actor=HEAD, outcome="uphold", text="维持",
                              at=at(2026, 9, 20))
    with pytest.raises(InvalidInput, match=f"above {LEAD}"):
        service.answer_review(pid, actor=HEAD, outcome="uphold", text="维持", unit=LEAD,
                              at=at(2026, 9, 20))
    # A hearing (听证) is not counted: paused and resumed, the deadline moves.
    due = service.get(pid).deadline
    service.pause(pid, actor=HEAD, reason="组织听证", at=at(2026, 9, 21))
    moved = service.resume(pid, actor=HEAD, reason="听证结束", at=at(2026, 9, 24))
    assert due is not None and moved.deadline is not None
    assert (moved.deadline - due).days == 3
    service.answer_review(pid, actor=HEAD, outcome="uphold", text="维持", unit="江北区信访办",
                          at=at(2026, 9, 25))
    service.deliver(pid, actor=CLERK, via="electronic", at=at(2026, 9, 26))
    service.request_rereview(pid, actor=CLERK, reason="仍不服", at=at(2026, 10, 20))
    for unit in (LEAD, "江北区信访办"):
        with pytest.raises(InvalidInput, match="above"):
            service.answer_rereview(pid, actor=HEAD, outcome="uphold", text="终结", unit=unit,
                                    at=at(2026, 10, 30))
    view = service.answer_rereview(pid, actor=HEAD, outcome="uphold", text="终结",
                                   unit="重庆市信访办", at=at(2026, 10, 30))
    assert (view.stage, view.outcome) == ("concluded", "concluded")
    # The re-review answer is delivered after the matter is concluded.
    service.deliver(pid, actor=CLERK, via="sms", at=at(2026, 10, 31))
    kinds = [e.data["answer"] for e in service.history(pid) if e.type == "AnswerDelivered"]
    assert kinds == ["reply", "review", "rereview"]
    answers = {e.type: e.data["unit"] for e in service.history(pid)
               if e.type in ("ReviewAnswered", "ReReviewAnswered")}
    assert answers == {"ReviewAnswered": "江北区信访办", "ReReviewAnswered": "重庆市信访办"}
    # The same petitioner on the same matter again: refused.
    with pytest.raises(RepeatFiling):
        service.file(actor=CLERK, petitioner=Petitioner(id="chen", kind="resident",
                                                        name="陈先生"),
                     title="停车费上涨！", description="物业擅自提高停车费",
                     category="property_management", channel="letter",
                     workflow="letters_and_visits", at=at(2026, 11, 2))


def test_only_claims_may_be_reviewed(service: PetitionService) -> None:
    pid = answered(service, matter_type="suggestion")
    with pytest.raises(TransitionNotAllowed, match="claim matters only"):
        service.request_review(pid, actor=CLERK, reason="不服", at=at(2026, 9, 2))


def test_deliver_and_the_window_on_the_command_line(cli: Cli) -> None:
    pid = cli.file("--workflow", "letters_and_visits", "--petitioner-id", "wang-001",
                   "--at", "2026-07-01T09:00")
    cli("accept", pid, "--at", "2026-07-02T09:00")
    cli("assign", pid, "--unit", LEAD, "--person", "科长", "--at", "2026-07-03T09:00")
    r = cli("extend", pid, "--days", "5", "--reason", "调取材料", "--at", "2026-07-04T09:00",
            role="supervisor", code=1)
    assert "approver" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    cli("reply", pid, "--outcome", "not-support", "--text", "不符合政策",
        "--at", "2026-08-28T09:00")
    cli("resolve", pid, "--at", "2026-08-28T10:00")
    cli("deliver", pid, "--method", "in_person", "--at", "2026-09-01T15:00")
    bad = cli("deliver", pid, "--method", "pigeon", code=2)
    assert "pigeon" in bad.stderr
    r = cli("review", "request", pid, "--reason", "不服", "--at", "2026-10-09T08:00",
            role="intake_clerk", code=1)
    assert "2026-10-08 24:00" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    shown = cli.json("review", "request", pid, "--reason", "不服",
                     "--at", "2026-10-08T20:00", role="intake_clerk")
    assert shown["stage"] == "review"
    r = cli("review", "answer", pid, "--outcome", "uphold", "--text", "维持", "--unit", LEAD,
            "--at", "2026-10-20T09:00", role="supervisor", code=1)
    assert "above" in r.stderr
    history = cli("history", pid, lang="zh").stdout
    assert "送达" in history


def test_similar_text_after_re_review_only_warns(service: PetitionService, cli: Cli) -> None:
    pid = answered(service)
    service.request_review(pid, actor=CLERK, reason="不服", at=at(2026, 9, 10))
    service.answer_review(pid, actor=HEAD, outcome="uphold", text="维持", unit="江北区信访办",
                          at=at(2026, 9, 20))
    service.request_rereview(pid, actor=CLERK, reason="仍不服", at=at(2026, 10, 9))
    service.answer_rereview(pid, actor=HEAD, outcome="uphold", text="终结", unit="重庆市信访办",
                            at=at(2026, 10, 20))
    again = service.file(actor=CLERK, petitioner=Petitioner(id="chen", kind="resident",
                                                            name="陈先生"),
                         title="停车费上涨", description="物业公司擅自提高了停车费用",
                         category="property_management", channel="letter",
                         workflow="letters_and_visits", at=at(2026, 11, 2))
    flagged = [e for e in service.history(again) if e.type == "SimilarToConcluded"]
    assert len(flagged) == 1 and flagged[0].data["petition_ids"] == [str(pid)]
    assert "已复核终结" in flagged[0].text_zh
    other = service.file(actor=CLERK, petitioner=Petitioner(id="chen", kind="resident",
                                                            name="陈先生"),
                         title="电梯故障", description="单元电梯停运一周",
                         category="property_management", channel="letter",
                         workflow="letters_and_visits", at=at(2026, 11, 2))
    assert all(e.type != "SimilarToConcluded" for e in service.history(other))
