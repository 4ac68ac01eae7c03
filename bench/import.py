"""Benchmark: the bulk import against eventsourcing saving batches of aggregates.

    python bench/import.py [--filings N] [--batch B] [--rounds R]

Writes N filings (default 2,000) to a JSON Lines file, then — on fresh SQLite
files, interleaved, R rounds (default 3), each one's best kept, after one
untimed warm-up round of each on 200 other filings (so that neither side's
first timed round pays for importing modules and making its encoders) — times:

* ``import_eps``: ``petitions import`` through the library function the
  command line calls (``petitions.importer.import_filings``): the whole file
  checked first, then filed B filings per transaction (default
  ``petitions.importer.BATCH``), each filing with its idempotency key,
  work-order number, caller index rows, its petitioner's new data key and
  sealed personal fields, hash-chained events.  The views are kept by their
  own process (``PETITIONS_VIEWS=runner``, as in ``docs/scaling.md``), so the
  import does not catch them up; ``views_eps`` is how fast they then catch
  up with the imported events, measured apart.
* ``bare_batched_eps``: bare eventsourcing (9.5) saving the same events —
  per filing an aggregate whose events carry the same fields with the same
  values as the import's (its ``Filed`` and ``ClockStarted``, read back from
  the import's store before timing; value objects as plain data), the same
  number of events — B aggregates per ``save``, on the same SQLite settings
  (eventsourcing's defaults, which ours keep: WAL, one commit per ``save``).
* ``bare_small_eps``: as before this benchmark saved the same events: the
  same number of small events (a title and description, then a note), for
  comparison with older figures (``ratio_small``).

``ratio`` = import / bare (target >= 0.8).  Each is also given in CPU time
(``*_cpu_eps``, ``ratio_cpu``), less distorted by other work on a shared
machine than the elapsed time: for the import, the CPU time of this process
and of the worker process a large import decides its filings in
(``petitions.pipeline``) together; ``import_main_cpu_s`` and
``import_worker_cpu_s`` give each per round (the two run at once: the
elapsed time follows the larger on an idle machine with two cores), and
``ratio_critical_cpu`` the events per CPU second of the larger against bare's.
At the default 2,000 filings (four batches of 500) the import takes its
pipeline, the worker forked (this script has no other thread): ``ratio``,
in elapsed time, counts what the second core gives; ``ratio_cpu`` counts the
CPU of both processes, so it is lower than with the worker off.
``--pipeline on|off`` forces the import's choice.  The last line is one JSON
object.
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


class BareCase(Aggregate):
    """A bare aggregate given the import's events' fields (see :func:`bare_classes`)."""


def bare_classes(names: dict[str, list[str]]) -> dict[str, type[Any]]:
    """Event classes of ``BareCase`` with the given fields, by name (the
    first the created event)."""
    made: dict[str, type[Any]] = {}
    for i, (name, fields) in enumerate(names.items()):
        known = BareCase.__dict__.get(name)
        if known is not None and list(known.__dataclass_fields__)[-len(fields):] == fields:
            made[name] = known  # made by an earlier round (a topic names one class)
            continue
        base: type[Any] = BareCase.Created if i == 0 else BareCase.Event
        ns = {"__annotations__": {f: "Any" for f in fields}, "__module__": __name__,
              "__qualname__": f"BareCase.{name}"}
        made[name] = type(base)(name, (base,), ns)
        setattr(BareCase, name, made[name])
    return made


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


#: The fields of an eventsourcing event that are not its payload.
_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}

Payload = list[tuple[str, dict[str, Any]]]


def payloads(svc: Any) -> list[Payload]:
    """Per petition in the store, its events as (class name, fields), the
    fields' attrs values as plain data (datetimes and ids stay objects)."""
    import attrs

    from petitions.domain.petition import Petition

    log = svc.audit_log()
    by_id: dict[UUID, Payload] = {}
    start = 0
    while True:
        found = log.recorder.select_notifications(start=start, limit=1000,
                                                  inclusive_of_start=False)
        if not found:
            break
        start = found[-1].id
        for n in found:
            event = log.mapper.to_domain_event(n)
            if not isinstance(event, Petition.Event):
                continue
            fields = {k: (attrs.asdict(v) if attrs.has(type(v)) else v)
                      for k, v in vars(event).items() if k not in _BASE_FIELDS}
            by_id.setdefault(event.originator_id, []).append((type(event).__name__, fields))
    return list(by_id.values())


def run_ours(path: Path, db: Path, batch: int,
             ) -> tuple[float, float, int, float, list[Payload]]:
    """Events/s of the import (elapsed, CPU), the events it wrote, events/s of
    the views after, and the petitions' events (for the bare run)."""
    from petitions import Actor, PetitionService
    from petitions.importer import import_filings

    svc = PetitionService.open(str(db))
    gc.collect()
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    more = {} if PIPELINE is None else {"pipeline": PIPELINE}  # (older trees: no such option)
    report = import_filings(svc, path, actor=Actor("bench-operator", "intake_clerk"),
                            batch=batch, **more)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    worker = _children_cpu() - children
    CPU.append((cpu, worker))
    cpu += worker
    assert report.imported == report.lines and not report.errors, report
    events = svc.recorder.max_notification_id() or 0
    views_start = time.perf_counter()
    applied = svc.read_models.catch_up()
    views_eps = applied / (time.perf_counter() - views_start)
    assert svc.read_models.count() == report.lines
    found = payloads(svc)
    svc.shutdown()
    return events / elapsed, events / cpu, events, views_eps, found


