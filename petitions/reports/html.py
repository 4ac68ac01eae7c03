"""The report as one self-contained HTML page: inline SVG charts, inline CSS, no
script, font, stylesheet or image fetched from anywhere.  Beside every chart, a
table of the numbers it draws (rates exactly as ``stats --json`` gives them, in
``data-value``; shown as percentages)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from petitions.i18n import Messages
from petitions.readmodels.rates import RateGroup
from petitions.reports import charts
from petitions.reports.data import ReportData, category_label

RATE_KEYS = ("response_rate", "resolution_rate", "satisfaction_rate")
COUNT_KEYS = ("valid", "contacted", "resolved", "rated", "unreachable")

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",
"WenQuanYi Micro Hei",sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;border-bottom:2px solid #0072B2;
padding-bottom:.2em;margin-top:1.8em}.meta{color:#555;margin:0 0 1em}
.pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.chart{flex:0 1 auto;max-width:100%}.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:.2em .5em}
th{background:#f2f5f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:.85em}.empty{color:#888;font-style:italic}
@media print{.pair{display:block}.chart{max-width:100%}h2{break-after:avoid}}
"""


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


class Page:
    """Builds the page's sections (and draws their charts)."""

    def __init__(self, data: ReportData, lang: str, png_dir: str | None = None) -> None:
        self.data = data
        self.lang = lang
        self.m = Messages(lang)
        self.png_dir = Path(png_dir) if png_dir else None
        if self.png_dir is not None:
            self.png_dir.mkdir(parents=True, exist_ok=True)
        #: PNG files written (with ``png_dir``).
        self.pngs: list[Path] = []

    # ------------------------------------------------------------ helpers
    def group_label(self, by: str, group: str) -> str:
        if not group:
            return self.m("(not dispatched)") if by == "unit" else "—"
        return category_label(group, self.lang) if by == "category" else group

    def draw(self, chart: str, width: float, height: float,
             paint: Callable[[Any, Any], None]) -> str:
        with charts.figure(width, height) as (fig, ax):
            paint(fig, ax)
            if self.png_dir is not None:
                path = self.png_dir / f"{chart}.png"
                charts.png(fig, str(path))
                self.pngs.append(path)
            return charts.svg(fig)

    def table(self, headers: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>")

    def section(self, key: str, title: str, chart: str | None, table: str, groups: int,
                note: str = "") -> str:
        empty = self.m("No data for this period.")
        body = (f'<div class="chart">{chart}</div>' if chart is not None
                else f'<p class="empty">{escape(empty)}</p>')
        extra = f'<p class="note">{escape(note)}</p>' if note else ""
        return (f'<section id="{key}" data-groups="{groups}"><h2>{escape(title)}</h2>{extra}'
                f'<div class="pair">{body}<div class="numbers">{table}</div></div></section>')

    def rate_rows(self, by: str, groups: Sequence[RateGroup]) -> list[str]:
        rows = []
        for g in groups:
            d = g.to_dict()
            cells = [f'<td data-key="group">{escape(self.group_label(by, g.group))}</td>']
            cells += [f'<td class="n" data-key="{k}">{d[k]}</td>' for k in COUNT_KEYS]
            cells += [f'<td class="n" data-key="{k}" data-value="{"" if d[k] is None else d[k]}"'
                      f">{_pct(d[k])}</td>" for k in RATE_KEYS]
            rows.append(f'<tr data-group="{escape(g.group)}">{"".join(cells)}</tr>')
        return rows

    def rate_headers(self, first: str) -> list[str]:
        m = self.m
        return [first, m("Valid"), m("Contacted"), m("Resolved"), m("Rated"),
                m("Unreachable"), m("Response rate"), m("Resolution rate"),
                m("Satisfaction rate")]

    def rate_series(self, groups: Sequence[RateGroup]
                    ) -> list[tuple[str, Sequence[float | None]]]:
        m = self.m
        return [(m("Response rate"), [g.response_rate for g in groups]),
                (m("Resolution rate"), [g.resolution_rate for g in groups]),
                (m("Satisfaction rate"), [g.satisfaction_rate for g in groups])]

    # ----------------------------------------------------------- sections
    def rates(self) -> str:
        d, m = self.data, self.m
        labels = [self.group_label(d.by, g.group) for g in d.rates]
        chart = None
        if d.rates:
            chart = self.draw("rates", charts.width_for(len(labels), 0.9), 4.2,
                              lambda fig, ax: charts.grouped_bars(
                                  fig, ax, "rates", labels, self.rate_series(d.rates)))
        title = m("The three rates by {by}", by=m(d.by.capitalize()))
        return self.section("rates", title, chart,
                            self.table(self.rate_headers(m(d.by.capitalize())),
                                       self.rate_rows(d.by, d.rates), "rates"),
                            len(d.rates), m("Over valid call-backs, by the day of call-back."))

    def trend(self) -> str:
        d, m = self.data, self.m
        filed = dict(d.monthly_filings)
        by_month = {g.group: g for g in d.monthly_rates}
        months = sorted(set(filed) | {g for g in by_month if g})
        chart = None
        if months:
            series = [(name, [getattr(by_month.get(mo), key, None) for mo in months])
                      for name, key in ((m("Response rate"), "response_rate"),
                                        (m("Resolution rate"), "resolution_rate"),
                                        (m("Satisfaction rate"), "satisfaction_rate"))]
            chart = self.draw("trend", charts.width_for(len(months), 0.7), 4.0,
                              lambda fig, ax: charts.trend(
                                  fig, ax, months, [filed.get(mo, 0) for mo in months],
                                  series, m("Filings")))
        filed_rows = [f'<tr data-group="{mo}"><td>{mo}</td>'
                      f'<td class="n" data-key="filed">{filed.get(mo, 0)}</td></tr>'
                      for mo in months]
        tables = (self.table([m("Month"), m("Filings")], filed_rows, "filings")
                  + self.table(self.rate_headers(m("Month")),
                               self.rate_rows("month", d.monthly_rates), "monthly-rates"))
        return self.section("trend", m("Monthly trend: filings and the three rates"), chart,
                            tables, len(months),
                            m("Filings by the local month filed; rates by the month of "
                              "call-back."))

    def backlog(self) -> str:
        d, m = self.data, self.m
        b = d.backlog
        brackets = [m(x) for x in b.brackets]
        chart = None
        if b.stages:
            chart = self.draw("backlog", 8.0, max(2.5, 0.45 * len(b.stages) + 1.2),
                              lambda fig, ax: charts.stacked_bars(
                                  fig, ax, "backlog", b.stages,
                                  [(brackets[j], [row[j] for row in b.counts])
                                   for j in range(len(brackets))], m("Open petitions")))
        rows = [f'<tr data-group="{escape(s)}"><td>{escape(s)}</td>'
                + "".join(f'<td class="n">{n}</td>' for n in row)
                + f'<td class="n" data-key="total">{sum(row)}</td></tr>'
                for s, row in zip(b.stages, b.counts, strict=True)]
        return self.section("backlog", m("Backlog by stage and age"), chart,
                            self.table([m("Stage"), *brackets, m("Total")], rows, "backlog"),
                            len(b.stages), m("Open petitions now, by days since filing."))

    def overdue(self) -> str:
        d, m = self.data, self.m
        labels = [self.group_label("unit", u) for u, _ in d.overdue]
        chart = None
        if d.overdue:
            chart = self.draw("overdue", 8.0, max(2.5, 0.4 * len(labels) + 1.0),
                              lambda fig, ax: charts.horizontal_bars(
                                  fig, ax, "overdue", labels, [n for _, n in d.overdue],
                                  m("Overdue petitions"), charts.COLOURS[5]))
        rows = [f'<tr data-group="{escape(u)}"><td>{escape(label)}</td>'
                f'<td class="n" data-key="overdue">{n}</td></tr>'
                for (u, n), label in zip(d.overdue, labels, strict=True)]
        return self.section("overdue", m("Overdue work by unit"), chart,
                            self.table([m("Unit"), m("Overdue")], rows, "overdue"),
                            len(d.overdue),
                            m("Open petitions whose time limit has passed (as list --overdue)."))

    def hot_spots(self) -> str:
        from petitions.reports.data import HOT_CATEGORIES, HOT_COMMUNITIES

        d, m = self.data, self.m
        totals_c: dict[str, int] = {}
        totals_k: dict[str, int] = {}
        for c, k, n in d.hot_spots:
            totals_c[c] = totals_c.get(c, 0) + n
            totals_k[k] = totals_k.get(k, 0) + n
        comms = sorted(totals_c, key=lambda c: (-totals_c[c], c))[:HOT_COMMUNITIES]
        cats = sorted(totals_k, key=lambda k: (-totals_k[k], k))[:HOT_CATEGORIES]
        cell = {(c, k): n for c, k, n in d.hot_spots}
        counts = [[cell.get((c, k), 0) for k in cats] for c in comms]
        clabels = [c or "—" for c in comms]
        klabels = [category_label(k, self.lang) for k in cats]
        chart = None
        if comms:
            chart = self.draw("hot", max(6.0, 1.0 * len(cats) + 3), 0.4 * len(comms) + 2.2,
                              lambda fig, ax: charts.heat(fig, ax, clabels, klabels, counts))
        rows = [f'<tr data-group="{escape(c)}|{escape(k)}"><td>{escape(c or "—")}</td>'
                f"<td>{escape(category_label(k, self.lang))}</td>"
                f'<td class="n" data-key="filed">{cell[(c, k)]}</td></tr>'
                for c in comms for k in cats if cell.get((c, k))]
        return self.section("hot", m("Hot spots: community × category"), chart,
                            self.table([m("Community"), m("Category"), m("Filings")], rows,
                                       "hot"), len(comms),
                            m("Filings in the period; the {c} communities and {k} categories "
                              "with the most.", c=len(comms), k=len(cats)))

    def ranking(self) -> str:
        d, m = self.data, self.m
        labels = [f"{r.rank}. {r.group}" for r in d.ranking]
        chart = None
        if d.ranking:
            chart = self.draw("rank", 8.0, max(2.5, 0.4 * len(labels) + 1.0),
                              lambda fig, ax: charts.horizontal_bars(
                                  fig, ax, "rank", labels,
                                  [round(r.score * 100, 2) for r in d.ranking], m("Score")))
        rows = []
        for r in d.ranking:
            cells = (f'<td class="n" data-key="rank">{r.rank}</td>'
                     f'<td data-key="group">{escape(r.group)}</td>'
                     f'<td class="n" data-key="valid">{r.valid}</td>'
                     + "".join(f'<td class="n" data-key="{k}" data-value='
                               f'"{"" if getattr(r, k) is None else getattr(r, k)}">'
                               f"{_pct(getattr(r, k))}</td>" for k in RATE_KEYS)
                     + f'<td class="n" data-key="score" data-value="{r.score}">'
                     f"{r.score * 100:.2f}</td>")
            rows.append(f'<tr data-group="{escape(r.group)}">{cells}</tr>')
        return self.section("rank", m("Unit ranking"), chart,
                            self.table([m("Rank"), m("Unit"), m("Valid"), m("Response rate"),
                                        m("Resolution rate"), m("Satisfaction rate"),
                                        m("Score")], rows, "rank"), len(d.ranking),
                            m("Composite score of the three rates (weights in the rates "
                              "data), as petitions rank."))

    # --------------------------------------------------------------- page
    def render(self, sections: Sequence[Callable[[], str]] | None = None) -> str:
        from petitions.timefmt import show

        d, m = self.data, self.m
        charts.require_plotting()
        parts = [f() for f in (sections or (self.rates, self.trend, self.backlog,
                                            self.overdue, self.hot_spots, self.ranking))]
        period = m("{start} to {end}", start=d.date_from or m("the beginning"),
                   end=d.date_to or m("now"))
        payload = json.dumps(d.to_dict(), ensure_ascii=False).replace("</", "<\\/")
        html_lang = "zh-CN" if self.lang == "zh" else "en"
        title = m("Petitions report")
        meta = " · ".join((m("Period: {period}", period=period),
                           m("Grouped by: {by}", by=m(d.by.capitalize())),
                           m("Made at {time}", time=show(d.generated_at))))
        return (
            f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f'<h1>{escape(title)}</h1><p class="meta">{escape(meta)}</p>'
            + "".join(parts)
            + f'<script type="application/json" id="report-data">{payload}</script>'
            "</body></html>\n")


def render_html(data: ReportData, lang: str = "zh", png_dir: str | None = None) -> str:
    """The report page (and, with ``png_dir``, each chart as a PNG there)."""
    return Page(data, lang, png_dir).render()


def write_report(data: ReportData, out: str, lang: str = "zh",
                 png_dir: str | None = None) -> list[Path]:
    """Write the page to ``out``; return the PNG files written (with ``png_dir``)."""
    page = Page(data, lang, png_dir)
    text = page.render()
    Path(out).write_text(text, encoding="utf-8")
    return page.pngs


__all__ = ["Page", "render_html", "write_report"]
