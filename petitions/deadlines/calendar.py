"""The office calendar: working days, public holidays and adjusted workdays (调休).

China moves working days around its public holidays every year: the State
Council publishes the arrangement for the next year each autumn, and a
Saturday or Sunday near a long holiday becomes a working day.  The days come
from the maintained ``chinesecalendar`` package, which carries every year's
notice.  For 2026 that is the 国务院办公厅关于2026年部分节假日安排的通知
(issued November 2025), among others:

* Spring Festival (春节): 15–23 February off; Saturdays 14 and 28 February are
  working days;
* National Day and Mid-autumn (国庆节、中秋节): 1–7 October off (Mid-autumn
  25–27 September); Sunday 20 September and Saturday 10 October are working
  days.

A year the package does not cover yet (2027 as of chinesecalendar 1.11) is
counted on the statutory public holidays the maintained ``holidays`` package
computes for it (fixed-date and lunar: New Year, Spring Festival with its
eve, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National Day; the days
the 全国年节及纪念日放假办法 grants, without any bridging days) and on
weekends.  The adjusted workdays (调休) and bridged days of such a year are
not known until the State Council announces them (usually in the November
before), so every answer that touched such a year carries a warning saying
so (it is also logged), and a deadline counted so is *provisional*:
:func:`petitions.deadlines.recheck.recheck` counts it again once the data
arrives.  Never a crash, never a silently wrong answer.

Days are the office's days: their boundaries are in Asia/Shanghai, whatever
the zone of the times given (stored times stay UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import attrs

from petitions.logs import get_logger

log = get_logger("petitions.deadlines")

#: Day boundaries of the offices.
OFFICE_ZONE = ZoneInfo("Asia/Shanghai")
#: The most working days counted at once (about forty years): more is refused
#: rather than counted day by day for minutes.
MAX_WORKING_DAYS = 10_000

#: Day kinds.
WORKDAY = "workday"
WEEKEND = "weekend"
HOLIDAY = "holiday"
ADJUSTED_WORKDAY = "adjusted_workday"  # a Saturday or Sunday worked (调休上班)


@attrs.frozen
class Day:
    """One office day: whether it is worked, and why."""

    day: date
    workday: bool
    kind: str  # WORKDAY, WEEKEND, HOLIDAY or ADJUSTED_WORKDAY
    name_zh: str | None = None  # the holiday (or the holiday an adjusted workday serves)
    name_en: str | None = None
    covered: bool = True  # False: the official calendar has no data for the year

    def name(self, lang: str = "zh") -> str | None:
        return self.name_en if lang.startswith("en") else self.name_zh

    def to_dict(self) -> dict[str, object]:
        return {"date": self.day.isoformat(), "workday": self.workday, "kind": self.kind,
                "name_zh": self.name_zh, "name_en": self.name_en, "covered": self.covered}


def uncovered_warning(years: Iterable[int]) -> str:
    """The warning given when ``years`` had to be counted without the official
    arrangement (statutory holidays and weekends only)."""
    listed = ", ".join(str(y) for y in sorted(set(years)))
    return (f"the official holiday calendar does not cover {listed}: counted on the "
            f"statutory public holidays and weekends; adjusted workdays (调休) are not "
            f"yet known, so the result is provisional")


def legacy_uncovered_warning(years: Iterable[int]) -> str:
    """The warning recorded before statutory holidays were counted (such a
    deadline was counted Monday to Friday); kept to read old history."""
    listed = ", ".join(str(y) for y in sorted(set(years)))
    return (f"the official holiday calendar does not cover {listed}: "
            f"counted Monday to Friday (no public holidays, no adjusted workdays)")


def note_years(note: str) -> tuple[int, ...]:
    """The years a recorded calendar warning names (empty for no warning)."""
    import re

    return tuple(sorted({int(y) for y in re.findall(r"\b(\d{4})\b", note)}))


#: ``get_holiday_detail``-like: ``(is_holiday, holiday name or None)`` for a
#: day, raising ``NotImplementedError`` for a year without official data.
OfficialSource = Callable[[date], tuple[bool, str | None]]


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[date, tuple[str, str]]:
    """China's statutory public holidays of ``year`` from the ``holidays``
    package: day -> (Chinese name, English name).  Only the days the law
    grants (``observed=False``): bridging days come with the State Council's
    arrangement, which this cannot know."""
    import holidays

    zh = holidays.country_holidays("CN", years=year, observed=False, language="zh_CN")
    en = holidays.country_holidays("CN", years=year, observed=False, language="en_US")
    return {d: (str(zh[d]), str(en.get(d, zh[d]))) for d in zh}


class WorkCalendar:
    """Working days after the official Chinese calendar (``chinesecalendar``)."""

    def __init__(self, official: OfficialSource | None = None) -> None:
        """``official`` stands in for ``chinese_calendar.get_holiday_detail``
        (tests use it to play the arrival of a year's arrangement)."""
        import chinese_calendar  # type: ignore[import-untyped]

        self._official: OfficialSource = official or chinese_calendar.get_holiday_detail
        self._zh = {h.value: h.chinese for h in chinese_calendar.constants.Holiday}

    @lru_cache(maxsize=4096)  # noqa: B019 - one calendar per process, days are few
    def day(self, d: date) -> Day:
        """What kind of day ``d`` is."""
        weekend = d.weekday() >= 5
        try:
            is_holiday, name = self._official(d)
        except NotImplementedError:
            statutory = statutory_holidays(d.year).get(d)
            if statutory is not None:
                return Day(d, False, HOLIDAY, statutory[0], statutory[1], covered=False)
            if weekend:
                return Day(d, False, WEEKEND, covered=False)
            return Day(d, True, WORKDAY, covered=False)
        zh = self._zh.get(name) if name else None
        if is_holiday:
            if name:
                return Day(d, False, HOLIDAY, zh, name)
            return Day(d, False, WEEKEND)
        if weekend:  # a weekend day that is worked: an adjusted workday (调休)
            return Day(d, True, ADJUSTED_WORKDAY, zh, name)
        return Day(d, True, WORKDAY)

    def covers(self, year: int) -> bool:
        """Whether the official calendar has data for ``year``."""
        return self.day(date(year, 6, 1)).covered

    def add_working_days(self, start: date, n: int) -> tuple[date, tuple[int, ...]]:
        """The ``n``-th working day after ``start`` (``start`` itself not
        counted; ``n == 0`` gives ``start``), and the years that were counted
        on statutory holidays and weekends only because the official calendar
        does not cover them."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n > MAX_WORKING_DAYS:
            from petitions.errors import InvalidInput

            raise InvalidInput("n", f"must be at most {MAX_WORKING_DAYS} working days",
                               kind="too_large", max=MAX_WORKING_DAYS)
        uncovered: set[int] = set()
        d = start
        left = n
        while left > 0:
            d += timedelta(days=1)
            found = self.day(d)
            if not found.covered:
                uncovered.add(d.year)
            if found.workday:
                left -= 1
        return d, tuple(sorted(uncovered))

    def next_workday(self, d: date) -> tuple[date, tuple[int, ...]]:
        """``d`` if it is worked, else the first working day after it."""
        uncovered: set[int] = set()
        while True:
            found = self.day(d)
            if not found.covered:
                uncovered.add(d.year)
            if found.workday:
                return d, tuple(sorted(uncovered))
            d += timedelta(days=1)


@lru_cache(maxsize=1)
def work_calendar() -> WorkCalendar:
    """The process's calendar (the package's data is loaded once)."""
    return WorkCalendar()


def office_day(moment: datetime) -> date:
    """The office (Asia/Shanghai) day of an aware ``moment``."""
    return moment.astimezone(OFFICE_ZONE).date()


def end_of_office_day(d: date) -> datetime:
    """24:00 of office day ``d`` (midnight at its end), in UTC."""
    return datetime.combine(d + timedelta(days=1), time(0), OFFICE_ZONE).astimezone(UTC)
