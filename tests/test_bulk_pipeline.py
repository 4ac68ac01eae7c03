"""The pipelined import (issue 18, point 4): filings of the bulk path decided
in a worker process while the calling process writes the batch before
(:mod:`petitions.pipeline`).  It writes the same rows, byte for byte, as the
one-process import; a refusal stops it there; a worker that dies or a writer
that fails leaves whole batches only, and a rerun files the rest once."""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import petitions.importer as importer
import petitions.pipeline as worker_pipeline
from petitions import PetitionService
from petitions.audit import verify_store
from petitions.domain.petition import petition_id_for
from petitions.importer import import_filings, worker_spec
from petitions.pipeline import Producer, WorkerFailed
from petitions.privacy import MASTER_KEY_ENV
from tests.fixtures import BACKENDS, fresh_backend_url
from tests.test_bulk_filing import MASTER, NOW, _Fixed, table_rows
from tests.test_import import CLERK, filed_keys, filing, write_lines

_URANDOM = os.urandom


def fixed(monkeypatch: pytest.MonkeyPatch) -> _Fixed:
    """``_Fixed``, its bytes drawn only by the library's code (what a
    database driver draws — PostgreSQL's, in the writer only — stays random)."""
    made = _Fixed(monkeypatch)
    counted = os.urandom

    def urandom(n: int) -> bytes:
        caller = str(sys._getframe(1).f_globals.get("__name__", ""))
        return counted(n) if caller.startswith("petitions") else _URANDOM(n)

    monkeypatch.setattr("os.urandom", urandom)
    return made


def fixed_now() -> datetime:
    """The services' clock (a function, so that the worker is given it)."""
    return NOW


def fix_worker() -> None:
    """Run in the worker first: the same randomness and times as ``_Fixed``."""
    fixed(pytest.MonkeyPatch())


def die_at_line_250() -> None:
    """Run in the worker first: it dies (as if killed) on reading line 250,
    once its sending thread has had time to send the batches before (a worker
    deciding fast could otherwise die before it sent its first: the import
    then goes on in the writer alone, and nothing fails)."""
    import time

    parse = importer.parse_line

    def parse_line(number: int, text: str, *args: Any) -> Any:
        if number == 250:
            time.sleep(0.5)  # (the deciding thread waits; the sender sends)
            os._exit(3)
        return parse(number, text, *args)

    importer.parse_line = parse_line  # type: ignore[assignment]


def die_at_line_700() -> None:
    """Run in the worker first: it dies (as if killed) on reading line 700,
    after its first batch of 500 (the command line's batch) has had time to
    be sent."""
    import time

    parse = importer.parse_line

    def parse_line(number: int, text: str, *args: Any) -> Any:
        if number == 700:
            time.sleep(1.0)
            os._exit(3)
        return parse(number, text, *args)

    importer.parse_line = parse_line  # type: ignore[assignment]


def slow_after_line_100() -> None:
    """Run in the worker first: from line 100 on it takes 20 ms a line (so
    that the writer, waiting, decides batches from the end itself)."""
    import time

    parse = importer.parse_line

    def parse_line(number: int, text: str, *args: Any) -> Any:
        if number >= 100:
            time.sleep(0.02)
        return parse(number, text, *args)

    importer.parse_line = parse_line  # type: ignore[assignment]


def slow_then_die_at_parse_70() -> None:
    """Run in the worker first: from the 50th line it parses on it takes
    20 ms a line, and it dies at the 70th (wherever the writer's taking
    batches has left it)."""
    import itertools
    import time

    parse = importer.parse_line
    calls = itertools.count(1)

    def parse_line(number: int, text: str, *args: Any) -> Any:
        call = next(calls)
        if call == 70:
            os._exit(3)
        if call >= 50:
            time.sleep(0.02)
        return parse(number, text, *args)

    importer.parse_line = parse_line  # type: ignore[assignment]


def die_at_once() -> None:
    """Run in the worker first: it dies before its first batch."""
    os._exit(5)


