"""Many writer processes against the same petitions: nothing lost, nothing duplicated.

8 OS processes on PostgreSQL (4 on SQLite) issue commands against the same 50
petitions for a fixed number of rounds, and race to file the same idempotency
keys.  Afterwards the store must hold exactly the events of the commands that
succeeded, every petition's history must be a valid path of its workflow, and
every failure must be a version conflict the retry helper gave up on, or a
refusal by the workflow (which writes nothing).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from petitions import Actor, Location, Petition, Petitioner, PetitionService
from petitions.domain.petition import petition_id_for
from tests.fixtures import fresh_backend_url

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("concurrency_worker.py")
PETITIONS = 50
ROUNDS = 120

#: The command that records each event type (Filed comes from ``file``).
COMMAND_OF = {
    "Accepted": "accept", "Rejected": "reject", "MarkedDuplicate": "duplicate",
    "Withdrawn": "withdraw", "Assigned": "assign", "Transferred": "transfer",
    "DispatchDisputed": "dispute", "MediationOpened": "open_mediation",
    "MediationSessionRecorded": "record_session", "AgreementReached": "agree",
    "MediationFailed": "fail_mediation", "PlanStepCompleted": "plan_step",
    "ActionRecorded": "act", "Replied": "reply", "Resolved": "resolve",
    "CallbackRecorded": "callback", "Reopened": "reopen", "Closed": "close",
    "NoteAdded": "note", "Escalated": "escalate", "DeadlineExtended": "extend",
    "Reminded": "remind", "Excluded": "exclude",
    "Signed": "sign", "Contacted": "contact", "Returned": "return",
}


def run_writers(url: str, processes: int, ids: list[UUID], tmp_path: Path,
                seed: int) -> list[dict[str, Any]]:
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps([str(i) for i in ids]))
    procs = [subprocess.Popen(
        [sys.executable, str(WORKER), url, str(n), str(ROUNDS), str(seed), str(ids_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) for n in range(processes)]
    try:
        for p in procs:  # every writer has opened its service: start them together
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            assert line == "ready", (line, p.stderr.read() if p.stderr else "")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def check_valid_path(svc: PetitionService, events: list[Petition.Event]) -> None:
    """Each event was allowed by the workflow in the state the petition was in."""
    assert isinstance(events[0], Petition.Filed)
    petition: Any = None
    for event in events:
        if petition is not None and not type(event).__name__.startswith("Clock"):
            wf = svc.workflows.by_hash(petition.workflow.sha256)
            command = COMMAND_OF[type(event).__name__]
            targets = wf.targets(petition.stage, command)
            assert targets is not None, (command, petition.stage)
            assert getattr(event, "stage", petition.stage) in targets
            for fact in wf.requires.get(command, ()):
                assert petition.fact(fact, wf), (command, fact)
        petition = event.mutate(petition)
        assert petition.version == event.originator_version


@pytest.mark.parametrize(("backend", "processes"), [("sqlite", 4), ("postgres", 8)])
def test_concurrent_writers_lose_and_duplicate_nothing(
        backend: str, processes: int, tmp_path: Path, supervisor: Actor) -> None:
    seed = random.SystemRandom().randrange(10**6)
    for url in fresh_backend_url(backend, tmp_path):
        with PetitionService.open(url) as svc:
            ids = [svc.file(actor=supervisor, title=f"诉求 {n}", description="车位不足",
                            petitioner=Petitioner(id="", kind="resident", name="刘先生"),
                            category="property_management", channel="door_to_door",
                            location=Location(street="寸滩街道"))
                   for n in range(PETITIONS)]
            results = run_writers(url, processes, ids, tmp_path, seed)

            ok = [(UUID(p), v, c) for r in results for p, v, c in r["ok"]]
            failed = [f for r in results for f in r["failed"]]
            conflicts = sum(r["conflicts"] for r in results)
            info = f"seed={seed} ok={len(ok)} failed={len(failed)} conflicts={conflicts}"

            # Every failure is a conflict given up on, or a refusal by the workflow.
            kinds = Counter(f[2] for f in failed)
            assert set(kinds) <= {"ConcurrentUpdate", "TransitionNotAllowed"}, (kinds, info)
            # Writers did collide, and the retry helper absorbed those conflicts.
            assert conflicts > 0, info
            # No two writers were told they wrote the same version of a petition.
            assert len({(p, v) for p, v, _ in ok}) == len(ok), info

            # The events stored are exactly the commands that succeeded.
            stored = []
            for pid in ids:
                events = svc.petition_events(pid)
                assert [e.originator_version for e in events] == \
                    list(range(1, len(events) + 1))
                check_valid_path(svc, events)
                # A command that entered a stage with a time limit also started
                # its clock, in the same save: the version reached is the clock's.
                names = [type(e).__name__ for e in events]
                stored.extend(
                    (pid, e.originator_version + (1 if names[i + 1:i + 2] == ["ClockStarted"]
                                                  else 0), COMMAND_OF[names[i]])
                    for i, e in enumerate(events) if i > 0 and not names[i].startswith("Clock"))
            assert sorted(stored) == sorted(ok), info

            # Racing filings with one idempotency key made exactly one petition each.
            keys = {k for r in results for k, _ in r["filed"]}
            assert len(keys) == len(range(0, ROUNDS, 10))
            for r in results:
                for key, pid in r["filed"]:
                    assert UUID(pid) == petition_id_for(key)
            for key in keys:
                events = svc.petition_events(petition_id_for(key))
                # Filed once, with its intake clock, however many portals raced.
                assert [type(e).__name__ for e in events] == ["Filed", "ClockStarted"], key

            # The feed holds every petition event exactly once, in order.
            feed = list(svc.changes())
            positions = [c.position for c in feed]
            assert positions == sorted(set(positions))
            # Every command that succeeded, every filing, and the clocks they started.
            commands = [c for c in feed if not c.type.startswith("Clock")]
            assert len(commands) == PETITIONS + len(keys) + len(ok), info
            assert len(feed) - len(commands) == sum(
                1 for pid in [*ids, *(petition_id_for(k) for k in keys)]
                for e in svc.petition_events(pid) if type(e).__name__ == "ClockStarted")
            assert Counter((c.petition_id, c.version) for c in feed).most_common(1)[0][1] == 1

            # The read models the writers kept up to date equal a rebuild from scratch.
            svc.read_models.catch_up()
            incremental = svc.read_models.store.dump()
            assert sum(len(rows) for rows in incremental.values()) > 0
            svc.read_models.rebuild()
            assert svc.read_models.store.dump() == incremental, info
            print(info, file=sys.stderr)

