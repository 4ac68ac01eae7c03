"""The three rates offices are judged on: response, resolution, satisfaction.

After Beijing's 接诉即办 evaluation (响应率, 解决率, 满意率), computed over
valid call-backs (回访)::

    response rate     = responded / valid    (as practised: signed for and first
                                              contact made within their limits;
                                              the criteria are rates data)
    resolution rate   = resolved / valid
    satisfaction rate = Σ weight(rating) / rated     (as practised: over those who
                                                      gave a rating; the unreachable
                                                      are reported apart)

``[satisfaction] over = "valid"`` divides by every valid call-back instead.
``rank`` orders groups by a composite score, Σ weight × rate, with the weights
of ``[rank.weights]``.

The weights and which outcomes make a call-back invalid are configuration
(``petitions/data/rates.toml``, overridden by a file named in
``PETITIONS_RATES``), not code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from workflows.records import asdict, evolve, field, frozen

#: The groupings ``stats`` knows: a column of the case index, or a period.
GROUPINGS = ("street", "community", "grid", "category", "unit", "month", "year")


#: What ``[response] counts`` may name: ``signed_in_time`` (the unit signed
#: for the order within its limit, 签收), ``contacted_in_time`` (first contact
#: with the petitioner within its limit, 先行联系), ``callback_contacted`` (the
#: call-back reached the petitioner).  A criterion the petition's workflow does
#: not ask for (no ``[sign_for]``) does not apply to it; when none applies, the
#: ``fallback`` criterion decides.
RESPONSE_CRITERIA = ("signed_in_time", "contacted_in_time", "callback_contacted")


def parse_levels(levels: str | None) -> dict[str, int]:
    """``"red:1;yellow:2"`` (the case index's supervision levels) → ``{"red": 1, "yellow": 2}``."""
    out: dict[str, int] = {}
    for part in (levels or "").split(";"):
        if ":" in part:
            code, n = part.rsplit(":", 1)
            out[code] = out.get(code, 0) + int(n)
    return out


def add_level(levels: str | None, level: str) -> str:
    """``"red:1;yellow:2"`` with one more ``level``."""
    counts = parse_levels(levels)
    counts[level] = counts.get(level, 0) + 1
    return ";".join(f"{k}:{v}" for k, v in sorted(counts.items()))


#: The composite score's weights when the rates data names none (the shipped
#: rates.toml does: 准格尔旗's published scheme, 30/35/35).
DEFAULT_RANK_WEIGHTS = {"response": 0.30, "resolution": 0.35, "satisfaction": 0.35}


@frozen
class RateConfig:
    """Weights of each rating, and outcomes whose call-backs do not count."""

    weights: Mapping[str, float]
    exclude_outcomes: tuple[str, ...]
    #: ``rated`` (as practised) or ``valid``: the satisfaction rate's denominator.
    satisfaction_over: str = "rated"
    #: Weights of the composite score of ``rank``: response, resolution, satisfaction.
    rank_weights: Mapping[str, float] = field(
        factory=lambda: dict(DEFAULT_RANK_WEIGHTS))
    #: The response rate's criteria (``[response] counts``), all of which must
    #: hold, and the one that decides when none applies (``fallback``).
    response_counts: tuple[str, ...] = ("signed_in_time", "contacted_in_time")
    response_fallback: str = "callback_contacted"

    def responded(self, contacted: bool, sign_state: str | None,
                  contact_state: str | None) -> bool:
        """Whether one valid call-back's order counts as responded to."""
        states = {"signed_in_time": sign_state, "contacted_in_time": contact_state,
                  "callback_contacted": "in_time" if contacted else "late"}
        applying = [c for c in self.response_counts if states[c] is not None]
        if not applying:
            applying = [self.response_fallback]
        return all(states[c] == "in_time" for c in applying)

    def weight(self, rating: str | None) -> float:
        return float(self.weights.get(rating or "", 0.0))


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


@lru_cache(maxsize=4)
def load_rate_config(extra_path: str | None = None) -> RateConfig:
    import tomllib  # (not at import: list and show do not compute rates)

    shipped = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "rates.toml")
    with open(shipped, encoding="utf-8") as fh:
        text = fh.read()
    data: dict[str, Any] = tomllib.loads(text)
    if extra_path:
        with open(extra_path, "rb") as fh:
            _merge(data, tomllib.load(fh))
    weights = {str(k): float(v) for k, v in data["satisfaction"]["weights"].items()}
    excluded = tuple(str(o) for o in data.get("valid", {}).get("exclude_outcomes", ()))
    over = str(data["satisfaction"].get("over", "rated"))
    if over not in ("rated", "valid"):
        raise ValueError(f"[satisfaction] over must be 'rated' or 'valid', not {over!r}")
    rank = {str(k): float(v) for k, v in data.get("rank", {}).get("weights", {}).items()}
    response = data.get("response", {})
    counts = tuple(str(c) for c in response.get("counts", ("signed_in_time",
                                                             "contacted_in_time")))
    fallback = str(response.get("fallback", "callback_contacted"))
    for criterion in (*counts, fallback):
        if criterion not in RESPONSE_CRITERIA:
            raise ValueError(f"[response] names {criterion!r}; known: "
                             f"{', '.join(RESPONSE_CRITERIA)}")
    return RateConfig(weights=weights, exclude_outcomes=excluded, satisfaction_over=over,
                      rank_weights=rank or dict(DEFAULT_RANK_WEIGHTS),
                      response_counts=counts, response_fallback=fallback)


