"""Benchmark: a city hotline on PostgreSQL — writers and the views in their own processes.

    python bench/city.py [--server postgresql://postgres@127.0.0.1:5432/test]
                         [--cases 10000] [--rate 20] [--seconds 40] [--scale-seconds 30]

What a year of a large city's 12345 hotline looks like, compressed to what fits
in a few minutes on this machine (a fresh schema, dropped afterwards):

1. **Backlog.** ``--cases`` filings are imported (the bulk import, in batches)
   so that the views and queries work at that size.
2. **Average and peak.** Two writer processes take new filings through the
   standard lifecycle (file, accept, assign, reply, resolve, callback, close)
   at ``--rate`` commands per second in all, then at ten times that (the
   peak), ``--seconds`` each, while ``petitions views run`` keeps the views
   in a process of its own (LISTEN/NOTIFY).  The driver samples the newest
   event and the views' position every 0.1 s; an event's **view lag** is the
   time from the first sample that saw it stored to the first that saw it in
   the views (p50, p99 seconds per phase).
3. **Queries** at that size (the views caught up, read as a portal does with
   the views kept by the runner): list with two filters, count, text search
   (three and two characters), stats by street and by grid, caseload, the
   overdue queue; medians in ms.
4. **Writers scale.** 1, 2 and 4 writer processes, each as fast as it can
   (no pacing, no views runner), ``--scale-seconds`` each; commands/s and the
   ratio of 4 to 1.

Connections: each writer's pool is 1 (+1 overflow), the runner's likewise, the
driver's 1 — at most ten at any time (the server is shared).  Every figure is
taken in this one run; the last line printed is one JSON object.

An assumption of the simulation (not from the seed): a large city's hotline
takes about 20 million requests a year, i.e. 0.6 filings/s on average and
about 4.5 commands/s with each case's seven commands; the peak is ten times
the average.  ``--rate`` defaults well above that average so that the run
says something about headroom.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

STREETS = ["华新街街道", "寸滩街道", "石马河街道", "铁山坪街道", "江北城街道", "大石坝街道",
           "郭家沱街道", "五宝镇", "复盛镇", "鱼嘴镇"]
CATEGORIES = ["property_management", "traffic", "fire_safety", "elderly_care", "lift",
              "convenience", "employment", "environment", "business_environment"]
TITLES = ["小区停车难", "老旧楼加装电梯", "路灯不亮", "噪音扰民", "独居老人烟雾报警器",
          "企业用工短缺", "物业服务不到位", "垃圾清运不及时", "公交线路调整", "幼儿园学位紧张"]
POOL = "pool_size=1&max_overflow=1"
LIFECYCLE = 7  # commands per case


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------ writer
def writer(url: str, seed: str, rate: float, seconds: float) -> None:
    """Take new cases through the lifecycle, ``rate`` commands/s (0: flat out)."""
    from petitions import Actor, Location, Petitioner, PetitionService

    os.environ["PETITIONS_VIEWS"] = "runner"
    rng = random.Random(seed)
    svc = PetitionService.open(url)
    clerk = Actor(f"clerk-{seed}", "intake_clerk")
    worker = Actor(f"worker-{seed}", "caseworker")
    steps: list[Callable[[Any], Any]] = [
        lambda p: svc.accept(p, actor=worker),
        lambda p: svc.assign(p, actor=worker, unit="寸滩街道", person="网格员张"),
        lambda p: svc.reply(p, actor=worker, outcome="support", text="已处理"),
        lambda p: svc.resolve(p, actor=worker),
        lambda p: svc.callback(p, actor=clerk, contacted=True, resolved=True,
                               rating="satisfied"),
        lambda p: svc.close(p, actor=worker),
    ]
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.time()
    end = t0 + seconds
    done = 0
    case = 0
    while time.time() < end:
        title = rng.choice(TITLES)
        pid = svc.file(actor=clerk, title=title, description=f"{title}（{seed}-{case}）",
                       petitioner=Petitioner(kind="resident", name=f"居民{seed}-{case}",
                                             phone=f"137{rng.randrange(10**8):08d}"),
                       category=rng.choice(CATEGORIES), channel="hotline",
                       location=Location(street=rng.choice(STREETS),
                                         grid=str(rng.randrange(1, 40))))
        case += 1
        done += 1
        for step in steps:
            if rate > 0:
                wait = t0 + done / rate - time.time()
                if wait > 0:
                    time.sleep(wait)
            if time.time() >= end:
                break
            step(pid)
            done += 1
    t1 = time.time()
    svc.shutdown()
    print(json.dumps({"t0": t0, "t1": t1, "commands": done}), flush=True)


def start_writers(url: str, n: int, rate: float, seconds: float,
                  tag: str) -> list[subprocess.Popen[str]]:
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--writer", url, f"{tag}{w}", str(rate / n if rate else 0),
         str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for w in range(n)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs


def finish(procs: list[subprocess.Popen[str]]) -> dict[str, float]:
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=900)
        if p.returncode != 0:
            raise SystemExit("a writer failed")
        outs.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = max(o["t1"] for o in outs) - min(o["t0"] for o in outs)
    commands = sum(o["commands"] for o in outs)
    return {"commands": commands, "seconds": round(elapsed, 1),
            "per_second": round(commands / elapsed, 1)}


# ------------------------------------------------------------------ driver
def fill(url: str, cases: int, folder: Path) -> float:
    """Import ``cases`` filings; seconds taken."""
    from petitions import Actor, PetitionService
    from petitions.importer import import_filings

    rng = random.Random(2022)
    path = folder / "backlog.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(cases):
            title = rng.choice(TITLES)
            fh.write(json.dumps({
                "idempotency_key": f"backlog:{i:08d}", "title": title,
                "description": f"{title}（第{i}件）", "category": rng.choice(CATEGORIES),
                "channel": "hotline",
                "petitioner": {"kind": "resident", "name": f"居民{i}",
                               "phone": f"139{i:08d}"},
                "location": {"street": rng.choice(STREETS),
                             "grid": str(rng.randrange(1, 40))},
            }, ensure_ascii=False) + "\n")
    with PetitionService.open(url) as svc:
        start = time.perf_counter()
        report = import_filings(svc, path, actor=Actor("city-import", "intake_clerk"))
        assert report.imported == cases, report
        return time.perf_counter() - start


class Probe:
    """The newest stored event and the views' position, read with one connection."""

    def __init__(self, url: str) -> None:
        from petitions import PetitionService

        self.svc = PetitionService.open(url)
        self.models = self.svc.read_models

    def sample(self) -> tuple[float, int, int]:
        return (time.time(), self.svc.recorder.max_notification_id() or 0,
                self.models.position())

    def close(self) -> None:
        self.svc.shutdown()


