"""Benchmark: the deadline sweep over 100,000 open petitions.

    python bench/sweep.py [--petitions N] [--db PATH]

Fills a fresh SQLite file with N open petitions (default 100,000), filed one
every 20 seconds from Monday 2 March 2026 under the standard workflow, each
with its intake clock (2 working days) started and recorded, some accepted
(dispatch clock, 1 working day), saved through the library in batches with
the views caught up.  Then times ``PetitionService.sweep`` as the ``petitions
sweep`` command runs it:

* a first sweep in the middle of the range: every warning and breach due
  until then is recorded (a backlog, as after a sweeper was down);
* the same sweep again: nothing is due any more, nothing is written (the cost
  of finding the due petitions through the case index's ``next_due`` index);
* a sweep just after the next midnight: the deadlines of days and working
  days end at 24:00, so this is the busiest regular sweep of a day.

The sweep finds the due petitions through the index and loads only those
aggregates, never all of them.  The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from petitions import Actor, Location, Petition, Petitioner, PetitionService
from petitions.core import Store

SH = ZoneInfo("Asia/Shanghai")
CLERK = Actor("bench-clerk", "intake_clerk")


def fill(svc: PetitionService, n: int, batch: int = 500) -> tuple[float, int]:
    """Save ``n`` open petitions with their clocks; return seconds and events."""
    from datetime import datetime

    rng = random.Random(2026)
    wf = svc.workflow("standard")
    # Bulk load through the store core (the service hands out no aggregates).
    store = Store(url=svc.url, snapshot_interval=0)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=SH)
    began = time.perf_counter()
    pending: list[Petition] = []
    events = 0
    for i in range(n):
        at = start + timedelta(seconds=20 * i)
        p = Petition.file(
            wf, actor=CLERK, occurred_at=at,
            petitioner=Petitioner(id=f"p{i}", kind="resident", name=f"居民{i}"),
            channel="hotline", category="traffic", title=f"路灯不亮（{i}号）",
            description=f"居民反映路灯不亮，编号{i}。",
            location=Location(street="寸滩街道", grid=str(rng.randint(1, 20))))
        p.keep_time(wf, svc.timekeeper, CLERK, at, None, "file")
        if rng.random() < 0.3:
            later = at + timedelta(hours=2)
            p.accept(wf, CLERK, later)
            p.keep_time(wf, svc.timekeeper, CLERK, later, "intake", "accept")
        events += len(p.pending_events)
        pending.append(p)
        if len(pending) == batch:
            store.save(*pending)
            pending.clear()
            if (i + 1) % (n // 10 or 1) == 0:
                print(f"  filled {i + 1:,} petitions", file=sys.stderr)
    if pending:
        store.save(*pending)
    store.close()
    svc.read_models.catch_up()  # the views, once, for the whole fill
    return time.perf_counter() - began, events


def timed_sweep(svc: PetitionService, now: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    report = svc.sweep(now)  # type: ignore[arg-type]
    return time.perf_counter() - t0, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    folder = None
    if args.db:
        path = Path(args.db)
        if path.exists():
            raise SystemExit(f"{path} exists: give a new file")
    else:
        folder = tempfile.mkdtemp(prefix="petitions-sweep-")
        path = Path(folder) / "sweep.sqlite"
    try:
        with PetitionService.open(str(path), snapshot_interval=0) as svc:
            print(f"filling {args.petitions:,} petitions …", file=sys.stderr)
            fill_s, events = fill(svc, args.petitions)
            open_count = svc.read_models.count(status="open")
            from datetime import datetime

            span = timedelta(seconds=20 * args.petitions)
            middle = datetime(2026, 3, 2, 8, 0, tzinfo=SH) + span / 2
            backlog_s, backlog = timed_sweep(svc, middle)
            again_s, again = timed_sweep(svc, middle)
            from petitions.deadlines.calendar import end_of_office_day, office_day

            midnight = end_of_office_day(office_day(middle)) + timedelta(minutes=1)
            hour_s, hour = timed_sweep(svc, midnight)
            recorded = backlog.recorded  # type: ignore[attr-defined]
            out = {
                "petitions": args.petitions, "open": open_count, "events": events,
                "fill_s": round(fill_s, 1),
                "backlog_due": backlog.due,  # type: ignore[attr-defined]
                "backlog_recorded": recorded,
                "backlog_s": round(backlog_s, 2),
                "backlog_recorded_per_s": round(recorded / backlog_s) if backlog_s else None,
                "again_due": again.due,  # type: ignore[attr-defined]
                "again_recorded": again.recorded,  # type: ignore[attr-defined]
                "again_ms": round(again_s * 1000, 1),
                "again_petitions_per_s": round(open_count / again_s),
                "midnight_due": hour.due,  # type: ignore[attr-defined]
                "midnight_recorded": hour.recorded,  # type: ignore[attr-defined]
                "midnight_ms": round(hour_s * 1000, 1),
                "midnight_petitions_per_s": round(open_count / hour_s),
            }
            assert out["again_recorded"] == 0, "a second sweep at the same moment wrote"
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"open petitions: {out['open']:,}; events stored: {out['events']:,} "
          f"(filled in {out['fill_s']} s)")
    print(f"backlog sweep: {out['backlog_due']:,} due, {out['backlog_recorded']:,} recorded "
          f"in {out['backlog_s']} s ({out['backlog_recorded_per_s']:,} records/s)")
    print(f"same moment again: {out['again_due']} due, nothing written, "
          f"{out['again_ms']} ms ({out['again_petitions_per_s']:,} open petitions/s)")
    print(f"after midnight: {out['midnight_due']} due, {out['midnight_recorded']} recorded, "
          f"{out['midnight_ms']} ms ({out['midnight_petitions_per_s']:,} open petitions/s)")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
