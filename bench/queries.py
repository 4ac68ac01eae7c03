"""Benchmark: caseworker queries over 100,000 petitions in the read models.

    python bench/queries.py [--petitions N] [--db PATH]

Fills a fresh SQLite file with N petitions (default 100,000) spread over
streets, communities, grids, categories and stages, saved through the
library in batches, then the views caught up in-process (as the first query would).
Then times, in-process and with the views' catch-up check included as in the
command line:

* ``list`` with two filters (street and status), first page of 50;
* text search in Chinese (a three-character phrase via the trigram index, and
  a two-character word, which falls back to a scan);
* ``stats --by street`` and ``stats --by grid``;

and the cold start of ``petitions --help`` in a subprocess.  Targets: each
query ≤ 100 ms, ``--help`` ≤ 250 ms.  The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from petitions import Actor, Location, Petition, Petitioner, PetitionService
from petitions.core import Store

STREETS = ["华新街街道", "寸滩街道", "石马河街道", "铁山坪街道", "江北城街道", "大石坝街道",
           "郭家沱街道", "五宝镇", "复盛镇", "鱼嘴镇"]
CATEGORIES = ["property_management", "traffic", "fire_safety", "elderly_care", "lift",
              "convenience", "employment", "environment", "business_environment"]
TITLES = ["小区停车难", "老旧楼加装电梯", "路灯不亮", "噪音扰民", "独居老人烟雾报警器",
          "企业用工短缺", "物业服务不到位", "垃圾清运不及时", "公交线路调整", "幼儿园学位紧张"]
CLERK = Actor("bench-clerk", "intake_clerk")
WORKER = Actor("bench-worker", "caseworker")


def fill(svc: PetitionService, n: int, batch: int = 500) -> float:
    """Save ``n`` petitions through the library; return seconds taken."""
    rng = random.Random(2022)
    wf = svc.workflow("standard")
    # Bulk load through the store core (the service hands out no aggregates).
    store = Store(url=svc.url, snapshot_interval=0)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    pending: list[Petition] = []
    shown = -1
    for i in range(n):
        street = rng.choice(STREETS)
        at = start + timedelta(minutes=5 * i)
        p = Petition.file(
            wf, actor=CLERK, occurred_at=at,
            petitioner=Petitioner(id=f"p{i}", kind="resident", name=f"居民{i}"),
            channel="hotline", category=rng.choice(CATEGORIES),
            title=f"{rng.choice(TITLES)}（{i}号）",
            description=f"{street}居民反映{rng.choice(TITLES)}，编号{i}。",
            location=Location(street=street, community=f"{street[:2]}社区{rng.randint(1, 7)}",
                              grid=str(rng.randint(1, 20))))
        stage = rng.random()
        if stage > 0.1:
            p.accept(wf, WORKER, at)
        if stage > 0.2:
            p.assign(wf, WORKER, at, unit=street, person=f"网格员{rng.randint(1, 200)}")
        if stage > 0.5:
            p.reply(wf, WORKER, at, "support", "已办理")
            p.resolve(wf, WORKER, at)
            contacted = rng.random() < 0.9
            p.callback(wf, CLERK, at, contacted, rng.random() < 0.8,
                       rng.choice(["satisfied", "basically_satisfied", "unsatisfied"])
                       if contacted else None)
        if stage > 0.6:
            p.close(wf, WORKER, at)
        pending.append(p)
        if len(pending) == batch:
            store.save(*pending)
            pending.clear()
            done = (i + 1) * 100 // n
            if done // 10 != shown // 10:
                shown = done
                print(f"  filled {i + 1:,} petitions", file=sys.stderr)
    if pending:
        store.save(*pending)
    store.close()
    svc.read_models.catch_up()
    return time.perf_counter() - began


def timed(fn: Callable[[], Any], runs: int = 15) -> tuple[float, Any]:
    """Median milliseconds over ``runs`` calls (after one warm-up), and a result."""
    result = fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), result


def cold_help(runs: int = 10) -> float:
    script = shutil.which("petitions", path=str(Path(sys.executable).parent))
    if script is None:
        raise SystemExit("install the project first: the petitions script is missing")
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([script, "--help"], check=True, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="petitions-bench-")
    db = args.db or str(Path(folder) / "bench.sqlite")
    svc = PetitionService.open(db)
    try:
        print(f"filling {args.petitions:,} petitions into {db}", file=sys.stderr)
        fill_s = fill(svc, args.petitions)
        total = svc.read_models.count()
        events = svc.recorder.max_notification_id()
        print(f"fill: {total:,} petitions, {events:,} events in {fill_s:.1f} s "
              f"({events / fill_s:,.0f} events/s incl. views)")

        rebuild_t0 = time.perf_counter()
        svc.read_models.rebuild()
        rebuild_s = time.perf_counter() - rebuild_t0
        print(f"rebuild views from scratch: {rebuild_s:.1f} s ({events / rebuild_s:,.0f} "
              "events/s)")

        list_ms, page = timed(lambda: svc.list_petitions(street="寸滩街道", status="open"))
        search3_ms, hits3 = timed(lambda: svc.search("加装电梯"))
        search2_ms, hits2 = timed(lambda: svc.search("路灯"))
        stats_ms, groups = timed(lambda: svc.stats("street"))
        stats_grid_ms, _ = timed(lambda: svc.stats("grid"))
        count_ms, _ = timed(lambda: svc.read_models.count(street="寸滩街道", status="open"))
        help_ms = cold_help()
        print(f"list --street --status (50 of page): {list_ms:.1f} ms ({len(page)} rows)")
        print(f"count --street --status:            {count_ms:.1f} ms")
        print(f"search '加装电梯' (trigram):         {search3_ms:.1f} ms ({len(hits3)} rows)")
        print(f"search '路灯' (2 chars, scan):       {search2_ms:.1f} ms ({len(hits2)} rows)")
        print(f"stats --by street:                  {stats_ms:.1f} ms ({len(groups)} groups)")
        print(f"stats --by grid:                    {stats_grid_ms:.1f} ms")
        print(f"petitions --help cold start:        {help_ms:.0f} ms")
        ok = all(ms <= 100 for ms in (list_ms, search3_ms, search2_ms, stats_ms,
                                      stats_grid_ms)) and help_ms <= 250
        print(json.dumps({
            "petitions": total, "events": events, "fill_s": round(fill_s, 1),
            "rebuild_s": round(rebuild_s, 1), "list_two_filters_ms": round(list_ms, 2),
            "count_two_filters_ms": round(count_ms, 2),
            "search_trigram_ms": round(search3_ms, 2),
            "search_two_chars_ms": round(search2_ms, 2), "stats_street_ms": round(stats_ms, 2),
            "stats_grid_ms": round(stats_grid_ms, 2), "help_cold_ms": round(help_ms, 1),
            "targets_met": ok,
        }, ensure_ascii=False))
    finally:
        svc.shutdown()
        if not args.db:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
