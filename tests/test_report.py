"""petitions report: one self-contained HTML page whose tables are what stats,
rank and list --overdue answer for the same filters; charts as SVG with text kept
as text; PNGs for slides; both languages; without matplotlib, one line."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from petitions import PetitionService
from petitions.reports import build_report, render_html
from tests.report_support import CASES, Tables, browse, fill

RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
COUNTS = ("valid", "contacted", "resolved", "rated", "unreachable")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("report") / "r.sqlite")
    with PetitionService.open(db) as svc:
        fill(svc)
    return db


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def json_of(db: str, *args: str) -> Any:
    out = run("--db", db, "--json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def same_rates(rows: list[dict[str, Any]], stats: list[dict[str, Any]]) -> None:
    """The page's rate table holds exactly what ``stats --json`` gave."""
    assert [r["_group"] for r in rows] == [s["group"] for s in stats]
    for row, s in zip(rows, stats, strict=True):
        for key in COUNTS:
            assert int(row[key]) == s[key], (key, row, s)
        for key in RATES:
            assert (float(row[key]) if row[key] != "" else None) == s[key], (key, row, s)


@pytest.mark.parametrize(("by", "period"), [
    ("street", ()), ("category", ("--from", "2022-06-01", "--to", "2022-06-30")),
    ("unit", ("--from", "2022-07-01", "--to", "2022-12-31"))])
def test_tables_are_what_stats_rank_and_list_answer(store: str, tmp_path: Path, by: str,
                                                    period: tuple[str, ...]) -> None:
    out = tmp_path / "r.html"
    made = run("--db", store, "--lang", "en", "report", "--out", str(out), "--by", by, *period)
    assert made.exit_code == 0, made.output
    assert str(out) in made.stdout
    page = Tables(out.read_text("utf-8"))
    stats = json_of(store, "stats", "--by", by, *period)
    assert stats, "the fixture has call-backs in every period tested"
    same_rates(page.sections["rates"]["tables"]["rates"], stats)
    assert page.sections["rates"]["groups"] == len(stats)
    # Three bars per group: what the browser test counts too.
    assert len(page.bars("rates")) == 3 * len(stats)
    same_rates(page.sections["trend"]["tables"]["monthly-rates"],
               json_of(store, "stats", "--by", "month", *period))
    ranked = json_of(store, "rank", "--by", "unit", *period)
    rows = page.sections["rank"]["tables"]["rank"]
    assert [(r["_group"], int(r["rank"]), float(r["score"])) for r in rows] == [
        (r["group"], r["rank"], r["score"]) for r in ranked]
    # Overdue work per unit: as many as list --overdue shows for that unit.
    overdue = page.sections["overdue"]["tables"]["overdue"]
    assert {r["_group"] for r in overdue} == {"寸滩街道", "区住建委", "华新街街道", "区交通局"}
    for row in overdue:
        listed = json_of(store, "list", "--overdue", "--unit", row["_group"], "--limit", "500")
        assert int(row["overdue"]) == len(listed)
    # The backlog holds every open petition (as list --status open).
    backlog = page.sections["backlog"]["tables"]["backlog"]
    open_now = json_of(store, "list", "--status", "open", "--limit", "500")
    assert sum(int(r["total"]) for r in backlog) == len(open_now) == len(CASES)


def test_filings_and_hot_spots_count_the_period(store: str, tmp_path: Path) -> None:
    with PetitionService.open(store) as svc:
        data = build_report(svc, "street", date_from="2022-07-01", date_to="2022-07-31")
        whole = build_report(svc, "grid")
    july = [c for c in CASES if c[4][0] == 7]
    assert dict(data.monthly_filings) == {"2022-07": len(july)}
    assert sum(n for _, _, n in data.hot_spots) == len(july)
    assert ("港城社区", "traffic", 1) in data.hot_spots
    assert sum(n for _, n in whole.monthly_filings) == len(CASES)
    assert [g.group for g in whole.rates] == ["1"]


