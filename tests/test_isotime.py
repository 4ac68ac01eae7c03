"""``petitions.domain.isotime.isoformat`` writes what ``datetime.isoformat``
writes (issue 18 point 4: events and key rows write their times with it)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from petitions.domain import isotime
from petitions.domain.isotime import isoformat


def _moments() -> list[datetime]:
    rng = random.Random(18)
    base = datetime(2026, 12, 4, 9, 45, 0, tzinfo=UTC)
    edges = [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC),
             datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
             datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
             datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
             datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
             datetime(2026, 1, 1, tzinfo=UTC), base, base + timedelta(microseconds=1),
             base - timedelta(microseconds=1), base + timedelta(seconds=59, microseconds=999_999)]
    # Runs within a minute and across minutes (a bulk import's), every
    # second of one minute with and without microseconds, and times spread
    # over centuries.
    out = list(edges)
    at = base
    for _ in range(8000):
        at += timedelta(microseconds=rng.choice([0, 1, 7, 999, 10_000, 999_999, 3_000_000]))
        out.append(at)
    out += [base + timedelta(seconds=s) for s in range(60)]
    out += [base + timedelta(seconds=s, microseconds=rng.randint(1, 999_999)) for s in range(60)]
    out += [datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
                     rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                     rng.choice([0, rng.randint(0, 999_999)]), tzinfo=UTC)
            for _ in range(16000)]
    return out


def test_isoformat_writes_what_datetime_isoformat_writes() -> None:
    moments = _moments()
    assert len(moments) > 24_000
    assert any(m.microsecond == 0 for m in moments)
    for moment in moments:
        assert isoformat(moment) == moment.isoformat(), moment
    # Again, each minute's text now kept (and the cache started afresh on the way).
    for moment in moments:
        assert isoformat(moment) == moment.isoformat(), moment
    assert 0 < len(isotime._MINUTES) <= isotime._KEPT


def test_other_times_are_written_by_datetime_isoformat() -> None:
    class Later(datetime):
        def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
            return "later"

    moment = datetime(2026, 12, 4, 9, 45, 30, 123, tzinfo=UTC)
    for other in (moment.replace(tzinfo=None), moment.astimezone(timezone(timedelta(hours=8))),
                  moment.replace(tzinfo=timezone(timedelta(0))),
                  moment.replace(tzinfo=timezone(timedelta(0), "UTC"))):
        assert isoformat(other) == other.isoformat()
    assert isoformat(moment.replace(tzinfo=None)) == "2026-12-04T09:45:30.000123"
    assert isoformat(moment.astimezone(timezone(timedelta(hours=8)))).endswith("+08:00")
    assert isoformat(Later(2026, 12, 4, tzinfo=UTC)) == "later"
