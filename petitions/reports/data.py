"""The numbers of a report: every table is what the command line answers for the
same filters (``stats --json``, ``stats --by month --json``, ``rank --json``,
``list --overdue --unit …``), so the page and the terminal never disagree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from petitions.i18n import N_
from petitions.readmodels.rates import GROUPINGS, RankRow, RateGroup

if TYPE_CHECKING:
    from petitions.service import PetitionService

#: What a report groups the rates by (``stats --by`` without the periods: the
#: monthly trend is always in the report).
REPORT_BY = tuple(g for g in GROUPINGS if g not in ("month", "year"))

#: Age brackets of the backlog, in days since filing: (up to and including, label).
#: ASSUMPTION: the seed names no brackets; a week, a month and a quarter are the
#: marks offices commonly review backlogs at (see docs/reports.md).
AGE_BRACKETS: tuple[tuple[int | None, str], ...] = (
    (7, N_("0–7 days")), (30, N_("8–30 days")), (90, N_("31–90 days")),
    (None, N_("over 90 days")))

#: Hot spots drawn: the communities and categories with the most filings.
HOT_COMMUNITIES, HOT_CATEGORIES = 12, 8

#: Stores with at least this many cases get progress lines on stderr (``report``).
PROGRESS_OVER = 10_000

#: ``progress(step, steps, what)`` while a report is built.
Steps = Callable[[int, int, str], None]


@attrs.frozen
class Backlog:
    """Open cases per stage (labelled) and age bracket."""

    stages: tuple[str, ...]
    brackets: tuple[str, ...]
    #: counts[i][j]: stage i, bracket j.
    counts: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"stages": list(self.stages), "brackets": list(self.brackets),
                "counts": [list(r) for r in self.counts]}


@attrs.frozen
class ReportData:
    """What a report shows (:func:`build_report`)."""

    by: str
    date_from: str | None
    date_to: str | None
    generated_at: datetime
    #: ``stats --by <by>``: the three rates per group.
    rates: tuple[RateGroup, ...]
    #: ``stats --by month``: the rates per month of call-back.
    monthly_rates: tuple[RateGroup, ...]
    #: Filings per local month filed (within the period).
    monthly_filings: tuple[tuple[str, int], ...]
    backlog: Backlog
    #: Open cases whose running clock is overdue, per lead unit ("" undispatched).
    overdue: tuple[tuple[str, int], ...]
    #: Filings (within the period) per (community, category), most first.
    hot_spots: tuple[tuple[str, str, int], ...]
    #: ``rank --by unit``.
    ranking: tuple[RankRow, ...]
    #: Cases in the store (to decide whether to show progress).
    cases: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by, "from": self.date_from, "to": self.date_to,
            "generated_at": self.generated_at.isoformat(),
            "rates": [g.to_dict() for g in self.rates],
            "monthly_rates": [g.to_dict() for g in self.monthly_rates],
            "monthly_filings": [{"month": m, "filed": n} for m, n in self.monthly_filings],
            "backlog": self.backlog.to_dict(),
            "overdue": [{"unit": u, "overdue": n} for u, n in self.overdue],
            "hot_spots": [{"community": c, "category": k, "filed": n}
                          for c, k, n in self.hot_spots],
            "ranking": [r.to_dict() for r in self.ranking],
        }


def local_day_start(day: str) -> datetime:
    """Midnight at the start of local day ``day`` (``YYYY-MM-DD``), in UTC."""
    from petitions.timefmt import zone

    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=zone()).astimezone(UTC)


def _local_hour(hour: str) -> datetime:
    """A ``YYYY-MM-DDTHH`` UTC hour of the case index, in the display zone."""
    from petitions.timefmt import local

    return local(datetime.fromisoformat(hour + ":00:00+00:00"))


def _bracket(days: int) -> int:
    for i, (limit, _) in enumerate(AGE_BRACKETS):
        if limit is None or days <= limit:
            return i
    return len(AGE_BRACKETS) - 1  # pragma: no cover - the last bracket is open


def check_period(date_from: str | None, date_to: str | None) -> None:
    """Refuse days that are not ``YYYY-MM-DD`` or a period that ends before it starts."""
    from petitions.errors import InvalidInput

    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is None:
            continue
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidInput(name, "must be a day, YYYY-MM-DD", kind="not_a_day") from None
        if len(value) != 10:
            raise InvalidInput(name, "must be a day, YYYY-MM-DD", kind="not_a_day")
    if date_from and date_to and date_to < date_from:
        raise InvalidInput("date_to", "must not be before the first day", kind="before_start")


def build_report(svc: PetitionService, by: str = "street", *, date_from: str | None = None,
                 date_to: str | None = None, lang: str = "zh", now: datetime | None = None,
                 progress: Steps | None = None) -> ReportData:
    """Gather a report's numbers: rates within the local days ``date_from`` …
    ``date_to`` of call-back (as ``stats``), filings and hot spots within those
    days of filing; the backlog and overdue work as they stand at ``now``."""
    from petitions.errors import InvalidInput
    from petitions.timefmt import local

    if by not in REPORT_BY:
        raise InvalidInput("by", f"must be one of {', '.join(REPORT_BY)}",
                           kind="unknown_code", value=by, valid=", ".join(REPORT_BY))
    check_period(date_from, date_to)
    at = now or datetime.now(UTC)
    steps = 7
    views = svc.read_models

    def step(i: int, what: str) -> None:
        if progress is not None:
            progress(i, steps, what)

    step(1, N_("catching up the read models"))
    views.catch_up()
    cases = views.count()
    step(2, N_("rates by group"))
    rates = svc.stats(by, date_from=date_from, date_to=date_to)
    step(3, N_("rates by month"))
    monthly_rates = svc.stats("month", date_from=date_from, date_to=date_to)
    filed = (local_day_start(date_from) if date_from else None,
             local_day_start(date_to) + timedelta(days=1) if date_to else None)
    step(4, N_("filings by month"))
    months: dict[str, int] = {}
    for (hour,), n in views.group_counts(["hour"], filed_from=filed[0], filed_to=filed[1]):
        month = _local_hour(hour).strftime("%Y-%m")
        months[month] = months.get(month, 0) + n
    step(5, N_("backlog and overdue work"))
    today = local(at).date()
    stage_rows: dict[str, list[int]] = {}
    for (workflow, stage, hour), n in views.group_counts(["workflow", "stage", "hour"],
                                                         open_only=True):
        label = stage_label(svc, workflow, stage, lang)
        days = (today - _local_hour(hour).date()).days
        stage_rows.setdefault(label, [0] * len(AGE_BRACKETS))[_bracket(days)] += n
    stages = sorted(stage_rows, key=lambda s: (-sum(stage_rows[s]), s))
    backlog = Backlog(stages=tuple(stages),
                      brackets=tuple(label for _, label in AGE_BRACKETS),
                      counts=tuple(tuple(stage_rows[s]) for s in stages))
    overdue = sorted(((u, n) for (u,), n in views.group_counts(["unit"], overdue_at=at)),
                     key=lambda un: (-un[1], un[0]))
    step(6, N_("hot spots"))
    spots = sorted(((c, k, n) for (c, k), n in views.group_counts(
        ["community", "category"], filed_from=filed[0], filed_to=filed[1])),
        key=lambda ckn: (-ckn[2], ckn[0], ckn[1]))
    step(7, N_("unit ranking"))
    ranking = svc.rank("unit", date_from=date_from, date_to=date_to)
    return ReportData(by=by, date_from=date_from, date_to=date_to, generated_at=at,
                      rates=tuple(rates), monthly_rates=tuple(monthly_rates),
                      monthly_filings=tuple(sorted(months.items())), backlog=backlog,
                      overdue=tuple(overdue), hot_spots=tuple(spots),
                      ranking=tuple(ranking), cases=cases)


def stage_label(svc: PetitionService, workflow: str, stage: str, lang: str) -> str:
    """A stage named in words (the current version of its workflow)."""
    try:
        return str(svc.workflow(workflow).stage(stage).label.in_lang(lang))
    except Exception:  # a workflow no longer shipped: its code is all there is
        return stage


def category_label(code: str, lang: str) -> str:
    from petitions.taxonomy import taxonomy

    found = taxonomy().categories.get(code)
    return str(found.in_lang(lang)) if found else code


__all__ = ["AGE_BRACKETS", "REPORT_BY", "Backlog", "ReportData", "build_report",
           "category_label", "check_period", "local_day_start", "stage_label"]
