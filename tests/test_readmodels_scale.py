"""The read models at scale (issue 18): counters kept by the projection answer
``count`` and ``stats`` exactly as the case index does, two-character search
reads the bigram index and finds what ``LIKE`` finds, and the light reading of
stored rows applies what eventsourcing's decoding applies."""

from __future__ import annotations

import random
from typing import Any

import pytest

from petitions import PetitionService
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
