"""The three rates offices are judged on: response, resolution, satisfaction.

After Beijing's 接诉即办 evaluation (响应率, 解决率, 满意率), computed over
valid call-backs (回访)::

    response rate     = contacted / valid
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
import tomllib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import attrs

#: The groupings ``stats`` knows: a column of the case index, or a period.
GROUPINGS = ("street", "community", "grid", "category", "unit", "month", "year")


#: The composite score's weights when the rates data names none (the shipped
#: rates.toml does: 准格尔旗's published scheme, 30/35/35).
DEFAULT_RANK_WEIGHTS = {"response": 0.30, "resolution": 0.35, "satisfaction": 0.35}


@attrs.frozen
class RateConfig:
    """Weights of each rating, and outcomes whose call-backs do not count."""

    weights: Mapping[str, float]
    exclude_outcomes: tuple[str, ...]
    #: ``rated`` (as practised) or ``valid``: the satisfaction rate's denominator.
    satisfaction_over: str = "rated"
    #: Weights of the composite score of ``rank``: response, resolution, satisfaction.
    rank_weights: Mapping[str, float] = attrs.field(
        factory=lambda: dict(DEFAULT_RANK_WEIGHTS))

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
    text = resources.files("petitions").joinpath("data/rates.toml").read_text("utf-8")
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
    return RateConfig(weights=weights, exclude_outcomes=excluded, satisfaction_over=over,
                      rank_weights=rank or dict(DEFAULT_RANK_WEIGHTS))


def rate_config() -> RateConfig:
    """The configuration in force: the shipped one plus ``PETITIONS_RATES``."""
    return load_rate_config(os.environ.get("PETITIONS_RATES") or None)


@attrs.frozen
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
        }


@attrs.frozen
class RankRow:
    """One group's place in a ranking (``petitions rank``)."""

    group: str
    valid: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    score: float
    rank: int

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


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
                           satisfaction_rate=g.satisfaction_rate, score=score, rank=place))
    return out


def with_impossible(groups: list[RateGroup],
                    impossible: Iterable[tuple[str, int]]) -> list[RateGroup]:
    """``groups`` with the counts of impossible call-backs (anonymous
    petitioners) per group; a group with only those appears with no rates."""
    counts: dict[str, int] = {}
    for group, n in impossible:
        counts[group] = counts.get(group, 0) + n
    out = [attrs.evolve(g, impossible=counts.pop(g.group, 0)) for g in groups]
    out.extend(RateGroup(group=group, valid=0, contacted=0, resolved=0, ratings={},
                         response_rate=None, resolution_rate=None, satisfaction_rate=None,
                         impossible=n) for group, n in counts.items())
    return sorted(out, key=lambda g: g.group)


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def compute_rates(rows: Iterable[tuple[str, bool, bool, str | None, int]],
                  config: RateConfig) -> list[RateGroup]:
    """Rates per group from ``(group, contacted, resolved, rating, count)`` rows,
    one row per distinct combination, over valid call-backs only."""
    acc: dict[str, dict[str, Any]] = {}
    for group, contacted, resolved, rating, count in rows:
        g = acc.setdefault(group, {"valid": 0, "contacted": 0, "resolved": 0,
                                   "weighted": 0.0, "ratings": {}, "rated": 0})
        g["valid"] += count
        if contacted:
            g["contacted"] += count
            g["weighted"] += config.weight(rating) * count
            if rating:
                g["ratings"][rating] = g["ratings"].get(rating, 0) + count
                g["rated"] += count
        if resolved:
            g["resolved"] += count
    out = []
    for group in sorted(acc):
        g = acc[group]
        out.append(RateGroup(
            group=group, valid=g["valid"], contacted=g["contacted"], resolved=g["resolved"],
            ratings=dict(sorted(g["ratings"].items())),
            response_rate=_ratio(g["contacted"], g["valid"]),
            resolution_rate=_ratio(g["resolved"], g["valid"]),
            satisfaction_rate=_ratio(g["weighted"], g["rated"] if config.satisfaction_over
                                     == "rated" else g["valid"]),
            unreachable=g["valid"] - g["contacted"], rated=g["rated"],
        ))
    return out