def lags(samples: list[tuple[float, int, int]]) -> list[float]:
    """Per sample: how long until the views had what that sample saw stored."""
    out: list[float] = []
    j = 0
    for t, newest, _ in samples:
        while j < len(samples) and samples[j][2] < newest:
            j += 1
        if j == len(samples):
            break
        out.append(max(0.0, samples[j][0] - t))
    return out


def phase(url: str, probe: Probe, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    procs = start_writers(url, 2, rate, seconds, tag)
    samples: list[tuple[float, int, int]] = []
    while any(p.poll() is None for p in procs):
        samples.append(probe.sample())
        time.sleep(0.1)
        if len(samples) > 20 and all(p.poll() is not None for p in procs):
            break
    result = finish(procs)
    # Let the views catch up with the phase's last events (up to 60 s).
    deadline = time.time() + 60
    while time.time() < deadline:
        samples.append(probe.sample())
        if samples[-1][2] >= samples[-1][1]:
            break
        time.sleep(0.1)
    lag = lags(samples)
    result.update({"target_rate": rate, "lag_p50_s": round(pct(lag, 0.5), 2),
                   "lag_p99_s": round(pct(lag, 0.99), 2),
                   "lag_max_s": round(max(lag or [0.0]), 2)})
    return result


def median_ms(fn: Callable[[], Any], repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def queries(probe: Probe) -> dict[str, float]:
    from datetime import timedelta

    rm = probe.models
    return {
        "list_two_filters": median_ms(lambda: rm.cases(street="寸滩街道", status="open")),
        "count": median_ms(lambda: rm.count(street="寸滩街道")),
        "text_3": median_ms(lambda: rm.cases(text="加装电梯")),
        "text_2": median_ms(lambda: rm.cases(text="电梯")),
        "stats_street": median_ms(lambda: rm.stats("street")),
        "stats_grid": median_ms(lambda: rm.stats("grid")),
        "caseload": median_ms(lambda: rm.caseload()),
        "overdue": median_ms(lambda: rm.cases_by_deadline(overdue=True)),
        "due_soon": median_ms(lambda: rm.cases_by_deadline(due_within=timedelta(days=3))),
    }


def main(argv: list[str]) -> dict[str, Any]:
    if len(argv) > 1 and argv[1] == "--writer":
        writer(argv[2], argv[3], float(argv[4]), float(argv[5]))
        return {}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="average commands/s (the peak is ten times this)")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--scale-seconds", type=float, default=30.0)
    args = parser.parse_args(argv[1:])

    from petitions.postgres import drop_schema
    from petitions.privacy.keys import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, new_master_key_text

    if not (os.environ.get(MASTER_KEY_ENV) or os.environ.get(MASTER_KEY_FILE_ENV)):
        os.environ[MASTER_KEY_ENV] = new_master_key_text()  # this run's schema only
    os.environ["PETITIONS_VIEWS"] = "runner"
    url = f"{args.server}?schema=city_{uuid.uuid4().hex[:12]}&{POOL}"
    result: dict[str, Any] = {"cases": args.cases}
    runner: subprocess.Popen[str] | None = None
    began = time.time()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fill_s = fill(url, args.cases, Path(tmp))
        result["import_s"] = round(fill_s, 1)
        print(f"backlog: {args.cases:,} filings imported in {fill_s:.1f} s", flush=True)
        runner = subprocess.Popen([sys.executable, "-m", "cli", "--db", url, "views", "run"],
                                  cwd=str(Path(__file__).resolve().parent.parent),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        probe = Probe(url)
        try:
            t = time.time()  # the runner catches up with the backlog
            while probe.sample()[2] < probe.sample()[1]:
                if runner.poll() is not None:
                    raise SystemExit("views run ended early")
                time.sleep(0.2)
            backlog_s = time.time() - t
            events = probe.sample()[1]
            result["backlog_views_eps"] = round(events / backlog_s) if backlog_s else None
            print(f"views run caught up with the backlog ({events:,} events) in "
                  f"{backlog_s:.1f} s (with its start-up)", flush=True)
            for name, rate in (("average", args.rate), ("peak", 10 * args.rate)):
                result[name] = phase(url, probe, rate, args.seconds, name[0])
                print(f"{name}: {result[name]}", flush=True)
            result["query_ms"] = queries(probe)
            result["cases_at_queries"] = probe.models.count()
            print(f"queries at {result['cases_at_queries']:,} cases (median ms): "
                  f"{result['query_ms']}", flush=True)
        finally:
            probe.close()
            runner.terminate()
            runner.wait(timeout=30)
            runner = None
        scaling = {}
        for n in (1, 2, 4):
            scaling[str(n)] = finish(start_writers(url, n, 0, args.scale_seconds, f"s{n}-"))
            print(f"{n} writer(s) flat out: {scaling[str(n)]}", flush=True)
        result["writers"] = {k: v["per_second"] for k, v in scaling.items()}
        result["writers_ratio_4_to_1"] = round(scaling["4"]["per_second"]
                                               / scaling["1"]["per_second"], 2)
        result["cores"] = os.cpu_count()
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        result["seconds_total"] = round(time.time() - began)
    finally:
        if runner is not None:
            runner.terminate()
        drop_schema(url)
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main(sys.argv)
