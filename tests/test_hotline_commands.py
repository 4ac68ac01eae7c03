"""Reminders (催办) and exclusion from the rates (核减): commands of the command table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from petitions import Actor, PermissionDenied, PetitionService
from petitions.domain.commands import COMMANDS, Exclude, Remind
from petitions.errors import InvalidInput, TransitionNotAllowed
from tests.fixtures import file_petition
from workflows import vocabulary

HOTLINE = Actor("hotline-wang", "intake_clerk")


def handled(svc: PetitionService, worker: Actor, unit: str, title: str) -> object:
    pid = file_petition(svc, HOTLINE, title=title)
    svc.accept(pid, actor=worker)
    svc.assign(pid, actor=worker, unit=unit, person="张")
    return pid


def test_in_the_command_table() -> None:
    assert COMMANDS["remind"] is Remind and COMMANDS["exclude"] is Exclude
    assert {"remind", "exclude"} <= vocabulary.COMMANDS
    assert {"remind", "exclude"} <= vocabulary.IN_PLACE


def test_reminders_and_escalations_are_counted_per_unit(service: PetitionService,
                                                        worker: Actor,
                                                        supervisor: Actor) -> None:
    a = handled(service, worker, "寸滩街道", "一")
    b = handled(service, worker, "华新街街道", "二")
    view = service.remind(a, actor=HOTLINE, note="请尽快联系诉求人")
    assert view.reminders == 1
    service.execute(a, Remind(), actor=supervisor)
    service.escalate(a, actor=supervisor, reason="久拖未决")
    service.escalate(b, actor=supervisor, reason="超期")
    with pytest.raises(PermissionDenied):
        service.remind(b, actor=worker)  # the handling unit does not remind itself
    counts = service.supervision_counts()
    assert counts["寸滩街道"] == (2, 1) and counts["华新街街道"] == (0, 1)
    assert [e.type for e in service.history(a)].count("Reminded") == 2
    text = next(e.text("zh") for e in service.history(a) if e.type == "Reminded")
    assert "催办" in text and "请尽快联系诉求人" in text


def test_excluded_petitions_leave_the_rates(service: PetitionService, worker: Actor,
                                            supervisor: Actor) -> None:
    for title, rating in (("合理诉求", "satisfied"), ("不合理诉求", "unsatisfied")):
        pid = handled(service, worker, "寸滩街道", title)
        service.reply(pid, actor=worker, outcome="explain", text="已说明")
        service.resolve(pid, actor=worker)
        service.callback(pid, actor=HOTLINE, contacted=True, resolved=True, rating=rating)
        last = pid
    assert {g.group: g.valid for g in service.stats("street")} == {"寸滩街道": 2}
    with pytest.raises(PermissionDenied):
        service.exclude(last, actor=worker, reason="诉求不合理")
    with pytest.raises(InvalidInput):
        service.exclude(last, actor=supervisor, reason="  ")
    view = service.exclude(last, actor=supervisor, reason="要求超出政策规定，经审核核减")
    assert view.excluded is True
    with pytest.raises(TransitionNotAllowed, match="already excluded"):
        service.exclude(last, actor=supervisor, reason="again")
    groups = {g.group: g for g in service.stats("street")}
    assert groups["寸滩街道"].valid == 1 and groups["寸滩街道"].satisfaction_rate == 1.0
    event = next(e for e in service.history(last) if e.type == "Excluded")
    assert event.actor == supervisor.id and "核减" in event.text("zh")


def test_cli_remind_and_exclude(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    with PetitionService.open(db) as svc:
        pid = handled(svc, Actor("li", "caseworker"), "寸滩街道", "楼道照明")
        number = svc.get(pid).number
    run = CliRunner().invoke
    out = run(main, ["--db", db, "--actor", "wang", "--role", "intake_clerk", "--json",
                     "remind", str(number), "--note", "请加快"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["reminders"] == 1
    refused = run(main, ["--db", db, "--actor", "li", "--role", "caseworker", "exclude",
                         str(number), "--reason", "不合理"])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    done = run(main, ["--db", db, "--actor", "zhang", "--role", "supervisor", "--json",
                      "exclude", str(number), "--reason", "不合理"])
    assert done.exit_code == 0 and json.loads(done.output)["excluded"] is True
    units = json.loads(run(main, ["--db", db, "--json", "caseload", "--role", "unit"]).output)
    assert units == [{"unit": "寸滩街道", "open": 1, "closed": 0, "reminders": 1,
                      "escalations": 0}]
    for lang in ("zh", "en"):
        helped = run(main, ["--lang", lang, "exclude", "--help"])
        assert helped.exit_code == 0 and ("核减" in helped.output)