def bulk_lines() -> list[Any]:
    """Lines of the bulk path of every shape (phones, ID numbers, addresses,
    e-mail, a collective, a time without offset, claims, other workflows,
    categories and channels), a key given twice, a blank line, a malformed
    line and a line the check refuses (skipped with ``on_error="skip"``)."""
    out: list[Any] = []
    for n in range(260):
        line = filing(n, channel=("online", "hotline", "letter")[n % 3],
                      petitioner={"kind": "resident", "name": f"居民{n}",
                                  "phone": f"1390000{n:04d}"})
        if n % 7 == 0:
            line["petitioner"] = {"kind": "resident", "name": "王女士", "phone": "138 0000 1234",
                                  "id_number": "500105199001011234",
                                  "address": "寸滩街道 8 号", "email": "wang@example.cn"}
        if n % 11 == 0:
            line.update(workflow="enterprise_service", category="business_environment",
                        petitioner={"kind": "enterprise", "name": "重庆某公司",
                                    "phone": "023-67000000"})
        if n % 13 == 0:
            line.update(at="2022-06-07T10:00:00", source="wechat",
                        actor={"id": "portal-wechat", "role": "portal"})
        if n == 40:
            line["petitioner"] = {"kind": "collective", "name": "吉安园业主",
                                  "representatives": [{"name": "张先生", "phone": "13800000001"},
                                                      {"name": "赵女士", "id_number": "5001"}]}
        out.append(line)
    out.insert(120, filing(5, channel="online"))  # the same key again: filed once
    out.insert(130, "")
    out.insert(150, "{not json")
    out.insert(170, filing(9999, category="no_such_category", channel="online"))
    return out


@pytest.fixture(params=["fork", "interpreter"])
def producers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
              ) -> list[Producer]:
    """Every worker started (to see that imports take the pipeline and stop
    it); each test runs with a forked worker and with a new interpreter."""
    made: list[Producer] = []
    init = Producer.__init__
    forked = request.param == "fork"
    monkeypatch.setattr(worker_pipeline, "START", "auto" if forked else "interpreter")

    def counted(self: Producer, *args: Any) -> None:
        # Forked where it can be: from a process with no other thread (an
        # SQLite store's; PostgreSQL's connection pool has threads).
        alone = threading.active_count() == 1
        init(self, *args)
        made.append(self)
        assert self.forked == (forked and alone), threading.enumerate()

    monkeypatch.setattr(Producer, "__init__", counted)
    return made


def stopped(producer: Producer) -> bool:
    try:
        os.kill(producer.pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_pipelined_import_writes_the_same_rows_as_the_one_process_import(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer]) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, MASTER)
    fixes = fixed(monkeypatch)
    monkeypatch.setattr(importer, "WORKER_SETUP", fix_worker)
    # The worker decides every line (the writer's own draws of the fixed
    # randomness would be other than the one-process import's).
    monkeypatch.setattr(importer, "TAKE", False)
    path = write_lines(tmp_path / "in.jsonl", bulk_lines())
    found: dict[bool, dict[str, list[tuple[Any, ...]]]] = {}
    for pipeline in (False, True):
        fixes.reset()
        where = tmp_path / str(pipeline)
        where.mkdir()
        backend = fresh_backend_url(kind, where)
        url = next(backend)
        try:
            with PetitionService.open(url, clock=fixed_now) as svc:
                report = import_filings(svc, path, actor=CLERK, on_error="skip", batch=50,
                                        pipeline=pipeline)
                assert (report.imported, report.existing, report.skipped) == (260, 1, 2)
                assert len(producers) == int(pipeline)
                audit = verify_store(svc)
                assert audit.ok, audit.problems
                found[pipeline] = table_rows(svc)
        finally:
            next(backend, None)
    assert stopped(producers[0])
    one, two = found[False], found[True]
    assert set(one) == set(two)
    events = next(n for n in one if n.endswith("events") and "snapshot" not in n)
    assert len(one[events]) == 2 * 260 + 2  # and the two workflows' texts
    for name in ("work_orders", "caller_index", "petitioner_keys"):
        assert len(one[name]) >= 260, name
    for name in one:
        assert one[name] == two[name], name


