"""Benchmark: the full standard lifecycle, against bare eventsourcing.

Takes N petitions (default 2,000) through file → accept → assign → reply →
resolve → callback → close on a SQLite file, one save per command.  A command
may write more than one event (entering a stage with a time limit also records
the clock it starts).  In the same run, a bare eventsourcing ``Aggregate``
writes the same number of events with the same number of saves to another
SQLite file, the way eventsourcing's own examples serve commands: each command
gets the aggregate from the repository, triggers its events and saves them.

A second bare figure, ``bare_write_only_eps``, keeps each bare aggregate in
memory and only saves (no read per command): the floor set by SQLite commits.

A third, ``bare_cached_eps``, is the fair baseline: bare eventsourcing with
the same aggregate cache and snapshot settings as ours (an LRU cache of 1,000
aggregates fast-forwarded from the store on every get, a snapshot every 50
events), so neither side replays an aggregate per command; ``ratio_cached``
is ours / that.  The old ``ratio`` (against a bare application without a
cache, which replays every aggregate per command) is kept for comparison.

Commands do not update the read models; a query catches them up first.  So
that this cost is seen too, ``views_eps`` is how fast the views then catch
up with all the events the run wrote (the first query after the run pays it),
and ``ours_query_each_eps`` is the lifecycle again with the case read back
after every command, as a portal showing it again would (``svc.get``: the
aggregate just saved is in the cache, so the read fast-forwards it by the
events it has not seen — none — instead of replaying it; read-your-writes).
The view ``get`` returns decrypts its petitioner and looks up the caller's
other cases when they are first read; ``ours_query_full_eps`` reads both
after every ``get`` too (``query_full_ratio`` likewise), as a portal showing
the petitioner and the related cases does.
``ours_index_each_eps`` reads the petition's row of the case index after every
command instead (the views catch up with the command's events first, one
more transaction per command).  ``query_each_ratio`` = ``ours_query_each_eps``
/ ``ours_eps`` (target >= 0.8); ``index_each_ratio`` likewise.

Fairness on a shared machine: all seven variants are open at once, each on its
own file, and run in lockstep — a turn of ``BENCH_CHUNK`` petitions (default
5, i.e. 35 commands) of each in turn, the order rotating every turn — so a
burst of load from elsewhere falls on all of them alike.  Each variant's wall
time and CPU time (``time.process_time``) are summed over its turns; the
garbage collector runs between turns, not inside them.  This is repeated
``BENCH_ROUNDS`` times (default 3) on fresh files; each ``*_eps`` is the best
round's, each ratio the median of the rounds' ratios (``rounds`` lists them),
and each ``*_cpu`` ratio the same ratio in CPU time (the disk's commit time,
which the load of others stretches most, is not in it).  That CPU time is
split into user and system time (``resource.getrusage``):
``ratio_cached_user`` and ``ratio_cached_sys``, and ``cpu_us_per_save`` (user
and system microseconds per save of ours and of the fair baseline, each the
lowest of the rounds) say whether the difference is in the process's own instructions
or in the kernel's work for it (the commits' writes, ``fsync``, checkpoints).

Prints the figures and the ratios; the last line is one JSON object.
Targets: ratio_cached >= 0.9, query_each_ratio >= 0.8.

    python bench/lifecycle.py [N]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from petitions import Actor, Location, Petitioner, PetitionService, PetitionView

#: Ours: ``petitions.core`` (DEFAULT_SNAPSHOT_INTERVAL, PETITIONS_CACHE_SIZE default).
SNAPSHOT_INTERVAL = 50
CACHE_SIZE = 1000

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


class Bare(Aggregate):
    """A bare aggregate with one field per event, as light as eventsourcing allows."""

    @event("Created")
    def __init__(self, title: str) -> None:
        self.title = title
        self.steps = 0

    @event("Stepped")
    def step(self, note: str) -> None:
        self.steps += 1


class BareApp(Application[UUID]):
    pass


class CachedBareApp(Application[UUID]):
    """Bare eventsourcing with our snapshot interval (and, by its env, our cache)."""

    snapshotting_intervals = {Bare: SNAPSHOT_INTERVAL}  # noqa: RUF012


#: A variant's run: set up when first advanced, then one petition's lifecycle
#: per step; its return value (``StopIteration.value``) is its summary.
Steps = Generator[None, None, dict[str, Any]]


def run_ours(n: int, folder: Path, *, query_each: bool = False,
             index_each: bool = False, query_full: bool = False) -> Steps:
    """Our lifecycle, one petition per step; returns the number of events each
    command of the lifecycle wrote, the events written, and the events/s at
    which the read models then catch up with them.

    With ``query_each``, the case is read back (``svc.get``) after every
    command, as a portal showing it again would; with ``index_each``, the
    petition's row of the case index is read instead (the views catch up each
    time).  The timed steps then include those reads, and with ``index_each``
    there is no catch-up left after.  ``query_full``: as ``query_each``, and
    each view's petitioner and related cases are read too.
    """
    name = ("index.sqlite" if index_each else "full.sqlite" if query_full
            else "queries.sqlite" if query_each else "ours.sqlite")
    query_each = query_each or query_full
    svc = PetitionService.open(str(folder / name))
    clerk = Actor("clerk-01", "intake_clerk")
    worker = Actor("caseworker-li", "caseworker")
    # Store the workflow definition before timing (written once per database).
    svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="预热"),
             title="预热", description="预热", category="other", channel="hotline")
    svc.read_models.catch_up()
    loc = Location(street="寸滩街道", community="保税商厦社区", grid="3")
    steps: list[Callable[[UUID], PetitionView]] = [
        lambda p: svc.accept(p, actor=worker),
        lambda p: svc.assign(p, actor=worker, unit="寸滩街道", person="网格员张"),
        lambda p: svc.reply(p, actor=worker, outcome="support", text="已增设车位"),
        lambda p: svc.resolve(p, actor=worker),
        lambda p: svc.callback(p, actor=clerk, contacted=True, resolved=True,
                               rating="satisfied"),
        lambda p: svc.close(p, actor=worker),
    ]
    first = svc.recorder.max_notification_id() or 0
    versions: list[int] = []
    filed_version = 0
    yield
    # Each resident their own phone: with one phone for all, every case would
    # be "the same caller's other case" of every other, and the read back
    # (which lists them, loading each) would grow with the run.
    for i in range(n):
        pid = svc.file(actor=clerk,
                       petitioner=Petitioner(kind="resident", name=f"居民{i}",
                                             phone=f"138{i:08d}"),
                       title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                       category="property_management", channel="door_to_door", location=loc)
        if query_each:
            shown = svc.get(pid)
            assert shown.id == pid
            if query_full:
                assert shown.petitioner.name == f"居民{i}" and shown.related == ()
        if index_each:
            assert svc.read_models.summary(str(pid)) is not None
        if i == 0:
            filed_version = svc.get(pid).version
        for step in steps:
            view = step(pid)
            if query_each:
                shown = svc.get(pid)
                assert shown.version == view.version
                if query_full:
                    assert shown.petitioner.name == f"居民{i}" and shown.related == ()
            if index_each:
                found = svc.read_models.summary(str(pid))
                assert found is not None and found.version == view.version
            if i == 0:
                versions.append(view.version)
        yield
    events = (svc.recorder.max_notification_id() or 0) - first
    views_eps: float | None = None
    if not index_each:
        views_start = time.perf_counter()
        applied = svc.read_models.catch_up()
        views_eps = applied / (time.perf_counter() - views_start)
        assert applied == events, (applied, events)
    assert svc.read_models.count() == n + 1
    svc.shutdown()
    filed = filed_version  # the events the filing itself wrote
    per_command = [filed] + [b - a for a, b in zip([filed, *versions[:-1]], versions,
                                                   strict=True)]
    assert events == n * sum(per_command), (events, per_command)
    return {"per_command": per_command, "events": events, "views_eps": views_eps}


def run_bare(n: int, folder: Path, per_command: list[int], *,
             read_per_command: bool = True, cached: bool = False) -> Steps:
    """The same saves with the same numbers of events, through bare eventsourcing
    (``cached``: with our aggregate cache and snapshot settings), one
    petition's worth per step."""
    name = "bare_cached.sqlite" if cached else "bare.sqlite" if read_per_command else "floor.sqlite"
    # The fair baseline (``cached``) runs with every setting ours has: the
    # aggregate cache, snapshots and our statement-caching SQLite connections
    # (eventsourcing's own cache one statement).  The other two keep
    # eventsourcing's defaults, as their earlier figures did;
    # BENCH_BARE_PERSISTENCE sets the persistence module of all three.
    default = "petitions.recorders:SQLiteFactory" if cached else "eventsourcing.sqlite"
    env = {"PERSISTENCE_MODULE": os.environ.get("BENCH_BARE_PERSISTENCE", default),
           "SQLITE_DBNAME": str(folder / name)}
    if cached:
        env.update({"AGGREGATE_CACHE_MAXSIZE": str(CACHE_SIZE),
                    "AGGREGATE_CACHE_FASTFORWARD": "y",
                    "IS_SNAPSHOTTING_ENABLED": "y"})
        app: Application[UUID] = CachedBareApp(env=env)
    else:
        app = BareApp(env=env)
    yield
    for _ in range(n):
        agg = Bare("小区停车难")
        for _ in range(per_command[0] - 1):
            agg.step("step")
        app.save(agg)
        for count in per_command[1:]:
            if read_per_command:
                agg = app.repository.get(agg.id)
            for _ in range(count):
                agg.step("step")
            app.save(agg)
        yield
    app.close()
    return {"events": n * sum(per_command)}


