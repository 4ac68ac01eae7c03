"""One writer process of the concurrency test (tests/test_concurrency.py).

Usage: python concurrency_worker.py URL WORKER ROUNDS SEED IDS_FILE

Opens its own PetitionService on URL, prints ``ready``, waits for a line on
stdin (so that all writers start together), then for ROUNDS rounds picks one
of the shared petitions, picks a command its stage allows and issues it through
``retry_on_conflict``.  Every tenth round it instead files a petition under an
idempotency key that every writer uses in that round.  At the end it prints one
JSON object: what succeeded (petition, version reached, command), what failed
(error class), and how many conflicts the retry helper absorbed.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any
from uuid import UUID

from petitions import (
    Actor,
    ConcurrentUpdate,
    Location,
    Petitioner,
    PetitionError,
    PetitionService,
    PetitionView,
    retry_on_conflict,
)

#: Commands that end a petition are rare, so petitions stay busy for many rounds.
RARE = {"reject": 0.03, "duplicate": 0.02, "withdraw": 0.02, "close": 0.3}
#: Not issued: plan_step needs a plan (the standard workflow has none), extend is capped.
SKIP = {"plan_step", "extend",
        "answer_now"}  # answer_now: for consultations (these are complaints)
#: Issued by the assigned unit (the workflow grants them to grid workers and
#: caseworkers): sign-for (签收), first contact (先行联系), return (退单).
UNIT_COMMANDS = {"sign", "contact", "return"}


def issue(svc: PetitionService, pid: UUID, command: str, actor: Actor,
          rng: random.Random, others: list[UUID]) -> PetitionView:
    """Issue ``command`` with valid arguments."""
    args: dict[str, Any] = {
        "accept": {}, "reject": {"reason": "不属于受理范围", "referral": "区法院"},
        "duplicate": {"original_id": rng.choice([o for o in others if o != pid])},
        "withdraw": {"reason": "已自行协商解决"},
        # After two returns only a final assignment (定责) goes through.
        "assign": {"unit": "寸滩街道", "person": "网格员张", "co_units": ["区住建委"],
                   "final": rng.random() < 0.3},
        "transfer": {"unit": "区住建委", "person": "科员李", "reason": "职责调整"},
        "dispute": {"reason": "不属本单位职责"},
        "open_mediation": {"mediator": "老马", "parties": ["业主", "物业"]},
        "record_session": {"place": "社区会议室", "participants": ["业主", "物业"]},
        "agree": {"terms": "物业增设车位"}, "fail_mediation": {"reason": "双方分歧较大"},
        "act": {"action": "现场查看"},
        "reply": {"outcome": rng.choice(["support", "explain", "not_support"]),
                  "text": "已答复"},
        "resolve": {"summary": "已办结"},
        "callback": {"contacted": True, "resolved": rng.random() < 0.7,
                     "rating": rng.choice(["satisfied", "basically_satisfied",
                                           "unsatisfied"])},
        "reopen": {"reason": "群众不满意", "to": rng.choice(["mediation", "resolution"])},
        "close": {}, "note": {"text": "电话联系群众"}, "escalate": {"reason": "超期督办"},
        "remind": {"note": "请尽快办理"},
        # 核减 once per petition: a second one (a writer that raced) is refused
        # by the petition's state (TransitionNotAllowed).
        "exclude": {"reason": "诉求不合理，经审核核减"},
        "sign": {}, "contact": {"note": "电话联系群众"},
        "return": {"reason": "不属本单位职责"},
    }[command]
    from petitions.domain.commands import COMMANDS

    method = getattr(svc, COMMANDS[command].method)
    view: PetitionView = method(pid, actor=actor, **args)
    return view


def pick(view: PetitionView, rng: random.Random) -> str | None:
    commands = [c for c in view.allowed_commands if c not in SKIP
                and not (c == "exclude" and view.excluded)]
    if not commands:
        return None
    weights = [RARE.get(c, 1.0) for c in commands]
    return rng.choices(commands, weights)[0]


def main() -> None:
    url, worker, rounds, seed, ids_file = sys.argv[1:6]
    rng = random.Random(f"{seed}-{worker}")
    with open(ids_file) as fh:
        ids = [UUID(x) for x in json.load(fh)]
    if url.startswith("postgresql://"):
        # One thread per worker: a small pool each, so that 8 workers stay far
        # below the server's connection limit.
        url += "&pool_size=2&max_overflow=2"
    svc = PetitionService.open(url)
    actor = Actor(f"worker-{worker}", "supervisor")
    # Call-backs by the hotline: whoever replied or resolved may not call back.
    hotline = Actor(f"hotline-{worker}", "intake_clerk")
    # Sign-for, first contact and return by the assigned unit's caseworker.
    unit = Actor(f"unit-{worker}", "caseworker")
    ok: list[list[Any]] = []
    failed: list[list[Any]] = []
    filed: list[list[str]] = []
    conflicts = 0
    print("ready", flush=True)
    sys.stdin.readline()
    for rnd in range(int(rounds)):
        if rnd % 10 == 0:
            key = f"race-{rnd}"
            pid = svc.file(actor=actor, idempotency_key=key,
                           petitioner=Petitioner(id="", kind="resident", name="刘先生"),
                           title="小区停车难", description="车位不足",
                           category="property_management", channel="door_to_door",
                           location=Location(street="寸滩街道"))
            filed.append([key, str(pid)])
            continue
        pid = rng.choice(ids)
        command = pick(svc.get(pid), rng)
        if command is None:  # the petition is closed
            continue
        attempts = 0

        def once(pid: UUID = pid, command: str = command) -> PetitionView:
            nonlocal attempts
            attempts += 1
            who = (hotline if command == "callback" else unit if command in UNIT_COMMANDS
                   else actor)
            return issue(svc, pid, command, who, rng, ids)

        try:
            view = retry_on_conflict(once, attempts=10)
        except ConcurrentUpdate:
            conflicts += attempts
            failed.append([str(pid), command, "ConcurrentUpdate"])
        except PetitionError as exc:
            conflicts += attempts - 1
            failed.append([str(pid), command, type(exc).__name__])
        except Exception as exc:  # reported, and fails the test
            failed.append([str(pid), command, f"{type(exc).__name__}: {exc}"])
        else:
            conflicts += attempts - 1
            ok.append([str(pid), view.version, command])
        # Portals look at the queue between commands: the read models catch
        # up in every writer at once, racing one another.
        try:
            svc.list_petitions(limit=5)
        except Exception as exc:  # reported, and fails the test
            failed.append([str(pid), "list_petitions", f"{type(exc).__name__}: {exc}"])
    svc.shutdown()
    print(json.dumps({"worker": worker, "ok": ok, "failed": failed, "filed": filed,
                      "conflicts": conflicts}), flush=True)


if __name__ == "__main__":
    main()