@pytest.mark.parametrize("kind", BACKENDS)
def test_batches_the_writer_decides_itself_are_filed_as_the_workers_in_file_order(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer]) -> None:
    # The worker is slow: the writer, waiting for its next batch, decides
    # batches a little further on itself (and tells the worker to skip
    # them).  Every line is filed once, in file order (events and work-order
    # numbers), as the one-process import files them; the store verifies, a
    # rerun files nothing.
    monkeypatch.setenv(MASTER_KEY_ENV, MASTER)
    monkeypatch.setattr(importer, "WORKER_SETUP", slow_after_line_100)
    taken: list[int] = []
    take = importer._Taker.take

    def counted(self: Any, index: int) -> None:
        taken.append(index)
        take(self, index)

    monkeypatch.setattr(importer._Taker, "take", counted)
    path = write_lines(tmp_path / "in.jsonl", bulk_lines())
    found: dict[bool, Any] = {}
    for pipeline in (False, True):
        where = tmp_path / str(pipeline)
        where.mkdir()
        backend = fresh_backend_url(kind, where)
        url = next(backend)
        try:
            with PetitionService.open(url, clock=fixed_now) as svc:
                report = import_filings(svc, path, actor=CLERK, on_error="skip", batch=20,
                                        pipeline=pipeline)
                assert (report.imported, report.existing, report.skipped) == (260, 1, 2)
                assert verify_store(svc).ok
                keys = [c.data["idempotency_key"] for c in svc.changes() if c.type == "Filed"]
                numbers = [svc.number_of(petition_id_for(k)) for k in keys]
                assert numbers == sorted(numbers)  # numbered in file order
                if pipeline:  # batches a little ahead of the worker's
                    assert taken and taken == sorted(set(taken)) and taken[-1] <= 13
                    taken.clear()
                rows = table_rows(svc)
                views = sorted(repr(v) for v in svc.list_petitions(limit=None))
                # The caller index of a line of the last batch (decided by the writer).
                callers = [v.id for v in svc.list_petitions(phone="13900000258")]
                found[pipeline] = (keys, {n: len(r) for n, r in rows.items()}, views, callers)
                again = import_filings(svc, path, actor=CLERK, on_error="skip", batch=20,
                                       pipeline=pipeline)
                assert (again.imported, again.existing) == (0, 261)
                assert filed_keys(svc) == Counter(keys) and len(keys) == 260
        finally:
            next(backend, None)
    assert found[True][3] == [str(petition_id_for("wechat:2022-00258"))]
    assert len(producers) == 2 and all(stopped(p) for p in producers)
    assert found[True] == found[False]


@pytest.mark.parametrize("encoding", [None, "gb18030"])
def test_the_check_pass_notes_where_each_batch_begins(tmp_path: Path,
                                                      encoding: str | None) -> None:
    # What the writer reads a batch it decides itself from: the lines read
    # from a batch's noted beginning are the batch's lines of the whole file
    # (a byte-order mark, blank and unreadable lines as the check pass sees them).
    codec = encoding or "utf-8"
    lines = [json.dumps(filing(n), ensure_ascii=False).encode(codec) for n in range(23)]
    lines[3] = b"   "
    lines[7] = b"\xff\xfe not text"
    lines[12] = b""
    data = (b"\xef\xbb\xbf" if encoding is None else b"") + b"\n".join(lines) + b"\n"
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    starts: list[tuple[int, int]] = []
    everything = list(importer._lines(path, encoding, starts=starts, every=5))
    assert len(everything) == 21 and len(starts) == 5  # two blank lines
    for index, start in enumerate(starts):
        again = list(itertools.islice(importer._lines(path, encoding, start), 5))
        assert [n for n, _ in again] == [n for n, _ in everything[5 * index:5 * index + 5]]
        assert [str(t) for _, t in again] == [str(t) for _, t in
                                              everything[5 * index:5 * index + 5]]