def lockstep(variants: dict[str, Steps], n: int, chunk: int) -> dict[str, dict[str, Any]]:
    """Run ``variants`` (each set up first, untimed) in turns of ``chunk``
    petitions, the order rotating every turn; each one's summary with its
    summed ``wall``, ``cpu``, ``user`` and ``sys`` seconds."""
    for steps in variants.values():
        next(steps)
    names = list(variants)
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    user = dict.fromkeys(names, 0.0)
    system = dict.fromkeys(names, 0.0)
    gc.collect()
    gc.disable()
    try:
        for turn, done in enumerate(range(0, n, chunk)):
            rotated = names[turn % len(names):] + names[:turn % len(names)]
            for name in rotated:
                steps = variants[name]
                usage = resource.getrusage(resource.RUSAGE_SELF)
                cpu_start, wall_start = time.process_time(), time.perf_counter()
                for _ in range(min(chunk, n - done)):
                    next(steps)
                wall[name] += time.perf_counter() - wall_start
                cpu[name] += time.process_time() - cpu_start
                after = resource.getrusage(resource.RUSAGE_SELF)
                user[name] += after.ru_utime - usage.ru_utime
                system[name] += after.ru_stime - usage.ru_stime
            gc.collect()
    finally:
        gc.enable()
    out: dict[str, dict[str, Any]] = {}
    for name, steps in variants.items():
        try:
            next(steps)
        except StopIteration as stop:
            out[name] = {**stop.value, "wall": wall[name], "cpu": cpu[name],
                         "user": user[name], "sys": system[name]}
        else:  # pragma: no cover - a variant with more steps than petitions
            raise AssertionError(f"{name} did not finish")
    return out


