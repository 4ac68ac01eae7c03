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

With ``--per-command``, ours only: the counters are zeroed before and dumped
after each command of the timed petitions, and ``ours_per_command`` gives
each command's instructions (and, with ``--cache-sim``, L2 misses) per call,
and ``none``: the same zeroing and dumping around nothing, which they include
(``callgrind_control`` is run from the process: its instructions after the
zeroing count, and it disturbs the simulated caches).  Compare commands with
each other, not with the figures of a run without ``--per-command``.
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
from typing import Any


def _counted(label: str) -> None:
    """Zero (``start``) or dump (a variant's name) this process's counters."""
    args = ["-z"] if label == "start" else ["-d", label]
    subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True,
                   check=False)


#: The lifecycle's commands (``PetitionService`` methods), in order.
COMMANDS = ("file", "accept", "assign", "reply", "resolve", "callback", "close")


def _count_each_command() -> list[bool]:
    """Wrap each of :data:`COMMANDS` to zero the counters before it and dump
    them (labelled ``command:NAME``) after it, once the returned switch is on."""
    from petitions import PetitionService

    on = [False]
    for name in COMMANDS:
        method = getattr(PetitionService, name)

        def counted(self: Any, *args: Any, _method: Any = method, _name: str = name,
                    **kwargs: Any) -> Any:
            if not on[0]:
                return _method(self, *args, **kwargs)
            _counted("start")
            try:
                return _method(self, *args, **kwargs)
            finally:
                _counted(f"command:{_name}")

        setattr(PetitionService, name, counted)
    return on


def _child(kind: str, n: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import lifecycle

    logging.disable(logging.WARNING)
    each = kind == "ours_commands"
    switch = _count_each_command() if each else [False]
    with tempfile.TemporaryDirectory() as tmp:
        steps = (lifecycle.run_ours(n + 20, Path(tmp)) if kind.startswith("ours") else
                 lifecycle.run_bare(n + 20, Path(tmp), lifecycle.PER_COMMAND, cached=True))
        next(steps)
        for _ in range(20):
            next(steps)
        gc.collect()
        gc.disable()
        switch[0] = each
        for _ in range(n if each else 0):  # the zeroing and dumping alone
            _counted("start")
            _counted("command:none")
        if not each:
            _counted("start")
        for _ in range(n):
            next(steps)
        if not each:
            _counted(kind)


#: The simulated caches of ``--cache-sim``: first levels, and the last level
#: sized as one core's L2 of this machine (1 MiB).
CACHE_SIM = ["--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64"]


def _run(kind: str, n: int, out: Path, cache_sim: bool) -> dict[str, list[dict[str, int]]]:
    """Run the child ``kind`` under callgrind; its dumps' totals by label."""
    subprocess.run(["valgrind", "--tool=callgrind", *(CACHE_SIM if cache_sim else []),
                    f"--callgrind-out-file={out}/cg.{kind}.%p",
                    sys.executable, __file__, "--child", kind, "--petitions", str(n)],
                   check=True, capture_output=True)
    dumps: dict[str, list[dict[str, int]]] = {}
    for name in glob.glob(f"{out}/cg.{kind}.*"):
        lines = Path(name).read_text().splitlines()
        label = next((line.split("Trigger: dump ", 1)[1].strip() for line in lines[:40]
                      if "Trigger: dump " in line), None)
        if label is None:
            continue
        events = next(line.split()[1:] for line in lines if line.startswith("events:"))
        totals = next(line.split()[1:] for line in lines if line.startswith("summary:"))
        dumps.setdefault(label, []).append(
            {e: int(t) for e, t in zip(events, totals, strict=False)})
    return dumps


def _per_call(found: list[dict[str, int]], calls: int, cache_sim: bool) -> dict[str, float]:
    """``Ir`` and (``cache_sim``) ``l2_misses`` of ``found`` dumps, per call."""
    summed = {e: sum(d.get(e, 0) for d in found) / calls for e in found[0]}
    if cache_sim:
        summed["l2_misses"] = sum(summed.get(e, 0.0) for e in ("ILmr", "DLmr", "DLmw"))
    return summed


def _measure(kind: str, n: int, out: Path, *, cache_sim: bool = False) -> dict[str, float]:
    """Per save: ``Ir`` (instructions) and, with ``cache_sim``, ``l2_misses``."""
    found = _run(kind, n, out, cache_sim).get(kind)
    if not found:
        raise RuntimeError(f"no counts dumped for {kind}")
    return _per_call(found, n * 7, cache_sim)


def _measure_commands(n: int, out: Path, *, cache_sim: bool) -> dict[str, dict[str, int]]:
    """Ours, per call of each command: instructions (and L2 misses)."""
    dumps = _run("ours_commands", n, out, cache_sim)
    result: dict[str, dict[str, int]] = {}
    for name in ("none", *COMMANDS):
        found = dumps.get(f"command:{name}")
        if not found:
            raise RuntimeError(f"no counts dumped for {name}")
        per = _per_call(found, len(found), cache_sim)
        result[name] = {"instructions": round(per["Ir"]), "calls": len(found)}
        if cache_sim:
            result[name]["l2_misses"] = round(per["l2_misses"])
    return result


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--petitions", type=int, default=50)
    parser.add_argument("--cache-sim", action="store_true")
    parser.add_argument("--per-command", action="store_true")
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
    if args.per_command:
        with tempfile.TemporaryDirectory() as tmp:
            commands = _measure_commands(args.petitions, Path(tmp), cache_sim=args.cache_sim)
        result["ours_per_command"] = commands
        for name, counts in commands.items():
            print(f"  {name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv)
