"""The read models at scale (issue 18): counters kept by the projection answer
``count`` and ``stats`` exactly as the case index does, two-character search
reads the bigram index and finds what ``LIKE`` finds, and the light reading of
stored rows applies what eventsourcing's decoding applies."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest

from petitions import PetitionService
from petitions.readmodels import projection as projection_module
from petitions.readmodels.store import FILTER_COLUMNS
from tests.test_readmodels import CLERK, STREETS, file, handle_to_review, random_history


def scan_count(svc: PetitionService, **filters: str) -> int:
    """The count read from the case index rows, bypassing the counters."""
    store = svc.read_models.store
    params: dict[str, Any] = {}
    where = store._where(filters, None, params)
    rows = store._all(f"SELECT COUNT(*) AS n FROM {{petition_index}}{where}", params)
    return int(rows[0]["n"])


def test_counters_agree_with_the_case_index(service: PetitionService) -> None:
    random_history(service, random.Random(18), petitions=10)
    rm = service.read_models
    rm.catch_up()
    cases = rm.cases(limit=None)
    assert cases
    checked = 0
    for street in [*STREETS, "无此街道"]:
        for status in (None, "open", "closed"):
            filters = {"street": street} if status is None else {"street": street,
                                                                 "status": status}
            assert rm.count(**filters) == scan_count(service, **filters)
            checked += 1
    for case in cases:
        for key in ("stage", "grid", "unit", "category", "outcome"):
            value = getattr(case, {"unit": "lead_unit"}.get(key, key), None)
            if value:
                assert rm.count(**{key: value}) == scan_count(service, **{key: value})
                checked += 1
    assert rm.count() == len(cases) == scan_count(service)
    assert checked > 30
    assert set(FILTER_COLUMNS) >= {"street", "status"}


@pytest.mark.parametrize("by", ["street", "grid", "unit", "month", "year", "category"])
def test_counted_rates_agree_with_a_scan(service: PetitionService, by: str) -> None:
    random_history(service, random.Random(1818), petitions=10)
    for street, contacted in ((STREETS[0], True), (STREETS[1], False)):
        pid = file(service, street=street)
        handle_to_review(service, pid)
        service.callback(pid, actor=CLERK, contacted=contacted, resolved=contacted,
                         rating="satisfied" if contacted else None)
    counted = service.read_models.stats(by)
    # A date range reads the case index (covering index) instead of the counters.
    scanned = service.read_models.stats(by, date_from="1900-01-01", date_to="2999-12-31")
    assert counted == scanned
    assert sum(g.valid for g in counted) >= 2


def test_two_character_search_uses_the_bigram_index(service: PetitionService) -> None:
    file(service, title="路灯不亮", street=STREETS[0])
    file(service, title="小区停车难", street=STREETS[1])
    file(service, title="夜里路口的灯坏了", street=STREETS[0])  # 路 and 灯 apart: no match
    file(service, title="LED 路灯", street=STREETS[1])
    found = {c.title for c in service.search("路灯")}
    assert found == {"路灯不亮", "LED 路灯"}
    assert len(service.search("停车")) == 4  # the description: 乱停车严重
    assert {c.title for c in service.search("不亮")} == {"路灯不亮"}
    assert {c.title for c in service.search("le")} == {"LED 路灯"}  # case folded
    assert service.read_models.count(text="路灯") == 2
    store = service.read_models.store
    params: dict[str, Any] = {}
    condition = store._text_condition("路灯", params)
    if "sqlite" in type(store).__module__:
        assert "petition_bigrams" in condition
    # One character, or a pair with punctuation, still matches by LIKE.
    assert {c.title for c in service.search("灯")} == {"路灯不亮", "夜里路口的灯坏了", "LED 路灯"}
    assert {c.title for c in service.search("D ")} == {"LED 路灯"}


def test_light_reading_applies_what_full_decoding_applies(service: PetitionService) -> None:
    """The views built from stored rows equal those built from eventsourcing's
    domain events (the projection's process_batch, as the PostgreSQL runner uses)."""
    from eventsourcing.persistence import Tracking

    random_history(service, random.Random(99), petitions=8)
    rm = service.read_models
    rm.rebuild()
    light = rm.store.dump()
    rm.store.reset(service.audit_log().name)
    notes = service.recorder.select_notifications(start=0, limit=100_000,
                                                  inclusive_of_start=False)
    items = [(service.mapper.to_domain_event(n), Tracking(service.audit_log().name, n.id))
             for n in notes]
    rm.projection.process_batch(items)
    assert rm.store.dump() == light
    assert rm.position() == service.recorder.max_notification_id()


def test_a_light_event_reads_each_field_as_json_does() -> None:
    """Fields read by key from the stored bytes equal those of a full parse,
    also when a key occurs inside a string, inside a nested value or twice,
    when a string has escapes, and when a time is not in UTC."""
    import json

    from petitions.domain.petition import Petition
    from petitions.readmodels.projection import LiteEvent, NeedsFullDecode, iso, lite_event

    def stored(**fields: Any) -> bytes:
        # As eventsourcing stores the current class version: the version last.
        fields["class_version"] = Petition.Transferred.class_version
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()

    when = {"_type_": "datetime_iso", "_data_": "2024-05-06T07:08:09.000010+00:00"}
    local = {"_type_": "datetime_iso", "_data_": "2024-05-06T15:08:09+08:00"}
    actor = {"_type_": "attrs:Actor", "_data_": {"id": "a", "role": "caseworker", "unit": "x"}}
    topic = "petitions.domain.petition:Petition.Transferred"
    oid = "0123456789abcdef0123456789abcdef"
    cases = [
        stored(actor=actor, occurred_at=when, unit="街道", person="张", reason="r", stage="s"),
        # "unit" also inside the actor (nested) and inside a string: read by a full parse.
        stored(actor=actor, occurred_at=local, unit='引号"unit":"假"', person='反斜杠\\',
               reason='"person":"x"', stage="s"),
        stored(occurred_at=when, actor=actor, stage="s", reason=",\"unit\":1", person="李",
               unit="第二"),
    ]
    for state in cases:
        event = lite_event((1, oid, 3, topic, state), topic, state)
        assert isinstance(event, LiteEvent) and event.cls is Petition.Transferred
        parsed = json.loads(state)
        assert (event.unit, event.person, event.reason, event.stage) == (
            parsed["unit"], parsed["person"], parsed["reason"], parsed["stage"])
        assert event.iso("occurred_at") == iso(datetime.fromisoformat(
            parsed["occurred_at"]["_data_"]))
        assert event.get("no_such_field") is None
        assert event.originator_id == "01234567-89ab-cdef-0123-456789abcdef"
    with pytest.raises(NeedsFullDecode):  # not JSON (e.g. encrypted): eventsourcing decodes it
        lite_event((1, oid, 3, topic, b"\x00garbage"), topic, b"\x00garbage")
    # An event stored under an older class version is upcast by eventsourcing.
    old = stored(actor=actor, occurred_at=when, unit="u", person="p", note="", stage="s")
    assigned = "petitions.domain.petition:Petition.Assigned"
    with pytest.raises(NeedsFullDecode):
        lite_event((1, oid, 3, assigned, old), assigned, old)


def test_a_catch_up_far_behind_defers_the_indexes(service: PetitionService,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """From ``BULK`` events behind, the case index's secondary indexes are
    dropped and built again at the end: the views equal those of a catch-up
    that kept them, the same indexes exist afterwards (also after a failure
    inside), and a process that dies inside leaves them to the next opening."""
    from petitions.readmodels import queries as queries_module

    random_history(service, random.Random(5), petitions=6)
    rm = service.read_models
    rm.inline = False
    rm.rebuild()
    kept = rm.store.dump()
    sqlite = "sqlite" in type(rm.store).__module__

    def indexes() -> set[str]:
        if not sqlite:
            return set()
        return {r["name"] for r in rm.store._all(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
            "'petition_index' AND sql IS NOT NULL")}

    before = indexes()
    assert not sqlite or {"petition_index_street_queue", "petition_index_next_due"} <= before
    monkeypatch.setattr(queries_module, "BULK", 10)
    monkeypatch.setattr(queries_module, "BATCH", 7)
    seen: list[set[str]] = []
    real = projection_module.apply_events

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        seen.append(indexes())
        real(tx, events, full)

    monkeypatch.setattr(projection_module, "apply_events", watching)
    assert rm.rebuild() == service.recorder.max_notification_id()
    assert rm.store.dump() == kept
    assert indexes() == before
    assert len(seen) > 2 and (not sqlite or seen[0] == set())

    def failing(tx: Any, events: Any, full: Any = None) -> None:
        if len(seen) > 1:
            raise RuntimeError("power cut")
        watching(tx, events, full)

    seen.clear()
    monkeypatch.setattr(projection_module, "apply_events", failing)
    with pytest.raises(RuntimeError):
        rm.rebuild()
    assert indexes() == before
    monkeypatch.setattr(projection_module, "apply_events", real)
    rm.catch_up()
    assert rm.store.dump() == kept
    if sqlite:  # a process killed inside the block: the next opening builds them
        with rm.store._cursor(commit=True) as cursor:
            for name in before:
                cursor.execute(f'DROP INDEX "{name}"')
        assert indexes() == set()
        again = PetitionService.open(service.url)
        try:
            assert {r["name"] for r in again.read_models.store._all(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                "'petition_index' AND sql IS NOT NULL")} == before
            assert again.read_models.store.dump() == kept
        finally:
            again.shutdown()
def test_text_search_is_in_recording_order_and_paged(service: PetitionService) -> None:
    """A text search lists the most recently recorded matches first (the full-text
    index's order, read with LIMIT), which differs from the queue's filing order
    when a filing is recorded after later-filed ones (back-dated)."""
    from datetime import UTC, datetime

    a = file(service, at=datetime(2022, 3, 5, tzinfo=UTC))
    b = file(service, at=datetime(2022, 3, 1, tzinfo=UTC))  # back-dated: recorded second
    c = file(service, at=datetime(2022, 3, 3, tzinfo=UTC), street=STREETS[1])
    file(service, title="路灯不亮", description="夜里看不见")  # no match
    queue = [case.id for case in service.list_petitions()]
    assert queue[1:] == [str(a), str(c), str(b)]                   # newest filing first
    assert [p.id for p in service.search("停车")] == [str(c), str(b), str(a)]    # bigram
    assert [p.id for p in service.search("乱停车")] == [str(c), str(b), str(a)]  # trigram
    rm = service.read_models
    assert [p.id for p in rm.cases(text="乱停车", limit=2)] == [str(c), str(b)]
    assert [p.id for p in rm.cases(text="乱停车", limit=2, offset=2)] == [str(a)]
    assert [p.id for p in rm.cases(text="停车", street=STREETS[0])] == [str(b), str(a)]
    assert [p.id for p in rm.cases(text="停车", ids=[str(a), str(c)])] == [str(c), str(a)]
    # A one-character search (LIKE) keeps the same order.
    assert [p.id for p in service.search("停")] == [str(c), str(b), str(a)]


def test_search_count_stops_at_the_cap(service: PetitionService) -> None:
    for street in (STREETS[0], STREETS[0], STREETS[1], STREETS[1]):
        file(service, street=street)
    file(service, title="路灯不亮", description="夜里看不见")
    rm = service.read_models
    for text in ("停车", "乱停车", "停"):
        assert rm.count(text=text) == 4
        assert rm.count(text=text, cap=10) == 4
        assert rm.count(text=text, cap=4) == 4
        assert rm.count(text=text, cap=2) == 3  # more than 2: counting stopped at 3
        assert rm.count(text=text, cap=1, street=STREETS[1]) == 2
        assert rm.count(text=text, cap=5, street=STREETS[1]) == 2


def test_stats_over_all_days_read_the_tallies(service: PetitionService) -> None:
    """``stats`` without a range of days reads the rate tallies, not the case rows."""
    random_history(service, random.Random(7), petitions=8)
    for street, contacted in ((STREETS[0], True), (STREETS[1], False), (STREETS[0], True)):
        pid = file(service, street=street)
        handle_to_review(service, pid)
        service.callback(pid, actor=CLERK, contacted=contacted, resolved=True,
                         rating="satisfied" if contacted else None)
    rm = service.read_models
    before = {by: rm.stats(by) for by in ("street", "grid", "month")}
    assert sum(g.valid for g in before["street"]) >= 3
    store = rm.store
    with store._cursor(commit=True) as cursor:  # hide every call-back from the case rows
        cursor.execute(store._sql("UPDATE {petition_index} SET cb_day = NULL"))
    assert rm.stats("street", date_from="1900-01-01") == []
    assert {by: rm.stats(by) for by in before} == before


def test_list_text_shows_a_capped_count(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_cli import Cli

    cli = Cli(str(tmp_path / "cli.sqlite"))
    ids = [cli.file() for _ in range(3)]
    out = cli("list", "--text", "车位不足").stdout
    assert "3 of 3 shown" in out
    monkeypatch.setattr("petitions.readmodels.queries.SEARCH_COUNT_CAP", 2)
    out = cli("list", "--text", "车位不足", "--limit", "1").stdout
    assert "1 of 2+ shown" in out
    assert ids[-1] in out  # the most recently recorded first
    zh = cli("list", "--text", "车位不足", "--limit", "1", lang="zh").stdout
    assert "共 2+ 件，显示 1 件" in zh
    # Without text the count is exact (counters), however large.
    assert "1 of 3 shown" in cli("list", "--street", "寸滩街道", "--limit", "1").stdout


def test_an_event_that_parses_but_has_the_wrong_types_is_kept_aside(
        service: PetitionService) -> None:
    """A stored event whose bytes still parse but whose fields are not what its
    class says (forged or damaged: a name made a number, a person a list) is
    kept aside like an unreadable one, naming petition, version and position;
    the queues, counts and caseloads of every other petition keep working."""
    import json

    from petitions.persistence import is_postgres_recorder

    bad, good = file(service, title="坏的"), file(service, title="好的")
    from tests.test_readmodels import WORKER

    for pid in (bad, good):
        service.accept(pid, actor=WORKER)
        service.assign(pid, actor=WORKER, unit="寸滩街道", person="张")
    recorder: Any = service.recorder
    pg = is_postgres_recorder(recorder)
    mark, key = ("%s", bad) if pg else ("?", bad.hex)
    position_column = "notification_id" if pg else "rowid"
    table = (f'"{recorder.datastore.schema}".{recorder.events_table_name}' if pg
             else recorder.events_table_name)
    with recorder.datastore.transaction(commit=True) as c:
        c.execute(f"SELECT {position_column}, state FROM {table} "
                  f"WHERE originator_id = {mark} AND topic LIKE {mark}",
                  (key, "%Petition.Assigned"))
        row = c.fetchone()
        position, state = (row[position_column], row["state"]) if isinstance(row, dict) \
            else (row[0], row[1])
        data = json.loads(bytes(state))
        data.update(unit=12345, person=[1, 2])
        c.execute(f"UPDATE {table} SET state = {mark} "
                  f"WHERE {position_column} = {mark}",
                  (json.dumps(data, separators=(",", ":")).encode(), position))
    cases = {case.id: case for case in service.list_petitions()}
    assert cases[str(good)].lead_unit == "寸滩街道" and str(bad) in cases
    [poisoned] = service.read_models.poisoned()
    assert (str(poisoned.petition_id), poisoned.params["position"]) == (str(bad), position)
    assert "'unit'" in str(poisoned) or "'person'" in str(poisoned)
    assert service.read_models.caseload()  # the good petition's assignee is counted


def test_a_second_damaged_event_after_the_first_is_kept_aside_too(
        service: PetitionService) -> None:
    """Once the views have kept one damaged event aside (and its table has
    been read), a later catch-up meeting another keeps that one aside as well,
    instead of failing on the first's bookkeeping."""
    import json

    from petitions.persistence import is_postgres_recorder
    from tests.test_readmodels import WORKER

    recorder: Any = service.recorder
    pg = is_postgres_recorder(recorder)
    mark = "%s" if pg else "?"
    position_column = "notification_id" if pg else "rowid"
    table = (f'"{recorder.datastore.schema}".{recorder.events_table_name}' if pg
             else recorder.events_table_name)

    def damaged() -> tuple[str, int]:
        pid = file(service, title="坏的")
        service.accept(pid, actor=WORKER)
        service.assign(pid, actor=WORKER, unit="寸滩街道", person="张")
        with recorder.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT {position_column}, state FROM {table} "
                      f"WHERE originator_id = {mark} AND topic LIKE {mark}",
                      (pid if pg else pid.hex, "%Petition.Assigned"))
            row = c.fetchone()
            position, state = (row[position_column], row["state"]) if isinstance(row, dict) \
                else (row[0], row[1])
            data = json.loads(bytes(state))
            data.update(unit=12345)
            c.execute(f"UPDATE {table} SET state = {mark} WHERE {position_column} = {mark}",
                      (json.dumps(data, separators=(",", ":")).encode(), position))
        return str(pid), position

    first = damaged()
    assert str(first[0]) in {case.id for case in service.list_petitions()}
    assert [(str(p.petition_id), p.params["position"])
            for p in service.read_models.poisoned()] == [first]
    second = damaged()
    assert str(second[0]) in {case.id for case in service.list_petitions()}
    assert [(str(p.petition_id), p.params["position"])
            for p in service.read_models.poisoned()] == [first, second]


def test_the_cli_keeps_listing_past_an_event_with_the_wrong_types(tmp_path: Any) -> None:
    """As a caseworker meets it: after someone edited a stored event so that it
    still parses (a unit made a number), ``list``, ``stats`` and ``caseload``
    answer (exit 0, no traceback) and say once which event they skipped, and
    ``audit verify`` locates the edit."""
    import json
    import sqlite3

    from tests.test_cli import Cli

    db = str(tmp_path / "cli.sqlite")
    cli = Cli(db)
    bad, good = cli.file(), cli.file()
    for pid in (bad, good):
        cli("accept", pid)
        cli("assign", pid, "--unit", "寸滩街道", "--person", "张")
    with sqlite3.connect(db) as con:
        rowid, state = con.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id = ? AND topic LIKE ?",
            (bad.replace("-", ""), "%Petition.Assigned")).fetchone()
        data = json.loads(state)
        data["unit"] = 12345
        con.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                    (json.dumps(data, separators=(",", ":")).encode(), rowid))
    con.close()
    listed = cli("list", role="supervisor")
    assert good in listed.stdout and "Traceback" not in listed.output
    assert bad in listed.stderr and f"position {rowid}" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1
    for args in (["stats"], ["caseload"]):
        assert "Traceback" not in cli(*args, role="supervisor").output
    report = cli("audit", "verify", role="auditor", json_out=True, code=1)
    assert bad in report.stdout


