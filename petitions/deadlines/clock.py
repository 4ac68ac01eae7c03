"""Deadlines from a stage's time limit: pure arithmetic over the office calendar.

How a limit is counted (``limit = {amount, unit, from, warn_at}`` in a workflow):

* ``minutes`` and ``hours``: round the clock, from the moment the clock starts;
* ``days`` (calendar days) and ``working_days``: the day the clock starts is
  not counted; the period ends at 24:00 of its last day (民法典 art. 201, 203).
  Working days skip weekends and public holidays and count adjusted workdays
  (调休); a period in calendar days whose last day is not a working day ends
  at 24:00 of the first working day after it (art. 203).

The warning is due when ``warn_at`` (default 0.8) of the time allowed has
passed.  A pause moves the deadline by the exact time paused; an extension
moves it by whole calendar days.  The aggregate stores the results in its
events, so history keeps the deadline that applied at the time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Protocol

import attrs

from petitions.deadlines.calendar import (
    WorkCalendar,
    end_of_office_day,
    office_day,
    uncovered_warning,
    work_calendar,
)
from petitions.deadlines.states import warn_time

_DURATION = re.compile(r"(\d+)\s*(min|w|d|h|m)", re.IGNORECASE)
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
         "m": timedelta(minutes=1), "min": timedelta(minutes=1)}


def parse_duration(text: str) -> timedelta:
    """``2d``, ``12h``, ``30m``, ``1w``, ``1d6h``: a duration (ValueError if not)."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    total = timedelta(0)
    pos = 0
    for match in _DURATION.finditer(cleaned):
        if match.start() != pos:
            raise ValueError(f"not a duration: {text!r}")
        try:
            total += int(match.group(1)) * _UNIT[match.group(2).lower()]
        except OverflowError:
            raise ValueError(f"too long a duration: {text!r}") from None
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"not a duration: {text!r}")
    return total


class Limit(Protocol):
    """What a deadline is computed from (``workflows.TimeLimit`` has it)."""

    @property
    def amount(self) -> int: ...

    @property
    def unit(self) -> str: ...

    @property
    def warn_at(self) -> float: ...


@attrs.frozen
class FixedLimit:
    """A limit given by value (a running clock's, counted again)."""

    amount: int
    unit: str
    warn_at: float = 0.8


@attrs.frozen
class Deadline:
    """A computed deadline, when its warning is due, and any calendar warning."""

    start: datetime
    deadline: datetime
    warn_time: datetime
    #: empty unless a year without official data was counted (statutory
    #: holidays and weekends only): the deadline is then provisional
    note: str = ""

    @property
    def provisional(self) -> bool:
        return bool(self.note)


class Timekeeper:
    """Computes deadlines on a calendar; the service hands one to the aggregate."""

    def __init__(self, calendar: WorkCalendar | None = None) -> None:
        self._calendar = calendar
        #: Last day counted on the calendar, by (first day, amount, unit): a
        #: bulk import starts thousands of clocks on the same day.
        self._days: dict[tuple[date, int, str], tuple[date, tuple[int, ...]]] = {}
        #: The end (24:00, in UTC) of each last day counted.
        self._ends: dict[date, datetime] = {}
        #: The office day last found, with its start and end in UTC: clocks
        #: started in it are not converted to the office's zone again.
        self._day: tuple[datetime, datetime, date] | None = None

    def _last_day(self, first: date, amount: int, unit: str,
                  ) -> tuple[date, tuple[int, ...]]:
        key = (first, amount, unit)
        found = self._days.get(key)
        if found is None:
            if unit == "days":
                found = self.calendar.next_workday(first + timedelta(days=amount))
            else:
                found = self.calendar.add_working_days(first, amount)
            if len(self._days) > 10_000:
                self._days.clear()
            self._days[key] = found
        return found

    def _office_day(self, start: datetime) -> date:
        """``office_day(start)``, from the last day found when ``start`` falls
        in it (from its 00:00 to its 24:00 in the office's zone, in UTC)."""
        found = self._day
        if found is not None and found[0] <= start < found[1]:
            return found[2]
        day = office_day(start)
        begins = end_of_office_day(day - timedelta(days=1))
        ends = end_of_office_day(day)
        # Kept only when the bounds are that day's (any zone's midnights).
        if office_day(begins) == day and office_day(ends) != day:
            self._day = (begins, ends, day)
        return day

    @property
    def calendar(self) -> WorkCalendar:
        """The calendar, loaded when a deadline is first counted on it."""
        if self._calendar is None:
            self._calendar = work_calendar()
        return self._calendar

    def deadline(self, limit: Limit, start: datetime) -> Deadline:
        """The deadline of ``limit`` for a clock started at ``start`` (aware)."""
        end, warn, note = self.deadline_times(int(limit.amount), limit.unit,
                                              float(limit.warn_at), start)
        return Deadline(start, end, warn, note)

    def deadline_times(self, amount: int, unit: str, warn_at: float, start: datetime,
                       ) -> tuple[datetime, datetime, str]:
        """:meth:`deadline`'s deadline, warning time and calendar note for a
        limit of ``amount`` ``unit`` warning at ``warn_at`` (what a bulk filing
        records of a new petition's clock, without the :class:`Deadline`)."""
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        uncovered: tuple[int, ...] = ()
        if unit == "minutes":
            end = start + timedelta(minutes=amount)
        elif unit == "hours":
            end = start + timedelta(hours=amount)
        elif unit in ("days", "working_days"):
            last, uncovered = self._last_day(self._office_day(start), amount, unit)
            found = self._ends.get(last)
            if found is None:
                if len(self._ends) > 10_000:
                    self._ends.clear()
                found = self._ends[last] = end_of_office_day(last)
            end = found
        else:
            raise ValueError(f"unknown limit unit {unit!r}")
        note = uncovered_warning(uncovered) if uncovered else ""
        if note:
            from petitions.deadlines.calendar import log

            log.warning("deadline %s: %s", end.isoformat(), note)
        return end, warn_time(start, end, warn_at), note
