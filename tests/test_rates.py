"""The three rates (响应率, 解决率, 满意率) against hand-computed fixtures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from petitions import Actor, Location, Petitioner, PetitionService
from petitions.readmodels.rates import compute_rates, load_rate_config, rate_config

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
GRID = Actor("grid-hu", "grid_worker")
SH = ZoneInfo("Asia/Shanghai")


def t(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2022, month, day, hour, tzinfo=SH)


def petition(svc: PetitionService, street: str, grid: str, category: str, unit: str,
             filed: datetime, contact: bool = True) -> UUID:
    """Filed, dispatched, signed for (签收) in time, first contact (先行联系)
    in time unless not ``contact``, replied and resolved."""
    pid = svc.file(actor=CLERK, petitioner=Petitioner(id="", kind="resident", name="居民"),
                   title="诉求", description="内容", category=category, channel="hotline",
                   location=Location(street=street, grid=grid), at=filed)
    svc.accept(pid, actor=WORKER, at=filed)
    svc.assign(pid, actor=WORKER, unit=unit, person="张", at=filed)
    svc.sign(pid, actor=GRID, at=filed)
    if contact:
        svc.contact(pid, actor=GRID, note="电话联系", at=filed)
    svc.reply(pid, actor=WORKER, outcome="support", text="已办", at=filed)
    svc.resolve(pid, actor=WORKER, at=filed)
    return pid


def callback(svc: PetitionService, pid: UUID, contacted: bool, resolved: bool,
             rating: str | None, at: datetime) -> None:
    svc.callback(pid, actor=CLERK, contacted=contacted, resolved=resolved, rating=rating,
                 at=at)


@pytest.fixture
def history(service: PetitionService) -> PetitionService:
    """寸滩街道: four valid call-backs; 华新街街道: two; plus invalid ones.

    Every order is signed for in time; all but d get first contact in time
    (the response rate's criteria, rates.toml [response]).
    寸滩 (grid 1: a, b; grid 2: c, d), unit 寸滩街道 except d (区住建委):
      a contacted, resolved,   satisfied            (June)
      b contacted, resolved,   basically satisfied  (June)
      c contacted, unresolved, unsatisfied          (July)
      d no first contact; not contacted, unresolved (July)
      → response 3/4 = 0.75, resolution 2/4 = 0.5, satisfaction over the rated
        (a, b, c; d unreachable, reported apart) (1 + 0.9)/3 = 0.633333
    华新街 (grid 1): e basically satisfied then reopened and called back satisfied
      (the latest call-back counts), f contacted, resolved, unsatisfied
      → response 2/2, resolution 2/2, satisfaction 1/2 = 0.5
    g (寸滩) called back satisfied, then withdrawn: not valid.
    h (寸滩) has no call-back: not counted.
    """
    svc = service
    a = petition(svc, "寸滩街道", "1", "traffic", "寸滩街道", t(6, 1))
    b = petition(svc, "寸滩街道", "1", "traffic", "寸滩街道", t(6, 1))
    c = petition(svc, "寸滩街道", "2", "lift", "寸滩街道", t(6, 2))
    d = petition(svc, "寸滩街道", "2", "lift", "区住建委", t(6, 2), contact=False)
    e = petition(svc, "华新街街道", "1", "traffic", "华新街街道", t(6, 3))
    f = petition(svc, "华新街街道", "1", "lift", "华新街街道", t(6, 3))
    g = petition(svc, "寸滩街道", "1", "traffic", "寸滩街道", t(6, 4))
    petition(svc, "寸滩街道", "1", "traffic", "寸滩街道", t(6, 4))
    callback(svc, a, True, True, "satisfied", t(6, 10))
    callback(svc, b, True, True, "basically_satisfied", t(6, 30, 23))  # still June locally
    callback(svc, c, True, False, "unsatisfied", t(7, 1, 1))  # July locally, June in UTC
    callback(svc, d, False, False, None, t(7, 5))
    callback(svc, e, True, False, "unsatisfied", t(6, 10))
    svc.reopen(e, actor=WORKER, to="resolution", reason="不满意", at=t(6, 11))
    svc.reply(e, actor=WORKER, outcome="support", text="再次办理", at=t(6, 12))
    svc.resolve(e, actor=WORKER, at=t(6, 12))
    callback(svc, e, True, True, "satisfied", t(6, 15))
    callback(svc, f, True, True, "unsatisfied", t(6, 16))
    callback(svc, g, True, True, "satisfied", t(6, 16))
    svc.withdraw(g, actor=CLERK, reason="撤回", at=t(6, 17))
    return svc


def rates(svc: PetitionService, by: str, **kw: str) -> dict[str, tuple[object, ...]]:
    return {g.group: (g.valid, g.response_rate, g.resolution_rate, g.satisfaction_rate)
            for g in svc.stats(by, **kw)}


def test_rates_by_street(history: PetitionService) -> None:
    assert rates(history, "street") == {
        "寸滩街道": (4, 0.75, 0.5, round(1.9 / 3, 6)),
        "华新街街道": (2, 1.0, 1.0, 0.5),
    }


def test_rates_by_grid_category_unit(history: PetitionService) -> None:
    # grid 1: a, b (寸滩) + e, f (华新街); grid 2: c, d
    assert rates(history, "grid") == {
        "1": (4, 1.0, 1.0, round((1 + 0.9 + 1 + 0) / 4, 6)),
        "2": (2, 0.5, 0.0, 0.0),
    }
    assert rates(history, "category") == {
        "traffic": (3, 1.0, 1.0, round(2.9 / 3, 6)),   # a, b, e
        "lift": (3, round(2 / 3, 6), round(1 / 3, 6), 0.0),  # c, d, f
    }
    assert rates(history, "unit") == {
        "寸滩街道": (3, 1.0, round(2 / 3, 6), round(1.9 / 3, 6)),
        "区住建委": (1, 0.0, 0.0, None),  # unreachable: nobody rated
        "华新街街道": (2, 1.0, 1.0, 0.5),
    }


def test_rates_by_period_in_local_days(history: PetitionService) -> None:
    # June: a, b, e, f; July (local time): c, d
    assert rates(history, "month") == {
        "2022-06": (4, 1.0, 1.0, round((1 + 0.9 + 1 + 0) / 4, 6)),
        "2022-07": (2, 0.5, 0.0, 0.0),
    }
    assert rates(history, "street", date_from="2022-07-01", date_to="2022-07-31") == {
        "寸滩街道": (2, 0.5, 0.0, 0.0),
    }
    assert rates(history, "street", date_to="2022-06-10") == {
        "寸滩街道": (1, 1.0, 1.0, 1.0),
    }


def test_weights_are_configuration(history: PetitionService, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "rates.toml"
    custom.write_text("[satisfaction.weights]\nbasically_satisfied = 0.8\n"
                      "[valid]\nexclude_outcomes = []\n", encoding="utf-8")
    monkeypatch.setenv("PETITIONS_RATES", str(custom))
    assert rate_config().weight("basically_satisfied") == 0.8
    assert rate_config().weight("satisfied") == 1.0  # kept from the shipped file
    # g (withdrawn) counts now: 寸滩 has a, b, c, d, g.
    assert rates(history, "street")["寸滩街道"] == (5, 0.8, 0.6, round((1 + 0.8 + 1) / 4, 6))


def test_shipped_weights() -> None:
    config = load_rate_config(None)
    assert dict(config.weights) == {"satisfied": 1.0, "basically_satisfied": 0.9,
                                    "unsatisfied": 0.0}
    assert config.exclude_outcomes == ("rejected", "duplicate", "withdrawn")


def test_compute_rates_by_hand() -> None:
    config = load_rate_config(None)
    rows = [("A", True, True, "satisfied", 3), ("A", True, False, "basically_satisfied", 2),
            ("A", False, False, None, 5), ("B", True, True, "unsatisfied", 1)]
    a, b = compute_rates(rows, config)
    assert (a.group, a.valid, a.contacted, a.resolved) == ("A", 10, 5, 3)
    assert (a.response_rate, a.resolution_rate, a.satisfaction_rate) == (0.5, 0.3, 0.96)
    assert (a.rated, a.unreachable) == (5, 5)
    assert dict(a.ratings) == {"basically_satisfied": 2, "satisfied": 3}
    assert (b.response_rate, b.resolution_rate, b.satisfaction_rate) == (1.0, 1.0, 0.0)
    assert compute_rates([], config) == []


def test_unknown_grouping_is_refused(service: PetitionService) -> None:
    from petitions import InvalidInput

    with pytest.raises(InvalidInput):
        service.stats("colour")


def test_satisfaction_over_valid_is_configuration(history: PetitionService, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "rates.toml"
    custom.write_text('[satisfaction]\nover = "valid"\n', encoding="utf-8")
    monkeypatch.setenv("PETITIONS_RATES", str(custom))
    assert rates(history, "street")["寸滩街道"] == (4, 0.75, 0.5, 0.475)


def test_unreachable_reported_apart(history: PetitionService) -> None:
    cuntan = {g.group: g for g in history.stats("street")}["寸滩街道"]
    assert (cuntan.valid, cuntan.rated, cuntan.unreachable) == (4, 3, 1)
    assert cuntan.to_dict()["unreachable"] == 1


def test_rank_by_street_and_unit(history: PetitionService) -> None:
    rows = history.rank("street")
    # score = 0.30 response + 0.35 resolution + 0.35 satisfaction (rates.toml)
    huaxin = round(0.30 * 1.0 + 0.35 * 1.0 + 0.35 * 0.5, 6)
    cuntan = round(0.30 * 0.75 + 0.35 * 0.5 + 0.35 * round(1.9 / 3, 6), 6)
    assert [(r.group, r.score, r.rank) for r in rows] == [
        ("华新街街道", huaxin, 1), ("寸滩街道", cuntan, 2)]
    units = history.rank("unit")
    assert [r.group for r in units] == ["华新街街道", "寸滩街道", "区住建委"]
    assert units[-1].score == 0.0 and units[-1].rank == 3
    july = history.rank("street", date_from="2022-07-01", date_to="2022-07-31")
    assert [r.group for r in july] == ["寸滩街道"]
    from petitions import InvalidInput

    with pytest.raises(InvalidInput):
        history.rank("grid")


def test_rank_ties_share_a_place() -> None:
    from petitions.readmodels.rates import RateGroup, rank_groups

    def group(name: str, rate: float) -> RateGroup:
        return RateGroup(group=name, valid=1, contacted=1, resolved=1, ratings={},
                         response_rate=rate, resolution_rate=rate, satisfaction_rate=rate)

    rows = rank_groups([group("a", 1.0), group("b", 0.5), group("c", 0.5), group("d", 0.1)],
                       load_rate_config(None))
    assert [(r.group, r.rank) for r in rows] == [("a", 1), ("b", 2), ("c", 2), ("d", 4)]


def test_response_counts_sign_for_and_first_contact_in_time() -> None:
    """响应率 as practised: signed for and first contact within their limits;
    orders whose workflow has no sign-for fall back to the call-back's contact."""
    config = load_rate_config(None)
    assert config.response_counts == ("signed_in_time", "contacted_in_time")
    rows = [("A", True, True, "satisfied", 2, "in_time", "in_time", 0, 1, 2, "red:1;yellow:1"),
            ("A", True, True, "satisfied", 1, "late", "in_time", 1, 0, 0, None),
            ("A", True, True, "satisfied", 1, "in_time", "due", 0, 0, 0, None),
            ("B", True, False, None, 1, None, None, 0, 0, 0, None),  # no sign-for: fallback
            ("B", False, False, None, 1, None, None, 0, 0, 0, None)]
    a, b = compute_rates(rows, config)
    assert (a.valid, a.responded, a.response_rate) == (4, 2, 0.5)
    assert (a.signed_in_time, a.contacted_in_time, a.returns) == (3, 3, 1)
    assert (a.reminders, a.escalations, dict(a.escalation_levels)) == (1, 2,
                                                                       {"red": 2, "yellow": 2})
    assert (b.responded, b.response_rate) == (1, 0.5)
    assert a.to_dict()["escalation_levels"] == {"red": 2, "yellow": 2}


def test_response_criteria_are_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "rates.toml"
    custom.write_text('[response]\ncounts = ["signed_in_time"]\n', encoding="utf-8")
    monkeypatch.setenv("PETITIONS_RATES", str(custom))
    config = rate_config()
    assert config.responded(False, "in_time", "due")  # first contact no longer counts
    assert not config.responded(True, "late", "in_time")
    custom.write_text('[response]\ncounts = ["answered_politely"]\n', encoding="utf-8")
    load_rate_config.cache_clear()
    with pytest.raises(ValueError, match="answered_politely"):
        rate_config()


def test_late_sign_for_is_not_a_response(service: PetitionService) -> None:
    """Signing for after the limit (1 working day, Tianjin 2024) is recorded
    as late, and the order does not count as responded to."""
    svc = service
    late = petition(svc, "寸滩街道", "1", "traffic", "寸滩街道", t(6, 1))  # in time
    pid = svc.file(actor=CLERK, petitioner=Petitioner(id="", kind="resident", name="居民"),
                   title="诉求", description="内容", category="traffic", channel="hotline",
                   location=Location(street="寸滩街道", grid="1"), at=t(6, 6))
    svc.accept(pid, actor=WORKER, at=t(6, 6))
    view = svc.assign(pid, actor=WORKER, unit="寸滩街道", person="张", at=t(6, 6))
    assert view.sign_by is not None and view.sign_by < t(6, 9)
    svc.sign(pid, actor=GRID, at=t(6, 9))  # 2022-06-06 Mon dispatched; due 06-07 24:00
    svc.contact(pid, actor=GRID, at=t(6, 9))
    svc.reply(pid, actor=WORKER, outcome="support", text="已办", at=t(6, 9))
    svc.resolve(pid, actor=WORKER, at=t(6, 9))
    for p in (late, pid):
        callback(svc, p, True, True, "satisfied", t(6, 10))
    (group,) = svc.stats("street")
    assert (group.valid, group.responded, group.signed_in_time) == (2, 1, 1)
    assert group.response_rate == 0.5
    signed = next(e for e in svc.history(pid) if e.type == "Signed")
    assert signed.data["in_time"] is False and "超时" in signed.text_zh
    assert "late" in signed.text_en
