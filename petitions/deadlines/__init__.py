"""Time limits: the office calendar, deadlines, paused clocks and the sweep.

* :mod:`petitions.deadlines.calendar` — working days on the official Chinese
  holiday and adjusted-workday (调休) calendar, Monday–Friday (with a warning)
  for years it does not cover;
* :mod:`petitions.deadlines.clock` — deadlines from a stage's limit;
* :mod:`petitions.deadlines.states` — a running clock's states, without the calendar;
* :mod:`petitions.deadlines.sweep` — record warnings, breaches and automatic
  escalations (督办) that are due (``PetitionService.sweep``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.deadlines.calendar import OFFICE_ZONE, Day, WorkCalendar, work_calendar
    from petitions.deadlines.clock import Deadline, Timekeeper
    from petitions.deadlines.states import BREACHED, DEADLINE_STATES, ON_TIME, PAUSED, WARNED


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "OFFICE_ZONE": "petitions.deadlines.calendar",
    "Day": "petitions.deadlines.calendar",
    "WorkCalendar": "petitions.deadlines.calendar",
    "work_calendar": "petitions.deadlines.calendar",
    "BREACHED": "petitions.deadlines.states",
    "DEADLINE_STATES": "petitions.deadlines.states",
    "ON_TIME": "petitions.deadlines.states",
    "PAUSED": "petitions.deadlines.states",
    "WARNED": "petitions.deadlines.states",
    "Deadline": "petitions.deadlines.clock",
    "Timekeeper": "petitions.deadlines.clock",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
