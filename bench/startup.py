"""Benchmark: how fast the ``petitions`` command starts, against a floor.

    python bench/startup.py [--runs N] [--db PATH] [--baseline DIR]

The floor is the bare import of the libraries a command that reads a petition
cannot do without::

    python -c "import click, sqlite3, eventsourcing.application, eventsourcing.sqlite,
               cryptography.hazmat.primitives.ciphers.aead"

Against it, in the same run, the script times four commands as a caseworker
types them, each a fresh process (wall time of the whole process):

* ``petitions --help``
* ``petitions show ID``  (an open petition filed for the benchmark)
* ``petitions list``     (the newest 50 of them)
* ``petitions note ID --text …``  (records one event)

The store is a fresh SQLite file filled with ``petitions demo`` (the seed's
Jiangbei cases) and one made-up open petition first, and queried once so that
its read models are caught up (none of this timed).

The commands run interleaved, round after round, so that the machine's noise
falls on all of them alike; the median of the runs counts: of the wall time
(``ratio``, what a caseworker waits) and of the CPU time the process used
(user + system, ``cpu_ratio``: steadier on a machine shared with other work).
The last line printed is one JSON object with each command's ratios to the
floor (the target of issue 12: ``show`` at most 2).

Measure a non-editable install, as CI installs the project (``pip install
.``): an editable install (``pip install -e``) puts a finder of its own before
every import, the floor's imports included, so the floor is slower and every
ratio looks better than it is.  The script says which kind it timed (on the
line before the JSON, and as ``install`` in it); for instance::

    python3 -m venv /tmp/nv && /tmp/nv/bin/pip install -q .
    cp bench/startup.py /tmp && /tmp/nv/bin/python /tmp/startup.py --runs 15

``--baseline DIR`` times another checkout in the same rounds (for instance
``git archive main | tar -x -C DIR``): its commands run as ``python -m cli``
in DIR, and this checkout's are then run the same way (in the repository
root), so that both pay the same for ``-m``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
FLOOR = ("import click, sqlite3, eventsourcing.application, eventsourcing.sqlite, "
         "cryptography.hazmat.primitives.ciphers.aead")


def petitions_command() -> list[str]:
    """The installed ``petitions`` script beside this interpreter, else ``-m cli``."""
    script = Path(sys.executable).with_name("petitions")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli"]


def install_kind() -> str:
    """``editable`` or ``non-editable``: how the ``petitions`` this interpreter
    runs is installed (``checkout`` when it is not installed at all)."""
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; s = u.find_spec('cli'); "
         "print(s.origin if s else '')"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False).stdout.strip()
    if not found:
        return "checkout"
    # pip copies the module into site-packages; an editable install finds the checkout's.
    installed = any(part in ("site-packages", "dist-packages") for part in Path(found).parts)
    return "non-editable" if installed else "editable"


def timed(argv: list[str], env: dict[str, str], cwd: str | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=cwd)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode(errors='replace')}")
    return took, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--db", default=None, help="SQLite file to create (default: a temp dir)")
    parser.add_argument("--baseline", default=None, metavar="DIR",
                        help="also time show, list, --help and note of another checkout "
                             "(e.g. `git archive main`), as `python -m cli` run in DIR; this "
                             "checkout is then run the same way")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="petitions-startup-"))
    db = args.db or str(tmp / "startup.sqlite")
    env = dict(os.environ, PETITIONS_DB=db, PETITIONS_ACTOR="bench-caseworker",
               PETITIONS_ROLE="caseworker", PETITIONS_LANG="zh")
    env.pop("PETITIONS_WORKFLOWS", None)
    # As installed by pip: modules are compiled once, not on every start (an
    # editable checkout run with PYTHONDONTWRITEBYTECODE compiles every module
    # of petitions on every start, which this benchmark is not about).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = petitions_command()
    try:
        subprocess.run([*cli, "--role", "administrator", "demo"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        filed = subprocess.run(
            [*cli, "--role", "intake_clerk", "--json", "file", "--kind", "resident",
             "--name", "基准", "--title", "路灯不亮（基准测试）",
             "--description", "小区门口路灯不亮（基准测试用的虚构诉求）", "--category", "traffic",
             "--channel", "hotline", "--street", "寸滩街道"],
            env=env, check=True, capture_output=True, text=True)
        pid = json.loads(filed.stdout)["id"]
        subprocess.run([*cli, "list"], env=env, check=True, stdout=subprocess.DEVNULL)
        note = ["note", pid, "--text", "回访前电话确认住址（基准测试）"]
        here = [sys.executable, "-m", "cli"] if args.baseline else cli
        commands: dict[str, tuple[list[str], str | None]] = {
            "floor": ([sys.executable, "-c", FLOOR], None),
            "--help": ([*here, "--help"], ROOT),
            "show": ([*here, "show", pid], ROOT),
            "list": ([*here, "list"], ROOT),
            "note": ([*here, *note], ROOT),
        }
        if args.baseline:
            base = [sys.executable, "-m", "cli"]
            for name, extra in (("--help", ["--help"]), ("show", ["show", pid]),
                                ("list", ["list"]), ("note", note)):
                commands[f"baseline {name}"] = ([*base, *extra], args.baseline)
        for argv, cwd in commands.values():  # warm the OS caches and the .pyc files
            timed(argv, env, cwd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, cwd) in commands.items():
                wall, used = timed(argv, env, cwd)
                times[name].append(wall)
                cpu[name].append(used)
    finally:
        if args.db is None:
            shutil.rmtree(tmp, ignore_errors=True)

    kind = "checkout (python -m cli)" if args.baseline else install_kind()
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    floor, cpu_floor = medians["floor"], cpu_medians["floor"]
    print(f"{'command':<22} {'median ms':>10} {'min ms':>8} {'ratio':>6} "
          f"{'CPU ms':>8} {'CPU ratio':>9}")
    for name, values in times.items():
        label = "floor (bare imports)" if name == "floor" else (
            name if name.startswith("baseline") else f"petitions {name}")
        print(f"{label:<22} {medians[name] * 1000:>10.0f} {min(values) * 1000:>8.0f} "
              f"{medians[name] / floor:>6.2f} {cpu_medians[name] * 1000:>8.0f} "
              f"{cpu_medians[name] / cpu_floor:>9.2f}")
    print(f"install: {kind}" + ("" if kind == "non-editable" else
                                " -- an editable install slows the floor too: measure a "
                                "non-editable one (see the module documentation)"))
    print(json.dumps({
        "runs": args.runs,
        "install": kind,
        "floor_ms": round(floor * 1000, 1),
        "floor_cpu_ms": round(cpu_floor * 1000, 1),
        **{name: {"ms": round(medians[name] * 1000, 1),
                  "ratio": round(medians[name] / floor, 2),
                  "cpu_ms": round(cpu_medians[name] * 1000, 1),
                  "cpu_ratio": round(cpu_medians[name] / cpu_floor, 2)}
           for name in commands if name != "floor"},
    }))


if __name__ == "__main__":
    main()
