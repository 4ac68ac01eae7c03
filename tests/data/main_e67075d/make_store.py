"""Build ``store.sqlite`` (and its master key file) with the code of commit e67075d.

The store is a test fixture: stored history must load forever, so the tests
open it with today's code and check that every petition loads, replays and
verifies (tests/test_stored_history.py).  It was written by the code of main
at commit e67075d (before commands became values and the service stopped
being an eventsourcing application), by running

    cd /tmp && PYTHONPATH=/path/to/checkout-at-e67075d \\
        python /path/to/this/make_store.py OUT_DIR

from outside any checkout, so that ``petitions`` is imported from that commit.
It loads the seed's demo (cases 1–9 and the door-to-door campaign) and then
takes a few petitions down the side paths the demo does not visit — rejection,
duplicate, withdrawal, reopening, review and re-review, an extension, a pause,
an escalation, a note and an erasure — through the public API of that time.
Alongside it writes ``expected.json``: what that code showed for every
petition (stage, outcome, version, the event types of its history).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def main(out: Path) -> None:
    import petitions
    from petitions import Actor, Location, Petitioner, PetitionService
    from petitions.demo import load_all

    print("petitions from", petitions.__file__, file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "store.sqlite"
    for stale in (db, out / "store.sqlite.key", out / "expected.json"):
        stale.unlink(missing_ok=True)
    svc = PetitionService.open(str(db), snapshot_interval=5)
    load_all(svc)
    clerk = Actor("clerk-01", "intake_clerk")
    worker = Actor("caseworker-li", "caseworker")
    boss = Actor("supervisor-zhang", "supervisor")
    admin = Actor("admin-he", "administrator")
    t0 = datetime(2022, 7, 1, 9, 0, tzinfo=SH)

    def at(hours: float) -> datetime:
        return t0 + timedelta(hours=hours)

    def filing(key: str, name: str, title: str, hours: float, **kw: object) -> object:
        args: dict[str, object] = dict(
            actor=clerk, petitioner=Petitioner(kind="resident", name=name,
                                               phone="13800001234"),
            title=title, description=f"{title}（测试夹具）", category="property_management",
            channel="hotline", location=Location(street="寸滩街道", community="保税商厦社区"),
            idempotency_key=key, at=at(hours))
        args.update(kw)
        return svc.file(**args)  # type: ignore[arg-type]

    # Rejected with a referral; a duplicate; withdrawn.
    rejected = filing("fixture-reject", "赵女士", "邻里纠纷", 0)
    svc.reject(rejected, actor=clerk, reason="属民事纠纷", referral="人民调解委员会", at=at(1))
    original = filing("fixture-original", "钱先生", "路灯不亮", 0)
    dup = filing("fixture-dup", "孙先生", "路灯还是不亮", 0.5)
    svc.duplicate(dup, actor=clerk, original_id=original, note="同一路灯", at=at(1))
    gone = filing("fixture-withdrawn", "李女士", "噪音扰民", 0)
    svc.withdraw(gone, actor=clerk, reason="已自行协商解决", at=at(2))
    # Reopened after an unsatisfied call-back, extended, paused, escalated, closed.
    pid = filing("fixture-reopen", "周先生", "小区积水", 0)
    svc.accept(pid, actor=worker, at=at(1))
    svc.assign(pid, actor=worker, unit="寸滩街道", person="网格员张", co_units=["区住建委"],
               at=at(2))
    svc.note(pid, actor=worker, text="已现场查看", at=at(3))
    svc.extend(pid, actor=boss, days=5, reason="需协调施工单位", at=at(4))
    svc.pause(pid, actor=boss, reason="等待补充材料", at=at(5))
    svc.resume(pid, actor=boss, reason="材料已补齐", at=at(29))
    svc.escalate(pid, actor=boss, reason="督办", at=at(30))
    svc.reply(pid, actor=worker, outcome="explain", text="已说明排水改造计划", at=at(31))
    svc.resolve(pid, actor=worker, at=at(32))
    svc.callback(pid, actor=worker, contacted=True, resolved=False, rating="unsatisfied",
                 comment="仍有积水", at=at(33))
    svc.reopen(pid, actor=worker, to="resolution", reason="回访不满意", at=at(34))
    svc.act(pid, actor=worker, action="疏通排水管", at=at(35))
    svc.reply(pid, actor=worker, outcome="support", text="已疏通", at=at(36))
    svc.resolve(pid, actor=worker, at=at(37))
    svc.callback(pid, actor=worker, contacted=True, resolved=True, rating="satisfied",
                 at=at(38))
    svc.close(pid, actor=worker, at=at(39))
    # Letters and visits: reply, review, re-review (the matter is then concluded).
    lv = filing("fixture-review", "吴先生", "拆迁补偿", 0, workflow="letters_and_visits",
                channel="letter")
    view = svc.get(lv)
    for command in view.allowed_commands:
        if command == "accept":
            svc.accept(lv, actor=boss, at=at(1))
            break
    svc.assign(lv, actor=boss, unit="区信访办", person="王主任", at=at(2))
    svc.reply(lv, actor=boss, outcome="not_support", text="符合补偿标准", at=at(3))
    svc.resolve(lv, actor=boss, at=at(3.5))
    svc.request_review(lv, actor=Actor("portal", "portal"), reason="补偿偏低", at=at(4))
    svc.answer_review(lv, actor=boss, outcome="uphold", text="维持原答复", at=at(5))
    svc.request_rereview(lv, actor=Actor("portal", "portal"), reason="仍不认可", at=at(6))
    svc.answer_rereview(lv, actor=boss, outcome="uphold", text="复核维持", at=at(7))
    # An erasure (crypto-shredding) of one petitioner's personal data.
    erased = filing("fixture-erased", "郑女士", "楼道堆物", 0)
    petitioner_id = svc.get(erased, viewer=boss).petitioner.id
    svc.privacy.erase(petitioner_id, actor=admin, legal_basis="本人请求删除", at=at(40))

    expected = {}
    topic_rows = svc.recorder.select_notifications(start=0, limit=100_000)
    ids = []
    for row in topic_rows:
        if row.topic.endswith("Petition.Filed") and row.originator_id not in ids:
            ids.append(row.originator_id)
    for pid_ in ids:
        v = svc.get(pid_)
        expected[str(pid_)] = {
            "workflow": [v.workflow.name, v.workflow.version],
            "stage": v.stage, "outcome": v.outcome, "version": v.version,
            "types": [e.type for e in svc.history(pid_)],
            "erased": v.petitioner.erased,
        }
    svc.close()
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1)
                                       + "\n", encoding="utf-8")
    print(f"{len(expected)} petitions, {len(topic_rows)} events", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
