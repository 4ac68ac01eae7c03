"""``audit verify`` over the tables written beside the events.

``work_orders``, ``work_order_counters`` and ``caller_index``
(:mod:`petitions.sidetables`) are read in the same read transaction as the
events and checked:

* **derived from the events, keys or not** — each number is well formed,
  belongs to a petition that was filed, in the (Asia/Shanghai) year of its
  filing, and is held once; each counter equals the serials issued in its
  scope, which run 1…counter without a gap (a deleted row leaves one); each
  caller-index entry names the petition's own petitioner;
* **with the master key** — each work-order and counter row's MAC (a key
  derived from the master key, the row's identity bound in), so a number
  moved to another petition or a counter set back is seen; and the caller
  index is recomputed from the petition's sealed phone and ID number: an
  entry that does not follow from them was inserted or changed, one that
  follows but is absent was deleted.

Without the master key, what needs it is reported as *not checkable without
keys*, never as passed.  Rows written before rows were authenticated (no MAC)
are listed as unauthenticated, not as tampered — unless a newer number of
the same year is authenticated (then the MAC was removed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from petitions.sidetables import (
    NUMBER,
    SideTables,
    counter_mac,
    local_year,
    order_mac,
    side_key,
)

#: The stored topic of a filing (the first event of every petition).
FILED_TOPIC = "petitions.domain.petition:Petition.Filed"

#: Unauthenticated rows listed in a report (the count is exact).
MAX_LISTED = 100

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

#: Reports one problem: (kind, message, petition id, table, row).
Reporter = Callable[[str, str, "str | None", str, str], None]


@attrs.frozen
class Filing:
    """What the side tables are checked against, read from a stored filing."""

    occurred_at: str
    petitioner_id: str
    phone: str
    id_number: str


def filing_of(state: bytes) -> Filing | None:
    """The fields of a stored ``Petition.Filed`` event (None if unreadable:
    the event's own problem is reported by the chain check)."""
    try:
        data = json.loads(state)
        who = data["petitioner"]["_data_"]
        return Filing(str(data["occurred_at"]["_data_"]), str(who.get("id") or ""),
                      str(who.get("phone") or ""), str(who.get("id_number") or ""))
    except (ValueError, KeyError, TypeError):
        return None


@attrs.frozen
class SideRows:
    """The side tables' rows as read in the events' read transaction."""

    #: Whole-number columns read as -1 when they hold anything else (SQLite
    #: stores what it is given): reported as changed.
    orders: list[tuple[str, str, int, int, str | None]]
    counters: list[tuple[str, int, str | None]]
    callers: list[tuple[str, str, str, str]]

    @classmethod
    def read(cls, tables: SideTables, cursor: Any) -> SideRows:
        def select(table: str, wanted: tuple[str, ...]) -> list[tuple[Any, ...]]:
            have = tables.columns(cursor, table)
            if not have:
                return []
            cols = ", ".join(c if c in have else "NULL" for c in wanted)
            cursor.execute(f"SELECT {cols} FROM {table}")
            return tables.fetch(cursor)

        orders = [(str(r[0]), str(r[1]), _int(r[2]), _int(r[3]),
                   None if r[4] is None else str(r[4]))
                  for r in select(tables.orders, ("petition_id", "number", "year", "serial",
                                                  "mac"))]
        counters = [(str(r[0]), _int(r[1]), None if r[2] is None else str(r[2]))
                    for r in select(tables.counters, ("scope", "last", "mac"))]
        callers = [(str(r[0]), str(r[1]), str(r[2]), str(r[3]))
                   for r in select(tables.callers, ("digest", "kind", "petitioner_id",
                                                    "petition_id"))]
        return cls(orders, counters, callers)


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 10)
    except ValueError:
        return -1


def _hex(pid: str) -> str | None:
    if len(pid) == 36 and pid[8] == pid[13] == pid[18] == pid[23] == "-" and pid.islower():
        return pid.replace("-", "")  # the stored form (whether a chain exists is checked)
    try:
        return UUID(pid).hex
    except ValueError:
        return None


def _dashed(oid: str) -> str:
    """A petition id as stored in the side tables, from 32 hex digits."""
    return f"{oid[:8]}-{oid[8:12]}-{oid[12:16]}-{oid[16:20]}-{oid[20:]}"


def _runs(values: list[int]) -> str:
    """``1, 3–5`` for [1, 3, 4, 5] (at most five runs shown)."""
    runs: list[tuple[int, int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:5])
    return text + (", …" if len(runs) > 5 else "")