def test_the_pipeline_files_general_path_lines_in_file_order(
        service: PetitionService, tmp_path: Path, producers: list[Producer]) -> None:
    # Lines the worker does not decide (a petitioner with an id, a channel
    # the workflow accepts on filing) are filed by the writer between the
    # decided ones, in file order; a rerun files nothing twice.
    lines = [filing(n, channel="online") for n in range(120)]
    lines[30]["petitioner"] = {"kind": "resident", "name": "李先生", "id": "p-li"}
    lines[31]["petitioner"] = {"kind": "resident", "name": "李先生", "id": "p-li"}
    lines[70].update(workflow="campaign", channel="door_to_door")
    path = write_lines(tmp_path / "in.jsonl", lines)
    report = import_filings(service, path, actor=CLERK, batch=25, pipeline=True)
    assert (report.imported, report.errors) == (120, ())
    assert len(producers) == 1
    filed = [c.data["idempotency_key"] for c in service.changes() if c.type == "Filed"]
    assert filed == [f"wechat:2022-{n:05d}" for n in range(120)]
    assert verify_store(service).ok
    again = import_filings(service, path, actor=CLERK, batch=25, pipeline=True)
    assert (again.imported, again.existing) == (0, 120)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(120)})


def test_a_refusal_stops_the_pipeline_there_and_no_later_batch_is_written(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer]) -> None:
    # A line that passes the check and is refused when filed (here: the
    # check let through) stops the import at it: the lines before it are
    # filed, none after, however far the worker has decided.
    lines = [filing(n, channel="online") for n in range(300)]
    lines[130]["title"] = "   "  # no title
    path = write_lines(tmp_path / "in.jsonl", lines)
    monkeypatch.setattr(importer, "check", lambda svc, item, tax=None: item)
    report = import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert report.stopped and [e.line for e in report.errors] == [131]
    assert report.imported == 130
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(130)})
    assert len(producers) == 1 and stopped(producers[0])
    assert verify_store(service).ok


def test_a_worker_that_dies_leaves_whole_batches_and_a_rerun_files_the_rest_once(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [filing(n, channel="online",
                    petitioner={"kind": "resident", "name": f"居民{n}", "phone": f"1390000{n:04d}"})
             for n in range(400)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    monkeypatch.setattr(importer, "WORKER_SETUP", die_at_line_250)
    monkeypatch.setattr(importer, "TAKE", False)  # the worker to come to line 250
    with pytest.raises(WorkerFailed, match="exit code 3"):
        import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    filed = filed_keys(service)
    # The batches the worker handed over before it died, whole (at most
    # lines 1-200: line 250 was never decided).
    assert 0 < len(filed) <= 200 and len(filed) % 50 == 0
    assert filed == Counter({f"wechat:2022-{n:05d}": 1 for n in range(len(filed))})
    assert verify_store(service).ok
    monkeypatch.setattr(importer, "WORKER_SETUP", None)
    again = import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert (again.imported, again.existing) == (400 - len(filed), len(filed))
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(400)})
    rows = table_rows(service)
    for name in ("work_orders", "caller_index", "petitioner_keys"):
        assert len(rows[name]) == 400, name
    assert verify_store(service).ok


def test_a_worker_dying_while_the_writer_holds_batches_it_decided_leaves_whole_batches(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer decides batches ahead of the worker itself (the worker is
    # slow); the worker dies at the 70th line it parses.  The batches before
    # the first the worker never handed over are filed (the worker's and the
    # writer's), whole, in file order; none after it (the writer's held ones
    # included); a rerun files the rest once.
    lines = [filing(n, channel="online",
                    petitioner={"kind": "resident", "name": f"居民{n}", "phone": f"1390000{n:04d}"})
             for n in range(300)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    monkeypatch.setattr(importer, "WORKER_SETUP", slow_then_die_at_parse_70)
    taken: list[int] = []
    take = importer._Taker.take

    def counted(self: Any, index: int) -> None:
        taken.append(index)
        take(self, index)

    monkeypatch.setattr(importer._Taker, "take", counted)
    with pytest.raises(WorkerFailed, match="exit code 3"):
        import_filings(service, path, actor=CLERK, batch=20, pipeline=True)
    assert taken
    filed = filed_keys(service)
    assert 0 < len(filed) < 300 and len(filed) % 20 == 0
    assert filed == Counter({f"wechat:2022-{n:05d}": 1 for n in range(len(filed))})
    assert verify_store(service).ok
    monkeypatch.setattr(importer, "WORKER_SETUP", None)
    again = import_filings(service, path, actor=CLERK, batch=20, pipeline=True)
    assert (again.imported, again.existing) == (300 - len(filed), len(filed))
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(300)})
    rows = table_rows(service)
    for name in ("work_orders", "caller_index", "petitioner_keys"):
        assert len(rows[name]) == 300, name
    assert verify_store(service).ok


def test_a_worker_that_fails_before_its_first_batch_leaves_the_import_to_the_writer(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer], caplog: pytest.LogCaptureFixture) -> None:
    lines = [filing(n, channel="online") for n in range(120)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    monkeypatch.setattr(importer, "WORKER_SETUP", die_at_once)
    with caplog.at_level("WARNING"):
        report = import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert len(producers) == 1 and stopped(producers[0])
    assert "exit code 5" in caplog.text and "alone" in caplog.text
    assert (report.imported, report.errors) == (120, ())
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(120)})
    assert verify_store(service).ok