def rate_config() -> RateConfig:
    """The configuration in force: the shipped one plus ``PETITIONS_RATES``."""
    return load_rate_config(os.environ.get("PETITIONS_RATES") or None)


@frozen
class RateGroup:
    """The rates of one group (a street, a grid, a month, …)."""

    group: str
    valid: int
    contacted: int
    resolved: int
    ratings: Mapping[str, int]
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    #: Valid call-backs that could not reach the petitioner (reported apart).
    unreachable: int = 0
    #: Call-backs with a rating (the satisfaction rate's denominator as practised).
    rated: int = 0
    #: Orders counted as responded to (the response rate's numerator).
    responded: int = 0
    #: Of the valid ones: orders signed for within their limit (签收), and
    #: with first contact within its limit (先行联系).
    signed_in_time: int = 0
    contacted_in_time: int = 0
    #: Returns (退单), reminders (催办) and escalations (督办) of these orders,
    #: and escalations by supervision level (yellow, red …).
    returns: int = 0
    reminders: int = 0
    escalations: int = 0
    escalation_levels: Mapping[str, int] = field(factory=dict)
    #: Call-backs recorded as impossible (the petitioner filed anonymously):
    #: in no rate, reported apart.
    impossible: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "valid": self.valid,
            "contacted": self.contacted,
            "resolved": self.resolved,
            "rated": self.rated,
            "unreachable": self.unreachable,
            "impossible": self.impossible,
            "ratings": dict(self.ratings),
            "response_rate": self.response_rate,
            "resolution_rate": self.resolution_rate,
            "satisfaction_rate": self.satisfaction_rate,
            "responded": self.responded,
            "signed_in_time": self.signed_in_time,
            "contacted_in_time": self.contacted_in_time,
            "returns": self.returns,
            "reminders": self.reminders,
            "escalations": self.escalations,
            "escalation_levels": dict(self.escalation_levels),
        }


@frozen
class RankRow:
    """One group's place in a ranking (``petitions rank``)."""

    group: str
    valid: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    score: float
    rank: int
    #: Supervision of the group's orders: reminders (催办), escalations (督办)
    #: and escalations by level, and returns (退单).
    reminders: int = 0
    escalations: int = 0
    escalation_levels: Mapping[str, int] = field(factory=dict)
    returns: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["escalation_levels"] = dict(self.escalation_levels)
        return out


