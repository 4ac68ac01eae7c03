"""Commands per second on PostgreSQL with 1, 4 and 8 writer processes.

Each writer process opens its own PetitionService on the same server and
issues ``note`` commands against a shared set of petitions (load, decide, save;
version conflicts retried with ``retry_on_conflict``).  Beside it, in the same
run and against the same server, bare eventsourcing does the same number of
saves: load a minimal aggregate, trigger one event, save.  Every run uses a
fresh schema, dropped afterwards.

    python bench/postgres.py [--server postgresql://postgres@127.0.0.1:5432/test]
                             [--commands 2000] [--petitions 100]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from petitions import Actor, Location, Petitioner, PetitionService, retry_on_conflict
from petitions.persistence import env_for_url
from petitions.postgres import drop_schema
from petitions.privacy.keys import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, new_master_key_text

WRITERS = (1, 4, 8)


class Counter(Aggregate):
    """The bare-eventsourcing stand-in for a petition: one event per command."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.notes = 0

    @event("Noted")
    def note(self, text: str) -> None:
        self.notes += 1


class Bare(Application[UUID]):
    name = "bare"


def open_bare(url: str) -> Bare:
    return Bare(env_for_url(url))


# ------------------------------------------------------------------ worker
def worker(kind: str, url: str, count: int, seed: str, ids_text: str) -> None:
    ids = [UUID(x) for x in ids_text.split(",")]
    rng = random.Random(seed)
    conflicts = 0
    if kind == "petitions":
        svc = PetitionService.open(url)
        actor = Actor(f"bench-{seed}", "caseworker")
        print("ready", flush=True)
        sys.stdin.readline()
        t0 = time.time()
        for n in range(count):
            attempts = 0

            def once(pid: UUID, text: str) -> Any:
                nonlocal attempts
                attempts += 1
                return svc.note(pid, actor=actor, text=text)

            retry_on_conflict(once, rng.choice(ids), f"跟进 {n}", attempts=20)
            conflicts += attempts - 1
        t1 = time.time()
        svc.shutdown()
    else:
        app = open_bare(url)
        print("ready", flush=True)
        sys.stdin.readline()
        t0 = time.time()
        for n in range(count):
            for _attempt in range(20):
                agg: Counter = app.repository.get(rng.choice(ids))
                agg.note(f"note {n}")
                try:
                    app.save(agg)
                    break
                except IntegrityError:
                    conflicts += 1
        t1 = time.time()
        app.close()
    print(json.dumps({"t0": t0, "t1": t1, "conflicts": conflicts}), flush=True)


# ------------------------------------------------------------------ driver
def run(kind: str, server: str, writers: int, commands: int, petitions: int) -> dict[str, Any]:
    url = f"{server}?schema=bench_{uuid.uuid4().hex[:12]}&pool_size=2&max_overflow=2"
    try:
        if kind == "petitions":
            with PetitionService.open(url) as svc:
                setup = Actor("bench", "caseworker")
                ids = [svc.file(actor=setup, title=f"诉求 {n}", description="车位不足",
                                petitioner=Petitioner(id="", kind="resident", name="刘先生"),
                                category="property_management", channel="door_to_door",
                                location=Location(street="寸滩街道"))
                       for n in range(petitions)]
        else:
            with open_bare(url) as app:
                aggs = [Counter(f"c{n}") for n in range(petitions)]
                app.save(*aggs)
                ids = [a.id for a in aggs]
        share = commands // writers
        procs = [subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, url, str(share), f"{kind}-{w}",
             ",".join(str(i) for i in ids)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for w in range(writers)]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"a {kind} writer failed")
            outs.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = max(o["t1"] for o in outs) - min(o["t0"] for o in outs)
        done = share * writers
        return {"commands": done, "seconds": round(elapsed, 3),
                "per_second": round(done / elapsed, 1),
                "conflicts": sum(o["conflicts"] for o in outs)}
    finally:
        drop_schema(url)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, url, count, seed, ids = sys.argv[2:7]
        worker(kind, url, int(count), seed, ids)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--petitions", type=int, default=100)
    args = parser.parse_args()
    if not (os.environ.get(MASTER_KEY_ENV) or os.environ.get(MASTER_KEY_FILE_ENV)):
        # PostgreSQL needs a configured master key; the run's fresh schemas are
        # dropped afterwards, so a key for this run alone will do (the writer
        # processes inherit it).
        os.environ[MASTER_KEY_ENV] = new_master_key_text()
    results: dict[str, dict[str, Any]] = {"petitions": {}, "bare_eventsourcing": {}}
    print(f"PostgreSQL {args.server}: {args.commands} commands per run, "
          f"{args.petitions} shared aggregates")
    print(f"{'writers':>8} {'petitions cmd/s':>16} {'bare saves/s':>13} {'ratio':>6} "
          f"{'conflicts':>10}")
    for writers in WRITERS:
        ours = run("petitions", args.server, writers, args.commands, args.petitions)
        bare = run("bare", args.server, writers, args.commands, args.petitions)
        results["petitions"][str(writers)] = ours
        results["bare_eventsourcing"][str(writers)] = bare
        print(f"{writers:>8} {ours['per_second']:>16} {bare['per_second']:>13} "
              f"{ours['per_second'] / bare['per_second']:>6.2f} "
              f"{ours['conflicts']:>5}/{bare['conflicts']:<4}")
    print(json.dumps({"benchmark": "postgres", "commands": args.commands,
                      "aggregates": args.petitions, "writers": list(WRITERS),
                      "commands_per_second": {k: {w: r["per_second"] for w, r in v.items()}
                                              for k, v in results.items()},
                      "runs": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