def test_a_writer_failing_mid_batch_leaves_no_row_of_it_and_stops_the_worker(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer]) -> None:
    lines = [filing(n, channel="online",
                    petitioner={"kind": "resident", "name": f"居民{n}", "phone": f"1390000{n:04d}"})
             for n in range(300)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    recorder: Any = service.recorder
    insert = recorder._insert_events
    calls: list[int] = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        insert(*args, **kwargs)  # every row of the batch written, then the process "dies"
        if len(calls) == 3:
            raise RuntimeError("crash before commit")

    monkeypatch.setattr(recorder, "_insert_events", crashing)
    with pytest.raises(RuntimeError, match="crash before commit"):
        import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    monkeypatch.setattr(recorder, "_insert_events", insert)
    assert len(producers) == 1 and stopped(producers[0])
    rows = table_rows(service)
    # Two batches (the workflow's text with the first): nothing of the third.
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(100)})
    for name in ("work_orders", "caller_index", "petitioner_keys"):
        assert len(rows[name]) == 100, name
    again = import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert (again.imported, again.existing) == (200, 100)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(300)})
    assert verify_store(service).ok


def test_a_file_refused_by_the_check_writes_nothing_and_stops_the_worker(
        service: PetitionService, tmp_path: Path, producers: list[Producer]) -> None:
    lines: list[Any] = [filing(n, channel="online") for n in range(300)]
    lines[280] = "{not json"
    path = write_lines(tmp_path / "in.jsonl", lines)
    with pytest.raises(importer.ImportRefused):
        import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert filed_keys(service) == Counter()
    assert len(producers) == 1 and stopped(producers[0])


def test_the_import_takes_the_pipeline_for_a_large_file_only_and_when_it_can(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, producers: list[Producer]) -> None:
    from click.testing import CliRunner

    import cli
    from tests.test_import import OPERATOR

    for name in ("PIPELINE_LINES", "FORK_PIPELINE_LINES"):
        monkeypatch.setattr(importer, name, 200)
    monkeypatch.setattr(importer, "PIPELINE_BATCHES", 0)
    small = write_lines(tmp_path / "small.jsonl", [filing(n, channel="online")
                                                   for n in range(199)])
    large = write_lines(tmp_path / "large.jsonl", [filing(n, channel="online")
                                                   for n in range(200, 500)])
    db = str(tmp_path / "db.sqlite")
    runner = CliRunner()
    for path, taken in ((small, 0), (large, 1)):
        done = runner.invoke(cli.main, ["--db", db, *OPERATOR, "--json", "import", str(path)])
        assert done.exit_code == 0, done.output
        assert len(producers) == taken
    # The command line forks its worker (it has no other thread), where the
    # test asks for it.
    assert producers[0].forked == (worker_pipeline.START == "auto")
    assert json.loads(done.output.strip().splitlines()[-1])["imported"] == 300
    verify = runner.invoke(cli.main, ["--db", db, *OPERATOR, "audit", "verify"])
    assert verify.exit_code == 0, verify.output
    # A clock that cannot be handed to a worker: the import runs in one process.
    with PetitionService.open(str(tmp_path / "other.sqlite"), clock=lambda: NOW) as svc:
        assert worker_spec(svc, large, CLERK, None, 100) is None
        report = import_filings(svc, large, actor=CLERK)
        assert report.imported == 300 and len(producers) == 1
        assert svc.exists(petition_id_for("wechat:2022-00499"))


