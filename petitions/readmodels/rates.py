"""The three rates offices are judged on: response, resolution, satisfaction.

After Beijing's 接诉即办 evaluation (响应率, 解决率, 满意率), computed over
valid call-backs (回访)::

    response rate     = contacted / valid
    resolution rate   = resolved / valid
    satisfaction rate = Σ weight(rating) / valid

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


@attrs.frozen
class RateConfig:
    """Weights of each rating, and outcomes whose call-backs do not count."""

    weights: Mapping[str, float]
    exclude_outcomes: tuple[str, ...]

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
    return RateConfig(weights=weights, exclude_outcomes=excluded)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "valid": self.valid,
            "contacted": self.contacted,
            "resolved": self.resolved,
            "ratings": dict(self.ratings),
            "response_rate": self.response_rate,
            "resolution_rate": self.resolution_rate,
            "satisfaction_rate": self.satisfaction_rate,
        }


def _ratio(part: float, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def compute_rates(rows: Iterable[tuple[str, bool, bool, str | None, int]],
                  config: RateConfig) -> list[RateGroup]:
    """Rates per group from ``(group, contacted, resolved, rating, count)`` rows,
    one row per distinct combination, over valid call-backs only."""
    acc: dict[str, dict[str, Any]] = {}
    for group, contacted, resolved, rating, count in rows:
        g = acc.setdefault(group, {"valid": 0, "contacted": 0, "resolved": 0,
                                   "weighted": 0.0, "ratings": {}})
        g["valid"] += count
        if contacted:
            g["contacted"] += count
            g["weighted"] += config.weight(rating) * count
            if rating:
                g["ratings"][rating] = g["ratings"].get(rating, 0) + count
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
            satisfaction_rate=_ratio(g["weighted"], g["valid"]),
        ))
    return out