def test_the_page_is_self_contained_and_its_text_stays_text(store: str,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "zh.html"
    made = run("--db", store, "--lang", "zh", "report", "--out", str(out), "--by", "category")
    assert made.exit_code == 0, made.output
    text = out.read_text("utf-8")
    # Nothing fetched: no external script, stylesheet, font or image.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    assert not re.search(r"<link|<img|<iframe|@import|url\((?!#)|<image", text, re.I)
    assert re.search(r"<script(?![^>]*application/json)", text) is None
    assert text.count("<svg") == 6  # rates, trend, backlog, overdue, hot spots, ranking
    # Chinese stays text inside the SVG (svg.fonttype none), with CJK fonts named.
    assert re.search(r"<text[^>]*>[^<]*交通", text), "category 交通 drawn as text"
    assert "Noto Sans CJK SC" in text and "Microsoft YaHei" in text
    assert "响应率" in text and "Response rate" not in text
    assert "traffic" not in re.sub(r'<script type="application/json".*?</script>|'
                                   r'data-group="[^"]*"', "", text, flags=re.S)


def test_png_dir_writes_each_chart(store: str, tmp_path: Path) -> None:
    pngs = tmp_path / "slides"
    made = run("--db", store, "report", "--out", str(tmp_path / "r.html"),
               "--png-dir", str(pngs))
    assert made.exit_code == 0, made.output
    written = sorted(p.name for p in pngs.iterdir())
    assert written == ["backlog.png", "hot.png", "overdue.png", "rank.png", "rates.png",
                       "trend.png"]
    for p in pngs.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_progress_on_stderr_over_a_large_store(store: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import petitions.reports.data as data

    quiet = run("--db", store, "--lang", "en", "report", "--out", str(tmp_path / "a.html"))
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.setattr(data, "PROGRESS_OVER", 5)
    loud = run("--db", store, "--lang", "en", "report", "--out", str(tmp_path / "b.html"))
    assert loud.exit_code == 0
    assert "step 1 of 7" in loud.stderr and "step 7 of 7" in loud.stderr
    assert "report written" not in loud.stderr


def test_refusals_are_one_line(store: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = str(tmp_path / "x.html")
    assert run("--db", store, "report", "--out", out, "--by", "month").exit_code == 2
    assert run("--db", store, "report", "--out", out, "--from", "2022-13-01").exit_code == 2
    backwards = run("--db", store, "--lang", "en", "report", "--out", out,
                    "--from", "2022-07-01", "--to", "2022-06-01")
    assert backwards.exit_code == 1 and len(backwards.stderr.splitlines()) == 1
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    for lang in ("en", "zh"):
        missing = run("--db", store, "--lang", lang, "report", "--out", out)
        assert missing.exit_code == 1
        assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
        assert "pip install 'petitions[reports]'" in missing.stderr
    assert not Path(out).exists()


def test_the_library_report_on_each_backend(service: PetitionService) -> None:
    fill(service)
    data = build_report(service, "street", lang="en")
    assert [g.to_dict() for g in data.rates] == [g.to_dict() for g in service.stats("street")]
    # Every case waits at its unit or for its satisfaction review, long overdue.
    assert dict(data.overdue) == {"寸滩街道": 2, "区住建委": 2, "华新街街道": 2, "区交通局": 1}
    assert sum(map(sum, data.backlog.counts)) == len(CASES)
    assert len(data.backlog.stages) == 2
    assert data.backlog.brackets[-1] == "over 90 days"
    assert sum(data.backlog.counts[0][:-1]) == 0, "filed in 2022: all over 90 days old"
    page = Tables(render_html(data, "en"))
    assert len(page.bars("rates")) == 3 * len(data.rates)
    assert len(page.bars("overdue")) == 4
    # Two stages × four age brackets, stacked.
    assert len(page.bars("backlog")) == 8


def test_the_report_renders_in_chromium(store: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    made = run("--db", store, "--lang", "zh", "report", "--out", str(out), "--by", "unit")
    assert made.exit_code == 0, made.output
    shot = tmp_path / "report.png"
    dom = browse(out.as_uri(), tmp_path, shot)
    page = Tables(dom)
    for section, per_group in (("rates", 3), ("overdue", 1), ("rank", 1)):
        groups = page.sections[section]["groups"]
        assert groups > 0
        assert len(page.bars(section)) == per_group * groups, section
    assert dom.count("<svg") == 6
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000


def test_an_unwritable_output_is_one_line_naming_it(store: str, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "r.html"
    failed = run("--db", store, "--lang", "en", "report", "--out", str(out))
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert failed.stderr.count("\n") == 1 and str(out) in failed.stderr
    assert "store" not in failed.stderr
    zh = run("--db", store, "--lang", "zh", "report", "--out", str(tmp_path / "r.html"),
             "--from", "2022-07-01", "--to", "2022-06-01")
    assert zh.exit_code == 1 and "must" not in zh.stderr and "截止日" in zh.stderr