def test_the_worker_runs_the_writers_code_whatever_the_working_directory_holds(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer], caplog: pytest.LogCaptureFixture) -> None:
    # ``python -c`` puts the working directory first on the import path: a
    # ``petitions`` there (another checkout, say) is not what the worker runs.
    decoy = tmp_path / "cwd" / "petitions"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('not this petitions')\n")
    monkeypatch.chdir(decoy.parent)
    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(120)])
    with caplog.at_level("WARNING"):
        report = import_filings(service, path, actor=CLERK, batch=50, pipeline=True)
    assert (report.imported, report.errors) == (120, ())
    assert len(producers) == 1 and "alone" not in caplog.text


@pytest.mark.parametrize("lang,words", [("en", "worker process stopped"),
                                        ("zh", "导入的辅助进程已停止")])
def test_a_worker_dying_mid_file_is_one_line_and_exit_1_through_the_cli(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, words: str) -> None:
    # The command line shows a worker that died after handing over batches
    # as one line in the user's language (no traceback) and exits 1; what it
    # wrote before stays in whole batches, and the store verifies.
    from click.testing import CliRunner

    import cli
    from tests.test_import import OPERATOR

    for name in ("PIPELINE_LINES", "FORK_PIPELINE_LINES"):
        monkeypatch.setattr(importer, name, 200)
    monkeypatch.setattr(importer, "PIPELINE_BATCHES", 0)
    monkeypatch.setattr(importer, "WORKER_SETUP", die_at_line_700)
    monkeypatch.setenv(MASTER_KEY_ENV, MASTER)  # no key-file notice on stderr
    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(800)])
    db = str(tmp_path / "db.sqlite")
    runner = CliRunner()
    done = runner.invoke(cli.main, ["--db", db, "--lang", lang, *OPERATOR, "import", str(path)])
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output and isinstance(done.exception, SystemExit)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0] and "3" in lines[0], done.stderr
    with PetitionService.open(db) as svc:
        # The first batch (500 lines, handed over before line 700), whole.
        assert filed_keys(svc) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(500)})
    verify = runner.invoke(cli.main, ["--db", db, *OPERATOR, "audit", "verify"])
    assert verify.exit_code == 0, verify.output


def _decided_here(service: PetitionService, path: Path, batch: int = 50,
                  ) -> tuple[importer.WorkerSpec, list[Any]]:
    """The batches of ``path`` decided in this process as the worker decides
    them, and the spec they were decided with."""
    spec = worker_spec(service, path, CLERK, None, batch)
    assert spec is not None
    return spec, list(importer.decide_file(spec))


def test_the_worker_hands_over_rows_without_the_lines_texts(
        service: PetitionService, tmp_path: Path) -> None:
    # What the worker sends the writer: the stored events' rows, heads, key,
    # caller-index and work-order inputs of each filing — not the line (the
    # writer has the file), and no personal data in clear text.
    import pickle

    lines = [filing(n, channel="online", description=f"独有的描述{n}",
                    petitioner={"kind": "resident", "name": f"居民甲{n}",
                                "phone": f"1390000{n:04d}"}) for n in range(30)]
    lines[7]["petitioner"] = {"kind": "resident", "name": "李先生", "id": "p-li"}  # general
    path = write_lines(tmp_path / "in.jsonl", lines)
    _, batches = _decided_here(service, path, batch=10)
    assert len(batches) == 3
    handover, items = batches[0]
    assert items[7] == importer.RawLine(8, path.read_text("utf-8").splitlines(keepends=True)[7])
    assert [i for i in items if isinstance(i, int)] == list(range(9))
    data = pickle.dumps(batches[0][0], protocol=pickle.HIGHEST_PROTOCOL)
    texts = path.read_text("utf-8").splitlines()
    assert not any(t.encode() in data for t in texts[:10])
    assert "独有的描述3".encode() in data  # in its event's state
    assert "居民甲3".encode() not in data and b"13900000003" not in data  # sealed
    assert len(handover.events) == 2 * 9 and handover.ends[-1] == 18
    assert [len(handover.callers)] == [handover.caller_ends[-1]] == [9]
    again = pickle.loads(data)
    assert again.texts is None and again.events == handover.events
    assert batches[1][0].start[1] == 11 and batches[2][0].start[1] == 21


