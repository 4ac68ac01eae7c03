"""Instructions per filing of the bulk import and of its bare baseline (callgrind).

    python bench/import_instructions.py [--filings N]

Elapsed and CPU times swing by a factor of two on a shared machine; the
number of instructions a piece of work executes does not.  This runs, each
in a process of its own under ``valgrind --tool=callgrind`` (which must be
installed), the same work as ``bench/import.py`` on N filings (default 300):

* ``import``: ``petitions.importer.import_filings`` of N filings, after a
  warm-up import of 30 into another store (so that modules and caches are
  loaded);
* ``bare``: bare eventsourcing saving the same events, 100 aggregates per
  ``save`` (``bench/import.py``'s ``run_bare``, warmed up on 30);
* with ``--pipeline``, the two processes of the pipelined import apart:
  ``writer`` (the calling process of ``import_filings(..., pipeline=True)``:
  the check pass and the writes, the worker deciding every batch —
  ``petitions.importer.TAKE`` off; the worker runs outside the count) and
  ``worker`` (what the worker process does: ``decide_file`` and pickling
  each batch, its start-up left out).

Only the timed part is counted: the counters are zeroed just before it and
dumped just after (``callgrind_control``).  The last line is one JSON object:
``import_per_filing``, ``bare_per_filing`` (instructions) and ``ratio``
(bare / import: what ``ratio_cpu`` would be if every instruction cost the
same; it leaves out waiting for the disk and the kernel's work).
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _counted(label: str) -> None:
    """Zero (``start``) or dump (``import``, ``bare``) this process's counters."""
    args = ["-z"] if label == "start" else ["-d", label]
    subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True,
                   check=False)


def _child(kind: str, n: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import importlib

    bench = importlib.import_module("import")
    os.environ["PETITIONS_VIEWS"] = "runner"
    logging.disable(logging.WARNING)
    from petitions import Actor, PetitionService
    from petitions.importer import import_filings

    operator = Actor("bench-operator", "intake_clerk")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "filings.jsonl"
        bench.write_filings(path, n, "bench")
        if kind in ("import", "writer"):
            import petitions.importer as importer

            # The worker decides every batch (the writer deciding some when it
            # would wait depends on timing: not repeatable).
            importer.TAKE = False
            warm = Path(tmp) / "warm.jsonl"
            bench.write_filings(warm, 30, "warm")
            pipeline = kind == "writer"
            with PetitionService.open(str(Path(tmp) / "warm.sqlite")) as svc:
                import_filings(svc, warm, actor=operator, pipeline=pipeline, batch=100)
            with PetitionService.open(str(Path(tmp) / "ours.sqlite")) as svc:
                _counted("start")
                report = import_filings(svc, path, actor=operator, pipeline=pipeline,
                                        batch=100)  # as bare's
                _counted(kind)
                assert report.imported == n, report
        elif kind == "worker":
            import pickle

            from petitions.importer import decide_file, worker_spec

            warm = Path(tmp) / "warm.jsonl"
            bench.write_filings(warm, 30, "warm")
            with PetitionService.open(str(Path(tmp) / "ours.sqlite")) as svc:
                spec = worker_spec(svc, warm, operator, None, 100)
                assert spec is not None
                for batch in decide_file(spec):
                    pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                spec = worker_spec(svc, path, operator, None, 100)
                assert spec is not None
                _counted("start")
                for batch in decide_file(spec):  # what the worker does, but its start
                    pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                _counted("worker")
        else:
            cases = bench.run_ours(path, Path(tmp) / "ours.sqlite", 100)[4]
            bench.run_bare(Path(tmp) / "warm.sqlite", cases[:30], 100)
            bench.gc.collect = lambda: 0  # outside the count in the import's run too
            _counted("start")
            bench.run_bare(Path(tmp) / "bare.sqlite", cases, 100)
            _counted("bare")


def _measure(kind: str, n: int, out: Path) -> int:
    prefix = out / f"cg.{kind}"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}.%p",
                    sys.executable, __file__, "--child", kind, "--filings", str(n)],
                   check=True, capture_output=True)
    dumps = [f for f in glob.glob(f"{prefix}.*") if f.endswith(".1")]
    if len(dumps) != 1:
        raise SystemExit(f"no callgrind dump of the {kind} run (is callgrind_control there?)")
    for line in Path(dumps[0]).read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1]) // n
    raise SystemExit(f"no summary in {dumps[0]}")


def main(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--child", choices=("import", "bare", "writer", "worker"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--pipeline", action="store_true",
                        help="also count the two processes of the pipelined import apart")
    args = parser.parse_args(argv[1:])
    if args.child:
        _child(args.child, args.filings)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = _measure("import", args.filings, Path(tmp))
        bare = _measure("bare", args.filings, Path(tmp))
        if args.pipeline:
            writer = _measure("writer", args.filings, Path(tmp))
            worker = _measure("worker", args.filings, Path(tmp))
    result: dict[str, object] = {"import_per_filing": ours, "bare_per_filing": bare,
                                 "ratio": round(bare / ours, 3), "filings": args.filings}
    print(f"petitions import: {ours:,} instructions per filing; bare eventsourcing, the same "
          f"events: {bare:,}; ratio {result['ratio']} (target >= 0.8)")
    if args.pipeline:
        # The critical path of the pipelined import: the busier process.
        result.update(writer_per_filing=writer, worker_per_filing=worker,
                      ratio_pipelined=round(bare / max(writer, worker), 3))
        print(f"pipelined: the writer {writer:,} instructions per filing, the worker "
              f"{worker:,}; bare / the busier: {result['ratio_pipelined']}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
