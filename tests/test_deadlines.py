"""Time limits on real dates: the 2026 Spring Festival and National Day
holidays with their adjusted workdays (调休), a year the official calendar does
not cover, pauses, extensions, warnings, breaches and the sweep."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions import (
    Actor,
    InvalidInput,
    Location,
    Petitioner,
    PetitionService,
    TransitionNotAllowed,
)
from petitions.deadlines import Timekeeper, WorkCalendar, work_calendar
from petitions.deadlines.calendar import ADJUSTED_WORKDAY, HOLIDAY, WEEKEND, WORKDAY, Day
from tests.fixtures import file_petition

SH = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
BOSS = Actor("supervisor-zhang", "supervisor")


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    """A local (Asia/Shanghai) office time."""
    return datetime(y, mo, d, h, mi, tzinfo=SH)


class Clock:
    """A settable service clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(backend_url: str) -> Iterator[tuple[PetitionService, Clock]]:
    clock = Clock(at(2026, 1, 5))
    svc = PetitionService.open(backend_url, clock=clock)
    try:
        yield svc, clock
    finally:
        svc.shutdown()


def types(svc: PetitionService, pid: object) -> list[str]:
    return [e.type for e in svc.history(pid)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- calendar
def test_the_2026_notice_as_the_calendar_knows_it() -> None:
    cal = work_calendar()
    # Spring Festival: 15–23 February off; Saturdays 14 and 28 February worked.
    assert cal.day(date(2026, 2, 14)) == Day(date(2026, 2, 14), True, ADJUSTED_WORKDAY,
                                             "春节", "Spring Festival")
    assert cal.day(date(2026, 2, 28)).kind == ADJUSTED_WORKDAY
    for d in range(15, 24):
        found = cal.day(date(2026, 2, d))
        assert (found.workday, found.kind, found.name_zh) == (False, HOLIDAY, "春节")
    assert cal.day(date(2026, 2, 24)).kind == WORKDAY
    # National Day: 1–7 October off; Sunday 20 September and Saturday 10 October worked.
    assert cal.day(date(2026, 9, 20)).kind == ADJUSTED_WORKDAY
    assert cal.day(date(2026, 10, 10)).kind == ADJUSTED_WORKDAY
    assert [cal.day(date(2026, 10, d)).workday for d in range(1, 9)] == [False] * 7 + [True]
    assert cal.day(date(2026, 10, 5)).name_zh == "国庆节"
    assert cal.day(date(2026, 3, 7)).kind == WEEKEND  # an ordinary Saturday


def test_working_days_skip_holidays_and_count_adjusted_saturdays() -> None:
    cal = work_calendar()
    # Friday 13 February 2026: Saturday 14th is worked, then nine days off.
    assert cal.add_working_days(date(2026, 2, 13), 1) == (date(2026, 2, 14), ())
    assert cal.add_working_days(date(2026, 2, 13), 2) == (date(2026, 2, 24), ())
    assert cal.add_working_days(date(2026, 2, 13), 0) == (date(2026, 2, 13), ())
    # Friday 18 September: Sunday 20th is worked; Mid-autumn and National Day off.
    assert cal.add_working_days(date(2026, 9, 18), 15) == (date(2026, 10, 15), ())


def first_uncovered_year(cal: WorkCalendar) -> int:
    year = 2026
    while cal.covers(year):
        year += 1
    return year


def statutory_workdays_after(start: date, n: int) -> date:
    """Counted by hand: weekends and the statutory days of the law's list."""
    import holidays

    off = holidays.country_holidays("CN", years=range(start.year, start.year + 2),
                                    observed=False)
    d = start
    while n:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in off:
            n -= 1
    return d


def test_a_year_the_calendar_does_not_cover_counts_statutory_holidays_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    cal = work_calendar()
    year = first_uncovered_year(cal)
    assert not cal.covers(year) and cal.covers(year - 1)
    start = date(year, 4, 30)
    found, uncovered = cal.add_working_days(start, 10)
    assert found == statutory_workdays_after(start, 10) and uncovered == (year,)
    # The statutory days are off: New Year, National Day (3 days), Labour Day (2).
    for off in (date(year, 1, 1), date(year, 10, 1), date(year, 10, 3), date(year, 5, 2)):
        day = cal.day(off)
        assert (day.workday, day.kind, day.covered) == (False, "holiday", False), off
    assert cal.day(date(year, 10, 1)).name_zh == "国庆节"
    # Nothing beyond the law is guessed: 8 October is counted as it falls.
    assert cal.day(date(year, 10, 8)).workday == (date(year, 10, 8).weekday() < 5)
    limit = type("L", (), {"amount": 10, "unit": "working_days", "warn_at": 0.8})()
    with caplog.at_level(logging.WARNING, logger="petitions.deadlines"):
        deadline = Timekeeper().deadline(limit, datetime(year, 4, 30, 10, tzinfo=SH))
    assert deadline.deadline == datetime.combine(found + timedelta(days=1), datetime.min.time(),
                                                 SH)
    assert f"does not cover {year}" in deadline.note
    assert any(f"does not cover {year}" in r.getMessage() for r in caplog.records)


def test_a_limit_in_an_uncovered_year_records_the_warning_in_history(
        backend_url: str) -> None:
    year = first_uncovered_year(work_calendar())
    clock = Clock(datetime(year, 3, 2, 9, tzinfo=SH))
    with PetitionService.open(backend_url, clock=clock) as svc:
        pid = file_petition(svc, CLERK)
        view = svc.get(pid)
        assert f"does not cover {year}" in view.calendar_note
        started = [e for e in svc.history(pid) if e.type == "ClockStarted"]
        assert f"does not cover {year}" in started[0].data["calendar_note"]
        assert view.deadline_provisional is True
        # 2 working days after 2 March, on weekends and statutory days: 24:00 then.
        assert view.deadline == datetime(year, 3, 2, tzinfo=SH) + timedelta(
            days=(statutory_workdays_after(date(year, 3, 2), 2) - date(year, 3, 2)).days + 1)


# ------------------------------------------------------- deadlines in history
def test_spring_festival_deadlines_are_recorded_when_the_clock_starts(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 3, 1)
    # Filed Friday 13 February 2026, 10:00: two working days are Saturday 14th
    # (adjusted) and Tuesday 24th (after the holiday): due by 24:00 on the 24th.
    pid = file_petition(svc, CLERK, at=at(2026, 2, 13, 10))
    view = svc.get(pid)
    assert view.deadline == at(2026, 2, 25, 0)
    started = svc.history(pid)[1]
    assert (started.type, started.data["for_stage"], started.data["amount"],
            started.data["unit"], started.data["started_by"]) == (
        "ClockStarted", "intake", 2, "working_days", "file")
    assert datetime.fromisoformat(started.data["deadline"]) == at(2026, 2, 25, 0)
    assert started.data["calendar_note"] == ""
    # Accepted on the first day back: the dispatch clock is one working day.
    view = svc.accept(pid, actor=CLERK, at=at(2026, 2, 24, 9))
    assert view.deadline == at(2026, 2, 26, 0) and view.clock_stage == "dispatch"
    assert types(svc, pid) == ["Filed", "ClockStarted", "Accepted", "ClockStarted"]


def test_national_day_working_days_and_calendar_days_rolled_past_the_holiday(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 11, 1)
    pid = file_petition(svc, CLERK, at=at(2026, 9, 16))
    svc.accept(pid, actor=CLERK, at=at(2026, 9, 17))
    # Resolution: 15 working days from Friday 18 September (see the calendar test).
    view = svc.assign(pid, actor=WORKER, unit="区住建委", person="王工", at=at(2026, 9, 18, 15))
    assert (view.clock_stage, view.deadline) == ("resolution", at(2026, 10, 16, 0))
    # Letters and visits: 15 calendar days from filing on 16 September end on
    # 1 October, a holiday: the period ends with the first working day after it.
    lv = file_petition(svc, CLERK, workflow="letters_and_visits", at=at(2026, 9, 16, 11))
    assert svc.get(lv).deadline == at(2026, 10, 9, 0)


def test_history_keeps_the_deadline_when_the_calendar_changes(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 3, 1)
    pid = file_petition(svc, CLERK, at=at(2026, 2, 13, 10))

    class EveryDayWorked(WorkCalendar):
        def day(self, d: date) -> Day:
            return Day(d, True, WORKDAY)

    # The same store, with a calendar on which every day is worked.
    worked = Timekeeper(EveryDayWorked())
    again = PetitionService.open(svc.url, clock=clock, snapshot_interval=0, timekeeper=worked)
    try:
        assert again.get(pid).deadline == at(2026, 2, 25, 0)  # as recorded, not recomputed
        view = again.accept(pid, actor=CLERK, at=at(2026, 2, 16, 9))  # a holiday, worked here
        assert view.deadline == at(2026, 2, 18, 0)  # the new clock uses the calendar of now
    finally:
        again.shutdown()


# ------------------------------------------------------------ pause, extend
def test_pause_and_resume_move_the_deadline_by_the_time_paused(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 6, 30)
    pid = file_petition(svc, CLERK, at=at(2026, 6, 1))
    svc.accept(pid, actor=CLERK, at=at(2026, 6, 1, 10))
    view = svc.assign(pid, actor=WORKER, unit="城管科", person="李", at=at(2026, 6, 1, 11))
    before = view.deadline
    assert before is not None and view.deadline_state == "breached"  # as of 30 June
    with pytest.raises(TransitionNotAllowed):
        svc.resume(pid, actor=BOSS, at=at(2026, 6, 2))
    with pytest.raises(Exception) as refused:
        svc.pause(pid, actor=WORKER, reason="等待补充材料", at=at(2026, 6, 2))
    assert getattr(refused.value, "code", "") == "permission_denied"
    paused = svc.pause(pid, actor=BOSS, reason="等待诉求人补充材料", at=at(2026, 6, 2, 9))
    assert paused.deadline_state == "paused" and paused.deadline == before
    with pytest.raises(TransitionNotAllowed):
        svc.pause(pid, actor=BOSS, reason="again", at=at(2026, 6, 3))
    assert svc.sweep(at(2026, 6, 29)).recorded == 0  # a paused clock is never due
    resumed = svc.resume(pid, actor=BOSS, reason="材料已补齐", at=at(2026, 6, 5, 15, 30))
    assert resumed.deadline == before + timedelta(days=3, hours=6, minutes=30)
    last = svc.history(pid)[-1]
    assert last.type == "ClockResumed" and last.data["paused_seconds"] == (
        timedelta(days=3, hours=6, minutes=30).total_seconds())
    # Leaving the stage stops the clock: no deadline in review without a new one.
    svc.reply(pid, actor=WORKER, outcome="support", text="已处理", at=at(2026, 6, 8))
    view = svc.resolve(pid, actor=WORKER, at=at(2026, 6, 8, 10))
    assert (view.clock_stage, view.deadline) == ("review", at(2026, 6, 12, 0))


def test_extensions_move_the_deadline_and_are_capped(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 11, 1)
    pid = file_petition(svc, CLERK, workflow="letters_and_visits", at=at(2026, 2, 2))
    view = svc.accept(pid, actor=CLERK, at=at(2026, 2, 3, 10))
    # 60 calendar days from 3 February: 4 April, a Saturday in the Qingming
    # holiday (4–6 April): the period ends with Tuesday 7 April.
    assert view.deadline == at(2026, 4, 8, 0)
    view = svc.extend(pid, actor=BOSS, days=20, reason="需现场核查", approver="主任王")
    assert view.deadline == at(2026, 4, 28, 0)
    version = view.version
    with pytest.raises(InvalidInput) as capped:
        svc.extend(pid, actor=BOSS, days=11, reason="再延", approver="主任王")
    assert capped.value.params["kind"] == "extension_cap"
    assert svc.get(pid).version == version  # refused: nothing written
    view = svc.extend(pid, actor=BOSS, days=10, reason="再延", approver="主任王")
    assert view.deadline == at(2026, 5, 8, 0) and view.extension_days == 30
    extended = [e for e in svc.history(pid) if e.type == "DeadlineExtended"]
    assert [e.data["approver"] for e in extended] == ["主任王", "主任王"]
    assert datetime.fromisoformat(extended[-1].data["deadline"]) == at(2026, 5, 8, 0)


# ------------------------------------------------------------------- sweep
def test_sweep_warns_breaches_escalates_once(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 11, 1)
    lv = file_petition(svc, CLERK, workflow="letters_and_visits", at=at(2026, 3, 2))
    svc.accept(lv, actor=CLERK, at=at(2026, 3, 2, 10))  # 60 days, escalates on breach
    std = file_petition(svc, CLERK, at=at(2026, 3, 2))  # intake: 2 working days
    deadline = svc.get(lv).deadline
    assert deadline == at(2026, 5, 7, 0)  # day 60 is 1 May: Labour Day, off until the 5th
    warn = at(2026, 3, 2, 10) + (deadline - at(2026, 3, 2, 10)) * 0.8
    first = svc.sweep(warn - timedelta(minutes=1))
    assert first.breached == (str(std),) and first.warned == ()
    assert first.escalated == ()  # the standard intake limit does not escalate
    version = svc.get(lv).version
    second = svc.sweep(warn + timedelta(seconds=1))
    assert second.warned == (str(lv),) and second.breached == ()
    assert svc.sweep(warn + timedelta(seconds=1)).recorded == 0
    assert svc.get(lv).version == version + 1
    third = svc.sweep(deadline + timedelta(seconds=1))
    assert third.breached == (str(lv),) and third.escalated == (str(lv),)
    again = svc.sweep(deadline + timedelta(seconds=1))
    assert (again.due, again.recorded) == (0, 0)
    view = svc.get(lv)
    assert view.escalations == 1 and view.deadline_state == "breached"
    assert types(svc, lv)[-4:] == ["ClockStarted", "ClockWarned", "ClockBreached", "Escalated"]
    assert svc.history(lv)[-1].actor == "sweeper"


def test_overdue_and_due_within_lists_combine_with_unit_and_grid(
        clocked: tuple[PetitionService, Clock]) -> None:
    svc, clock = clocked
    clock.now = at(2026, 6, 1)
    ids = {}
    for name, unit, grid, day in (("a", "城管科", "3", 1), ("b", "城管科", "5", 1),
                                  ("c", "住建委", "3", 1), ("d", "城管科", "3", 20)):
        pid = file_petition(svc, CLERK, at=at(2026, 5, day),
                            location=Location(grid=grid))
        svc.accept(pid, actor=CLERK, at=at(2026, 5, day, 10))
        svc.assign(pid, actor=WORKER, unit=unit, person="p", at=at(2026, 5, day, 11))
        ids[name] = str(pid)
    clock.now = at(2026, 5, 27)
    # Assigned 1 May (Labour Day, 1–5 May off; Saturday 9 May worked): 15
    # working days end on Monday 25 May; assigned 20 May: on Wednesday 10 June.
    overdue = svc.list_petitions(overdue=True, unit="城管科", grid="3")
    assert [c.id for c in overdue] == [ids["a"]]
    assert overdue[0].deadline == at(2026, 5, 26, 0)
    assert {c.id for c in svc.list_petitions(overdue=True)} == {ids["a"], ids["b"], ids["c"]}
    assert [c.id for c in svc.list_petitions(due_within=timedelta(days=14))] == []
    assert [c.id for c in svc.list_petitions(due_within=timedelta(days=17), grid="3",
                                             unit="城管科")] == [ids["d"]]
    both = svc.list_petitions(overdue=True, due_within=timedelta(days=17), grid="3")
    assert {c.id for c in both[:2]} == {ids["a"], ids["c"]}  # soonest deadline first
    assert [c.id for c in both[2:]] == [ids["d"]] and both[2].deadline == at(2026, 6, 11, 0)
    svc.pause(ids["a"], actor=BOSS, reason="听证", at=at(2026, 5, 24))
    assert [c.id for c in svc.list_petitions(overdue=True, grid="3", unit="城管科")] == []
    assert svc.read_models.summary(ids["a"]).deadline_state == "paused"  # type: ignore[union-attr]
    # The views rebuild to the same rows.
    before = svc.read_models.store.dump()
    svc.read_models.rebuild()
    assert svc.read_models.store.dump() == before


def test_views_of_an_older_version_are_rebuilt_with_deadlines(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    path = str(Path(str(tmp_path)) / "old.sqlite")
    clock = Clock(at(2026, 3, 1))
    with PetitionService.open(path, clock=clock) as svc:
        pid = file_petition(svc, CLERK, at=at(2026, 2, 13, 10))
        svc.list_petitions()
    with sqlite3.connect(path) as db:  # the case index as it was before clocks
        db.execute("DROP INDEX petition_index_next_due")
        db.execute("DROP INDEX IF EXISTS petition_index_deadline")  # before 18: own index
        db.execute("DROP INDEX IF EXISTS petition_index_deadline_queue")
        for column in ("deadline", "deadline_state", "clock_mark", "warn_due", "next_due"):
            db.execute(f"ALTER TABLE petition_index DROP COLUMN {column}")
    with PetitionService.open(path, clock=clock) as svc:
        (case,) = svc.list_petitions()
        assert case.id == str(pid) and case.deadline == at(2026, 2, 25, 0)
        assert svc.read_models.due(at(2026, 2, 26)) == [str(pid)]


# ----------------------------------------------------------------- property
UNITS = ("minutes", "hours", "days", "working_days")


def limit_of(amount: int, unit: str) -> object:
    return type("L", (), {"amount": amount, "unit": unit, "warn_at": 0.8})()


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30),
                          timezones=st.just(UTC)),
       unit=st.sampled_from(UNITS), a=st.integers(1, 90), extra=st.integers(0, 60))
