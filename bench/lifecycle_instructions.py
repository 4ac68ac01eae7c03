"""Instructions per save of the lifecycle, ours and the fair baseline (callgrind).

    python bench/lifecycle_instructions.py [--petitions N]

Wall and CPU times swing with the load of others on a shared machine; the
number of instructions a piece of work executes does not.  This runs, each in
a process of its own under ``valgrind --tool=callgrind`` (which must be
installed), N petitions (default 50) of ``bench/lifecycle.py``'s lifecycle
(file, accept, assign, reply, resolve, callback, close: seven saves each)
after 20 untimed ones, for ``ours`` and for ``bare_cached`` (bare eventsourcing
with our cache, snapshot and connection settings), with the garbage collector
off.  Only the timed part is counted (the counters are zeroed just before it
and dumped just after, as ``bench/import_instructions.py`` does).  The last
line is one JSON object: ``ours_per_save``, ``bare_per_save`` and ``ratio``
(bare / ours: what ``ratio_cached_cpu`` would be if every instruction cost the
same; it leaves out the kernel's work, above all the commits' writes and
``fsync``, and how fast each instruction runs).

With ``--cache-sim``, callgrind also simulates the caches, its last level
sized as one core's L2 here (1 MiB, 16-way; first levels 32 KiB, 8-way), and
the JSON has ``*_l2_misses_per_save`` (instruction and data misses of that
level, reads and writes): how much of a save's working set, code and data,
does not stay in a core's own cache and is fetched from the shared L3 or
memory.  ``*_per_save`` stay the same (the simulation only counts).
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _counted(label: str) -> None:
    """Zero (``start``) or dump (a variant's name) this process's counters."""
    args = ["-z"] if label == "start" else ["-d", label]
    subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True,
                   check=False)


def _child(kind: str, n: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import lifecycle

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        steps = (lifecycle.run_ours(n + 20, Path(tmp)) if kind == "ours" else
                 lifecycle.run_bare(n + 20, Path(tmp), lifecycle.PER_COMMAND, cached=True))
        next(steps)
        for _ in range(20):
            next(steps)
        gc.collect()
        gc.disable()
        _counted("start")
        for _ in range(n):
            next(steps)
        _counted(kind)


#: The simulated caches of ``--cache-sim``: first levels, and the last level
#: sized as one core's L2 of this machine (1 MiB).
CACHE_SIM = ["--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64"]


def _measure(kind: str, n: int, out: Path, *, cache_sim: bool = False) -> dict[str, float]:
    """Per save: ``Ir`` (instructions) and, with ``cache_sim``, ``l2_misses``."""
    subprocess.run(["valgrind", "--tool=callgrind", *(CACHE_SIM if cache_sim else []),
                    f"--callgrind-out-file={out}/cg.{kind}.%p",
                    sys.executable, __file__, "--child", kind, "--petitions", str(n)],
                   check=True, capture_output=True)
    for name in glob.glob(f"{out}/cg.{kind}.*"):
        text = Path(name).read_text()
        if f"Trigger: dump {kind}" in text:
            lines = text.splitlines()
            events = next(line.split()[1:] for line in lines if line.startswith("events:"))
            totals = next(line.split()[1:] for line in lines if line.startswith("summary:"))
            per_save = {e: int(t) / (n * 7) for e, t in zip(events, totals, strict=False)}
            if cache_sim:
                per_save["l2_misses"] = sum(per_save.get(e, 0.0)
                                            for e in ("ILmr", "DLmr", "DLmw"))
            return per_save
    raise RuntimeError(f"no counts dumped for {kind}")


def main(argv: list[str]) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--petitions", type=int, default=50)
    parser.add_argument("--cache-sim", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args(argv[1:])
    if args.child:
        _child(args.child, args.petitions)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = _measure("ours", args.petitions, Path(tmp), cache_sim=args.cache_sim)
        bare = _measure("bare_cached", args.petitions, Path(tmp), cache_sim=args.cache_sim)
    result = {"ours_per_save": round(ours["Ir"]), "bare_per_save": round(bare["Ir"]),
              "ratio": round(bare["Ir"] / ours["Ir"], 3), "petitions": args.petitions}
    print(f"instructions per save, {args.petitions} petitions x 7 saves")
    print(f"petitions: {result['ours_per_save']:,}")
    print(f"bare eventsourcing with our cache and snapshot settings: {result['bare_per_save']:,}")
    print(f"ratio bare / ours: {result['ratio']}")
    if args.cache_sim:
        result["ours_l2_misses_per_save"] = round(ours["l2_misses"])
        result["bare_l2_misses_per_save"] = round(bare["l2_misses"])
        print(f"misses of a simulated 1 MiB L2 per save: ours {result['ours_l2_misses_per_save']:,}"
              f", bare {result['bare_l2_misses_per_save']:,}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
