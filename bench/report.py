"""Benchmark: building ``petitions report`` over 100,000 petitions, against the
``stats`` queries it needs, in the same run.

    python bench/report.py [--petitions N] [--db PATH]

Fills a fresh SQLite file as ``bench/queries.py`` does (``bench/casefill.py``: the
library's aggregates saved in batches through the store core, then the views
caught up), then times, in-process, median of several runs:

* the ``stats`` queries the report is made of: ``stats --by street``,
  ``stats --by month`` and ``rank --by unit`` (the baseline);
* gathering the report's numbers (:func:`petitions.reports.build_report`: those
  queries plus filings per month, backlog, overdue work and hot spots);
* drawing its six charts and writing the page (:func:`render_html`, matplotlib);

and one ``petitions report`` in a subprocess (cold: start, import matplotlib,
build, draw, write).  The ratios are taken in the same run, so a loaded machine
changes them less than the absolute times.  The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casefill import fill

from petitions import PetitionService
from petitions.reports import build_report, render_html


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median milliseconds over ``runs`` calls (after one warm-up), and a result."""
    result = fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="petitions-bench-report-")
    db = args.db or str(Path(folder) / "bench.sqlite")
    with PetitionService.open(db) as svc:
        present = svc.read_models.count()
    if present < args.petitions:
        print(f"filling {args.petitions - present:,} petitions into {db}", file=sys.stderr)
        fill_s = fill(db, args.petitions - present, first=present)
        print(f"fill: {fill_s:.1f} s", file=sys.stderr)
    svc = PetitionService.open(db)
    try:
        total = svc.read_models.count()

        def stats_queries() -> int:
            return (len(svc.stats("street")) + len(svc.stats("month"))
                    + len(svc.rank("unit")))

        stats_ms, groups = timed(stats_queries, runs=args.runs)
        build_ms, data = timed(lambda: build_report(svc, "street"), runs=args.runs)
        render_ms, page = timed(lambda: render_html(data, "zh"), runs=args.runs)
        out = Path(folder) / "report.html"
        script = shutil.which("petitions", path=str(Path(sys.executable).parent))
        if script is None:
            raise SystemExit("install the project first: the petitions script is missing")
        t0 = time.perf_counter()
        subprocess.run([script, "--db", db, "--lang", "zh", "report", "--out", str(out)],
                       check=True, capture_output=True)
        cli_ms = (time.perf_counter() - t0) * 1000
        report_ms = build_ms + render_ms
        print(f"petitions: {total:,}")
        print(f"stats --by street + --by month + rank --by unit: {stats_ms:.1f} ms "
              f"({groups} groups)")
        print(f"report numbers (build_report):                  {build_ms:.1f} ms")
        print(f"report charts and page (render_html, 6 charts): {render_ms:.1f} ms "
              f"({len(page) // 1024} KiB)")
        print(f"petitions report, cold, in a subprocess:        {cli_ms:.0f} ms")
        print(json.dumps({
            "petitions": total, "stats_queries_ms": round(stats_ms, 1),
            "report_numbers_ms": round(build_ms, 1), "report_render_ms": round(render_ms, 1),
            "report_ms": round(report_ms, 1), "cli_report_cold_ms": round(cli_ms),
            "page_kib": len(page) // 1024,
            "numbers_over_stats": round(build_ms / stats_ms, 2),
            "report_over_stats": round(report_ms / stats_ms, 2),
        }))
    finally:
        svc.shutdown()
        if not args.db:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
