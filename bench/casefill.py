"""Filling a store with many petitions quickly, for the view and query benchmarks.

Petitions are built with the domain's own methods (file, accept, assign, reply,
resolve, call-back, close; each stage's clock started as ``Store.execute``
starts it) and saved through eventsourcing, 500 petitions per ``save``: real,
hash-chained events in the store's own encoding, without the per-command
path (roles and workflow checks of a service, one commit per command).  The
spread over streets, communities, grids, categories and stages is an
assumption of the benchmark, not taken from the seed.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from petitions import Actor, Location, Petition, Petitioner
from petitions.core import Store

STREETS = ["华新街街道", "寸滩街道", "石马河街道", "铁山坪街道", "江北城街道", "大石坝街道",
           "郭家沱街道", "五宝镇", "复盛镇", "鱼嘴镇"]
CATEGORIES = ["property_management", "traffic", "fire_safety", "elderly_care", "lift",
              "convenience", "employment", "environment", "business_environment"]
TITLES = ["小区停车难", "老旧楼加装电梯", "路灯不亮", "噪音扰民", "独居老人烟雾报警器",
          "企业用工短缺", "物业服务不到位", "垃圾清运不及时", "公交线路调整", "幼儿园学位紧张"]
CLERK = Actor("bench-clerk", "intake_clerk")
WORKER = Actor("bench-worker", "caseworker")
#: The first petition's filing time; each next one is filed this much later.
START = datetime(2022, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def fill(url: str, n: int, *, first: int = 0, batch: int = 500, seed: int = 2022,
         quiet: bool = False) -> float:
    """Save petitions ``first`` … ``first + n - 1`` into the store at ``url``;
    return seconds taken.  The views are not caught up."""
    rng = random.Random(seed + first)
    store = Store(url=url, snapshot_interval=0)
    wf = store.workflow("standard")
    keeper = store.timekeeper
    began = time.perf_counter()
    pending: list[Petition] = []
    shown = -1

    def step(p: Petition, at: datetime, command: Callable[..., object],
             *args: object, **kwargs: object) -> None:
        """Run ``command(*args, **kwargs)`` (a method of ``p``), then keep the
        time of the stage it moved ``p`` from."""
        before = p.stage
        command(*args, **kwargs)
        p.keep_time(wf, keeper, WORKER, at, before)

    for i in range(first, first + n):
        street = rng.choice(STREETS)
        at = START + STEP * i
        p = Petition.file(
            wf, actor=CLERK, occurred_at=at,
            petitioner=Petitioner(id=f"p{i}", kind="resident", name=f"居民{i}"),
            channel="hotline", category=rng.choice(CATEGORIES),
            title=f"{rng.choice(TITLES)}（{i}号）",
            description=f"{street}居民反映{rng.choice(TITLES)}，编号{i}。",
            location=Location(street=street, community=f"{street[:2]}社区{rng.randint(1, 7)}",
                              grid=str(rng.randint(1, 20))))
        p.keep_time(wf, keeper, CLERK, at, None)
        stage = rng.random()
        if stage > 0.1:
            step(p, at, p.accept, wf, WORKER, at)
        if stage > 0.2:
            person = f"网格员{rng.randint(1, 200)}"
            step(p, at, p.assign, wf, WORKER, at, unit=street, person=person)
        if stage > 0.5:
            step(p, at, p.reply, wf, WORKER, at, "support", "已办理")
            step(p, at, p.resolve, wf, WORKER, at)
            contacted = rng.random() < 0.9
            resolved = rng.random() < 0.8
            rating = (rng.choice(["satisfied", "basically_satisfied", "unsatisfied"])
                      if contacted else None)
            step(p, at, p.callback, wf, CLERK, at, contacted, resolved, rating)
        if stage > 0.6:
            step(p, at, p.close, wf, WORKER, at)
        pending.append(p)
        if len(pending) == batch:
            store.save(*pending)
            pending.clear()
            done = (i + 1 - first) * 100 // n
            if not quiet and done // 10 != shown // 10:
                shown = done
                print(f"  filled {i + 1 - first:,} petitions", file=sys.stderr)
    if pending:
        store.save(*pending)
    store.close()
    return time.perf_counter() - began
