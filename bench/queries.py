"""Benchmark: caseworker queries as the store grows (up to a million petitions).

    python bench/queries.py [--sizes 20000,200000,1000000] [--imported 0.3]
                            [--dir FOLDER] [--keep] [--rounds 5] [--runs 5]
    python bench/queries.py --stores A.sqlite,B.sqlite   # measure kept stores again

Fills one SQLite store per size, a share of each (``--imported``, default
0.3) through the bulk import path (``petitions.importer.import_filings``, as
``petitions import`` files: new open petitions with their intake clocks,
sealed personal data, work-order numbers) and the rest handled to their stages
as ``bench/casefill.py`` does (the domain's own methods — accept, assign,
reply, resolve, call-back, close — saved through eventsourcing 500 petitions
per ``save``; importing them first and then loading each to handle it would
take most of the time budget), and catches its views up (timed: events/s).
Then it times, in-process with the views' catch-up check included as in the
command line, on every store *interleaved* (``--rounds`` rounds, each query
``--runs`` calls per store and round; medians of all calls after a warm-up),
so that the machine's load changing during the run touches every size alike:

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


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds of ``runs`` calls: wall clock, and this process's CPU time
    (SQLite runs in-process, so the CPU time is the query's own work without
    the waits for a core on a shared machine)."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return wall, cpu


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


def fill_store(db: str, size: int, imported_share: float, folder: str) -> dict[str, Any]:
    """Fill a new store with ``size`` petitions (a share through the import
    path) and catch its views up; what it took."""
    print(f"filling {size:,} petitions into {db}", file=sys.stderr)
    step_imported = round(size * imported_share)
    step_handled = size - step_imported
    fill_s = fill(db, step_handled) if step_handled else 0.0
    import_s = import_step(db, folder, step_imported, 0) if step_imported else 0.0
    svc = PetitionService.open(db)
    try:
        c0, began = time.process_time(), time.perf_counter()
        caught = svc.read_models.catch_up()
        views_s, views_cpu = time.perf_counter() - began, time.process_time() - c0
    finally:
        svc.shutdown()
    return {"imported": step_imported, "fill_s": round(fill_s, 1),
            "import_s": round(import_s, 1),
            "import_filings_per_s": round(step_imported / import_s) if import_s else None,
            "events": caught, "views_eps": round(caught / views_s),
            "views_cpu_eps": round(caught / max(views_cpu, 1e-9)),
            "load_avg_after_fill": round(os.getloadavg()[0], 2)}


def measure_all(dbs: list[str], rounds: int, runs: int) -> list[dict[str, Any]]:
    """Median wall and CPU milliseconds of each query on each store, measured
    interleaved (``rounds`` times, each store and query ``runs`` calls in
    turn), so that a change in the machine's load touches every size alike."""
    services = [PetitionService.open(db) for db in dbs]
    samples: list[dict[str, tuple[list[float], list[float]]]] = [
        {name: ([], []) for name in QUERIES} for _ in dbs]
    loads = []
    try:
        for svc in services:
            svc.read_models.catch_up()
            for query in QUERIES.values():
                query(svc)  # warm-up
        for _ in range(rounds):
            loads.append(os.getloadavg()[0])
            for svc, found in zip(services, samples, strict=True):
                for name, query in QUERIES.items():
                    wall, cpu = timed(lambda q=query, s=svc: q(s), runs)  # type: ignore[misc]
                    found[name][0].extend(wall)
                    found[name][1].extend(cpu)
        out = []
        for svc, found in zip(services, samples, strict=True):
            out.append({"petitions": svc.read_models.count(),
                        **{n: round(statistics.median(w), 2) for n, (w, _) in found.items()},
                        "cpu_ms": {n: round(statistics.median(c), 2)
                                   for n, (_, c) in found.items()}})
        for entry in out:
            entry["load_avg"] = [round(x, 2) for x in (min(loads), max(loads))]
        return out
    finally:
        for svc in services:
            svc.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20000,200000,1000000",
                        help="petition counts to measure at, comma-separated")
    parser.add_argument("--imported", type=float, default=0.3,
                        help="share of each store filed through the bulk import path")
    parser.add_argument("--dir", default=None,
                        help="folder for the stores (default: a temporary one, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--stores", default=None,
                        help="measure these existing store files (comma-separated) "
                             "instead of filling new ones")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds over the stores (default 5)")
    parser.add_argument("--runs", type=int, default=5,
                        help="calls of each query per store and round (default 5)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the new master key notice
    folder = args.dir or tempfile.mkdtemp(prefix="petitions-bench-queries-")
    Path(folder).mkdir(parents=True, exist_ok=True)
    filled: dict[str, dict[str, Any]] = {}
    try:
        if args.stores:
            dbs = [x.strip() for x in args.stores.split(",") if x.strip()]
        else:
            dbs = []
            for size in sorted(int(x) for x in args.sizes.split(",") if x.strip()):
                db = str(Path(folder) / f"queries-{size}.sqlite")
                filled[db] = fill_store(db, size, args.imported, folder)
                dbs.append(db)
        measured = measure_all(dbs, args.rounds, args.runs)
        results: dict[str, dict[str, Any]] = {}
        for db, entry in sorted(zip(dbs, measured, strict=True),
                                key=lambda d: d[1]["petitions"]):
            size = entry["petitions"]
            results[str(size)] = {**entry, **filled.get(db, {})}
            print(f"{size:>9,} petitions (wall ms): "
                  + ", ".join(f"{k} {entry[k]}" for k in QUERIES), flush=True)
            print(f"{size:>9,} petitions (CPU ms):  "
                  + ", ".join(f"{k} {v}" for k, v in entry["cpu_ms"].items()), flush=True)
        ordered = list(results.values())
        first, last = ordered[0], ordered[-1]
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
        if not args.dir and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif args.keep or args.dir:
            print(f"stores kept in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
