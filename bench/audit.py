"""Benchmark: build a large hash-chained store, then time ``audit verify``.

Builds ``--petitions`` petitions of 10 events each (default 100,000 →
1,000,000 events plus the stored workflow definition) in a SQLite file,
saving 500 petitions per call — each petitioner's data sealed under a key of
their own, each petition with its work-order number and caller-index entry,
as a filing writes them (so that the side tables' check is timed too) — then
times a full verification (every chain and the notification log), a seal
(verify + sign) and, with ``--export``, an export.  Prints figures; the last
line is one JSON object.

    python bench/audit.py                    # the full run (several minutes)
    python bench/audit.py --petitions 5000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.audit import export_log, keygen, make_seal, verify_store
from petitions.core import Store
from petitions.domain.petition import Petition

TARGET_EVENTS_PER_S = 100_000


def side_rows(svc: PetitionService, filed: list[tuple[Petition, str]]) -> None:
    """Write what a filing writes beside its events (data key, work-order
    number, caller index) for ``filed``, in one transaction."""
    from petitions.sidetables import caller_entries, local_year, side_key

    tables = svc.side_tables
    key = side_key(svc.privacy.keyring.master)
    with tables.datastore.transaction(commit=True) as cursor:
        for p, phone in filed:
            callers = caller_entries(svc.privacy, phone, "")
            tables.number_writer(str(p.id), local_year(p.filed_at), "", [], key=key,
                                 indexed=True)(cursor)
            tables.caller_writer(callers, p.petitioner.id, str(p.id))(cursor)


def flush(svc: PetitionService, store: Store, pending: list[Petition],
          keys: list[Any]) -> None:
    datastore = svc.privacy.keyring.table.datastore
    with datastore.transaction(commit=True) as cursor:
        for new_key in keys:
            new_key.write(cursor)
    for new_key in keys:
        new_key.kept()
    store.save(*pending)
    side_rows(svc, [(p, f"138{int(p.petitioner.id[2:]) % 100_000_000:08d}")
                    for p in pending])  # the phone each bulk petitioner b-<i> was given
    pending.clear()
    keys.clear()


def build(svc: PetitionService, petitions: int, batch: int) -> int:
    wf = svc.workflow("standard")
    # Bulk load through the store core (the service hands out no aggregates).
    store = Store(url=svc.url, snapshot_interval=0)
    clerk = Actor("clerk-01", "intake_clerk")
    worker = Actor("caseworker-li", "caseworker")
    # One ordinary filing stores the workflow definition.
    svc.file(actor=clerk, petitioner=Petitioner(id="p-0", kind="resident", name="居民"),
             title="小区停车难", description="车位不足", category="property_management",
             channel="door_to_door")
    t0 = datetime(2022, 6, 6, 1, 30, tzinfo=UTC)
    loc = Location(street="寸滩街道", community="保税商厦社区", grid="3")
    pending: list[Petition] = []
    keys: list[Any] = []
    for i in range(petitions):
        at = t0 + timedelta(seconds=i)
        sealed, new_key = svc.privacy.seal_for_filing(
            Petitioner(id=f"b-{i}", kind="resident", name=f"居民{i}",
                       phone=f"138{i % 100_000_000:08d}"), new=True)
        assert new_key is not None
        keys.append(new_key)
        p = Petition.file(wf, actor=clerk, occurred_at=at, petitioner=sealed,
                          channel="door_to_door", category="property_management",
                          title=f"小区停车难 {i}",
                          description="吉安园茅溪小区业主反映车位不足、乱停车严重",
                          location=loc)
        p.accept(wf, worker, at)
        p.assign(wf, worker, at, unit="寸滩街道", person="网格员张", co_units=("区住建委",))
        p.act(wf, worker, at, action="现场查看")
        p.act(wf, worker, at, action="协调物业")
        p.note(wf, worker, at, text="已联系物业")
        p.note(wf, worker, at, text="业主代表已知悉")
        p.reply(wf, worker, at, outcome="support", text="已增设停车位")
        p.resolve(wf, worker, at, summary="停车位已增设")
        p.callback(wf, clerk, at, contacted=True, resolved=True, rating="satisfied")
        pending.append(p)
        if len(pending) == batch:
            flush(svc, store, pending, keys)
    if pending:
        flush(svc, store, pending, keys)
    store.close()
    return int(svc.recorder.max_notification_id() or 0)


def verify_only(db: str) -> None:
    runs = []
    with PetitionService.open(db, snapshot_interval=0) as svc:
        for _ in range(2):
            wall, cpu = time.perf_counter(), time.process_time()
            report = verify_store(svc)
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
            assert report.ok, report.problems[:3]
    for i, (wall, cpu) in enumerate(runs):
        print(f"audit verify run {i + 1}: {report.events:,} events, wall {wall:.2f} s, "
              f"CPU {cpu:.2f} s")
    print(json.dumps({"benchmark": "audit-verify", "events": report.events,
                      "side_tables": getattr(report, "side_tables", None) is not None,
                      "wall_s": [round(w, 3) for w, _ in runs],
                      "cpu_s": [round(c, 3) for _, c in runs]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--petitions", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500, help="petitions saved per call")
    ap.add_argument("--db", help="SQLite file to build (default: a temporary file)")
    ap.add_argument("--export", action="store_true", help="also time an export")
    ap.add_argument("--verify-only", metavar="DB",
                    help="only time audit verify (twice; wall and CPU time) on an existing "
                         "store, e.g. one built with --db, under whatever library is imported")
    args = ap.parse_args()
    if args.verify_only:
        verify_only(args.verify_only)
        return

    tmp = tempfile.TemporaryDirectory(prefix="petitions-bench-")
    db = Path(args.db) if args.db else Path(tmp.name) / "audit.sqlite"
    if db.exists():
        sys.exit(f"{db} exists; give a new path")
    with PetitionService.open(str(db), snapshot_interval=0) as svc:
        t = time.perf_counter()
        events = build(svc, args.petitions, args.batch)
        build_s = time.perf_counter() - t
        print(f"built {events:,} events ({args.petitions:,} petitions) in {build_s:.1f} s "
              f"= {events / build_s:,.0f} events/s; file {db.stat().st_size / 1e6:,.0f} MB")

    with PetitionService.open(str(db), snapshot_interval=0) as svc:
        t = time.perf_counter()
        report = verify_store(svc)
        verify_s = time.perf_counter() - t
        assert report.ok and report.events == events, report.problems[:3]
        rate = events / verify_s
        print(f"audit verify: {report.events:,} events in {report.chains:,} chains "
              f"in {verify_s:.2f} s = {rate:,.0f} events/s "
              f"(target {TARGET_EVENTS_PER_S:,}: "
              f"{'met' if rate >= TARGET_EVENTS_PER_S else 'MISSED'})")

        key, _ = keygen(Path(tmp.name) / "bench.key")
        t = time.perf_counter()
        make_seal(svc, key)
        seal_s = time.perf_counter() - t
        print(f"audit seal (verify + Merkle root + sign): {seal_s:.2f} s")

        export_s = None
        if args.export:
            out = Path(tmp.name) / "log.jsonl"
            t = time.perf_counter()
            export_log(svc, out)
            export_s = time.perf_counter() - t
            print(f"audit export: {export_s:.2f} s = {events / export_s:,.0f} events/s; "
                  f"{out.stat().st_size / 1e6:,.0f} MB")

    print(json.dumps({
        "benchmark": "audit", "events": events, "petitions": args.petitions,
        "chains": report.chains, "build_s": round(build_s, 2),
        "build_events_per_s": round(events / build_s),
        "verify_s": round(verify_s, 3), "verify_events_per_s": round(rate),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "target_met": rate >= TARGET_EVENTS_PER_S, "seal_s": round(seal_s, 3),
        "export_s": round(export_s, 3) if export_s is not None else None,
        "cpus": os.cpu_count(),
    }))
    tmp.cleanup()


if __name__ == "__main__":
    main()