@pytest.mark.parametrize("struct_after", [0, 10**9])
def test_fast_reading_applies_what_the_light_and_full_readings_apply(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch, struct_after: int) -> None:
    """The views a catch-up builds reading common events straight from their
    bytes (``fast_item``: through msgspec structs, or key by key alone) equal
    those built from light events only and those built from eventsourcing's
    domain events, on a mixed history."""
    from eventsourcing.persistence import Tracking

    monkeypatch.setattr(projection_module, "STRUCT_AFTER", struct_after)
    monkeypatch.setattr(projection_module, "_PLANS", {})
    random_history(service, random.Random(2018), petitions=12)
    rm = service.read_models
    rm.inline = False
    real = projection_module.fast_item
    read = {"fast": 0, "other": 0}

    def counting(row: Any) -> Any:
        item = real(row)
        read["fast" if item is not None else "other"] += 1
        return item

    monkeypatch.setattr(projection_module, "fast_item", counting)
    rm.rebuild()
    fast = rm.store.dump()
    # Every petition event of these kinds is read the fast way (the workflow
    # definitions stored beside them are not petition events).
    assert read["fast"] > 5 * read["other"] > 0
    monkeypatch.setattr(projection_module, "fast_item", lambda row: None)
    rm.rebuild()
    assert rm.store.dump() == fast
    rm.store.reset(service.audit_log().name)
    notes = service.recorder.select_notifications(start=0, limit=100_000,
                                                  inclusive_of_start=False)
    rm.projection.process_batch([(service.mapper.to_domain_event(n),
                                  Tracking(service.audit_log().name, n.id)) for n in notes])
    assert rm.store.dump() == fast


