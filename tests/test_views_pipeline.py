"""A bulk catch-up on SQLite reads and decodes the stored events in decoder
processes while it writes (issue 18): the views come out exactly as written
in one process, every batch still applied once with its tracking record, and
a decoder that dies, a writer that dies, or another process applying events
meanwhile leaves nothing wrong."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from petitions import PetitionService
from petitions.readmodels import pipeline
from petitions.readmodels import projection as projection_module
from petitions.readmodels import queries as queries_module
from petitions.readmodels import sqlite as sqlite_module
from petitions.readmodels.projection import LiteEvent
from tests.test_readmodels import WORKER, file, random_history


def _views(svc: PetitionService) -> tuple[Any, list[Any], list[str]]:
    """Every view row, the case index in ``seq`` order (with the text index
    rows on SQLite), and a text search."""
    rm = svc.read_models
    order = [r["id"] for r in rm.store._all("SELECT id FROM {petition_index} ORDER BY seq")]
    if rm.store.bulk_supported:
        order += [tuple(r.values()) for r in rm.store._all(
            "SELECT rowid, grams FROM petition_bigrams ORDER BY rowid")]
        order += [tuple(r.values()) for r in rm.store._all(
            "SELECT rowid, title, description FROM petition_text ORDER BY rowid")]
    return rm.store.dump(), order, [str(c.id) for c in rm.cases(text="停车", limit=None)]


def _rebuilt(svc: PetitionService, decoders: int, monkeypatch: pytest.MonkeyPatch,
             reads: bool | None = None) -> tuple[Any, list[Any], list[str]]:
    monkeypatch.setenv("PETITIONS_VIEWS_DECODERS", str(decoders))
    if reads is None:
        monkeypatch.delenv("PETITIONS_VIEWS_WRITER_READS", raising=False)
    else:
        monkeypatch.setenv("PETITIONS_VIEWS_WRITER_READS", str(int(reads)))
    rm = svc.read_models
    rm.decoders_cpu = []
    assert rm.rebuild() == svc.recorder.max_notification_id()
    assert not rm.store.bulk_unfinished(svc.audit_log().name)
    return _views(svc)


@pytest.fixture
def history(service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> PetitionService:
    random_history(service, random.Random(42), petitions=12)
    service.read_models.inline = False
    # Small batches: many ranges per decoder.
    monkeypatch.setattr(queries_module, "BULK", 10)
    monkeypatch.setattr(queries_module, "BATCH", 7)
    return service


@pytest.mark.parametrize(("decoders", "reads"), [(1, None), (1, False), (2, None), (3, None),
                                                 (3, False)])
def test_decoders_give_the_views_of_one_process(history: PetitionService, decoders: int,
                                                reads: bool | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With one or more decoders, and the writer reading ranges itself while
    it would wait (or never), the views are those written by one process alone."""
    alone = _rebuilt(history, 0, monkeypatch)
    assert history.read_models.decoders_cpu == []
    assert alone[0]["petition_index"] and alone[0]["case_counts"] and alone[2]
    piped = _rebuilt(history, decoders, monkeypatch, reads)
    sqlite = history.read_models.store.bulk_supported
    # On SQLite the decoders ran (each reported its CPU time); PostgreSQL
    # writes without them.
    assert len(history.read_models.decoders_cpu) == (decoders if sqlite else 0)
    assert piped == alone  # same rows, same seq order, same search order


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
@pytest.mark.parametrize("batch", [25, 50])
def test_a_decoder_folds_the_events_of_cases_filed_in_its_range(
        history: PetitionService, batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder applies a case's later events of the range the case was
    filed in to its row itself, and sends the row in the filing's place (as
    the values of the case index's columns); an event it leaves to the writer
    (a transfer) ends that, and the writer applies it and the case's later
    events of the range, in order.  The views are those of one process."""
    random_history(history, random.Random(8), petitions=12)  # filings mid-way too
    for i in range(4):  # a transfer (read the light way) between folded events
        pid = file(history, at=datetime(2022, 5, 1, tzinfo=UTC) + timedelta(days=i))
        history.accept(pid, actor=WORKER)
        history.assign(pid, actor=WORKER, unit="街道", person="王强")
        history.transfer(pid, actor=WORKER, unit="区住建委", person="李工", reason="专业对口")
        history.reply(pid, actor=WORKER, outcome="support", text="答复")
    monkeypatch.setattr(queries_module, "BATCH", batch)
    alone = _rebuilt(history, 0, monkeypatch)
    real = pipeline.Decoders.batches
    seen: list[tuple[int, int]] = []
    rows: list[str] = []
    spilled: list[str] = []

    def batches(self: Any, lite: Any) -> Any:
        for last, count, events, grams in real(self, lite):
            seen.append((count, len(events)))
            filed = {e[1] for e in events if type(e) is tuple and type(e[5]) is tuple}
            rows.extend(filed)
            for i, e in enumerate(events):
                if type(e) is LiteEvent and e.originator_id in filed and any(
                        type(f) is tuple and f[1] == e.originator_id for f in events[i + 1:]):
                    spilled.append(e.originator_id)
            yield last, count, events, grams

    monkeypatch.setattr(pipeline.Decoders, "batches", batches)
    assert _rebuilt(history, 1, monkeypatch, reads=False) == alone
    assert sum(count for count, _ in seen) == history.recorder.max_notification_id()
    # Rows were sent for the filings, fewer events than stored; a case's
    # transfer and its later events of the range were left to the writer.
    assert len(seen) > 1 and len(rows) >= 16
    assert sum(sent for _, sent in seen) < sum(count for count, _ in seen) * 0.8
    assert spilled


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("decoders", [0, 1])
def test_a_bulk_writing_checkpoints_the_log_less_often(
        history: PetitionService, decoders: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches written in bulk commit with the bulk writing's checkpoint
    threshold (not the connection's own); the connections have their own
    again afterwards, and the views are those of one process."""
    store: Any = history.read_models.store
    alone = _rebuilt(history, 0, monkeypatch)
    monkeypatch.setattr(sqlite_module, "BULK_CHECKPOINT_FRAMES", 777)
    real = projection_module.apply_events
    during: list[int] = []

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        raw = tx.cursor.sqlite_cursor.connection
        during.append(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        real(tx, events, full)

    monkeypatch.setattr(projection_module, "apply_events", watching)
    assert _rebuilt(history, decoders, monkeypatch) == alone
    assert len(during) > 2 and set(during) == {777}
    with store.datastore.get_connection(commit=True) as conn:
        raw = conn._sqlite_conn
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    # A small catch-up after it (not in bulk) commits with the connection's own.
    during.clear()
    file(history, at=datetime(2023, 1, 1, tzinfo=UTC))
    history.read_models.catch_up()
    assert during == [1000]


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_counters_counted_in_the_writing_transaction_sort_with_a_small_cache(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer counts the counters again (a bulk writing without a
    counting process) with a page cache of RECOUNT_CACHE_KIB, SQLite sizing
    each sort's memory by it, and has the views' own cache again after."""
    alone = _rebuilt(history, 0, monkeypatch)
    monkeypatch.setattr(sqlite_module, "RECOUNT_CACHE_KIB", 1234)
    real = projection_module.apply_events
    said: list[str] = []

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        tx.cursor.sqlite_cursor.connection.set_trace_callback(said.append)
        real(tx, events, full)

    monkeypatch.setattr(projection_module, "apply_events", watching)
    assert _rebuilt(history, 0, monkeypatch) == alone
    small = said.index("PRAGMA cache_size=-1234")
    copy = next(i for i, s in enumerate(said)
                if s.startswith("CREATE TEMP TABLE petitions_recount"))
    dropped = said.index("DROP TABLE temp.petitions_recount")
    again = said.index(f"PRAGMA cache_size=-{sqlite_module.VIEW_CACHE_KIB}", small)
    assert small < copy < dropped < again
    assert not any(s.startswith("PRAGMA cache_size") for s in said[small + 1:again])
    store: Any = history.read_models.store
    with store.datastore.get_connection(commit=True) as conn:
        conn._sqlite_conn.set_trace_callback(None)
        cache = conn._sqlite_conn.execute("PRAGMA cache_size").fetchone()[0]
        assert cache == -sqlite_module.VIEW_CACHE_KIB


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_the_views_position_moves_only_forward_without_a_returning_statement(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracking row is written without ``RETURNING`` (SQLite makes a
    temporary table for it); a position at or behind the one recorded is
    still refused, and the refused transaction writes nothing."""
    from eventsourcing.persistence import IntegrityError, Tracking

    store: Any = history.read_models.store
    name = history.audit_log().name
    _rebuilt(history, 0, monkeypatch)
    position = history.recorder.max_notification_id()
    assert store.max_tracking_id(name) == position
    for stale in (position, position - 1):
        with pytest.raises(IntegrityError), store._cursor(commit=True) as cursor:
            cursor.sqlite_cursor.execute("DELETE FROM case_counts")
            store._insert_tracking_in(cursor, Tracking(name, stale))
        assert store.max_tracking_id(name) == position
        assert store._all("SELECT COUNT(*) AS n FROM case_counts")[0]["n"] > 0
    said: list[str] = []

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        tx.cursor.sqlite_cursor.connection.set_trace_callback(said.append)
        real(tx, events, full)

    real = projection_module.apply_events
    monkeypatch.setattr(projection_module, "apply_events", watching)
    file(history, at=datetime(2023, 1, 1, tzinfo=UTC))
    assert history.read_models.catch_up() >= 1
    assert store.max_tracking_id(name) == history.recorder.max_notification_id() > position
    tracked = [s for s in said if "petition_views_tracking" in s and s.startswith("INSERT")]
    assert tracked and not any("RETURNING" in s.upper() for s in tracked)
    with store.datastore.get_connection(commit=True) as conn:
        conn._sqlite_conn.set_trace_callback(None)


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_the_text_tables_keep_no_token_counts_and_older_ones_work_the_same(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The full-text tables are made without a row of token counts per case
    (``columnsize=0``: no ``_docsize`` table); text tables of a store made
    before (with them) are filled and searched the same."""
    store: Any = history.read_models.store
    new = _rebuilt(history, 1, monkeypatch)
    names = {r["name"] for r in store._all("SELECT name FROM sqlite_master")}
    assert "petition_text_docsize" not in names and "petition_bigrams_docsize" not in names
    assert "petition_text_content" in names
    older = {table: sql.replace(", columnsize=0", "")
             for table, sql in sqlite_module._TEXT_TABLES.items()}
    assert older != sqlite_module._TEXT_TABLES
    monkeypatch.setattr(sqlite_module, "_TEXT_TABLES", older)
    for decoders in (0, 1):
        assert _rebuilt(history, decoders, monkeypatch) == new
        names = {r["name"] for r in store._all("SELECT name FROM sqlite_master")}
        assert "petition_text_docsize" in names and "petition_bigrams_docsize" in names


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_finishing_a_bulk_writing_looks_cases_up_only_where_text_rows_are_missing(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the batches wrote every case's text rows (beside decoders),
    ``finish_bulk`` finds none missing by counting (no case looked up in the
    text tables); where some are missing (no decoders; rows taken out), it
    fills exactly those, and the views are those of one process."""
    from petitions.readmodels.store import bulk_marker

    store: Any = history.read_models.store
    name = history.audit_log().name
    said: list[str] = []
    real_cursor = sqlite_module.SQLiteViewStore._cursor
    real_finish = sqlite_module.SQLiteViewStore.finish_bulk
    finishing = [False]

    @contextlib.contextmanager
    def cursor(self: Any, *, commit: bool) -> Any:
        with real_cursor(self, commit=commit) as found:
            if commit and finishing[0]:
                found.sqlite_cursor.connection.set_trace_callback(said.append)
            try:
                yield found
            finally:
                if commit and finishing[0]:
                    found.sqlite_cursor.connection.set_trace_callback(None)

    def finish_bulk(self: Any, *args: Any, **kwargs: Any) -> None:
        finishing[0] = True
        try:
            real_finish(self, *args, **kwargs)
        finally:
            finishing[0] = False

    monkeypatch.setattr(sqlite_module.SQLiteViewStore, "_cursor", cursor)
    monkeypatch.setattr(sqlite_module.SQLiteViewStore, "finish_bulk", finish_bulk)
    alone = _rebuilt(history, 0, monkeypatch)  # the text rows left to finish_bulk
    looked_up = [s for s in said if "NOT IN" in s]
    assert len(looked_up) >= 2  # both text tables filled by looking cases up
    said.clear()
    assert _rebuilt(history, 1, monkeypatch) == alone
    assert any("petition_views_tracking" in s for s in said)  # finish_bulk ran
    assert not [s for s in said if "NOT IN" in s]
    # Some cases' text rows missing (a bulk writing that stopped part-way):
    # those, and only those, filled again.
    seqs = [r["seq"] for r in store._all("SELECT seq FROM {petition_index} ORDER BY seq")]
    gone = seqs[1::3]
    with store._cursor(commit=True) as c:
        raw = c.sqlite_cursor
        for table in ("petition_text", "petition_bigrams"):
            raw.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(s,) for s in gone])
        raw.execute("INSERT INTO petition_views_tracking VALUES (?, 0)", (bulk_marker(name),))
    assert store.bulk_unfinished(name)
    said.clear()
    store.finish_bulk(name)
    assert len([s for s in said if "NOT IN" in s]) >= 2
    assert not store.bulk_unfinished(name)
    assert _views(history) == alone


def test_a_decoder_that_dies_leaves_the_rest_to_the_writer(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = _rebuilt(history, 0, monkeypatch)
    real = pipeline._decode
    sent: list[int] = []

    def dying(db_name: str, table: str, start: int, end: int, size: int, claim: Any,
              send: Any) -> None:
        # Sends its first range, then dies as a killed process would.
        class Once:
            def send_bytes(self, data: bytes) -> None:
                if sent:
                    os._exit(9)
                sent.append(1)
                send.send_bytes(data)

            def close(self) -> None:
                send.close()

        real(db_name, table, start, end, size, claim, Once())

    monkeypatch.setattr(pipeline, "_decode", dying)
    assert _rebuilt(history, 1, monkeypatch) == alone
    assert history.read_models.decoders_cpu == []  # it never finished


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
def test_another_process_applying_first_stops_the_pipeline_exactly_once(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    assert history.read_models.store.bulk_supported
    alone = _rebuilt(history, 0, monkeypatch)
    rm = history.read_models
    projection = rm.projection
    real = type(projection).apply_after
    calls: list[bool] = []

    def racing(self: Any, events: Any, tracking: Any, position: int,
               **kwargs: Any) -> bool:
        if len(calls) == 2:  # another process catches up the views meanwhile
            other = PetitionService.open(history.url)
            try:
                monkeypatch.setattr(type(projection), "apply_after", real)
                other.read_models.catch_up()
                monkeypatch.setattr(type(projection), "apply_after", racing)
            finally:
                other.shutdown()
        applied = real(self, events, tracking, position, **kwargs)
        calls.append(applied)
        return applied

    monkeypatch.setattr(type(projection), "apply_after", racing)
    monkeypatch.setenv("PETITIONS_VIEWS_DECODERS", "2")
    mine = rm.rebuild()
    # Two batches of seven applied here, then the other process's catch-up
    # applied the rest (this one's third batch was refused, and it stopped).
    assert calls[:3] == [True, True, False] and mine == 14
    assert rm.position() == history.recorder.max_notification_id()
    assert not rm.store.bulk_unfinished(history.audit_log().name)
    assert _views(history) == alone


def test_a_writer_killed_mid_way_ends_its_decoders_and_another_process_finishes(
        tmp_path: Path) -> None:
    url = str(tmp_path / "killed.sqlite")
    svc = PetitionService.open(url)
    try:
        random_history(svc, random.Random(7), petitions=12)
        svc.read_models.inline = False
        svc.read_models.rebuild()
        kept = _views(svc)
    finally:
        svc.shutdown()
    script = textwrap.dedent(f"""
        import os, sys, time
        from petitions import PetitionService
        from petitions.readmodels import pipeline, projection, queries
        fast_item = pipeline.fast_item
        def slow(row):  # decoders still at work when the writer is killed
            time.sleep(0.01)
            return fast_item(row)
        pipeline.fast_item = slow
        queries.BULK, queries.BATCH = 10, 5
        os.environ["PETITIONS_VIEWS_DECODERS"] = "2"
        svc = PetitionService.open({url!r})
        svc.read_models.inline = False
        real = projection.ViewProjection.apply_after
        applied = []
        def dying(self, *args, **kwargs):
            if len(applied) == 3:
                import multiprocessing
                print(" ".join(str(p.pid) for p in multiprocessing.active_children()),
                      flush=True)
                os._exit(9)  # killed with three batches committed
            applied.append(real(self, *args, **kwargs))
            return applied[-1]
        projection.ViewProjection.apply_after = dying
        svc.read_models.rebuild()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert done.returncode == 9, done.stderr
    children = [int(p) for p in done.stdout.split()]
    assert len(children) == 3  # two decoders, and the counting process waiting
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.05)
    assert not any(_alive(p) for p in children)  # the decoders (and counting) ended with it
    svc = PetitionService.open(url)
    try:
        rm = svc.read_models
        rm.inline = False
        # Three batches of five committed, each with its tracking record, and
        # the bulk writing marked unfinished.
        assert rm.position() == 15
        assert rm.store.bulk_unfinished(svc.audit_log().name)
        rm.catch_up()
        assert _views(svc) == kept
    finally:
        svc.shutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by init) counts as ended.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _who_read(svc: PetitionService, monkeypatch: pytest.MonkeyPatch, reads: bool | None,
              slow_decoder: float = 0.0, slow_writer: float = 0.0) -> list[int]:
    """Who read each range of a rebuild with one decoder (``-1``: the
    writer), the decoder taking ``slow_decoder`` seconds longer a range and
    the writer ``slow_writer`` seconds longer to write one; the views are
    those of one process."""
    alone = _rebuilt(svc, 0, monkeypatch)
    parent = os.getpid()
    real_fast, real_apply = pipeline.fast_item, type(svc.read_models.projection).apply_after
    last: list[int] = [0, 1]

    def fast_item(row: Any) -> Any:
        start, size = last
        if os.getpid() != parent and (row[0] - start) % size == 0:  # the decoder, once a range
            time.sleep(slow_decoder)
        return real_fast(row)

    def apply_after(self: Any, *args: Any, **kwargs: Any) -> bool:
        time.sleep(slow_writer)
        return bool(real_apply(self, *args, **kwargs))

    real_init = pipeline.Decoders.__init__
    seen: list[Any] = []

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        last[:] = [args[2], args[4]]  # where the ranges start, and their size
        real_init(self, *args, **kwargs)
        seen.append(self)

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "fast_item", fast_item)
        patched.setattr(type(svc.read_models.projection), "apply_after", apply_after)
        patched.setattr(pipeline.Decoders, "__init__", init)
        assert _rebuilt(svc, 1, monkeypatch, reads) == alone
    assert len(seen) == 1 and len(seen[0].ranges) > 5
    return [k for k, _ in seen[0].ranges]


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
def test_the_writer_reads_ranges_itself_only_while_it_would_wait(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranges are claimed by whoever is free: with a decoder much slower
    than the writer, the writer reads most ranges itself; with a writer much
    slower than the decoder, the decoder reads all but perhaps the first two; the
    writer told not to read reads none.  The views are those of one process."""
    slow = _who_read(history, monkeypatch, None, slow_decoder=0.2)
    assert slow.count(-1) > len(slow) // 2 and 0 in slow
    busy = _who_read(history, monkeypatch, None, slow_writer=0.1)
    half = len(busy) // 2  # (at the start the writer may not know the decoder's pace)
    assert busy[half:].count(-1) == 0 and busy.count(0) >= len(busy) - 2
    never = _who_read(history, monkeypatch, False, slow_decoder=0.05)
    assert never.count(-1) == 0


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
def test_the_counters_are_counted_in_a_process_of_their_own_at_the_position_written(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the last batch, another process counts the counters while the
    writer builds the indexes; the writer takes them only if the views still
    stand where they were counted, else counts them itself."""
    assert history.read_models.store.bulk_supported
    alone = _rebuilt(history, 0, monkeypatch)
    store_class = type(history.read_models.store)
    real = store_class.finish_bulk
    given: list[Any] = []

    def watching(self: Any, name: str, counted: Any = None) -> None:
        given.append(counted)
        real(self, name, counted)

    monkeypatch.setattr(store_class, "finish_bulk", watching)
    assert _rebuilt(history, 1, monkeypatch) == alone
    position = history.recorder.max_notification_id()
    assert len(given) == 1 and given[0] is not None and given[0][0] == position
    assert sorted(given[0][1]["case_counts"]) == sorted(
        r for r in alone[0]["case_counts"])
    # Counted at another position (another process wrote meanwhile): not taken.
    stale = (position - 1, {table: [] for table in given[0][1]})

    def stale_count(self: Any, name: str, counted: Any = None) -> None:
        real(self, name, stale if counted is not None else None)

    monkeypatch.setattr(store_class, "finish_bulk", stale_count)
    assert _rebuilt(history, 1, monkeypatch) == alone


def test_a_process_with_other_threads_decodes_in_process(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server's catch-up (other threads running) forks no decoder: a child
    could inherit a lock another thread holds.  The views are the same."""
    import threading

    alone = _rebuilt(history, 0, monkeypatch)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _rebuilt(history, 2, monkeypatch) == alone
        assert history.read_models.decoders_cpu == []
    finally:
        stop.set()
        other.join()
    monkeypatch.setenv("PETITIONS_VIEWS_DECODERS", "two")  # not a number: the default
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert pipeline.decoders_wanted() == 1


def test_by_default_one_decoder_when_a_core_is_spare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PETITIONS_VIEWS_DECODERS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert pipeline.decoders_wanted() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (2.7, 1.0, 1.0))  # every core busy
    assert pipeline.decoders_wanted() == 0
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert pipeline.decoders_wanted() == 0
    monkeypatch.setenv("PETITIONS_VIEWS_DECODERS", "2")  # as asked, whatever the load
    assert pipeline.decoders_wanted() == 2


def test_a_huge_decoder_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hostile or mistyped settings never fork without end.
    monkeypatch.setenv("PETITIONS_VIEWS_DECODERS", "9" * 40)
    assert pipeline.decoders_wanted() == pipeline.MAX_DECODERS
    monkeypatch.setenv("PETITIONS_VIEWS_WRITER_READS", "0")
    assert not pipeline.writer_reads()
    monkeypatch.setenv("PETITIONS_VIEWS_WRITER_READS", "1")
    assert pipeline.writer_reads()


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_the_counting_process_lets_go_of_the_views_before_it_groups(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counting process's read transaction ends once the columns are
    copied (its groupings read only the temporary copy), so that it does not
    keep the writer's checkpoint from copying the pages written meanwhile;
    the counters and their position are those of the snapshot it copied."""
    import sqlite3

    alone = _rebuilt(history, 0, monkeypatch)
    name = history.audit_log().name
    db_name = history.recorder.datastore.pool.db_name
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None)
    said: list[str] = []
    conn.set_trace_callback(said.append)
    try:
        position, rows = sqlite_module.recount(conn, name)
        assert not conn.in_transaction
        assert conn.execute("SELECT COUNT(*) FROM temp.sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()
    assert position == history.recorder.max_notification_id()
    assert sorted(rows["case_counts"]) == sorted(alone[0]["case_counts"])
    ended = said.index("COMMIT")
    grouping = [i for i, s in enumerate(said) if "GROUP BY" in s]
    copying = [i for i, s in enumerate(said) if "CREATE TEMP TABLE" in s]
    assert copying and grouping and copying[0] < ended < grouping[0]


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
def test_a_decoder_decodes_ahead_while_its_last_range_is_sent(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder's own thread sends its ranges: while the writer has not
    taken one in, the decoder goes on reading and decoding the next ones, at
    most ``AHEAD`` of them waiting (memory stays bounded); they arrive in
    order, then the decoder's CPU seconds."""
    import multiprocessing
    import pickle
    import threading

    db_name = history.recorder.datastore.pool.db_name
    table = history.recorder.events_table_name
    end = history.recorder.max_notification_id()
    size = 3
    assert end > size * (pipeline.AHEAD + 4)
    claim = multiprocessing.get_context("fork").Value("q", 0)
    taken = threading.Event()  # the writer takes the first range in
    sent: list[Any] = []

    class Pipe:
        def send_bytes(self, data: bytes) -> None:
            taken.wait(10)
            sent.append(pickle.loads(data))

        def close(self) -> None:
            pass

    switching = sys.getswitchinterval()
    decoder = threading.Thread(target=pipeline._decode,
                               args=(db_name, table, 0, end, size, claim, Pipe()))
    try:
        decoder.start()
        deadline = time.monotonic() + 10
        while claim.value < pipeline.AHEAD + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        # Range 0 being sent, ranges 1 and 2 waiting, range 3 decoded: no more.
        assert claim.value == pipeline.AHEAD + 2 and not sent
    finally:
        taken.set()
        decoder.join(30)
        sys.setswitchinterval(switching)
    assert not decoder.is_alive()
    assert [m[0] for m in sent[:-1]] == list(range(len(sent) - 1))
    assert sent[-1][0] == "cpu" and sum(m[2] for m in sent[:-1]) == end


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # decoders: SQLite only
def test_the_writer_decodes_the_first_range_from_the_rows_it_has_read(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catch-up has read the first batch's stored rows already: the
    writer decodes range 0 from them, nobody reads it again (the decoders
    start at range 1).  The views are those of one process."""
    alone = _rebuilt(history, 0, monkeypatch)
    real_read, real_init = pipeline.Decoders._read, pipeline.Decoders.__init__
    read: list[int] = []
    seen: list[Any] = []

    def reading(self: Any, own: Any, j: int, lite: Any) -> Any:
        read.append(j)
        return real_read(self, own, j, lite)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        seen.append(self)

    monkeypatch.setattr(pipeline.Decoders, "_read", reading)
    monkeypatch.setattr(pipeline.Decoders, "__init__", init)
    assert _rebuilt(history, 1, monkeypatch) == alone
    assert len(seen) == 1 and len(seen[0].ranges) > 2
    assert seen[0].ranges[0] == (-1, 0.0) and 0 not in read


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_the_counting_process_copies_the_log_into_the_database_file(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """While it counts, the counting process copies the write-ahead log into
    the database file (a passive checkpoint), so that the writer's checkpoint
    after the indexes has only those left to copy."""
    import shutil
    import sqlite3

    db_name = history.recorder.datastore.pool.db_name
    writer = sqlite3.connect(db_name, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TABLE petitions_logged (x)")  # in the log only

        def in_file() -> bool:
            copy = tmp_path / "file-only.sqlite"  # the database file, without its log
            shutil.copyfile(db_name, copy)
            conn = sqlite3.connect(copy)
            try:
                return bool(conn.execute("SELECT 1 FROM sqlite_master "
                                         "WHERE name = 'petitions_logged'").fetchall())
            finally:
                conn.close()

        assert not in_file()

        class Pipe:
            def send_bytes(self, data: bytes) -> None:
                self.data = data

            def close(self) -> None:
                pass

        pipe = Pipe()
        pipeline._count(db_name, history.audit_log().name, pipe)
        assert pipe.data  # the counters were sent
        assert in_file()
        writer.execute("DROP TABLE petitions_logged")
    finally:
        writer.close()


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_the_counting_process_is_forked_before_the_batches_and_counts_when_told(
        history: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counting process is forked before the decoders (it holds none of
    their pipes) and before any batch is written, and counts once the last
    batch is written (at the position written); told nothing, it ends by
    itself when the writer lets go of it."""
    alone = _rebuilt(history, 0, monkeypatch)
    said: list[str] = []
    real_count, real_decoders = pipeline.Counting.__init__, pipeline.Decoders.__init__
    real_start = pipeline.Counting.start
    real_apply = type(history.read_models.projection).apply_after

    def count(self: Any, *args: Any) -> None:
        said.append("fork counting")
        real_count(self, *args)

    def decoders(self: Any, *args: Any, **kwargs: Any) -> None:
        said.append("fork decoders")
        real_decoders(self, *args, **kwargs)

    def start(self: Any) -> None:
        said.append("count")
        real_start(self)

    def apply_after(self: Any, *args: Any, **kwargs: Any) -> bool:
        said.append("batch")
        return bool(real_apply(self, *args, **kwargs))

    with monkeypatch.context() as patched:
        patched.setattr(pipeline.Counting, "__init__", count)
        patched.setattr(pipeline.Counting, "start", start)
        patched.setattr(pipeline.Decoders, "__init__", decoders)
        patched.setattr(type(history.read_models.projection), "apply_after", apply_after)
        assert _rebuilt(history, 1, monkeypatch) == alone
    assert said[:3] == ["fork counting", "fork decoders", "batch"]
    assert said[-1] == "count" and said.count("count") == 1 and said.count("batch") > 2
    idle = pipeline.Counting(history.recorder.datastore.pool.db_name, history.audit_log().name)
    with idle:
        idle._go.close()  # the writer lets go without a word
        idle._process.join(10)
        assert idle._process.exitcode == 0
        assert idle.result() is None
