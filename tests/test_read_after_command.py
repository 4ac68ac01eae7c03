"""Reading after every command (issue 18): the small catch-up a query makes
applies each event exactly once and shows the command just made, whichever
process made it; SQLite connections keep their prepared statements without
losing the events' durability."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.errors import ConcurrentUpdate
from petitions.persistence import env_for_url

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")


def file(svc: PetitionService, i: int) -> UUID:
    return svc.file(actor=CLERK,
                    petitioner=Petitioner(kind="resident", name=f"居民{i}",
                                          phone=f"138{i:08d}"),
                    title="小区停车难", description="吉安园茅溪小区业主反映车位不足",
                    category="property_management", channel="door_to_door",
                    location=Location(street="寸滩街道", community="保税商厦社区", grid="3"))


def lifecycle(svc: PetitionService, pid: UUID) -> list[Any]:
    return [
        lambda: svc.accept(pid, actor=WORKER),
        lambda: svc.assign(pid, actor=WORKER, unit="寸滩街道", person="网格员张"),
        lambda: svc.reply(pid, actor=WORKER, outcome="support", text="已增设车位"),
        lambda: svc.resolve(pid, actor=WORKER),
    ]


def test_reads_after_each_command_in_two_processes(backend_url: str) -> None:
    """Commands alternate between two services on one store, and after each
    command both read the case index: each read shows the command just made
    (read-your-writes, also for the other service's command), a read with
    nothing new applies nothing, and the views equal a full rebuild."""
    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        pids = [file(a, 0), file(b, 1)]
        for pid in pids:
            for svc in (a, b):
                found = svc.read_models.summary(str(pid))
                assert found is not None and found.version == a.get(pid).version
        for step_a, step_b in zip(lifecycle(a, pids[0]), lifecycle(b, pids[1]), strict=True):
            for step, pid in ((step_a, pids[0]), (step_b, pids[1])):
                view = step()
                for svc in (b, a):
                    found = svc.read_models.summary(str(pid))
                    assert found is not None
                    assert (found.version, found.stage) == (view.version, view.stage)
                # Both are up to date: another catch-up applies nothing.
                assert a.read_models.catch_up() == 0
                assert b.read_models.catch_up() == 0
        assert a.read_models.position() == a.recorder.max_notification_id()
        dump = a.read_models.store.dump()
        a.read_models.rebuild()
        assert a.read_models.store.dump() == dump
        assert b.read_models.count() == 2
    finally:
        a.shutdown()
        b.shutdown()


def test_a_batch_overtaken_by_another_process_is_not_applied(backend_url: str,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Between reading the views' position with the new events and writing
    them, another process applies them: the batch read before is dropped
    (nothing is applied twice) and the catch-up ends where the other left."""
    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        a.read_models.inline = b.read_models.inline = False
        pid = file(a, 0)
        a.accept(pid, actor=WORKER)
        real = type(a.read_models)._pending
        overtaken = {"n": 0}

        def pending_then_overtaken(self: Any) -> Any:
            found = real(self)
            if self is a.read_models and not overtaken["n"]:
                overtaken["n"] = b.read_models.catch_up()
            return found

        monkeypatch.setattr(type(a.read_models), "_pending", pending_then_overtaken)
        assert a.read_models.catch_up() == 0  # b applied them first
        assert overtaken["n"] > 0
        assert a.read_models.position() == a.recorder.max_notification_id()
        summary = a.read_models.store.get_case(str(pid))
        assert summary is not None and summary["version"] == a.get(pid).version
        assert a.read_models.count() == 1
        dump = a.read_models.store.dump()
        a.read_models.rebuild()
        assert a.read_models.store.dump() == dump
    finally:
        a.shutdown()
        b.shutdown()


def test_sqlite_connections_keep_statements_and_the_events_stay_durable(
        tmp_path: Path) -> None:
    """SQLite stores use the factory whose connections keep their prepared
    statements; the views' transactions relax ``synchronous`` only for
    themselves: every pooled connection is back at full durability after."""
    from petitions.recorders import STATEMENT_CACHE, StatementCachingPool

    url = str(tmp_path / "petitions.sqlite")
    assert env_for_url(url)["PERSISTENCE_MODULE"] == "petitions.recorders:SQLiteFactory"
    svc = PetitionService.open(url)
    try:
        datastore: Any = svc.recorder.datastore
        assert isinstance(datastore.pool, StatementCachingPool)
        assert STATEMENT_CACHE > 1
        pid = file(svc, 0)
        for step in lifecycle(svc, pid):
            step()
            assert svc.read_models.summary(str(pid)) is not None
        # Hold several connections at once, so that the pool hands out each.
        held = []
        try:
            for _ in range(datastore.pool.pool_size):
                held.append(datastore.pool.get_connection(is_writer=False))
            for conn in held:
                raw = conn._sqlite_conn
                assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
                assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            for conn in held:
                datastore.pool.put_connection(conn)
    finally:
        svc.shutdown()


def test_a_read_shows_another_process_command_and_looks_up_callers_when_asked(
        backend_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``get`` after a command, in the process that made it and in another:
    each shows the command just made (read-your-writes); the caller index is
    read only when the view's related cases are first read, and the personal
    data only when its petitioner is — after an erasure made meanwhile by the
    other process, as erased."""
    from petitions.sidetables import SideTables

    admin = Actor("admin", "administrator")
    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        first, second = file(a, 0), file(a, 0)  # one caller, two cases
        assert a.get(first).version == b.get(first).version
        looked_up: list[str] = []
        related = SideTables.related

        def counting(self: SideTables, petition_id: str) -> list[str]:
            looked_up.append(petition_id)
            return related(self, petition_id)

        monkeypatch.setattr(SideTables, "related", counting)
        for step in lifecycle(a, first):
            view = step()
            for svc in (a, b):
                shown = svc.get(first)
                assert (shown.version, shown.stage) == (view.version, view.stage)
        view = b.accept(second, actor=WORKER)  # the other process's command
        shown = a.get(second)
        assert (shown.version, shown.stage) == (view.version, view.stage)
        assert looked_up == []
        assert [r.id for r in shown.related] == [first]
        assert [r.id for r in shown.related] == [first] and looked_up == [str(second)]
        assert shown.to_dict()["related"][0]["id"] == str(first)
        assert looked_up == [str(second)]  # looked up once
        petitioner_id = a.get(second).petitioner.id
        assert petitioner_id and a.get(second).petitioner.name == "居民0"
        unread = a.get(second)
        b.privacy.erase(petitioner_id, actor=admin, legal_basis="本人请求")
        assert unread.petitioner.erased and unread.petitioner.name is None
    finally:
        a.shutdown()
        b.shutdown()


def test_an_absent_aggregate_is_found_once_another_process_stores_it(
        backend_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``find`` remembers an id it found absent and looks it up again with one
    query — and finds it as soon as another process has stored it."""
    from petitions.domain.register import REGISTER_ID

    admin = Actor("admin", "administrator")
    data = Path(__file__).resolve().parent.parent / "petitions" / "data" / \
        "jiangbei_register.toml"
    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        store: Any = a._store
        assert a.register() is None
        queries: list[Any] = []
        select = type(store.recorder).select_events

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            queries.append(kwargs.get("originator_id", args[0] if args else None))
            return select(self, *args, **kwargs)

        monkeypatch.setattr(type(store.recorder), "select_events", counting)
        checks: list[Any] = []
        has_events = type(store)._has_events

        def checking(self: Any, aggregate_id: Any) -> bool:
            checks.append(aggregate_id)
            return has_events(self, aggregate_id)

        monkeypatch.setattr(type(store), "_has_events", checking)
        assert store.find(REGISTER_ID) is None and checks == [REGISTER_ID]
        # SQLite: one statement of its own (see test_unit_lookup.py); else select_events.
        assert queries == ([] if backend_url.endswith(".sqlite") else [REGISTER_ID])
        b.load_register(data, actor=admin)
        found = a.register()
        assert found is not None
        pid = file(a, 1)
        a.accept(pid, actor=WORKER)
        code = next(u for u in found.units if u.name_zh == "寸滩街道").code
        assert a.assign(pid, actor=WORKER, unit=code, person="网格员张").lead_unit == "寸滩街道"
    finally:
        a.shutdown()
        b.shutdown()


def test_a_command_on_a_state_another_process_changed_is_decided_again(
        backend_url: str) -> None:
    """A process decides a command on the state it saved last without reading
    the store first; when another process wrote meanwhile, its save is refused
    and the command is decided again on the store's state — whether the old
    state allowed it (``note``) or refused it (``reply`` before ``assign``), and
    with ``expected_version`` the caller saw in the other process.  Nothing is
    lost, nothing applied twice, and the hash chains verify."""
    from petitions.audit.verify import verify_store

    a = PetitionService.open(backend_url)
    b = PetitionService.open(backend_url)
    try:
        pid = file(a, 0)
        assert a.accept(pid, actor=WORKER).version == 4
        assert b.note(pid, actor=WORKER, text="另一进程的备注").version == 5
        noted = a.note(pid, actor=WORKER, text="本进程的备注")  # decided on v4 first
        assert noted.version == 6 and noted.notes == 2
        assert b.assign(pid, actor=WORKER, unit="寸滩街道", person="网格员张").version == 8
        # On the state a saved last (v6, dispatch) a reply is refused; on the
        # store's (v8, handling) it is allowed.
        replied = a.reply(pid, actor=WORKER, outcome="support", text="已增设车位",
                          expected_version=8)
        assert (replied.version, replied.stage) == (9, b.get(pid).stage)
        assert replied.lead_unit == "寸滩街道" and b.get(pid).version == 9
        with pytest.raises(ConcurrentUpdate):
            b.resolve(pid, actor=WORKER, expected_version=8)
        notes = [e.text for e in a.petition_events(pid) if type(e).__name__ == "NoteAdded"]
        assert notes == ["另一进程的备注", "本进程的备注"]
        assert [e.originator_version for e in a.petition_events(pid)] == list(range(1, 10))
        assert verify_store(a).ok
    finally:
        a.shutdown()
        b.shutdown()