#: Filings of the untimed warm-up round of each side.
WARM_UP = 200

#: Per run of the import: CPU seconds of this process and of its worker.
CPU: list[tuple[float, float]] = []
#: ``import_filings``'s ``pipeline`` (None: as it chooses by the file's size).
PIPELINE: bool | None = None


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the import's worker)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_bare(db: Path, cases: list[Payload], batch: int) -> tuple[float, float]:
    """Events/s (elapsed, CPU) of bare eventsourcing saving ``cases``."""
    names: dict[str, list[str]] = {}
    for case in cases[:1]:
        for name, fields in case:
            names.setdefault(name, list(fields))
    classes = bare_classes(names)
    # The same SQLite connections as the import's store (statement cache), so
    # that the baseline runs with every setting ours has.
    app = BareApp(env={"PERSISTENCE_MODULE": "petitions.recorders:SQLiteFactory",
                       "SQLITE_DBNAME": str(db)})
    events = sum(len(c) for c in cases)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    pending: list[BareCase] = []
    for case in cases:
        (first, fields), rest = case[0], case[1:]
        agg = BareCase._create(classes[first], **fields)
        for name, more in rest:
            agg.trigger_event(classes[name], **more)
        pending.append(agg)
        if len(pending) >= batch:
            app.save(*pending)
            pending.clear()
    if pending:
        app.save(*pending)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    app.close()
    return events / elapsed, events / cpu


def run_bare_small(db: Path, n: int, per_filing: int, batch: int) -> float:
    """Events/s of bare eventsourcing saving as many small events."""
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipeline", choices=("auto", "on", "off"), default="auto",
                        help="decide filings in a worker process (default: as the import "
                             "chooses)")
    args = parser.parse_args(argv[1:])
    global PIPELINE
    PIPELINE = {"auto": None, "on": True, "off": False}[args.pipeline]
    CPU.clear()
    logging.disable(logging.WARNING)  # the new master key notice, once per file
    os.environ["PETITIONS_VIEWS"] = "runner"
    n = args.filings
    ours: list[float] = []
    ours_cpu: list[float] = []
    bare: list[float] = []
    bare_cpu: list[float] = []
    small: list[float] = []
    views: list[float] = []
    events = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "filings.jsonl"
        write_filings(path, n, "bench")
        # Warm-up, untimed: each side once on other filings, into other files.
        warm = Path(tmp) / "warm.jsonl"
        write_filings(warm, WARM_UP, "warm")
        *_, warm_cases = run_ours(warm, Path(tmp) / "warm-ours.sqlite", args.batch)
        run_bare(Path(tmp) / "warm-bare.sqlite", warm_cases, args.batch)
        CPU.clear()
        for r in range(args.rounds):
            eps, cpu_eps, events, views_eps, cases = run_ours(
                path, Path(tmp) / f"ours{r}.sqlite", args.batch)
            ours.append(eps)
            ours_cpu.append(cpu_eps)
            views.append(views_eps)
            assert len(cases) == n
            eps, cpu_eps = run_bare(Path(tmp) / f"bare{r}.sqlite", cases, args.batch)
            bare.append(eps)
            bare_cpu.append(cpu_eps)
            # Ours wrote one workflow definition besides the filings' events.
            per_filing = (events - 1) // n
            small.append(run_bare_small(Path(tmp) / f"small{r}.sqlite", n, per_filing,
                                        args.batch))
    critical = max(events / max(c, w) for c, w in CPU)
    result = {"import_eps": round(max(ours)), "bare_batched_eps": round(max(bare)),
              "ratio": round(max(ours) / max(bare), 3),
              "import_cpu_eps": round(max(ours_cpu)), "bare_cpu_eps": round(max(bare_cpu)),
              "ratio_cpu": round(max(ours_cpu) / max(bare_cpu), 3),
              "bare_small_eps": round(max(small)), "ratio_small": round(max(ours) / max(small), 3),
              "views_eps": round(max(views)), "filings": n, "events": events,
              # CPU seconds of each round's import: this process, its worker;
              # and the events per CPU second of the busier of the two (the
              # critical path when each has a core), against bare's.
              "import_main_cpu_s": [round(c, 3) for c, _ in CPU],
              "import_worker_cpu_s": [round(w, 3) for _, w in CPU],
              "import_critical_cpu_eps": round(critical),
              "ratio_critical_cpu": round(critical / max(bare_cpu), 3),
              "batch": args.batch, "load": round(os.getloadavg()[0], 2)}
    print(f"petitions import of {n:,} filings ({events:,} events, {args.batch} filings per "
          f"transaction): {result['import_eps']:,} events/s "
          f"({result['import_cpu_eps']:,} per CPU second)")
    print(f"bare eventsourcing, the same events, {args.batch} aggregates per save: "
          f"{result['bare_batched_eps']:,} events/s ({result['bare_cpu_eps']:,} per CPU second)")
    print(f"bare eventsourcing, as many small events: {result['bare_small_eps']:,} events/s")
    print(f"views catching up with the import afterwards: {result['views_eps']:,} events/s")
    print(f"ratio import / bare: {result['ratio']} (CPU time: {result['ratio_cpu']}; "
          f"against small events: {result['ratio_small']}) (target >= 0.8); "
          f"load average {result['load']}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
