"""Benchmark: the read models catching up, rebuilding, against eventsourcing decoding alone.

    python bench/views.py [--petitions N] [--db PATH] [--no-fill]

Fills a fresh SQLite file with N petitions (default 20,000; about 5.5 events
each, see ``bench/casefill.py``), then, on the same events in the same run:

* **catch-up**: the views, empty, catch up with every stored event (what the
  first query after a bulk load does, and what ``views run`` does);
* **rebuild**: ``ReadModels.rebuild`` — empty the views and apply the whole
  history again; run in a child process, whose peak resident memory is printed;
* **decode**: eventsourcing alone reads the notifications in batches
  (``select_notifications``) and decodes each into its domain event
  (``mapper.to_domain_event``), writing nothing.

``ratio`` = catch-up ÷ decode (target ≥ 1.0: the views cost no more than
decoding); ``ratio_cpu`` the same on this process's CPU time (SQLite runs
in-process: the work itself, without the waits for a core on a shared
machine); the rebuild's CPU rate is printed too.

A bulk catch-up on SQLite reads and decodes the stored rows in decoder
processes (``--decoders N``, default: the library's choice; 0: none) while
this process writes: their CPU seconds are printed apart (``cpu_writer``,
``cpu_decoders``), with the run's *critical path* worked out from each
batch's CPU time in each process (each process on a core of its own, no
other load: a batch is written once its decoder has sent it and the writer
is done with the one before), and the rate it gives (``critical_eps``); with
more processes than cores, ``critical_s`` is at least the CPU seconds over
the cores.  The rebuild's peak RSS is printed for the writer and for the
largest decoder.  ``--db PATH --no-fill``
measures an existing store (e.g. the 1,000,000-case store
``bench/queries.py --keep`` leaves).  The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casefill import fill

from petitions import PetitionService

BATCH = 2000


def _has_pipeline() -> bool:
    """Whether this tree has decoder processes (an older one, run as a base, has not)."""
    try:
        from petitions.readmodels import pipeline  # noqa: F401
    except ImportError:
        return False
    return True


def decode_all(svc: PetitionService) -> tuple[float, int]:
    """Seconds eventsourcing takes to read and decode every notification."""
    store = svc.audit_log()
    began = time.perf_counter()
    start, n = 0, 0
    while True:
        notes = store.recorder.select_notifications(start=start, limit=BATCH,
                                                    inclusive_of_start=False)
        if not notes:
            break
        for note in notes:
            store.mapper.to_domain_event(note)
        n += len(notes)
        start = notes[-1].id
    return time.perf_counter() - began, n


class Timeline:
    """Each batch's CPU seconds in the writer and in its decoder, recorded
    while a catch-up runs (see the module's doc for the critical path)."""

    def __init__(self) -> None:
        from petitions.readmodels import pipeline

        self.requests: list[float] = []
        self.ranges: list[tuple[int, float]] = []
        self.start = self.end = 0.0
        real = pipeline.Decoders.batches
        timeline = self

        def batches(decoders: Any, lite: Any) -> Any:
            found = real(decoders, lite)
            while True:
                timeline.requests.append(time.process_time())
                try:
                    item = next(found)
                except StopIteration:
                    timeline.ranges = list(decoders.ranges)
                    return
                yield item

        pipeline.Decoders.batches = batches  # type: ignore[method-assign]
        #: The writer's CPU time when the counting process started and when it
        #: asked for the counters, and that process's CPU seconds.
        self.counting: list[float] = []
        counting = getattr(pipeline, "Counting", None)
        if counting is not None:
            # It counts once told to (start), or (an older tree) once forked.
            told = "start" if hasattr(counting, "start") else "__init__"
            real_told, real_result = getattr(counting, told), counting.result

            def began(c: Any, *args: Any) -> None:
                timeline.counting = [time.process_time()]
                real_told(c, *args)

            def result(c: Any) -> Any:
                timeline.counting.append(time.process_time())
                found = real_result(c)
                timeline.counting.append(c.cpu)
                return found

            setattr(counting, told, began)
            counting.result = result

    def tail(self) -> float:
        """Seconds after the last batch (counters, indexes): the writer's CPU
        seconds, but for its wait for the counting process, which counts
        while the writer builds the indexes."""
        if not self.requests:
            return 0.0
        found = self.end - self.requests[-1]
        if len(self.counting) == 3:
            began, asked, cpu = self.counting
            found += max(0.0, cpu - (asked - began))
        return found

    def critical_path(self, cores: int, cpu_total: float) -> float:
        """Seconds from the catch-up's start to its end on ``cores`` idle cores."""
        if not self.requests:
            return self.end - self.start  # no decoders: the writer alone
        clock = self.requests[0] - self.start  # before the first batch
        forked = clock
        ready: dict[int, float] = {}
        for j, (k, cpu) in enumerate(self.ranges):
            # A decoder's CPU time when it sent range j (the writer's own: at once).
            ready[j] = forked + cpu if k >= 0 else 0.0
        for j in range(len(self.requests) - 1):
            work = self.requests[j + 1] - self.requests[j]
            clock = max(clock, ready.get(j, 0.0)) + work
        clock += self.tail()
        return max(clock, cpu_total / cores)


def child_rebuild(db: str) -> None:
    """Rebuild the views of ``db`` and print seconds, events and peak RSS (MB)."""
    svc = PetitionService.open(db)
    try:
        began, cpu0 = time.perf_counter(), time.process_time()
        n = svc.read_models.rebuild()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu0
        decoders = getattr(svc.read_models, "decoders_cpu", [])
    finally:
        svc.shutdown()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "events": n,
                      "cpu_decoders": round(sum(decoders), 3),
                      "peak_rss_mb": round(peak, 1),
                      "decoder_peak_rss_mb": round(children, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--petitions", type=int, default=20_000)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--no-fill", action="store_true", help="measure --db as it is")
    parser.add_argument("--decoders", type=int, default=None,
                        help="decoder processes of a bulk catch-up (default: the library's)")
    parser.add_argument("--child-rebuild", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decoders is not None:
        os.environ["PETITIONS_VIEWS_DECODERS"] = str(args.decoders)
    if args.child_rebuild:
        child_rebuild(args.child_rebuild)
        return
    folder = tempfile.mkdtemp(prefix="petitions-bench-views-")
    db = args.db or str(Path(folder) / "views.sqlite")
    try:
        fill_s = 0.0
        if not args.no_fill:
            print(f"filling {args.petitions:,} petitions into {db}", file=sys.stderr)
            fill_s = fill(db, args.petitions)
        svc = PetitionService.open(db)
        try:
            svc.read_models.inline = False
            events = svc.recorder.max_notification_id() or 0
            svc.read_models.store.reset(svc.audit_log().name)
            timeline = Timeline() if _has_pipeline() else None
            began, cpu0 = time.perf_counter(), time.process_time()
            svc.read_models.catch_up()
            catch_up_s = time.perf_counter() - began
            catch_up_cpu = time.process_time() - cpu0
            decoders_cpu = list(getattr(svc.read_models, "decoders_cpu", []))
            critical_s, tail_s, counting_cpu = catch_up_cpu, 0.0, 0.0
            if timeline is not None:
                timeline.start, timeline.end = cpu0, cpu0 + catch_up_cpu
                counting_cpu = timeline.counting[2] if len(timeline.counting) == 3 else 0.0
                critical_s = timeline.critical_path(
                    os.cpu_count() or 1, catch_up_cpu + sum(decoders_cpu) + counting_cpu)
                tail_s = timeline.tail()
            cases = svc.read_models.count()
            cpu0 = time.process_time()
            decode_s, decoded = decode_all(svc)
            decode_cpu = time.process_time() - cpu0
        finally:
            svc.shutdown()
        out = subprocess.run([sys.executable, __file__, "--child-rebuild", db],
                             check=True, capture_output=True, text=True)
        child = json.loads(out.stdout.strip().splitlines()[-1])
        catch_up_eps = events / catch_up_s
        decode_eps = decoded / decode_s
        rebuild_eps = child["events"] / child["seconds"]
        print(f"store: {cases:,} petitions, {events:,} events (fill {fill_s:.1f} s)")
        print(f"views catch up:            {catch_up_eps:>10,.0f} events/s ({catch_up_s:.1f} s)")
        print(f"  CPU: writer {catch_up_cpu:.2f} s, decoders "
              f"{', '.join(f'{c:.2f}' for c in decoders_cpu) or 'none'} s, counting "
              f"{counting_cpu:.2f} s (after the last batch {tail_s:.2f} s); critical path "
              f"{critical_s:.2f} s = {events / critical_s:,.0f} events/s")
        print(f"views rebuild (child):     {rebuild_eps:>10,.0f} events/s "
              f"({child['seconds']:.1f} s; CPU {child['events'] / child['cpu']:,.0f} events/s; "
              f"peak RSS {child['peak_rss_mb']:.0f} MB, decoder "
              f"{child.get('decoder_peak_rss_mb', 0):.0f} MB)")
        print(f"eventsourcing decode only: {decode_eps:>10,.0f} events/s ({decode_s:.1f} s)")
        print(f"ratio catch-up / decode:   {catch_up_eps / decode_eps:>10.2f} "
              f"(on CPU time: {decode_cpu / catch_up_cpu:.2f})")
        print(json.dumps({
            "petitions": cases, "events": events, "fill_s": round(fill_s, 1),
            "catch_up_eps": round(catch_up_eps), "rebuild_eps": round(rebuild_eps),
            "decode_eps": round(decode_eps), "ratio": round(catch_up_eps / decode_eps, 2),
            "rebuild_peak_rss_mb": child["peak_rss_mb"],
            "catch_up_cpu_eps": round(events / catch_up_cpu),
            "rebuild_cpu_eps": round(child["events"] / child["cpu"]),
            "decode_cpu_eps": round(decoded / decode_cpu),
            "ratio_cpu": round(decode_cpu / catch_up_cpu * events / decoded, 2),
            "cpu_writer": round(catch_up_cpu, 3), "cpu_decoders": [round(c, 3) for c in
                                                                   decoders_cpu],
            "cpu_counting": round(counting_cpu, 3), "tail_s": round(tail_s, 3),
            "critical_s": round(critical_s, 3),
            "critical_eps": round(events / critical_s),
            "critical_ratio": round(events / critical_s / (decoded / decode_cpu), 2),
            "rebuild_cpu_decoders": child.get("cpu_decoders", 0),
            "rebuild_decoder_peak_rss_mb": child.get("decoder_peak_rss_mb", 0),
            "load_average": [round(x, 2) for x in os.getloadavg()[:2]],
        }))
    finally:
        if not args.db:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
