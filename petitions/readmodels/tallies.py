"""Rate tallies: the counters ``stats`` (and ``rank``) read over all days.

The projection keeps, in the same transaction as the case rows, how many
valid call-backs each rate group has per combination of everything the rates
are computed from — outcome, contacted, resolved, rating, sign-for and first
contact state, supervision levels — with the sums of returns, reminders and
escalations (table ``rate_tally``), and how many call-backs were recorded as
impossible per group (``impossible_tally``).  ``stats --by street`` then reads
a few rows per group instead of every case with a call-back: its cost grows
with the number of groups and combinations, not with the number of cases.
With ``--from/--to`` (a range of days) the rates are still computed from the
case index (its covering ``petition_index_rates`` index).

Outcomes are kept in the key, so which outcomes make a call-back invalid
(``[valid] exclude_outcomes`` of the rates data) is still decided when the
query runs.  Missing values are stored as ``''`` (primary key columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The tables (beside the other views; emptied, dropped and rebuilt with them).
TALLY_TABLES = ("rate_tally", "impossible_tally")

TALLY_DDL = (
    "CREATE TABLE IF NOT EXISTS {rate_tally} (grouping TEXT NOT NULL, grp TEXT NOT NULL, "
    "outcome TEXT NOT NULL, contacted INTEGER NOT NULL, resolved INTEGER NOT NULL, "
    "rating TEXT NOT NULL, sign_state TEXT NOT NULL, contact_state TEXT NOT NULL, "
    "levels TEXT NOT NULL, n INTEGER NOT NULL, returns INTEGER NOT NULL, "
    "reminders INTEGER NOT NULL, escalations INTEGER NOT NULL, "
    "PRIMARY KEY (grouping, grp, outcome, contacted, resolved, rating, sign_state, "
    "contact_state, levels))",
    "CREATE TABLE IF NOT EXISTS {impossible_tally} (grouping TEXT NOT NULL, "
    "grp TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (grouping, grp))",
)

#: A ``rate_tally`` key: grouping, group, outcome, contacted, resolved,
#: rating, sign state, contact state, supervision levels.
RateKey = tuple[str, str, str, int, int, str, str, str, str]
#: What a key adds up: cases, returns, reminders, escalations.
RateSums = list[int]


def _groups(row: Mapping[str, Any], day: str) -> tuple[tuple[str, str], ...]:
    """``(grouping, group)`` of every ``stats --by`` grouping of ``row``
    (months and years of the local ``day`` given)."""
    return (("street", str(row["street"] or "")), ("community", str(row["community"] or "")),
            ("grid", str(row["grid"] or "")), ("category", str(row["category"] or "")),
            ("unit", str(row["lead_unit"] or "")), ("month", day[:7]), ("year", day[:4]))


def rate_keys(row: Mapping[str, Any] | None) -> list[tuple[RateKey, tuple[int, int, int]]]:
    """The tally keys a case counts in (a valid call-back, not excluded), each
    with the case's returns, reminders and escalations."""
    if row is None or row["cb_day"] is None or row["excluded"]:
        return []
    rest = (str(row["outcome"] or ""), int(row["cb_contacted"] or 0),
            int(row["cb_resolved"] or 0), str(row["last_rating"] or ""),
            str(row["sign_state"] or ""), str(row["contact_state"] or ""),
            str(row["escalation_levels"] or ""))
    sums = (int(row["returns"] or 0), int(row["reminders"] or 0),
            int(row["escalations"] or 0))
    return [((by, grp, *rest), sums) for by, grp in _groups(row, str(row["cb_day"]))]


def impossible_keys(row: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The ``impossible_tally`` keys of a case whose call-back was impossible."""
    if row is None or row["cb_impossible"] is None or row["excluded"]:
        return []
    return list(_groups(row, str(row["cb_impossible"])))


class Tallies:
    """The tally changes of one view batch: old rows subtracted, new ones added."""

    def __init__(self) -> None:
        self.rates: dict[RateKey, RateSums] = {}
        self.impossible: dict[tuple[str, str], int] = {}

    def move(self, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        """Count a case's change from ``old`` to ``new`` (either ``None``)."""
        for row, sign in ((old, -1), (new, 1)):
            for key, (ret, rem, esc) in rate_keys(row):
                sums = self.rates.setdefault(key, [0, 0, 0, 0])
                sums[0] += sign
                sums[1] += sign * ret
                sums[2] += sign * rem
                sums[3] += sign * esc
            for ikey in impossible_keys(row):
                self.impossible[ikey] = self.impossible.get(ikey, 0) + sign

    def write(self, tx: Any) -> None:
        """Add the changes to the tables (one statement per table)."""
        tx.executemany(
            "INSERT INTO {rate_tally} (grouping, grp, outcome, contacted, resolved, rating, "
            "sign_state, contact_state, levels, n, returns, reminders, escalations) "
            "VALUES (:g, :v, :o, :c, :r, :t, :s, :f, :l, :n, :ret, :rem, :esc) "
            "ON CONFLICT (grouping, grp, outcome, contacted, resolved, rating, sign_state, "
            "contact_state, levels) DO UPDATE SET n = {rate_tally}.n + :n, "
            "returns = {rate_tally}.returns + :ret, "
            "reminders = {rate_tally}.reminders + :rem, "
            "escalations = {rate_tally}.escalations + :esc",
            [{"g": g, "v": v, "o": o, "c": c, "r": r, "t": t, "s": s, "f": f, "l": lv,
              "n": n, "ret": ret, "rem": rem, "esc": esc}
             for (g, v, o, c, r, t, s, f, lv), (n, ret, rem, esc) in self.rates.items()
             if n or ret or rem or esc])
        tx.executemany(
            "INSERT INTO {impossible_tally} (grouping, grp, n) VALUES (:g, :v, :n) "
            "ON CONFLICT (grouping, grp) DO UPDATE SET n = {impossible_tally}.n + :n",
            [{"g": g, "v": v, "n": n} for (g, v), n in self.impossible.items() if n])
        self.rates.clear()
        self.impossible.clear()


def rate_rows_sql(exclude: int) -> str:
    """The rates query on ``rate_tally`` (rows as ``ViewStore.rate_rows``),
    leaving out the outcomes ``:x0`` … ``:x{exclude-1}``."""
    names = ", ".join(f":x{i}" for i in range(exclude))
    excluded = f" AND outcome NOT IN ({names})" if exclude else ""
    return ("SELECT grp, contacted AS cb_contacted, resolved AS cb_resolved, "
            "rating AS last_rating, SUM(n) AS n, sign_state, contact_state, "
            "SUM(returns) AS ret, SUM(reminders) AS rem, SUM(escalations) AS esc, "
            "levels AS escalation_levels FROM {rate_tally} "
            f"WHERE grouping = :by{excluded} "
            "GROUP BY grp, contacted, resolved, rating, sign_state, contact_state, levels "
            "HAVING SUM(n) <> 0")


IMPOSSIBLE_SQL = ("SELECT grp, n FROM {impossible_tally} WHERE grouping = :by AND n <> 0")
