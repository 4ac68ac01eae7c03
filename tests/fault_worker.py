"""A stream of ordinary commands, killed at random by tests/test_faults.py.

Usage: python fault_worker.py URL ACKS SEED

Files petitions (each under its own idempotency key) and issues accept, assign,
note and act on them, forever.  After each command returns — acknowledged —
it appends one JSON line to ACKS (``{"op", "key", "pid", "version", "text"}``)
and flushes it to disk, so the parent knows exactly what was acknowledged when
it killed the process.  Every note and action carries a unique text, so the
parent can check that each is stored exactly once.
"""

from __future__ import annotations

import json
import os
import random
import sys
from uuid import UUID

from petitions import Actor, Location, Petitioner, PetitionError, PetitionService

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")


def main() -> None:
    url, acks_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    pids: list[UUID] = []
    with PetitionService.open(url) as svc, open(acks_path, "a", encoding="utf-8") as acks:

        def ack(**entry: object) -> None:
            acks.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
            acks.flush()
            os.fsync(acks.fileno())

        print("ready", flush=True)
        n = 0
        while True:
            n += 1
            tag = f"{seed}-{n}"
            op = rng.choice(["file", "note", "note", "act", "accept", "assign"]) if pids \
                else "file"
            try:
                if op == "file":
                    key = f"fault:{tag}"
                    pid = svc.file(actor=CLERK, petitioner=Petitioner(
                        kind="resident", name=f"居民{tag}", phone="13800001234"),
                        title=f"诉求 {tag}", description="小区路灯不亮",
                        category="environment", channel="hotline",
                        location=Location(street="寸滩街道"), idempotency_key=key)
                    pids.append(pid)
                    ack(op=op, key=key, pid=pid, version=None, text=None)
                    continue
                pid = rng.choice(pids)
                text = f"{op} {tag}"
                if op == "note":
                    view = svc.note(pid, actor=WORKER, text=text)
                elif op == "act":
                    view = svc.act(pid, actor=WORKER, action=text)
                elif op == "accept":
                    view = svc.accept(pid, actor=WORKER)
                else:
                    view = svc.assign(pid, actor=WORKER, unit="寸滩街道", person="网格员张")
                ack(op=op, key=None, pid=pid, version=view.version, text=text)
            except PetitionError:
                pass  # refused (e.g. not allowed in this stage): nothing written


if __name__ == "__main__":
    main()