def test_handed_filings_meeting_another_writers_filing_are_each_filed_again_on_their_own(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        producers: list[Producer]) -> None:
    # Another writer filed line 3 after the batch looked for its keys: the
    # batch's transaction fails on it and writes nothing; each filing is then
    # filed on its own, its filing value made again from the file's line.
    from petitions.core import Store

    lines = [filing(n, channel="online") for n in range(5)]
    import_filings(service, write_lines(tmp_path / "one.jsonl", [lines[3]]), actor=CLERK)
    import petitions.filing as filing_module

    again: list[Any] = []
    file_petition = filing_module.file_petition

    def counted(*args: Any) -> Any:
        again.append(args[2].idempotency_key)
        return file_petition(*args)

    monkeypatch.setattr(Store, "existing", lambda self, ids: set())
    monkeypatch.setattr(filing_module, "file_petition", counted)
    report = import_filings(service, write_lines(tmp_path / "all.jsonl", lines), actor=CLERK,
                            pipeline=True)
    monkeypatch.undo()
    assert len(producers) == 1
    assert again == [f"wechat:2022-{n:05d}" for n in range(5)]
    assert report.errors == () and report.imported + report.existing == 5
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(5)})
    numbers = {service.number_of(petition_id_for(f"wechat:2022-{n:05d}")) for n in range(5)}
    assert len(numbers) == 5 and None not in numbers
    audit = verify_store(service)
    assert audit.ok, audit.problems


def test_handed_filings_decided_under_another_workflow_text_are_decided_again(
        service: PetitionService, tmp_path: Path) -> None:
    # The worker decided under a workflow text that is not the store's
    # current one (changed meanwhile): the writer files those lines as the
    # general path does, under the current text, each once.
    from petitions.bulkfiling import Handed

    path = write_lines(tmp_path / "in.jsonl", [filing(n, channel="online") for n in range(12)])
    spec, batches = _decided_here(service, path, batch=12)
    handover, items = batches[0]
    handover.workflows = [(name, "0" * 64) for name, _ in handover.workflows]
    handed = [Handed(handover, i, functools.partial(importer._remade, spec)) for i in items]
    results = service.file_batch(handed)
    assert results == [(petition_id_for(f"wechat:2022-{n:05d}"), True) for n in range(12)]
    current = service.workflow("standard").sha256
    assert {c.data["workflow"]["sha256"] for c in service.changes()
            if c.type == "Filed"} == {current}
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(12)})
    assert verify_store(service).ok
    # Handed again: present, nothing written.
    assert service.file_batch(handed) == [(r[0], False) for r in results
                                          if not isinstance(r, Exception)]


