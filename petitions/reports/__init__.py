"""Reports people look at (``petitions report``, ``/dashboard``): the three rates
per group, monthly trends, the backlog, overdue work, hot spots and the unit
ranking, as one self-contained HTML page with SVG charts.

* :mod:`petitions.reports.data` — the numbers (the same queries as ``stats``,
  ``rank``, ``list --overdue``); no plotting library needed;
* :mod:`petitions.reports.charts` — the charts (matplotlib, the ``reports`` extra,
  imported only when a chart is drawn);
* :mod:`petitions.reports.html` — the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.reports.charts import MissingPlotting
    from petitions.reports.data import REPORT_BY, ReportData, build_report
    from petitions.reports.html import render_html, write_report

_EXPORTS = {
    "MissingPlotting": "petitions.reports.charts",
    "REPORT_BY": "petitions.reports.data",
    "ReportData": "petitions.reports.data",
    "build_report": "petitions.reports.data",
    "render_html": "petitions.reports.html",
    "write_report": "petitions.reports.html",
}

__all__ = ["REPORT_BY", "MissingPlotting", "ReportData", "build_report", "render_html",
           "write_report"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
