"""Benchmark: what a read after a command costs, next to the command, in CPU time.

Runs the lifecycle of ``bench/lifecycle.py`` (file → accept → assign → reply →
resolve → call-back → close) for N petitions (default 300) on one SQLite file
and, after every command, reads the case twice: ``svc.get`` (the aggregate
from the cache, fast-forwarded, with its petitioner and related cases) and the
petition's row of the case index (``read_models.summary``: the views first
catch up with the command's events, one small batch).  Each command and each
read is timed on its own, in CPU time (``time.process_time``) and wall time,
so the three are measured side by side in the same moments of a shared
machine.  A read costs at most 20% (issue 18) when its CPU time is at most a
quarter of a command's.  The last line is one JSON object.

    python bench/reads.py [N]
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from petitions import Actor, Location, Petitioner, PetitionService


def main(argv: list[str]) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    n = int(argv[1]) if len(argv) > 1 else 300
    load_before = os.getloadavg()[0]
    cpu = {"command": 0.0, "get": 0.0, "index": 0.0}
    wall = dict.fromkeys(cpu, 0.0)

    def timed(kind: str, fn: Callable[..., Any], *args: Any) -> Any:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        found = fn(*args)
        wall[kind] += time.perf_counter() - wall_start
        cpu[kind] += time.process_time() - cpu_start
        return found

    with tempfile.TemporaryDirectory() as tmp:
        svc = PetitionService.open(str(Path(tmp) / "reads.sqlite"))
        clerk = Actor("clerk-01", "intake_clerk")
        worker = Actor("caseworker-li", "caseworker")
        svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="预热"),
                 title="预热", description="预热", category="other", channel="hotline")
        svc.read_models.catch_up()
        loc = Location(street="寸滩街道", community="保税商厦社区", grid="3")
        commands: list[Callable[[UUID], Any]] = [
            lambda p: svc.accept(p, actor=worker),
            lambda p: svc.assign(p, actor=worker, unit="寸滩街道", person="网格员张"),
            lambda p: svc.reply(p, actor=worker, outcome="support", text="已增设车位"),
            lambda p: svc.resolve(p, actor=worker),
            lambda p: svc.callback(p, actor=clerk, contacted=True, resolved=True,
                                   rating="satisfied"),
            lambda p: svc.close(p, actor=worker),
        ]
        gc.collect()
        for i in range(n):
            def filing(i: int = i) -> UUID:
                return svc.file(actor=clerk, petitioner=Petitioner(
                    kind="resident", name=f"居民{i}", phone=f"138{i:08d}"),
                    title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                    category="property_management", channel="door_to_door", location=loc)

            pid: UUID = timed("command", filing)
            version = svc.get(pid).version
            for command in [None, *commands]:
                if command is not None:
                    version = timed("command", command, pid).version
                got = timed("get", svc.get, pid)
                row = timed("index", svc.read_models.summary, str(pid))
                assert got.version == version and row is not None and row.version == version
        svc.shutdown()
    count = n * 7
    us_cpu = {k: v / count * 1e6 for k, v in cpu.items()}
    us_wall = {k: v / count * 1e6 for k, v in wall.items()}
    result = {
        "n": n, "commands": count,
        "cpu_us": {k: round(v) for k, v in us_cpu.items()},
        "wall_us": {k: round(v) for k, v in us_wall.items()},
        # What the lifecycle's ratio would be if only CPU time counted.
        "get_ratio_cpu": round(us_cpu["command"] / (us_cpu["command"] + us_cpu["get"]), 3),
        "index_ratio_cpu": round(us_cpu["command"] / (us_cpu["command"] + us_cpu["index"]), 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(f"{n} petitions, {count} commands, each followed by both reads; "
          f"load average {result['load_average']}")
    print(f"{'':32} {'CPU µs':>8} {'wall µs':>8}")
    for kind, label in (("command", "a command"), ("get", "svc.get after it"),
                        ("index", "case-index row after it")):
        print(f"{label:32} {us_cpu[kind]:8.0f} {us_wall[kind]:8.0f}")
    print(f"command / (command + read), CPU: svc.get {result['get_ratio_cpu']}, "
          f"case index {result['index_ratio_cpu']} (target >= 0.8)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
