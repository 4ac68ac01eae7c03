"""``petitions stats`` as a table shows the counts ``stats --json`` has beside
the rates (issue 14): signed for in time (签收), first contact in time (先行联系),
returns (退单), reminders (催办), escalations with their levels (督办), and the
call-backs impossible (anonymous), in Chinese and English."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from petitions import Actor, Location, PetitionService
from petitions.domain.values import Petitioner
from tests.fixtures import file_petition

HOTLINE, WORKER = Actor("hotline-wang", "intake_clerk"), Actor("li", "caseworker")
BOSS = Actor("zhang", "supervisor")
STREET = Location(street="寸滩街道")


def _store(db: str) -> None:
    with PetitionService.open(db) as svc:
        for n, (sign, contact) in enumerate(((True, True), (True, False), (False, False))):
            pid = file_petition(svc, HOTLINE, title=f"件{n}", location=STREET)
            svc.accept(pid, actor=WORKER)  # type: ignore[arg-type]
            if n == 2:  # returned once, then dispatched again
                svc.assign(pid, actor=WORKER, unit="寸滩街道", person="张")  # type: ignore[arg-type]
                svc.return_order(pid, actor=WORKER, reason="不属本单位")  # type: ignore[arg-type]
            svc.assign(pid, actor=WORKER, unit="寸滩街道", person="张")  # type: ignore[arg-type]
            if sign:
                svc.sign(pid, actor=WORKER)  # type: ignore[arg-type]
            if contact:
                svc.contact(pid, actor=WORKER)  # type: ignore[arg-type]
            if n == 1:
                svc.remind(pid, actor=BOSS)  # type: ignore[arg-type]
                svc.escalate(pid, actor=BOSS, reason="久拖", level="yellow")  # type: ignore[arg-type]
                svc.escalate(pid, actor=BOSS, reason="仍未办", level="red")  # type: ignore[arg-type]
            svc.reply(pid, actor=WORKER, outcome="support", text="已办")  # type: ignore[arg-type]
            svc.resolve(pid, actor=WORKER)  # type: ignore[arg-type]
            svc.callback(pid, actor=HOTLINE, contacted=True, resolved=True,  # type: ignore[arg-type]
                         rating="satisfied")
        anonymous = file_petition(svc, HOTLINE, petitioner=Petitioner(kind="resident", name=""),
                                  anonymous=True, request_type="report", location=STREET,
                                  title="匿名举报")
        svc.accept(anonymous, actor=WORKER)  # type: ignore[arg-type]
        svc.assign(anonymous, actor=WORKER, unit="寸滩街道", person="张")  # type: ignore[arg-type]
        svc.reply(anonymous, actor=WORKER, outcome="support", text="已查")  # type: ignore[arg-type]
        svc.resolve(anonymous, actor=WORKER)  # type: ignore[arg-type]
        svc.callback(anonymous, actor=HOTLINE, contacted=False,  # type: ignore[arg-type]
                     resolved=False)


def test_the_table_has_the_counts_the_json_has(tmp_path: Path) -> None:
    db = str(tmp_path / "stats.sqlite")
    _store(db)
    run = CliRunner().invoke
    out = run(main, ["--db", db, "--json", "stats", "--by", "street"])
    assert out.exit_code == 0, out.output
    (group,) = json.loads(out.output)
    assert (group["signed_in_time"], group["contacted_in_time"], group["returns"],
            group["reminders"], group["escalations"], group["impossible"]) == (2, 1, 1, 1, 2, 1)
    assert group["escalation_levels"] == {"yellow": 1, "red": 1}

    en = run(main, ["--db", db, "--lang", "en", "stats", "--by", "street"])
    assert en.exit_code == 0, en.output
    for title in ("Signed for in time", "Contacted in time", "Returns", "Reminders",
                  "Escalations", "No call-back (anonymous)"):
        assert title in en.output.splitlines()[0], (title, en.output)
    row = next(line for line in en.output.splitlines() if line.strip().startswith("寸滩街道"))
    # signed for in time, contacted in time, returns, reminders, escalations
    assert row.split("(")[0].split()[-5:] == ["2", "1", "1", "1", "2"]
    assert "(yellow card 1, red card 1)" in row and row.split()[-1] == "1"  # impossible

    zh = run(main, ["--db", db, "--lang", "zh", "stats", "--by", "street"])
    assert zh.exit_code == 0, zh.output
    for title in ("签收及时", "先行联系及时", "退单", "催办", "督办"):
        assert title in zh.output.splitlines()[0], (title, zh.output)
    row = next(line for line in zh.output.splitlines() if line.strip().startswith("寸滩街道"))
    assert "(黄牌 1, 红牌 1)" in row and "yellow" not in row
