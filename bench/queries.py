"""Benchmark: caseworker queries as the store grows (up to a million petitions).

    python bench/queries.py [--sizes 20000,200000,1000000] [--imported 0.3]
                            [--db PATH] [--keep]

Fills one SQLite file step by step to each size, a share of each step
(``--imported``, default 0.3) through the bulk import path
(``petitions.importer.import_filings``, as ``petitions import`` files: new
open petitions with their intake clocks, sealed personal data, work-order
numbers) and the rest handled to their stages as ``bench/casefill.py`` does
(the domain's own methods — accept, assign, reply, resolve, call-back, close —
saved through eventsourcing 500 petitions per ``save``; importing them first
and then loading each to handle it would take most of the time budget); then
catches the views up after each step (timed: events/s), and at each size
times, in-process with the views' catch-up check included as in the command
line (median of 15 calls after one warm-up):

* ``list`` with two filters (street and status), first page of 50;
* ``count`` with the same two filters (a counter kept by the projection);
* text search: a three-character-or-longer phrase (FTS5 trigram index) and a
  two-character word (bigram index), first page of 50, most recently recorded
  first, and the count of hits as ``list --text`` shows it (capped: "1000+");
* ``stats --by street`` and ``stats --by grid`` (rate tallies kept by the projection);
* ``caseload`` (assignees; counters);
* the overdue queue (first page, soonest deadline first; ``deadline`` index).

``growth`` is the largest ratio of a query's median at the largest size to
its median at the smallest.  Targets: each query ≤ 10 ms at 1,000,000
petitions, ``growth`` ≤ 2.0.  The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casefill import CATEGORIES, STREETS, TITLES, fill

from petitions import Actor, PetitionService
from petitions.readmodels.queries import SEARCH_COUNT_CAP


def timed(fn: Callable[[], Any], runs: int = 15) -> tuple[float, float]:
    """Median milliseconds over ``runs`` calls (after one warm-up): wall clock,
    and this process's CPU time (SQLite runs in-process, so the CPU time is
    the query's own work without the waits for a core on a shared machine)."""
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


QUERIES: dict[str, Callable[[PetitionService], Any]] = {
    "list_two_filters": lambda svc: svc.list_petitions(street="寸滩街道", status="open"),
    "count_two_filters": lambda svc: svc.read_models.count(street="寸滩街道", status="open"),
    "search_trigram": lambda svc: svc.search("加装电梯"),
    "search_two_chars": lambda svc: svc.search("路灯"),
    "search_count": lambda svc: svc.read_models.count(text="加装电梯", cap=SEARCH_COUNT_CAP),
    "stats_street": lambda svc: svc.stats("street"),
    "stats_grid": lambda svc: svc.stats("grid"),
    "caseload": lambda svc: svc.read_models.caseload("assignee"),
    "overdue_queue": lambda svc: svc.list_petitions(overdue=True),
}


def write_filings(path: Path, n: int, first: int) -> None:
    """``n`` filings as ``petitions import`` reads them (JSON Lines), each a
    resident of their own with a phone, at a street and grid."""
    rng = random.Random(first)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(first, first + n):
            street = rng.choice(STREETS)
            title = rng.choice(TITLES)
            fh.write(json.dumps({
                "idempotency_key": f"bench-queries:{i:09d}", "title": f"{title}（{i}号）",
                "description": f"{street}居民反映{rng.choice(TITLES)}，编号{i}。",
                "category": rng.choice(CATEGORIES), "channel": "hotline",
                "petitioner": {"kind": "resident", "name": f"居民{i}",
                               "phone": f"139{i:08d}"},
                "location": {"street": street, "grid": str(rng.randint(1, 20)),
                             "community": f"{street[:2]}社区{rng.randint(1, 7)}"},
            }, ensure_ascii=False) + "\n")


def import_step(db: str, folder: str, n: int, first: int) -> float:
    """File ``n`` new petitions through the bulk import path; seconds taken."""
    from petitions.importer import import_filings

    path = Path(folder) / f"filings-{first}.jsonl"
    write_filings(path, n, first)
    svc = PetitionService.open(db)
    svc.read_models.inline = False  # the views are caught up (and timed) apart
    try:
        began = time.perf_counter()
        report = import_filings(svc, path, actor=Actor("bench-operator", "intake_clerk"))
        took = time.perf_counter() - began
    finally:
        svc.shutdown()
        path.unlink()
    assert report.imported == n and not report.errors, report
    return took


def measure(svc: PetitionService) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU milliseconds of each query."""
    wall, cpu = {}, {}
    for name, query in QUERIES.items():
        w, c = timed(lambda q=query: q(svc))  # type: ignore[misc]
        wall[name], cpu[name] = round(w, 2), round(c, 2)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,200000,1000000",
                        help="petition counts to measure at, comma-separated, ascending")
    parser.add_argument("--imported", type=float, default=0.3,
                        help="share of each step filed through the bulk import path")
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary file")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(",") if x.strip())
    folder = tempfile.mkdtemp(prefix="petitions-bench-queries-")
    db = args.db or str(Path(folder) / "queries.sqlite")
    results: dict[str, dict[str, Any]] = {}
    logging.disable(logging.WARNING)  # the new master key notice
    have = handled = imported = 0
    try:
        for size in sizes:
            print(f"filling to {size:,} petitions in {db}", file=sys.stderr)
            step_imported = round((size - have) * args.imported)
            step_handled = size - have - step_imported
            fill_s = fill(db, step_handled, first=handled) if step_handled else 0.0
            import_s = (import_step(db, folder, step_imported, imported)
                        if step_imported else 0.0)
            handled += step_handled
            imported += step_imported
            have = size
            svc = PetitionService.open(db)
            try:
                before = svc.read_models.position()
                began = time.perf_counter()
                svc.read_models.catch_up()
                views_s = time.perf_counter() - began
                caught = svc.read_models.position() - before
                medians, cpu = measure(svc)
                total = svc.read_models.count()
            finally:
                svc.shutdown()
            results[str(size)] = {"petitions": total, "imported": imported,
                                  "fill_s": round(fill_s, 1), "import_s": round(import_s, 1),
                                  "import_filings_per_s": round(step_imported / import_s)
                                  if import_s else None,
                                  "views_eps": round(caught / views_s), **medians,
                                  "cpu_ms": cpu, "load_avg": os.getloadavg()[0]}
            print(f"{size:>9,} petitions (wall ms): "
                  + ", ".join(f"{k} {v}" for k, v in medians.items()), flush=True)
            print(f"{size:>9,} petitions (CPU ms):  "
                  + ", ".join(f"{k} {v}" for k, v in cpu.items()), flush=True)
        first, last = results[str(sizes[0])], results[str(sizes[-1])]
        growth = {name: round(last[name] / max(first[name], 0.01), 2) for name in QUERIES}
        growth_cpu = {name: round(last["cpu_ms"][name] / max(first["cpu_ms"][name], 0.01), 2)
                      for name in QUERIES}
        worst, worst_cpu = max(growth.values()), max(growth_cpu.values())
        print(f"growth (largest / smallest size): wall {worst}, CPU {worst_cpu}")
        print(json.dumps({"sizes": results, "growth": worst, "growth_cpu": worst_cpu,
                          "growth_by_query": growth, "growth_cpu_by_query": growth_cpu,
                          "max_ms_at_largest": max(last[name] for name in QUERIES),
                          "max_cpu_ms_at_largest": max(last["cpu_ms"].values())},
                         ensure_ascii=False))
    finally:
        if not args.db and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif args.keep:
            print(f"kept {db}", file=sys.stderr)


if __name__ == "__main__":
    main()
