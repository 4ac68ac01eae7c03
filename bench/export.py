"""Benchmark: ``export cases`` over N petitions (default 100,000).

    python bench/export.py [--petitions N] [--sealed M]

Fills a fresh SQLite file with N petitions as ``bench/queries.py`` does (saved
through the store core in batches; their petitioners are *not* sealed there, so
no decryption is timed), then, in the same run:

* writes the CSV export of every case (``PetitionService.export_cases`` and
  ``petitions.export.write_csv``, rows streamed from the case index in batches);
* reads the same cases from the case index in one query (``list`` without a
  limit), the floor an export cannot go under;

and, on a second store with M petitions filed through ``PetitionService.file``
(petitioners sealed as in real use), the export's time per row, which adds the
opening of each petitioner's sealed name and phone.  The last line printed is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from queries import fill

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.export import COLUMNS, open_for, write_csv

VIEWER = Actor("bench-caseworker", "caseworker")


def _label(kind: str, code: str, workflow: str) -> str:
    return code


def export_seconds(svc: PetitionService, path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    with open_for(str(path), "utf-8-sig") as out:
        rows = write_csv(svc.export_cases(viewer=VIEWER), out, (h for _, h in COLUMNS), _label)
    return time.perf_counter() - t0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--sealed", type=int, default=2_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="petitions-bench-export-"))
    out: dict[str, Any] = {"petitions": args.petitions, "sealed_petitions": args.sealed}
    with PetitionService.open(str(folder / "bench.sqlite")) as svc:
        out["fill_s"] = round(fill(svc, args.petitions), 1)
        svc.read_models.catch_up()
        t0 = time.perf_counter()
        listed = len(svc.read_models.cases(limit=None))
        out["list_all_s"] = round(time.perf_counter() - t0, 2)
        seconds, rows = export_seconds(svc, folder / "cases.csv")
        assert rows == listed == args.petitions, (rows, listed)
        out["export_s"] = round(seconds, 2)
        out["export_rows_per_s"] = round(rows / seconds)
        out["export_vs_list_ratio"] = round(seconds / out["list_all_s"], 1)
        out["csv_mb"] = round((folder / "cases.csv").stat().st_size / 1e6, 1)
    clerk = Actor("bench-clerk", "intake_clerk")
    with PetitionService.open(str(folder / "sealed.sqlite")) as svc:
        for i in range(args.sealed):
            svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name=f"居民{i}",
                                                        phone=f"139{i:08d}"),
                     title="小区停车难", description="车位不足", category="traffic",
                     channel="hotline", location=Location(street="寸滩街道"))
        svc.read_models.catch_up()
        seconds, rows = export_seconds(svc, folder / "sealed.csv")
        out["sealed_export_ms_per_row"] = round(seconds * 1000 / rows, 3)
    out["note"] = "shared, loaded 2-core machine; ratios from the same run"
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