def test_a_malformed_office_prefix_refuses_handed_filings_as_any_and_writes_nothing(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The office prefix is read when the first filing is written: malformed,
    # it refuses that filing, the import stops there, nothing is written —
    # handed over by the worker or not; a filing present already stays so.
    from petitions.sidetables import PREFIX_ENV

    lines = [filing(n, channel="online") for n in range(6)]
    import_filings(service, write_lines(tmp_path / "one.jsonl", lines[:1]), actor=CLERK)
    path = write_lines(tmp_path / "in.jsonl", lines)
    monkeypatch.setenv(PREFIX_ENV, "not a prefix!")
    found = []
    for pipeline in (False, True):
        report = import_filings(service, path, actor=CLERK, pipeline=pipeline)
        found.append((report.imported, report.existing, report.stopped,
                      [e.line for e in report.errors]))
    assert found[0] == found[1] == (0, 1, True, [2])
    assert filed_keys(service) == Counter({"wechat:2022-00000": 1})


def test_a_forked_worker_is_the_default_from_a_process_without_other_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forked only from a process with no other thread (a thread could hold a
    # lock the child would wait on for ever), and not when asked for a new
    # interpreter; the writer's switch interval is restored when it is done.
    monkeypatch.setattr(worker_pipeline, "START", "auto")
    assert threading.active_count() == 1 and worker_pipeline.forkable()
    switch = sys.getswitchinterval()
    producer = Producer(_batches, (3,))
    assert producer.forked and sys.getswitchinterval() == worker_pipeline.SWITCH_INTERVAL
    assert list(producer.batches()) == [[0], [1], [2]]
    producer.close()
    assert stopped(producer) and sys.getswitchinterval() == switch
    done = threading.Event()
    other = threading.Thread(target=done.wait, args=(5,), daemon=True)
    other.start()
    try:
        assert not worker_pipeline.forkable()
    finally:
        done.set()
        other.join()
    assert worker_pipeline.forkable()
    monkeypatch.setattr(worker_pipeline, "START", "interpreter")
    assert not worker_pipeline.forkable()


def _batches(n: int, skipped: Any = None) -> Any:
    """A worker's target for the tests: ``n`` batches of one number each."""
    for i in range(n):
        yield None if skipped is not None and skipped(i) else [i]


def test_a_forked_worker_killed_is_reported_with_its_signal(tmp_path: Path) -> None:
    import signal

    assert worker_pipeline.forkable(), threading.enumerate()
    producer = Producer(_slow_batches, ())
    assert producer.forked
    os.kill(producer.pid, signal.SIGKILL)
    with pytest.raises(WorkerFailed, match="exit code -9"):
        list(producer.batches())
    producer.close()
    assert stopped(producer)


def _slow_batches(skipped: Any = None) -> Any:
    import time

    time.sleep(30)
    yield [0]


def test_a_small_file_is_imported_in_one_process_a_large_one_with_a_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With a forked worker, from 4 batches and 1,000 lines (measured: faster
    # from there); with a new interpreter, from 5,000 lines.
    def worth(lines: int, batch: int) -> bool:
        path = tmp_path / f"{lines}.jsonl"
        path.write_text("{}\n" * lines)
        return importer._worth_a_worker(path, batch)

    monkeypatch.setattr(worker_pipeline, "START", "auto")
    assert worth(2000, 500) and not worth(1999, 500) and not worth(1500, 500)
    assert worth(1000, 100) and not worth(999, 100) and worth(4000, 1000)
    monkeypatch.setattr(worker_pipeline, "START", "interpreter")
    assert worth(5000, 100) and not worth(4999, 100) and not worth(2000, 500)


def test_the_writer_takes_a_batch_only_while_the_worker_has_more_left_than_it(
        tmp_path: Path) -> None:
    # Four batches, the worker on the first: the writer, done checking,
    # decides the third (the worker's three left take longer than writing
    # four, at the assumed share); then, the worker on the second, it waits
    # (the worker's last but one, and writing three, take as long) — taking
    # the fourth would keep the writer busy while the worker, nearly done,
    # waits with nothing to do.
    spec = importer.WorkerSpec(str(tmp_path / "x.jsonl"), None, CLERK, 500, fixed_now,
                               None, None)
    taker = importer._Taker(spec, [(0, 1)] * 4)
    assert taker.share() == importer.WRITE_SHARE == 0.5
    assert taker.next_to_take(0) == 2
    taker.taken[2] = ("decided", [])  # type: ignore[assignment]
    taker._last = 2
    assert taker.next_to_take(0) is None and taker.next_to_take(1) is None
    # Forty batches: it takes while the worker has more left than it.
    many = importer._Taker(spec, [(0, 1)] * 40)
    assert many.next_to_take(0) == 2 and many.next_to_take(10) == 12
    # Measured: writing as slow as deciding — it takes none.
    many._deciding, many._writing = [1.0, 4], [1.0, 4]
    assert many.share() == 1.0 and many.next_to_take(0) is None
    # Writing a tenth of deciding: it takes even near the end.
    many._writing = [0.1, 4]
    assert many.next_to_take(30) == 32 and many.next_to_take(37) == 39
    assert many.next_to_take(38) is None  # (none left past the margin)
