"""A small store for the report tests, reading a report page's tables back, and
headless Chromium (skipped without it, except in CI where it must run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from petitions import Actor, Location, Petitioner, PetitionService

SH = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")

#: (street, community, category, unit, filed (month, day), call-back rating or
#: None for an open case left at its unit, contacted, resolved)
CASES = (
    ("寸滩街道", "保税商厦社区", "traffic", "寸滩街道", (6, 1), "satisfied", True, True),
    ("寸滩街道", "保税商厦社区", "traffic", "寸滩街道", (6, 3), "basically_satisfied", True,
     True),
    ("寸滩街道", "港城社区", "environment", "区住建委", (7, 2), "unsatisfied", True, False),
    ("寸滩街道", "港城社区", "traffic", "区住建委", (7, 5), None, False, False),
    ("华新街街道", "华新社区", "environment", "华新街街道", (6, 9), "satisfied", True, True),
    ("华新街街道", "华新社区", "property_management", "华新街街道", (7, 20), None, None, None),
    ("石马河街道", "南桥寺社区", "traffic", "区交通局", (8, 2), None, None, None),
)


def t(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2022, month, day, hour, tzinfo=SH)


def fill(svc: PetitionService) -> None:
    """The cases of :data:`CASES`: closed with a call-back, or left open (overdue)."""
    for street, community, category, unit, (mo, day), rating, contacted, resolved in CASES:
        pid = svc.file(actor=CLERK, petitioner=Petitioner(id="", kind="resident", name="居民"),
                       title="诉求", description="内容", category=category, channel="hotline",
                       location=Location(street=street, community=community, grid="1"),
                       at=t(mo, day))
        svc.accept(pid, actor=WORKER, at=t(mo, day))
        svc.assign(pid, actor=WORKER, unit=unit, person="张", at=t(mo, day))
        if contacted is None:
            continue  # open, its time limit long past
        svc.reply(pid, actor=WORKER, outcome="support", text="已办", at=t(mo, day, 11))
        svc.resolve(pid, actor=WORKER, at=t(mo, day, 12))
        svc.callback(pid, actor=CLERK, contacted=contacted, resolved=resolved, rating=rating,
                     at=t(mo, day + 1))


class Tables(HTMLParser):
    """A report page's sections: per section id, its table rows, each a dict of
    ``data-key`` → (``data-value`` or text), with ``_group`` the row's ``data-group``,
    and per section, ``data-groups`` and the ids of elements in its charts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, Any]] = {}
        self._section: str | None = None
        self._row: dict[str, Any] | None = None
        self._cell: tuple[str, str | None] | None = None
        self._table: str = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id") or ""
            self.sections[self._section] = {"groups": int(a.get("data-groups") or 0),
                                            "tables": {}, "ids": []}
        elif self._section is None:
            return
        elif tag == "table":
            self._table = a.get("class") or ""
            self.sections[self._section]["tables"][self._table] = []
        elif tag == "tr" and "data-group" in a:
            self._row = {"_group": a["data-group"]}
            self.sections[self._section]["tables"][self._table].append(self._row)
        elif tag == "td" and self._row is not None and a.get("data-key"):
            self._cell = (str(a["data-key"]), a.get("data-value"))
            if a.get("data-value") is not None:
                self._row[self._cell[0]] = a["data-value"]
        elif a.get("id"):
            self.sections[self._section]["ids"].append(a["id"])

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self._row is not None and self._cell[1] is None:
            self._row[self._cell[0]] = self._row.get(self._cell[0], "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "section":
            self._section = None

    def bars(self, section: str) -> list[str]:
        prefix = f"bar-{section}-"
        return [i for i in self.sections[section]["ids"] if i.startswith(prefix)]


def chromium() -> str:
    """The headless browser: skip without one (fail in CI, where ``.ci/run`` installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but chromium is not installed (.ci/run installs it)",
                    pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")


def browse(url: str, tmp: Path, screenshot: Path | None = None,
           size: tuple[int, int] = (1280, 2200)) -> str:
    """The DOM Chromium renders at ``url`` (and a screenshot of it)."""
    exe = chromium()
    base = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            f"--window-size={size[0]},{size[1]}"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=180, check=True).stdout
    if screenshot is not None:
        subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True,
                       timeout=180, check=True)
    return dom
