"""Faults (issue 13, point 6): SIGKILL in a stream of ordinary commands, a
PostgreSQL connection killed mid-transaction, SQLite out of space."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest

from petitions import Actor, Petitioner, PetitionService
from petitions.audit import verify_store
from petitions.core import Store
from tests.fixtures import BACKENDS, fresh_backend_url

WORKER_SCRIPT = Path(__file__).with_name("fault_worker.py")
CLERK = Actor("clerk-01", "intake_clerk")
CASEWORKER = Actor("caseworker-li", "caseworker")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    for found in fresh_backend_url(request.param, tmp_path):
        yield found  # type: ignore[misc]
        return


def _run_and_kill(url: str, acks: Path, seed: int, rng: random.Random) -> None:
    env = {**__import__("os").environ, "PYTHONPATH": str(WORKER_SCRIPT.parent.parent)}
    proc = subprocess.Popen([sys.executable, str(WORKER_SCRIPT), url, str(acks), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready", proc.stderr.read() if proc.stderr else ""
    before = acks.read_text().count("\n") if acks.exists() else 0
    deadline = time.monotonic() + 60
    wanted = before + rng.randrange(5, 40)
    while (acks.read_text().count("\n") if acks.exists() else 0) < wanted:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(rng.uniform(0.001, 0.02))
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_in_a_stream_of_commands_loses_nothing_and_doubles_nothing(
        url: str, tmp_path: Path) -> None:
    rng = random.Random()
    seed0 = rng.randrange(1_000_000)
    acks = tmp_path / "acks.jsonl"
    for round_ in range(3):
        _run_and_kill(url, acks, seed0 + round_, rng)
    acked = [json.loads(line) for line in acks.read_text().splitlines() if line.strip()]
    assert acked, "nothing was acknowledged before the kills"
    with PetitionService.open(url) as svc:
        # Nothing half-written: every chain, head and snapshot is whole.
        report = verify_store(svc)
        assert report.ok, (seed0, report.first_problem)
        texts: Counter[str] = Counter()
        versions: dict[UUID, int] = {}
        for change in svc.changes():
            versions[change.petition_id] = change.version
            for key in ("text", "action"):
                if change.type in ("NoteAdded", "ActionRecorded") and key in change.data:
                    texts[str(change.data[key])] += 1
        # Nothing stored twice (the command in flight at a kill: at most once).
        assert all(n == 1 for n in texts.values()), (seed0, texts.most_common(3))
        for entry in acked:
            pid = UUID(entry["pid"])
            assert svc.exists(pid), (seed0, entry)
            if entry["text"] is not None and entry["op"] in ("note", "act"):
                assert texts[entry["text"]] == 1, (seed0, entry)  # acknowledged: stored
            if entry["version"] is not None:
                assert versions[pid] >= entry["version"], (seed0, entry)
        # Every petition loads, and the views equal a rebuild.
        for pid in versions:
            assert svc.get(pid).version == versions[pid] or svc.get(pid).version > 0
        svc.read_models.refresh()
        views = verify_store(svc, views=True)
        assert views.ok, (seed0, views.first_problem)


def _file(svc: PetitionService, tag: str) -> UUID:
    return svc.file(actor=CLERK, petitioner=Petitioner(kind="resident", name="某"),
                    title=f"诉求 {tag}", description="d", category="environment",
                    channel="hotline")


def test_sqlite_out_of_space_is_one_error_loses_nothing_and_the_next_command_succeeds(
        tmp_path: Path) -> None:
    from eventsourcing.persistence import PersistenceError

    from petitions.i18n import error_text  # noqa: F401  (the CLI's wording of it)

    path = tmp_path / "full.sqlite"
    with PetitionService.open(str(path)) as svc:
        pid = _file(svc, "1")
        svc.list_petitions()
        before = list(svc.changes())
        with svc.recorder.datastore.get_connection(commit=False) as conn:  # type: ignore[attr-defined]
            cursor = conn.cursor()
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {pages + 3}")
        stored = 0
        with pytest.raises(PersistenceError) as full:
            for n in range(200):
                svc.note(pid, actor=CASEWORKER, text=f"{n} 很长的记录" * 900)
                stored += 1
        assert "full" in str(full.value)
        after = list(svc.changes())
        assert len(after) == len(before) + stored  # acknowledged kept, nothing half-written
        before = after
        with svc.recorder.datastore.get_connection(commit=False) as conn:  # type: ignore[attr-defined]
            conn.cursor().execute("PRAGMA max_page_count = 1073741823")
        view = svc.note(pid, actor=CASEWORKER, text="空间恢复后再记")
        assert view.version == before[-1].version + 1
        assert verify_store(svc, views=True).ok


def test_a_disk_full_error_is_one_line_in_the_cli(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from eventsourcing.persistence import OperationalError

    from cli import main

    db = tmp_path / "cli.sqlite"
    with PetitionService.open(str(db)) as svc:
        pid = _file(svc, "1")

    def full(*args: object, **kwargs: object) -> None:
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "save", full)
    result = CliRunner().invoke(main, ["--db", str(db), "--actor", "li", "--role",
                                       "caseworker", "note", str(pid), "--text", "x"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"petitions: cannot use the store sqlite:{db}: database or disk is full"]


def test_a_postgres_connection_killed_mid_transaction(tmp_path: Path) -> None:
    import psycopg

    from petitions.persistence import postgres_conninfo

    for url in fresh_backend_url("postgres", tmp_path):
        schema = url.rpartition("=")[2]
        with PetitionService.open(url) as svc:
            pid = _file(svc, "1")
            before = [c.version for c in svc.changes()]
            outcome: dict[str, object] = {}
            with psycopg.connect(postgres_conninfo(url)) as blocker:
                # Hold the events table so the command waits inside its transaction.
                blocker.execute(f'LOCK TABLE "{schema}".petitions_events IN ACCESS EXCLUSIVE '
                                "MODE")

                def command(svc: PetitionService, pid: UUID,
                            outcome: dict[str, object]) -> None:
                    try:
                        outcome["view"] = svc.note(pid, actor=CASEWORKER, text="被中断的记录")
                    except Exception as exc:  # what the caller sees
                        outcome["error"] = exc

                thread = threading.Thread(target=command, args=(svc, pid, outcome))
                thread.start()
                with psycopg.connect(postgres_conninfo(url), autocommit=True) as admin:
                    waiting: list[int] = []
                    deadline = time.monotonic() + 20
                    while not waiting and time.monotonic() < deadline:
                        # Only the backend our lock blocks (the server is shared).
                        waiting = [r[0] for r in admin.execute(
                            "SELECT pid FROM pg_stat_activity "
                            "WHERE %s = ANY(pg_blocking_pids(pid))",
                            (blocker.info.backend_pid,))]
                        time.sleep(0.05)
                    assert waiting, "the command never waited inside its transaction"
                    for backend in waiting:
                        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
                blocker.rollback()
                thread.join(timeout=60)
            assert not thread.is_alive()
            notes = [c for c in svc.changes() if c.type == "NoteAdded"]
            if "error" in outcome:
                # Refused as a whole: one line, nothing written.
                assert len(str(outcome["error"]).strip().splitlines()) == 1
                assert notes == []
            else:
                # eventsourcing retried on a fresh connection: stored once.
                assert len(notes) == 1
            assert len([c.version for c in svc.changes()]) == len(before) + len(notes)
            after = svc.note(pid, actor=CASEWORKER, text="下一条记录")
            assert after.version == before[-1] + len(notes) + 1
            assert verify_store(svc).ok