def check_side_tables(rows: SideRows, filings: dict[str, Filing], chains: set[str],
                      report: Reporter, *, master: Any = None,
                      privacy: Any = None) -> dict[str, Any]:
    """Check the side tables; problems go to ``report``; returns the summary
    (counts, what was authenticated, what was not checkable)."""
    key = side_key(master) if master is not None else None
    unauthenticated: list[dict[str, str]] = []
    unauth_count = 0
    authenticated = 0
    indexed_flag: dict[str, bool] = {}

    def unauth(table: str, row: str) -> None:
        nonlocal unauth_count
        unauth_count += 1
        if len(unauthenticated) < MAX_LISTED:
            unauthenticated.append({"table": table, "row": row})

    # ------------------------------------------------------------ work orders
    by_scope: dict[str, list[tuple[str, str, int, int, str | None]]] = {}
    holders: dict[str, str] = {}
    bad_macs: list[tuple[str, str, str]] = []
    for pid, number, year, serial, mac in rows.orders:
        row = f"petition {pid}"
        parsed = NUMBER.match(number)
        if parsed is None or int(parsed["year"]) != year or int(parsed["seq"]) != serial:
            report("work_order", f"number {number} does not match the row's year {year} "
                   f"and serial {serial} (the row was changed)", pid, "work_orders", row)
        prefix = (parsed["prefix"] or "") if parsed is not None else ""
        by_scope.setdefault(f"{prefix}|{year}", []).append((pid, number, year, serial, mac))
        if number in holders:
            report("work_order", f"number {number} is held by petitions {holders[number]} "
                   f"and {pid} (a row was inserted or changed)", pid, "work_orders", row)
        holders.setdefault(number, pid)
        oid = _hex(pid)
        filing = filings.get(oid) if oid is not None else None
        if oid is None or oid not in chains:
            report("work_order", f"number {number} is held by a petition with no stored "
                   "events (the row was inserted, or it was moved to another id)", pid,
                   "work_orders", row)
        elif filing is not None:
            try:
                filed = local_year(datetime.fromisoformat(filing.occurred_at))
            except ValueError:
                filed = year
            if filed != year:
                report("work_order", f"number {number} is of year {year}, but the petition "
                       f"was filed in {filed} (the row was changed or moved)", pid,
                       "work_orders", row)
        if key is None:
            continue
        if mac is None:
            continue  # judged with its scope below
        for flag in (True, False):
            if mac == order_mac(key, pid, number, year, serial, flag):
                indexed_flag[pid] = flag
                authenticated += 1
                break
        else:
            bad_macs.append((pid, number, row))
    counters = {scope: (last, mac) for scope, last, mac in rows.counters}
    bad_counters: list[tuple[str, int]] = []
    for scope in sorted(set(by_scope) | set(counters)):
        issued = by_scope.get(scope, [])
        serials = [r[3] for r in issued]
        prefix, _, year_text = scope.partition("|")
        label = f"{prefix + ' ' if prefix else ''}{year_text}"
        found = counters.get(scope)
        if found is None:
            report("work_order_counter", f"numbers of {label} are stored but its counter "
                   "row is missing (deleted)", None, "work_order_counters", f"scope {scope}")
            last = max(serials, default=0)
        else:
            last = found[0]
        missing = sorted(set(range(1, last + 1)) - set(serials))
        if missing:
            report("work_order", f"serial {_runs(missing)} of {label} was issued (counter at "
                   f"{last}) but no row holds it (rows deleted, or their serial changed)",
                   None, "work_orders", f"scope {scope}")
        beyond = sorted(s for s in serials if s > last or s < 1)
        if beyond:
            report("work_order", f"serial {_runs(beyond)} of {label} lies outside the "
                   f"serials the counter issued (1–{last}): a row was inserted or changed, "
                   "or the counter lowered", None, "work_orders", f"scope {scope}")
        doubled = sorted({s for s in serials if serials.count(s) > 1}) if len(
            set(serials)) != len(serials) else []
        if doubled:
            report("work_order", f"serial {_runs(doubled)} of {label} is held more than "
                   "once (a row was inserted or changed)", None, "work_orders",
                   f"scope {scope}")
        if key is None:
            continue
        # Rows without a MAC: older than authentication, unless a smaller
        # serial of the same scope is authenticated, or the counter was
        # authenticated when it issued this serial or a later one (the
        # application writes both or neither): then the MAC was removed.
        macked = [r[3] for r in issued if r[4] is not None]
        if found is not None and found[1] is not None:
            macked.append(found[0])
        first_mac = min(macked, default=None)
        for pid, number, _year, serial, mac in issued:
            if mac is not None:
                continue
            if first_mac is not None and serial >= first_mac:
                report("work_order", f"number {number} has no authentication code, but an "
                       "earlier number of its year has one (the row was inserted, or its "
                       "code removed)", pid, "work_orders", f"petition {pid}")
            else:
                unauth("work_orders", f"petition {pid}")
        if found is not None:
            if found[1] is None:
                if any(r[4] is not None for r in issued):
                    report("work_order_counter", f"the counter of {label} has no "
                           "authentication code, but numbers of its year have one (the "
                           "counter was changed)", None, "work_order_counters",
                           f"scope {scope}")
                else:
                    unauth("work_order_counters", f"scope {scope}")
            elif found[1] == counter_mac(key, scope, found[0]):
                authenticated += 1
            else:
                bad_counters.append((scope, found[0]))
    macs = sum(1 for r in rows.orders if r[4] is not None) + sum(
        1 for r in rows.counters if r[2] is not None)
    if key is not None and macs > 1 and authenticated == 0:
        report("work_order", f"the configured master key authenticates none of the {macs} "
               "work-order and counter rows: it is not this store's key", None,
               "work_orders", "*")
    else:
        for pid, number, row in bad_macs:
            report("work_order", f"number {number}: the row's authentication code does not "
                   "match (its number, year or serial was changed, or it was moved from "
                   "another petition)", pid, "work_orders", row)
        for scope, last in bad_counters:
            report("work_order_counter", f"the counter's authentication code does not match "
                   f"its value {last} (the counter was changed)", None,
                   "work_order_counters", f"scope {scope}")

    # ---------------------------------------------------------- caller index
    from petitions.privacy.callers import ID_NUMBER, PHONE, index_key
    from petitions.privacy.errors import MasterKeyInvalid

    stored: dict[str, set[tuple[str, str]]] = {}
    for digest, kind, petitioner_id, pid in rows.callers:
        row = f"petition {pid} {kind} {digest[:16]}"
        oid = _hex(pid)
        filing = filings.get(oid) if oid is not None else None
        if kind not in (PHONE, ID_NUMBER) or not _HEX64.match(digest):
            report("caller_index", "the entry is malformed (the row was changed)", pid,
                   "caller_index", row)
        if filing is None:
            report("caller_index", "the entry is of a petition with no stored filing (the "
                   "row was inserted, or moved to another id)", pid, "caller_index", row)
            continue
        if petitioner_id != filing.petitioner_id:
            report("caller_index", f"the entry names petitioner {petitioner_id}, but the "
                   f"petition was filed for {filing.petitioner_id} (the row was changed)",
                   pid, "caller_index", row)
        stored.setdefault(pid, set()).add((digest, kind))
    derived = unopened = 0
    refused: str | None = None
    if master is not None and privacy is not None:
        try:
            derived, unopened = _derive_callers(filings, stored, indexed_flag, report,
                                                index_key(master), privacy)
        except MasterKeyInvalid as exc:  # reported by the key rows' check
            refused = str(exc)
    not_checkable: list[str] = []
    if key is None:
        not_checkable.append("work_orders and work_order_counters authentication "
                             "(not checkable without keys)")
    if master is None or privacy is None:
        not_checkable.append("caller_index derivation from the sealed data "
                             "(not checkable without keys)")
    elif refused is not None:
        not_checkable.append(f"caller_index derivation: the master key does not open the "
                             f"data keys ({refused}; not checkable without keys)")
    elif unopened:
        not_checkable.append(f"caller_index derivation for {unopened} petition(s) whose "
                             "data keys are not in this store (not checkable without keys)")
    return {
        "work_orders": len(rows.orders),
        "work_order_counters": len(rows.counters),
        "caller_index": len(rows.callers),
        "authenticated": authenticated,
        "callers_derived": derived,
        "unauthenticated_count": unauth_count,
        "unauthenticated": unauthenticated,
        "not_checkable": not_checkable,
    }


