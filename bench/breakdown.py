"""Benchmark: where a command's time goes, on a SQLite file.

Runs the lifecycle of ``bench/lifecycle.py`` (file → accept → assign → reply →
resolve → call-back → close) for N petitions (default 1,000) with a timer
around each part of a command, and prints the mean µs per command of each
part; the last line is one JSON object.  The timers add a little overhead of
their own; compare the parts with one another, within one run.

    python bench/breakdown.py [N]
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import SQLiteApplicationRecorder

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.audit.chain import ChainedMapper
from petitions.core import Store
from petitions.domain.petition import Petition
from petitions.privacy.core import Privacy

#: (label, owner, attribute): the parts timed, in the order printed.
PARTS: list[tuple[str, Any, str]] = [
    ("load the petition (cache, fast-forwarded from the store)", Store, "load"),
    ("time limits: start or stop the stage's clock", Petition, "keep_time"),
    ("hash chain and JSON encoding of the new events", ChainedMapper, "to_stored_event"),
    ("insert the events and commit (durable)", SQLiteApplicationRecorder, "insert_events"),
    ("the view the command returns", PetitionService, "_result"),
    ("filing: seal the petitioner's data (a new key is stored with the events)", Privacy,
     "seal_for_filing"),
]


@contextmanager
def timed(totals: dict[str, float]) -> Iterator[None]:
    """Wrap every part in ``PARTS`` with a timer adding to ``totals``."""
    saved = []
    for label, cls, name in PARTS:
        owner = next(c for c in cls.__mro__ if name in c.__dict__)  # where it is defined
        original = owner.__dict__[name]
        saved.append((owner, name, original))

        def wrap(fn: Callable[..., Any], label: str = label) -> Callable[..., Any]:
            @functools.wraps(fn)
            def timer(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    totals[label] += time.perf_counter() - start
            return timer

        setattr(owner, name, wrap(original))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def run(n: int, folder: Path) -> tuple[dict[str, float], float, int]:
    """Seconds per part, total seconds, and the number of commands."""
    svc = PetitionService.open(str(folder / "breakdown.sqlite"))
    clerk = Actor("clerk-01", "intake_clerk")
    worker = Actor("caseworker-li", "caseworker")
    svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="预热"),
             title="预热", description="预热", category="other", channel="hotline")
    loc = Location(street="寸滩街道", community="保税商厦社区", grid="3")
    totals: dict[str, float] = defaultdict(float)
    with timed(totals):
        start = time.perf_counter()
        for i in range(n):
            pid = svc.file(actor=clerk, petitioner=Petitioner(
                kind="resident", name=f"居民{i}", phone="13800001234"),
                title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                category="property_management", channel="door_to_door", location=loc)
            svc.accept(pid, actor=worker)
            svc.assign(pid, actor=worker, unit="寸滩街道", person="网格员张")
            svc.reply(pid, actor=worker, outcome="support", text="已增设车位")
            svc.resolve(pid, actor=worker)
            svc.callback(pid, actor=clerk, contacted=True, resolved=True, rating="satisfied")
            svc.close(pid, actor=worker)
        elapsed = time.perf_counter() - start
    svc.shutdown()
    return dict(totals), elapsed, n * 7


def main(argv: list[str]) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    n = int(argv[1]) if len(argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        totals, elapsed, commands = run(n, Path(tmp))
    per = {label: totals.get(label, 0.0) / commands * 1e6 for label, _, _ in PARTS}
    total = elapsed / commands * 1e6
    rest = total - sum(per.values())
    print(f"{n} petitions, {commands} commands, µs per command (mean over all commands):")
    for label, us in per.items():
        print(f"  {us:7.0f}  {label}")
    print(f"  {rest:7.0f}  the rest (workflow and role checks, events, service)")
    print(f"  {total:7.0f}  a command in all")
    result = {"n": n, "commands": commands, "us_per_command": round(total),
              "parts_us": {label: round(us) for label, us in per.items()},
              "rest_us": round(rest)}
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main(sys.argv)
