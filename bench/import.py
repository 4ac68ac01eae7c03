"""Benchmark: the bulk import against eventsourcing saving batches of aggregates.

    python bench/import.py [--filings N] [--batch B] [--rounds R]

Writes N filings (default 2,000) to a JSON Lines file, then — on fresh SQLite
files, interleaved, R rounds (default 2), each one's best kept — times:

* ``import_eps``: ``petitions import`` through the library function the
  command line calls (``petitions.importer.import_filings``): the whole file
  checked first, then filed B filings per transaction (default
  ``petitions.importer.BATCH``), each filing with its idempotency key,
  work-order number, caller index rows, its petitioner's new data key and
  sealed personal fields, hash-chained events.  The views are kept by their
  own process (``PETITIONS_VIEWS=runner``, as in ``docs/scaling.md``), so the
  import does not catch them up; ``views_eps`` is how fast they then catch
  up with the imported events, measured apart.
* ``bare_batched_eps``: bare eventsourcing (9.5) saving the same number of
  events — per filing an aggregate with as many events as ours wrote — B
  aggregates per ``save``.

``ratio`` = import / bare (target >= 0.8).  The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

STREETS = ["华新街街道", "寸滩街道", "石马河街道", "铁山坪街道", "江北城街道", "大石坝街道",
           "郭家沱街道", "五宝镇", "复盛镇", "鱼嘴镇"]
CATEGORIES = ["property_management", "traffic", "fire_safety", "elderly_care", "lift",
              "convenience", "employment", "environment", "business_environment"]
CHANNELS = ["hotline", "online", "letter"]
TITLES = ["小区停车难", "老旧楼加装电梯", "路灯不亮", "噪音扰民", "独居老人烟雾报警器",
          "企业用工短缺", "物业服务不到位", "垃圾清运不及时", "公交线路调整", "幼儿园学位紧张"]


class Bare(Aggregate):
    """A bare aggregate: a title on creation, a note per further event."""

    @event("Created")
    def __init__(self, title: str, description: str) -> None:
        self.title = title
        self.description = description
        self.steps = 0

    @event("Stepped")
    def step(self, note: str) -> None:
        self.steps += 1


class BareApp(Application[UUID]):
    pass


def write_filings(path: Path, n: int, tag: str) -> None:
    """N filings, each a resident of their own with a phone, at a street."""
    rng = random.Random(2022)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            title = rng.choice(TITLES)
            fh.write(json.dumps({
                "idempotency_key": f"{tag}:{i:08d}", "title": title,
                "description": f"{title}（第{i}件）", "category": rng.choice(CATEGORIES),
                "channel": rng.choice(CHANNELS),
                "petitioner": {"kind": "resident", "name": f"居民{i}",
                               "phone": f"139{i:08d}"},
                "location": {"street": rng.choice(STREETS), "grid": str(rng.randrange(1, 40))},
            }, ensure_ascii=False) + "\n")


def run_ours(path: Path, db: Path, batch: int) -> tuple[float, int, float]:
    """Events/s of the import, the events it wrote, events/s of the views after."""
    from petitions import Actor, PetitionService
    from petitions.importer import import_filings

    svc = PetitionService.open(str(db))
    gc.collect()
    start = time.perf_counter()
    report = import_filings(svc, path, actor=Actor("bench-operator", "intake_clerk"),
                            batch=batch)
    elapsed = time.perf_counter() - start
    assert report.imported == report.lines and not report.errors, report
    events = svc.recorder.max_notification_id() or 0
    views_start = time.perf_counter()
    applied = svc.read_models.catch_up()
    views_eps = applied / (time.perf_counter() - views_start)
    assert svc.read_models.count() == report.lines
    svc.shutdown()
    return events / elapsed, events, views_eps


def run_bare(db: Path, n: int, per_filing: int, batch: int) -> float:
    app = BareApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                       "SQLITE_DBNAME": str(db)})
    rng = random.Random(2022)
    gc.collect()
    start = time.perf_counter()
    pending: list[Bare] = []
    for i in range(n):
        title = rng.choice(TITLES)
        agg = Bare(title, f"{title}（第{i}件）")
        for _ in range(per_filing - 1):
            agg.step("clock started")
        pending.append(agg)
        if len(pending) >= batch:
            app.save(*pending)
            pending.clear()
    if pending:
        app.save(*pending)
    elapsed = time.perf_counter() - start
    app.close()
    return n * per_filing / elapsed


def main(argv: list[str]) -> dict[str, Any]:
    from petitions.importer import BATCH

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv[1:])
    logging.disable(logging.WARNING)  # the new master key notice, once per file
    os.environ["PETITIONS_VIEWS"] = "runner"
    n = args.filings
    ours: list[float] = []
    bare: list[float] = []
    views: list[float] = []
    events = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "filings.jsonl"
        write_filings(path, n, "bench")
        for r in range(args.rounds):
            eps, events, views_eps = run_ours(path, Path(tmp) / f"ours{r}.sqlite", args.batch)
            ours.append(eps)
            views.append(views_eps)
            # Ours wrote one workflow definition besides the filings' events.
            per_filing = (events - 1) // n
            bare.append(run_bare(Path(tmp) / f"bare{r}.sqlite", n, per_filing, args.batch))
    result = {"import_eps": round(max(ours)), "bare_batched_eps": round(max(bare)),
              "ratio": round(max(ours) / max(bare), 3), "views_eps": round(max(views)),
              "filings": n, "events": events, "batch": args.batch}
    print(f"petitions import of {n:,} filings ({events:,} events, {args.batch} filings per "
          f"transaction): {result['import_eps']:,} events/s")
    print(f"bare eventsourcing, {args.batch} aggregates per save: "
          f"{result['bare_batched_eps']:,} events/s")
    print(f"views catching up with the import afterwards: {result['views_eps']:,} events/s")
    print(f"ratio import / bare: {result['ratio']} (target >= 0.8)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
