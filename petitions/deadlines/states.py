"""The states of a running clock, and the little a view or the aggregate needs
of deadlines without the calendar: when a warning is due, and whether a
recorded deadline is still provisional.

Kept apart from :mod:`petitions.deadlines.clock` (which counts deadlines on
the office calendar) so that reading a petition does not import the calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from petitions.i18n import N_

if TYPE_CHECKING:
    from petitions.deadlines.calendar import WorkCalendar

#: The states of a running clock.
ON_TIME = "on_time"
WARNED = "warned"
BREACHED = "breached"
PAUSED = "paused"
DEADLINE_STATES = (ON_TIME, WARNED, BREACHED, PAUSED)
#: The states as words shown to people (translated by the catalogs).
STATE_WORDS = (N_("on_time"), N_("warned"), N_("breached"), N_("paused"))


def warn_time(start: datetime, deadline: datetime, warn_at: float) -> datetime:
    """When ``warn_at`` of the time from ``start`` to ``deadline`` has passed."""
    span = deadline - start
    if span <= timedelta(0):
        return deadline
    return start + timedelta(seconds=round(span.total_seconds() * warn_at))


def is_provisional(note: str, calendar: WorkCalendar | None = None) -> bool:
    """Whether a deadline recorded with calendar warning ``note`` is still
    provisional: the warning names a year the calendar does not cover yet.
    (Once the data covers it, :func:`petitions.deadlines.recheck.recheck`
    records the deadlines that moved; the others stand as counted.)"""
    if not note:
        return False
    from petitions.deadlines.calendar import note_years, work_calendar

    years = note_years(note)
    if not years:
        return True
    cal = calendar or work_calendar()
    return any(not cal.covers(y) for y in years)
