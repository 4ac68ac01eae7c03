"""What each command of the lifecycle writes: WAL frames per commit, by b-tree.

    python bench/lifecycle_pages.py [--petitions N] [--statements]

Runs ``bench/lifecycle.py``'s lifecycle (file, accept, assign, reply, resolve,
callback, close) for N petitions (default 600) on a SQLite file and, around
each command, reads how many frames its commit appended to the write-ahead
log (``mxFrame`` of the WAL index in ``-shm``; a log that started again after
a checkpoint is read from its start) and which page each frame holds (the
frame header's page number).  At the end each page is named by the table or
index it belongs to (the ``dbstat`` virtual table), and the frames of the
commands of the last two thirds of the petitions are counted per command and
per b-tree, per call.  A b-tree that gains a row at a random place (an index
on a random id or a digest) costs more than one frame on average: SQLite
rebalances a full leaf with its siblings and their parent.

``--statements`` also prints the SQL statements of the last petition's
filing.  The last line is one JSON object: frames per call by command, and by
command and b-tree.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import struct
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

#: The frame header's size and the page size the stores use.
HEADER, PAGE = 24, 4096


def wal_frames(db: Path) -> int:
    """Frames in the log now (``mxFrame`` of the WAL index header)."""
    shm = Path(f"{db}-shm")
    if not shm.exists():
        return 0
    with shm.open("rb") as f:
        header = f.read(48)
    return int(struct.unpack("<I", header[16:20])[0])


def frame_pages(db: Path, start: int, end: int) -> list[int]:
    """The page number of each of frames ``start`` to ``end`` of the log."""
    data = Path(f"{db}-wal").read_bytes()
    pages = []
    for i in range(start, end):
        offset = 32 + i * (HEADER + PAGE)
        pages.append(int(struct.unpack(">I", data[offset:offset + 4])[0]))
    return pages


def main(argv: list[str]) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--petitions", type=int, default=600)
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args(argv[1:])
    n = args.petitions
    from petitions import Actor, Location, Petitioner, PetitionService
    from petitions.recorders import StatementCachingPool

    statements: list[str] = []
    create = StatementCachingPool._create_connection

    def traced(self: StatementCachingPool) -> Any:
        connection = create(self)
        connection._sqlite_conn.set_trace_callback(statements.append)
        return connection

    StatementCachingPool._create_connection = traced  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ours.sqlite"
        svc = PetitionService.open(str(db))
        clerk = Actor("clerk-01", "intake_clerk")
        worker = Actor("caseworker-li", "caseworker")
        svc.file(actor=clerk, petitioner=Petitioner(kind="resident", name="预热"),
                 title="预热", description="预热", category="other", channel="hotline")
        svc.read_models.catch_up()
        loc = Location(street="寸滩街道", community="保税商厦社区", grid="3")
        steps: list[tuple[str, Any]] = [
            ("accept", lambda p: svc.accept(p, actor=worker)),
            ("assign", lambda p: svc.assign(p, actor=worker, unit="寸滩街道",
                                            person="网格员张")),
            ("reply", lambda p: svc.reply(p, actor=worker, outcome="support",
                                          text="已增设车位")),
            ("resolve", lambda p: svc.resolve(p, actor=worker)),
            ("callback", lambda p: svc.callback(p, actor=clerk, contacted=True,
                                                resolved=True, rating="satisfied")),
            ("close", lambda p: svc.close(p, actor=worker)),
        ]
        written: dict[str, list[int]] = {}
        calls: Counter[str] = Counter()
        filing_sql: list[str] = []

        def counted(name: str, i: int, command: Any) -> Any:
            before = wal_frames(db)
            statements.clear()
            result = command()
            after = wal_frames(db)
            if after < before:  # the log started again after a checkpoint
                before = 0
            if i >= n // 3:
                written.setdefault(name, []).extend(frame_pages(db, before, after))
                calls[name] += 1
            if name == "file":
                filing_sql[:] = statements
            return result

        for i in range(n):
            pid = counted("file", i, lambda i=i: svc.file(
                actor=clerk, petitioner=Petitioner(kind="resident", name=f"居民{i}",
                                                   phone=f"138{i:08d}"),
                title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                category="property_management", channel="door_to_door", location=loc))
            for name, step in steps:
                counted(name, i, lambda step=step, pid=pid: step(pid))
        svc.shutdown()
        with sqlite3.connect(db) as conn:
            names = dict(conn.execute("SELECT pageno, name FROM dbstat"))
    out: dict[str, Any] = {"petitions": n, "frames_per_call": {}, "by_btree": {}}
    for name, pages in written.items():
        per = calls[name]
        out["frames_per_call"][name] = round(len(pages) / per, 2)
        out["by_btree"][name] = {str(k): round(v / per, 2) for k, v in
                                 Counter(names.get(p, f"page {p}") for p in pages).most_common()}
        print(f"{name}: {len(pages) / per:.2f} frames per commit")
        for btree, count in out["by_btree"][name].items():
            print(f"    {btree:40s} {count:.2f}")
    if args.statements:
        print("the last filing's statements:")
        for text in filing_sql:
            print("   ", " ".join(text.split())[:150])
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv), ensure_ascii=False))