def rank_groups(groups: Iterable[RateGroup], config: RateConfig) -> list[RankRow]:
    """Groups ordered by score = Σ weight × rate (a missing rate counts 0);
    equal scores share a rank (1, 2, 2, 4).  Groups without valid call-backs
    are not ranked."""
    w = config.rank_weights
    scored = []
    for g in groups:
        if not g.valid:
            continue
        score = round(w.get("response", 0.0) * (g.response_rate or 0.0)
                      + w.get("resolution", 0.0) * (g.resolution_rate or 0.0)
                      + w.get("satisfaction", 0.0) * (g.satisfaction_rate or 0.0), 6)
        scored.append((score, g))
    scored.sort(key=lambda sg: (-sg[0], sg[1].group))
    out: list[RankRow] = []
    for i, (score, g) in enumerate(scored):
        place = out[-1].rank if out and out[-1].score == score else i + 1
        out.append(RankRow(group=g.group, valid=g.valid, response_rate=g.response_rate,
                           resolution_rate=g.resolution_rate,
                           satisfaction_rate=g.satisfaction_rate, score=score, rank=place,
                           reminders=g.reminders, escalations=g.escalations,
                           escalation_levels=dict(g.escalation_levels), returns=g.returns))
    return out


def with_impossible(groups: list[RateGroup],
                    impossible: Iterable[tuple[str, int]]) -> list[RateGroup]:
    """``groups`` with the counts of impossible call-backs (anonymous
    petitioners) per group; a group with only those appears with no rates."""
    counts: dict[str, int] = {}
    for group, n in impossible:
        counts[group] = counts.get(group, 0) + n
    out = [evolve(g, impossible=counts.pop(g.group, 0)) for g in groups]
    out.extend(RateGroup(group=group, valid=0, contacted=0, resolved=0, ratings={},
                         response_rate=None, resolution_rate=None, satisfaction_rate=None,
                         impossible=n) for group, n in counts.items())
    return sorted(out, key=lambda g: g.group)


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


#: One row of the rates query: ``(group, contacted, resolved, rating, count)``,
#: optionally followed by ``sign_state, contact_state, returns, reminders,
#: escalations, escalation_levels`` (the sums over the ``count`` orders).
RateRow = tuple[Any, ...]


def compute_rates(rows: Iterable[RateRow], config: RateConfig) -> list[RateGroup]:
    """Rates per group from the rows of the rates query (:data:`RateRow`), one
    row per distinct combination, over valid call-backs only."""
    acc: dict[str, dict[str, Any]] = {}
    for row in rows:
        group, contacted, resolved, rating, count = row[:5]
        sign_state, contact_state, returns, reminders, escalations, levels = (
            (*row[5:], None, None, 0, 0, 0, None)[:6] if len(row) > 5
            else (None, None, 0, 0, 0, None))
        g = acc.setdefault(group, {"valid": 0, "contacted": 0, "resolved": 0,
                                   "weighted": 0.0, "ratings": {}, "rated": 0,
                                   "responded": 0, "signed": 0, "first_contact": 0,
                                   "returns": 0, "reminders": 0, "escalations": 0,
                                   "levels": {}})
        g["valid"] += count
        if contacted:
            g["contacted"] += count
            g["weighted"] += config.weight(rating) * count
            if rating:
                g["ratings"][rating] = g["ratings"].get(rating, 0) + count
                g["rated"] += count
        if resolved:
            g["resolved"] += count
        if config.responded(bool(contacted), sign_state, contact_state):
            g["responded"] += count
        if sign_state == "in_time":
            g["signed"] += count
        if contact_state == "in_time":
            g["first_contact"] += count
        g["returns"] += returns or 0
        g["reminders"] += reminders or 0
        g["escalations"] += escalations or 0
        for level, n in parse_levels(levels).items():
            g["levels"][level] = g["levels"].get(level, 0) + n * count
    out = []
    for group in sorted(acc):
        g = acc[group]
        out.append(RateGroup(
            group=group, valid=g["valid"], contacted=g["contacted"], resolved=g["resolved"],
            ratings=dict(sorted(g["ratings"].items())),
            response_rate=_ratio(g["responded"], g["valid"]),
            resolution_rate=_ratio(g["resolved"], g["valid"]),
            satisfaction_rate=_ratio(g["weighted"], g["rated"] if config.satisfaction_over
                                     == "rated" else g["valid"]),
            unreachable=g["valid"] - g["contacted"], rated=g["rated"],
            responded=g["responded"], signed_in_time=g["signed"],
            contacted_in_time=g["first_contact"], returns=g["returns"],
            reminders=g["reminders"], escalations=g["escalations"],
            escalation_levels=dict(sorted(g["levels"].items())),
        ))
    return out
