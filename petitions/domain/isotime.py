"""A time's ISO 8601 text, as ``datetime.isoformat`` writes it, made faster
for times in UTC (what events and key rows store).

A bulk import writes several times per filing (each event's timestamp, the
time of filing, a clock's warning time, a new key's creation time), most of
them within the same minute.  :func:`isoformat` writes the text of a
minute once (by ``datetime.isoformat`` itself) and adds the seconds and
microseconds to it: the same text, about a third less time than
``datetime.isoformat`` (which formats every part, and asks the time zone for
its offset, each time).  Any other time (naive, another zone, a subclass) is
written by ``datetime.isoformat``.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: Seconds (and minutes) as two digits.
_TWO = tuple(f"{n:02d}" for n in range(60))
#: How many minutes' texts are kept (the cache starts afresh past it).
_KEPT = 4096
#: Per minute (its day's ordinal times 1440 plus its minute of the day): the
#: text up to and including the colon after the minutes.
_MINUTES: dict[int, str] = {}


def isoformat(when: datetime) -> str:
    """``when.isoformat()``."""
    if when.tzinfo is not UTC or when.__class__ is not datetime:
        return when.isoformat()
    key = when.toordinal() * 1440 + when.hour * 60 + when.minute
    head = _MINUTES.get(key)
    if head is None:
        if len(_MINUTES) >= _KEPT:
            _MINUTES.clear()
        # "YYYY-MM-DDTHH:MM+00:00" without its offset, and the colon after it.
        head = _MINUTES[key] = when.isoformat(timespec="minutes")[:-6] + ":"
    micro = when.microsecond
    if micro:
        return f"{head}{_TWO[when.second]}.{micro:06d}+00:00"
    return f"{head}{_TWO[when.second]}+00:00"
