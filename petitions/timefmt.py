"""Showing times to people: stored in UTC, shown in Asia/Shanghai by default."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


@lru_cache(maxsize=8)
def zone(name: str | None = None) -> ZoneInfo:
    """The display zone: ``name``, else ``PETITIONS_TZ``, else Asia/Shanghai."""
    return ZoneInfo(name or os.environ.get("PETITIONS_TZ") or DEFAULT_ZONE)


def local(dt: datetime, tz: str | None = None) -> datetime:
    """``dt`` (aware; naive is taken as UTC) in the display zone."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(zone(tz))


def show(dt: datetime | None, tz: str | None = None, seconds: bool = False) -> str:
    """``2022-06-06 09:30`` in the display zone; empty for ``None``."""
    if dt is None:
        return ""
    return local(dt, tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


#: The years a time given by a person may fall in.  ASSUMPTION: no rule in the
#: seed sets them; they keep deadline arithmetic (years of working days after
#: a date) far from the ends of the calendar Python can count.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def in_range(value: date) -> bool:
    """Whether ``value`` (a date or date-time) falls in the years people may give."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def parse(text: str, tz: str | None = None) -> datetime:
    """Parse an ISO 8601 date or date-time; without an offset it is local time.
    ``ValueError`` when it is not one, or not in the years 1900–2999."""
    value = datetime.fromisoformat(text.strip())
    if not in_range(value):
        raise ValueError(f"{text!r} is not between {EARLIEST_YEAR} and {LATEST_YEAR}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)


def is_end_of_day(dt: datetime, tz: str | None = None) -> bool:
    """Whether ``dt`` is a midnight in the display zone: the end (24:00) of
    the day before, as day periods end (民法典 art. 201)."""
    shown = local(dt, tz)
    return (shown.hour, shown.minute, shown.second, shown.microsecond) == (0, 0, 0, 0)


def due_date(dt: datetime | None, tz: str | None = None) -> date | None:
    """The day a deadline falls due: a deadline at midnight ends the day
    before (``2026-10-11 00:00`` is due on 2026-10-10); else its own day."""
    if dt is None:
        return None
    shown = local(dt, tz)
    if is_end_of_day(dt, tz):
        return shown.date() - timedelta(days=1)
    return shown.date()


def show_deadline(dt: datetime | None, tz: str | None = None) -> str:
    """A deadline as people read it: ``2026-10-10 24:00`` for one at the end
    of 2026-10-10 (stored as the instant 2026-10-11 00:00), else like
    :func:`show`."""
    if dt is None:
        return ""
    if is_end_of_day(dt, tz):
        found = due_date(dt, tz)
        assert found is not None
        return f"{found.isoformat()} 24:00"
    return show(dt, tz)


def show_iso_text(text: str, tz: str | None = None) -> str | None:
    """``text`` shown in local time if it is an ISO 8601 date-time with an
    offset (as stored values are), else ``None``."""
    if len(text) < 19 or text[4:5] != "-" or "T" not in text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return show(value, tz)