def test_the_fast_reading_declines_what_it_would_read_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored event is read the fast way only where that gives exactly what
    the light event gives; a key twice or nested, an escape, a value of
    another type or a time that is ``null`` leave it to the light reading.
    (The bytes reading, without the struct reading before it: see
    tests/test_views_struct_reading.py for that.)"""
    import json

    monkeypatch.setattr(projection_module, "STRUCT_AFTER", 10**9)
    monkeypatch.setattr(projection_module, "_PLANS", {})

    from petitions.domain.petition import Petition
    from petitions.readmodels.projection import (
        CASE_COLUMNS,
        ViewBatch,
        apply_event,
        apply_fast,
        fast_item,
        lite_event,
    )

    pid = "01234567-89ab-cdef-0123-456789abcdef"
    base = dict.fromkeys(CASE_COLUMNS)
    base.update(id=pid, version=3, stage="resolution", status="open", deadline="x",
                deadline_state="on_time", clock_mark="on_time", outcome=None)

    class Tx:
        def get_cases(self, ids: Any) -> dict[str, Any]:
            return {pid: dict(base)}

    def applied(how: Any, item: Any) -> dict[str, Any]:
        batch = ViewBatch(Tx())  # type: ignore[arg-type]
        how(batch, item)
        return batch.rows[pid]

    when = {"_type_": "datetime_iso", "_data_": "2024-05-06T07:08:09.000010+00:00"}
    local = {"_type_": "datetime_iso", "_data_": "2024-05-06T15:08:09+08:00"}
    actor = {"_type_": "attrs:Actor", "_data_": {"id": "a", "role": "caseworker"}}
    nested = {"_type_": "attrs:Actor", "_data_": {"id": "a", "role": "r", "unit": "假",
                                                   "stage": "假", "rating": "假"}}

    def stored(cls: Any, **fields: Any) -> tuple[str, bytes]:
        version = getattr(cls, "class_version", 1)
        if version != 1:
            fields["class_version"] = version
        topic = f"petitions.domain.petition:Petition.{cls.__name__}"
        return topic, json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()

    clock = dict(actor=actor, occurred_at=when, for_stage="resolution", amount=1,
                 unit="working_days", started_by="assign", deadline=local, warn_time=when,
                 warn_at=0.8, escalate_on_breach=False, calendar_note="")
    assign = dict(actor=actor, occurred_at=local, unit="街道", person="张", co_units=[],
                  note="", stage="resolution", final=False, sign_by=when, return_by=None,
                  contact_by=None)
    callback = dict(actor=actor, occurred_at=local, contacted=True, resolved=False,
                    rating="satisfied", comment="", satisfied=True)
    accepted = dict(actor=actor, occurred_at=when, note="", stage="dispatch")
    read_fast = [
        stored(Petition.ClockStarted, **clock),
        stored(Petition.Assigned, **assign),
        stored(Petition.Assigned, **{**assign, "sign_by": None, "contact_by": local}),
        stored(Petition.CallbackRecorded, **callback),
        stored(Petition.CallbackRecorded, **{**callback, "rating": None}),
        stored(Petition.Accepted, **accepted),
        stored(Petition.Closed, actor=actor, occurred_at=when, note="", stage="closed"),
    ]
    declined = [
        stored(Petition.ClockStarted, **{**clock, "deadline": None}),
        stored(Petition.ClockStarted, **{**clock, "actor": nested, "stage": "s"}),
        stored(Petition.Assigned, **{**assign, "unit": 'a"b'}),
        stored(Petition.Assigned, **{**assign, "actor": nested}),
        stored(Petition.Assigned, **{**assign, "person": 7}),
        stored(Petition.CallbackRecorded, **{**callback, "contacted": 1}),
        stored(Petition.CallbackRecorded, **{**callback, "rating": 5}),
        stored(Petition.CallbackRecorded, **{**callback, "actor": nested}),
        stored(Petition.Accepted, **{**accepted, "stage": 3}),
        stored(Petition.Accepted, **{**accepted, "occurred_at": "2024-05-06"}),
    ]
    oid = pid.replace("-", "")
    for i, (topic, state) in enumerate(read_fast + declined):
        row = (1, oid, 4, topic, state)
        item = fast_item(row)
        assert (item is not None) == (i < len(read_fast)), json.loads(state)
        if item is None:
            continue
        event = lite_event(row, topic, state)
        assert applied(apply_fast, item) == applied(apply_event, event)


def test_bigrams_are_every_overlapping_pair_in_first_order() -> None:
    """The bigram tokens are the distinct overlapping pairs of characters the
    index holds (not ASCII punctuation or space), lower case, first seen first."""
    import re

    from petitions.readmodels.sqlite import bigrams

    every_pair = re.compile(r"(?=([^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{2}))")

    def reference(*texts: str | None) -> str:
        found: dict[str, None] = {}
        for text in texts:
            if text:
                found.update(dict.fromkeys(every_pair.findall(text.lower())))
        return " ".join(found)

    assert bigrams("路灯不亮", "LED 路灯") == "路灯 灯不 不亮 le ed"
    rng = random.Random(18)
    alphabet = "路灯不亮小区停车难 ,.-_AbCdéÉ1(2)“”\"'İΣσßK\n"
    for _ in range(2000):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
                 for _ in range(rng.randint(1, 3))]
        assert bigrams(*texts, None) == reference(*texts)


def test_a_bulk_catch_up_fills_text_and_counters_at_its_end(
        service: PetitionService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catch-up far behind writes the case index in bulk and fills the text
    indexes and counters once at its end: the views equal those of batches
    written one by one (every query agrees); a process that dies before that
    end leaves the work marked in the views' own transactions, and the next
    catch-up of any process (with new events, or none) finishes it."""
    from petitions.readmodels import queries as queries_module
    from petitions.readmodels.store import bulk_marker
    from tests.test_rates import callback, petition, t

    random_history(service, random.Random(27), petitions=8)
    for n, (contacted, rating) in enumerate(((True, "satisfied"), (False, None))):
        pid = petition(service, STREETS[n], "2", "traffic", STREETS[0], t(6, 1 + n))
        callback(service, pid, contacted, contacted, rating, t(6, 3 + n))
    rm = service.read_models
    rm.inline = False
    sqlite = rm.store.bulk_supported
    monkeypatch.setattr(type(rm.store), "bulk_supported", False)  # each batch whole
    rm.rebuild()
    monkeypatch.setattr(type(rm.store), "bulk_supported", sqlite)
    kept = rm.store.dump()
    searched = [c.id for c in rm.cases(text="停车", limit=None)]
    assert kept["case_counts"] and kept["rate_tallies"] and searched
    monkeypatch.setattr(queries_module, "BULK", 10)
    monkeypatch.setattr(queries_module, "BATCH", 7)
    written: list[bool] = []
    real_apply = projection_module.apply_events

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        written.append(tx.bulk)
        real_apply(tx, events, full)

    monkeypatch.setattr(projection_module, "apply_events", watching)
    assert rm.rebuild() == service.recorder.max_notification_id()
    assert written and all(written) == sqlite and len(written) > 2
    assert rm.store.dump() == kept
    assert [c.id for c in rm.cases(text="停车", limit=None)] == searched
    assert not rm.store.bulk_unfinished(service.audit_log().name)
    if not sqlite:
        return
    marker = bulk_marker(service.audit_log().name)
    # Killed after the last batch, before the end: the views are at the end
    # but their counters and text are not, and the marker says so.
    real_finish = type(rm.store).finish_bulk

    def killed(self: Any, name: str, *counted: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(type(rm.store), "finish_bulk", killed)
    with pytest.raises(RuntimeError):
        rm.rebuild()
    assert rm.position() == service.recorder.max_notification_id()
    assert rm.store.bulk_unfinished(service.audit_log().name)
    assert rm.store.dump() != kept
    # `audit verify --views` meanwhile: the case rows agree with a rebuild; the
    # counters, to be counted again, are not taken for tampering.
    from petitions.audit.views_check import compare_views

    assert compare_views(rm.app) == (rm.position(), [])
    title = rm.store._all("SELECT title FROM {petition_index} WHERE seq = 1")[0]["title"]
    for changed in ("x", title):  # a changed case row is still found
        with rm.store.transaction() as tx:
            tx.execute("UPDATE {petition_index} SET title = :t WHERE seq = 1", {"t": changed})
        assert (compare_views(rm.app)[1] == []) == (changed == title)
    monkeypatch.setattr(type(rm.store), "finish_bulk", real_finish)
    other = PetitionService.open(service.url)
    try:
        other.read_models.inline = False
        assert other.read_models.catch_up() == 0  # nothing new, but finishes the work
        assert rm.store.dump() == kept
        assert not rm.store._all("SELECT 1 FROM {tracking} WHERE application_name = :m",
                                 {"m": marker})
        # Killed in the middle: another process's catch-up with new events
        # (written the usual way) finds the marker and finishes the work too.
        applied = {"n": 0}

        def killed_midway(tx: Any, events: Any, full: Any = None) -> None:
            applied["n"] += 1
            if applied["n"] > 2:
                raise RuntimeError("killed")
            real_apply(tx, events, full)

        monkeypatch.setattr(projection_module, "apply_events", killed_midway)
        with pytest.raises(RuntimeError):
            rm.rebuild()
        monkeypatch.setattr(projection_module, "apply_events", real_apply)
        assert rm.store.bulk_unfinished(service.audit_log().name)
        file(other)
        monkeypatch.setattr(queries_module, "BATCH", 10_000)
        assert other.read_models.catch_up() > 0
        assert not rm.store.bulk_unfinished(service.audit_log().name)
        after = rm.store.dump()
        monkeypatch.setattr(projection_module, "apply_events", real_apply)
        rm.rebuild()
        assert rm.store.dump() == after
        assert len(after["petition_index"]) == len(kept["petition_index"]) + 1
        assert [c.id for c in rm.cases(text="停车", limit=None)][1:] == searched
    finally:
        other.shutdown()


def test_views_rebuild_through_the_cli_writes_in_bulk(tmp_path: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``petitions views rebuild`` of a store more than a batch long writes in
    bulk (SQLite) and ends with the same lists, counts and text search as
    views caught up one small batch at a time, and no unfinished marker."""
    from petitions.readmodels import queries as queries_module
    from tests.test_cli import Cli

    cli = Cli(str(tmp_path / "bulk.sqlite"))
    pids = [cli.file() for _ in range(4)]
    for pid in pids[:3]:
        cli("accept", pid)
    cli("assign", pids[0], "--unit", "寸滩街道", "--person", "网格员张")
    listed = cli.json("list", "--status", "open")
    counted = cli.json("list", "--stage", "dispatch")
    found = (cli.json("list", "--text", "停车"), cli.json("list", "--text", "车位不足"))
    monkeypatch.setattr(queries_module, "BATCH", 3)
    bulk: list[bool] = []
    real = projection_module.apply_events

    def watching(tx: Any, events: Any, full: Any = None) -> None:
        bulk.append(tx.bulk)
        real(tx, events, full)

    monkeypatch.setattr(projection_module, "apply_events", watching)
    events = cli.json("views", "rebuild", role="administrator")["events"]
    assert events > 3 * 3 and len(bulk) > 3 and all(bulk)
    assert cli.json("list", "--status", "open") == listed
    assert cli.json("list", "--stage", "dispatch") == counted
    assert (cli.json("list", "--text", "停车"), cli.json("list", "--text", "车位不足")) == found
    assert len(found[0]) == len(found[1]) == 4
    with PetitionService.open(str(tmp_path / "bulk.sqlite")) as svc:
        assert not svc.read_models.store.bulk_unfinished(svc.audit_log().name)
        assert svc.read_models.count(street="寸滩街道") == 4
