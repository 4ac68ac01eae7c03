"""Time limits: the office calendar, deadlines, paused clocks and the sweep.

* :mod:`petitions.deadlines.calendar` — working days on the official Chinese
  holiday and adjusted-workday (调休) calendar, Monday–Friday (with a warning)
  for years it does not cover;
* :mod:`petitions.deadlines.clock` — deadlines from a stage's limit;
* :mod:`petitions.deadlines.sweep` — record warnings, breaches and automatic
  escalations (督办) that are due (``PetitionService.sweep``).
"""

from petitions.deadlines.calendar import OFFICE_ZONE, Day, WorkCalendar, work_calendar
from petitions.deadlines.clock import (
    BREACHED,
    DEADLINE_STATES,
    ON_TIME,
    PAUSED,
    WARNED,
    Deadline,
    Timekeeper,
)

__all__ = [
    "BREACHED",
    "DEADLINE_STATES",
    "OFFICE_ZONE",
    "ON_TIME",
    "PAUSED",
    "WARNED",
    "Day",
    "Deadline",
    "Timekeeper",
    "WorkCalendar",
    "work_calendar",
]