def test_deadline_never_before_start_and_never_shrinks_as_the_limit_grows(
        start: datetime, unit: str, a: int, extra: int) -> None:
    keeper = Timekeeper()
    small = keeper.deadline(limit_of(a, unit), start)  # type: ignore[arg-type]
    large = keeper.deadline(limit_of(a + extra, unit), start)  # type: ignore[arg-type]
    assert small.deadline > start
    assert large.deadline >= small.deadline
    assert start <= small.warn_time <= small.deadline


def test_durations_parse() -> None:
    from petitions.deadlines.clock import parse_duration

    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("1d6h") == timedelta(days=1, hours=6)
    assert parse_duration("30min") == parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("1w") == timedelta(days=7)
    for bad in ("", "2", "d2", "2x", "2d x"):
        with pytest.raises(ValueError):
            parse_duration(bad)



def test_a_past_version_shows_its_deadline_state_as_it_stood(backend_url: str) -> None:
    """``get(version=…)`` and ``get(as_of=…)`` report the clock as it stood then
    (when that version was recorded, or at the time asked for), not as of now."""
    with PetitionService.open(backend_url) as svc:
        pid = svc.file(actor=Actor("clerk-01", "intake_clerk"),
                       petitioner=Petitioner(kind="resident", name="刘先生"),
                       title="小区停车难", description="车位不足", category="traffic",
                       channel="hotline", location=Location(street="寸滩街道"))
        version = svc.get(pid).version
        assert svc.get(pid).deadline_state == "on_time"
    recorded = datetime.now(UTC)
    month_later = recorded + timedelta(days=30)
    with PetitionService.open(backend_url, clock=lambda: month_later) as later:
        assert later.get(pid).deadline_state == "breached"  # the intake limit has passed
        assert later.get(pid, version=version).deadline_state == "on_time"
        assert later.get(pid, as_of=recorded).deadline_state == "on_time"


