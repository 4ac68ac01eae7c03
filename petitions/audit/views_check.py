"""``audit verify --views``: compare the read models with a rebuild.

The read models (case index, caseloads, campaign progress) are derived from
the events; someone who can write the database could change them without
touching a single event.  This check rebuilds them, up to the position the
stored views have reached, in a private in-memory SQLite database (nothing is
written to the store) and compares every row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import Tracking

#: Differences reported in full (the count is exact).
MAX_DIFFERENCES = 50
_BATCH = 500


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def _rows(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, dict[Any, tuple[Any, ...]]]:
    out: dict[str, dict[Any, tuple[Any, ...]]] = {}
    for table, rows in dump.items():
        keyed: dict[Any, tuple[Any, ...]] = {}
        for row in rows:
            normal = tuple(_norm(v) for v in row)
            key = normal[:2] if table == "caseload" else normal[0]
            keyed[key] = normal
        out[table] = keyed
    return out


def compare_views(app: Any) -> tuple[int, list[str]]:
    """``(position compared, differences)``: each difference names the view
    and the row (petition id, person or campaign id) that differs."""
    from eventsourcing.persistence import PersistenceError
    from eventsourcing.sqlite import SQLiteDatastore

    from petitions.readmodels.projection import CaseViews
    from petitions.readmodels.queries import open_store
    from petitions.readmodels.sqlite import SQLiteViewStore

    stored = open_store(app, create=False)
    try:
        position = stored.max_tracking_id(app.name) or 0
    except PersistenceError:  # no views stored yet: nothing to compare
        return 0, []
    if not position:
        return 0, []
    scratch = SQLiteDatastore(f"file:petitions-views-check-{uuid4().hex}?mode=memory"
                              "&cache=shared")
    try:
        fresh = SQLiteViewStore(scratch)
        fresh.create_table()
        projection = CaseViews(view=fresh)
        start = 0
        recorder: Any = app.recorder
        while start < position:
            notes = recorder.select_notifications(start=start, limit=_BATCH, stop=position,
                                                  inclusive_of_start=False)
            if not notes:
                break
            items = [(app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notes]
            projection.process_batch_after(items, start)
            start = notes[-1].id
        have, want = _rows(stored.dump()), _rows(fresh.dump())
        if stored.bulk_unfinished(app.name):
            # A bulk catch-up that stopped before its end: the counters are
            # counted again from the case index by the next catch-up.
            for table in ("caseload", "campaign_progress", "case_counts", "rate_tallies"):
                have.pop(table, None)
                want.pop(table, None)
    finally:
        scratch.close()
    differences: list[str] = []
    for table in sorted(set(have) | set(want)):
        rows_have, rows_want = have.get(table, {}), want.get(table, {})
        for key in sorted(set(rows_have) | set(rows_want), key=str):
            a, b = rows_have.get(key), rows_want.get(key)
            if a == b:
                continue
            if a is None:
                differences.append(f"{table} {key}: missing from the stored views")
            elif b is None:
                differences.append(f"{table} {key}: in the stored views but not in a rebuild")
            else:
                differences.append(f"{table} {key}: differs from a rebuild")
    return position, differences