#: The lifecycle's events per command (checked against ours in every round).
PER_COMMAND = [2, 2, 2, 1, 2, 1, 1]


def one_round(n: int, folder: Path, chunk: int) -> dict[str, dict[str, Any]]:
    """All seven variants on fresh files in ``folder``, in lockstep."""
    return lockstep({
        "ours": run_ours(n, folder),
        "query_each": run_ours(n, folder, query_each=True),
        "query_full": run_ours(n, folder, query_full=True),
        "index_each": run_ours(n, folder, index_each=True),
        "bare": run_bare(n, folder, PER_COMMAND),
        "bare_cached": run_bare(n, folder, PER_COMMAND, cached=True),
        "floor": run_bare(n, folder, PER_COMMAND, read_per_command=False),
    }, n, chunk)


def main(argv: list[str]) -> dict[str, Any]:
    logging.disable(logging.WARNING)  # the new master key notice, once per file
    parser = argparse.ArgumentParser(
        description="Benchmark: a petition's life through the library against bare "
                    "eventsourcing (with and without the same aggregate cache).",
        epilog="BENCH_ROUNDS (rounds, the median kept) and BENCH_CHUNK (petitions per "
               "turn of the lockstep) in the environment.")
    parser.add_argument("petitions", nargs="?", type=int, default=2000)
    n = parser.parse_args(argv[1:]).petitions
    if n < 1:
        parser.error("petitions: must be a positive whole number")
    chunk = int(os.environ.get("BENCH_CHUNK", "5"))
    load_before = os.getloadavg()[0]
    rounds: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ROUNDS):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            found = one_round(n, folder, chunk)
            for name in ("ours", "query_each", "query_full", "index_each"):
                assert found[name]["per_command"] == PER_COMMAND, found[name]["per_command"]
            rounds.append(found)
    events = n * sum(PER_COMMAND)

    def eps(name: str) -> int:
        return round(max(events / float(r[name]["wall"]) for r in rounds))

    def ratio(top: str, bottom: str, clock: str = "wall") -> float:
        # Events/s of top over events/s of bottom: the inverse of their times.
        return round(statistics.median(float(r[bottom][clock]) / float(r[top][clock])
                                       for r in rounds), 3)

    per_round = [{"ratio_cached": round(r["bare_cached"]["wall"] / r["ours"]["wall"], 3),
                  "query_each_ratio": round(r["ours"]["wall"] / r["query_each"]["wall"], 3),
                  "query_full_ratio": round(r["ours"]["wall"] / r["query_full"]["wall"], 3),
                  "index_each_ratio": round(r["ours"]["wall"] / r["index_each"]["wall"], 3)}
                 for r in rounds]
    result = {"ours_eps": eps("ours"), "bare_eps": eps("bare"),
              "ratio": ratio("ours", "bare"),
              "bare_write_only_eps": eps("floor"),
              "views_eps": round(max(r["ours"]["views_eps"] for r in rounds)),
              "bare_cached_eps": eps("bare_cached"),
              "ratio_cached": ratio("ours", "bare_cached"),
              "ours_query_each_eps": eps("query_each"),
              "query_each_ratio": ratio("query_each", "ours"),
              "ours_query_full_eps": eps("query_full"),
              "query_full_ratio": ratio("query_full", "ours"),
              "ours_index_each_eps": eps("index_each"),
              "index_each_ratio": ratio("index_each", "ours"),
              "ratio_cached_cpu": ratio("ours", "bare_cached", "cpu"),
              "ratio_cached_user": ratio("ours", "bare_cached", "user"),
              "ratio_cached_sys": ratio("ours", "bare_cached", "sys"),
              "cpu_us_per_save": {name: {clock: round(min(float(r[name][clock]) for r in rounds)
                                                      / (n * len(PER_COMMAND)) * 1e6, 1)
                                         for clock in ("user", "sys")}
                                  for name in ("ours", "bare_cached")},
              "query_each_ratio_cpu": ratio("query_each", "ours", "cpu"),
              "query_full_ratio_cpu": ratio("query_full", "ours", "cpu"),
              "index_each_ratio_cpu": ratio("index_each", "ours", "cpu"),
              "rounds": per_round,
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "n": n, "events": events,
              "saves": n * len(PER_COMMAND), "events_per_command": PER_COMMAND}
    print(f"petitions, {n} petitions x {len(PER_COMMAND)} commands "
          f"({events} events, per command {PER_COMMAND}), {ROUNDS} rounds in lockstep "
          f"(turns of {chunk} petitions); load average {result['load_average']}")
    print(f"petitions: {result['ours_eps']} events/s")
    print(f"bare eventsourcing, get + trigger + save per command: {result['bare_eps']} events/s")
    print(f"bare eventsourcing with our cache and snapshot settings: "
          f"{result['bare_cached_eps']} events/s")
    print(f"bare eventsourcing, save only (no read per command): "
          f"{result['bare_write_only_eps']} events/s")
    print(f"read models catching up with the run's events afterwards: "
          f"{result['views_eps']} events/s")
    print(f"petitions with the case read back (svc.get) after every command: "
          f"{result['ours_query_each_eps']} events/s, ratio {result['query_each_ratio']} "
          f"(CPU {result['query_each_ratio_cpu']}; target >= 0.8)")
    print(f"petitions with the case read back and its petitioner and related cases read "
          f"after every command: {result['ours_query_full_eps']} events/s, ratio "
          f"{result['query_full_ratio']} (CPU {result['query_full_ratio_cpu']})")
    print(f"petitions with a case-index read after every command (views caught up each "
          f"time): {result['ours_index_each_eps']} events/s, "
          f"ratio {result['index_each_ratio']} (CPU {result['index_each_ratio_cpu']})")
    print(f"ratio ours / bare (no cache, replays per command): {result['ratio']}")
    print(f"ratio ours / bare with the same cache: {result['ratio_cached']} "
          f"(CPU {result['ratio_cached_cpu']}; target >= 0.9)")
    print(f"CPU time ours / bare with the same cache: user {result['ratio_cached_user']}, "
          f"system {result['ratio_cached_sys']}; microseconds per save (lowest of the rounds): "
          f"{result['cpu_us_per_save']}")
    print(f"per round: {per_round}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