def _derive_callers(filings: dict[str, Filing], stored: dict[str, set[tuple[str, str]]],
                    indexed_flag: dict[str, bool], report: Reporter, ckey: bytes,
                    privacy: Any) -> tuple[int, int]:
    """Recompute each indexed petition's caller-index entries from its sealed
    phone and ID number and compare; (petitions derived, petitions whose data
    keys are not here)."""
    from petitions.privacy.callers import entries

    derived = unopened = 0
    if any(stored.values()) or indexed_flag:
        privacy.keyring.preload()
    for oid, filing in filings.items():
        pid = _dashed(oid)
        have = stored.get(pid, set())
        if not have and not indexed_flag.get(pid, False):
            continue  # never indexed (filed before the index, or not yet re-indexed)
        values = []
        erased = False
        for field, sealed in (("phone", filing.phone), ("id_number", filing.id_number)):
            clear, why = privacy.open_checked(field, sealed) if sealed else ("", None)
            values.append(clear or "")
            erased = erased or why == "erased"
            if why == "sealed":
                break
        else:
            derived += 1
            want = set(entries(ckey, values[0], values[1]))
            why_extra = ("the petitioner's data was erased but the entry remains (the erasure "
                         "was interrupted, or the row was inserted)" if erased else
                         "the entry does not follow from the petition's sealed data (it was "
                         "inserted or changed)")
            for digest, kind in sorted(have - want):
                report("caller_index", why_extra, pid, "caller_index",
                       f"petition {pid} {kind} {digest[:16]}")
            for digest, kind in sorted(want - have):
                report("caller_index", f"the {kind} entry that follows from the "
                       "petition's sealed data is missing (it was deleted or changed)",
                       pid, "caller_index", f"petition {pid} {kind} {digest[:16]}")
            continue
        unopened += 1
    return derived, unopened
