"""The command line of time limits: calendar, sweep, deadlines in show and list."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from petitions.deadlines import work_calendar
from tests.test_cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def test_calendar_answers_the_questions_caseworkers_ask(cli: Cli) -> None:
    assert cli("calendar", "workdays", "2026-02-13", "2").stdout.strip() == "2026-02-24"
    assert cli("calendar", "workdays", "2026-09-30", "1").stdout.strip() == "2026-10-08"
    r = cli("calendar", "is-workday", "2026-02-14")
    assert r.stdout.strip() == "yes (adjusted workday for Spring Festival)"
    assert cli("calendar", "is-workday", "2026-02-14", lang="zh").stdout.strip() == (
        "是（春节调休上班）")
    assert cli("calendar", "is-workday", "2026-10-05").stdout.strip() == (
        "no (public holiday: National Day)")
    assert cli("calendar", "is-workday", "2026-10-05", lang="zh").stdout.strip() == (
        "否（法定节假日：国庆节）")
    assert cli("calendar", "is-workday", "2026-03-07").stdout.strip() == "no (weekend)"
    out = cli.json("calendar", "is-workday", "2026-09-20")
    assert (out["workday"], out["kind"], out["name_zh"]) == (True, "adjusted_workday", "国庆节")
    cli("calendar", "is-workday", "2026-02-30", code=2)  # not a date: a usage error


def test_calendar_says_when_a_year_is_not_covered(cli: Cli) -> None:
    year = 2026
    while work_calendar().covers(year):
        year += 1
    r = cli("calendar", "is-workday", f"{year}-10-01")
    assert r.stdout.strip() == "no (public holiday: National Day)"
    assert f"does not cover {year}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "adjusted workdays (调休) are not yet known" in r.stderr
    out = cli.json("calendar", "is-workday", f"{year}-10-01")
    assert (out["workday"], out["kind"], out["covered"]) == (False, "holiday", False)
    assert "调休" in out["warning"]
    zh = cli("calendar", "is-workday", f"{year}-10-01", lang="zh")
    assert zh.stdout.strip() == "否（法定节假日：国庆节）" and "调休" in zh.stderr
    out = cli.json("calendar", "workdays", f"{year}-01-01", "5")
    assert out["warning"] and str(year) in out["warning"]


def test_show_list_and_sweep(cli: Cli) -> None:
    pid = cli.file("--at", "2026-02-13T10:00")
    shown = cli.json("show", pid)
    assert shown["deadline"] == "2026-02-25T00:00:00+08:00"  # the instant is kept
    assert shown["due_date"] == "2026-02-24" and shown["deadline_provisional"] is False
    assert shown["deadline_state"] == "breached"  # as of today: long past
    table = cli("show", pid).stdout
    assert "2026-02-24 24:00" in table and "2026-02-25 00:00" not in table
    assert "overdue by" in table
    assert "还剩" not in table and "已超期" in cli("show", pid, lang="zh").stdout
    listed = cli.json("list", "--overdue", "--grid", "3")
    assert [c["id"] for c in listed] == [pid] and listed[0]["deadline_state"] == "on_time"
    assert cli.json("list", "--overdue", "--grid", "4") == []
    assert cli.json("list", "--due-within", "3d") == []
    cli("list", "--due-within", "soon", code=2)
    swept = cli.json("sweep", "--now", "2026-02-26T09:00")
    assert (swept["due"], swept["breached"], swept["escalated"]) == (1, [pid], [])
    assert swept["now"] == "2026-02-26T09:00:00+08:00"
    again = cli("sweep", "--now", "2026-02-26T09:00").stdout
    assert again.startswith("swept at 2026-02-26 09:00: 0 due, 0 warned, 0 breached")
    assert cli.json("list", "--overdue")[0]["deadline_state"] == "breached"
    text = cli("list", "--overdue").stdout
    assert "2026-02-24 24:00 · overdue by" in text
    future = datetime.now().year + 1
    r = cli("sweep", "--now", f"{future}-06-01T09:00", code=1)
    assert "future" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_pause_and_resume_on_the_command_line(cli: Cli) -> None:
    pid = cli.file("--at", "2026-06-01T09:00")
    r = cli("pause", pid, "--reason", "等待补充材料", "--at", "2026-06-01T10:00", code=1)
    assert "may not pause" in r.stderr
    out = cli.json("pause", pid, "--reason", "等待补充材料", "--at", "2026-06-01T10:00",
                   role="supervisor")
    assert out["deadline_state"] == "paused"
    assert "paused" in cli("show", pid).stdout
    out = cli.json("resume", pid, "--at", "2026-06-03T10:00", role="supervisor")
    # 2 working days from 1 June end at 24:00 on 3 June; paused two days: 6 June 00:00.
    assert out["deadline"] == "2026-06-06T00:00:00+08:00"


def test_a_deadline_in_an_uncovered_year_is_marked_provisional_and_rechecked(
        cli: Cli) -> None:
    pid = cli.file()
    cli("accept", pid, role="intake_clerk")
    cli("assign", pid, "--unit", "寸滩街道", "--person", "王", role="supervisor")
    cli("mediation", "open", pid, "--mediator", "调解员", "--party", "业主")
    shown = cli.json("show", pid)
    due = date.fromisoformat(shown["due_date"])  # 30 days on: 24:00 of a working day
    assert shown["deadline"].startswith((due + timedelta(days=1)).isoformat())
    provisional = not work_calendar().covers(due.year)
    assert shown["deadline_provisional"] is provisional
    table = cli("show", pid).stdout
    assert f"{due.isoformat()} 24:00" in table
    assert ("(provisional)" in table) is provisional
    assert ("（暂定）" in cli("show", pid, lang="zh").stdout) is provisional
    out = cli.json("calendar", "recheck", role="supervisor")
    assert out["checked"] == 1 and out["changed"] == []
    assert out["provisional"] == int(provisional)
    assert "1 running deadlines" in cli("calendar", "recheck", role="supervisor").stdout


def test_deadlines_and_history_read_in_local_time_with_labels(cli: Cli) -> None:
    import re

    pid = cli.file("--at", "2026-02-13T10:00")
    cli("accept", pid, "--at", "2026-02-14T09:00", role="intake_clerk")
    # Version 2 (the intake clock) as it stood on 13 February: on time, not overdue.
    then = cli.json("show", pid, "--version", "2")
    assert then["deadline_state"] == "on_time" and then["due_date"] == "2026-02-24"
    shown = cli("show", pid, "--version", "2").stdout
    assert "2026-02-24 24:00 (on_time)" in shown and "overdue" not in shown
    assert "left" in shown
    history_zh = cli("history", pid, lang="zh").stdout
    assert "办理时限 2026-02-24 24:00" in history_zh
    assert "2026-02-13 10:00" in history_zh
    assert "+00:00" not in history_zh and not re.search(r"\d{4}-\d\d-\d\dT\d", history_zh)
    history_en = cli.json("history", pid)
    assert history_en[0]["occurred_at"] == "2026-02-13T10:00:00+08:00"
    zh = cli("show", pid, lang="zh").stdout
    # No internal codes in Chinese: stages, commands and the workflow by their labels.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", zh)
    for code in ("dispatch", "intake", "standard", "assign", "transfer"):
        assert not re.search(rf"\b{code}\b", zh), code
    assert "交办" in zh and "标准诉求（第4版）" in zh