# ------------------------------------------ provisional deadlines, recounted
def announced_2027(d: date) -> tuple[bool, str | None]:
    """A stand-in for the State Council's 2027 arrangement arriving with a new
    chinesecalendar: 1–7 October off, Saturday 9 October worked (调休)."""
    import chinese_calendar  # type: ignore[import-untyped]

    if d.year != 2027:
        result: tuple[bool, str | None] = chinese_calendar.get_holiday_detail(d)
        return result
    if date(2027, 10, 1) <= d <= date(2027, 10, 7):
        return True, "National Day"
    if d == date(2027, 10, 9):
        return False, "National Day"
    return d.weekday() >= 5, None


def test_a_provisional_deadline_is_counted_again_when_the_data_arrives(
        backend_url: str) -> None:
    if work_calendar().covers(2027):
        pytest.skip("the installed calendar covers 2027 already")
    clock = Clock(at(2027, 9, 30, 10))
    with PetitionService.open(backend_url, clock=clock) as svc:
        moved = file_petition(svc, CLERK)  # 2 working days from Thursday 30 September
        # Filed in March: its deadline falls the same on either calendar.
        clock.now = at(2027, 3, 1, 10)
        kept = file_petition(svc, CLERK, at=at(2027, 3, 1, 10))
        clock.now = at(2027, 10, 1, 9)
        before = svc.get(moved)
        # Provisional count: 1–3 October statutory, Monday 4th and Tuesday 5th worked.
        assert before.deadline == at(2027, 10, 6, 0) and before.deadline_provisional
        assert svc.get(kept).deadline_provisional
        assert svc.recheck_calendar().changed == ()  # no new data: nothing moves

    # The same store opened with the newer calendar.
    announced = Timekeeper(WorkCalendar(announced_2027))
    with PetitionService.open(backend_url, clock=clock, timekeeper=announced) as svc:
        report = svc.recheck_calendar()
        assert report.changed == (str(moved),) and report.provisional == 2
        after = svc.get(moved)
        # Announced: 1–7 October off, Friday 8th and Saturday 9th (调休) worked.
        assert after.deadline == at(2027, 10, 10, 0)
        assert after.deadline_provisional is False and after.calendar_note == ""
        recounted = [e for e in svc.history(moved) if e.type == "DeadlineRecomputed"]
        assert len(recounted) == 1
        assert recounted[0].data["previous_deadline"] == "2027-10-05T16:00:00+00:00"
        assert types(svc, kept)[-1] == "ClockStarted"  # unchanged: no event
        assert svc.recheck_calendar().changed == ()  # a second run records nothing
        assert types(svc, moved).count("DeadlineRecomputed") == 1
        listed = svc.list_petitions(limit=None)
        assert {c.id: c.deadline for c in listed}[str(moved)] == at(2027, 10, 10, 0)
