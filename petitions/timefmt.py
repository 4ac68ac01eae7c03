"""Showing times to people: stored in UTC, shown in Asia/Shanghai by default."""

from __future__ import annotations

import os
from datetime import UTC, datetime
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


def parse(text: str, tz: str | None = None) -> datetime:
    """Parse an ISO 8601 date or date-time; without an offset it is local time."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)
