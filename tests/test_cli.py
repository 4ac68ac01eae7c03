"""The command line: every command, every error path, JSON contracts, languages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import main

ENV_CLEAR = {"PETITIONS_DB": None, "PETITIONS_ACTOR": None, "PETITIONS_ROLE": None,
             "PETITIONS_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None,
             "LANGUAGE": None}


class Cli:
    def __init__(self, db: str) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, actor: str | None = "li", role: str | None = "caseworker",
                 lang: str = "en", json_out: bool = False, code: int = 0,
                 env: dict[str, str | None] | None = None) -> Result:
        argv = ["--db", self.db, "--lang", lang]
        if actor:
            argv += ["--actor", actor]
        if role:
            argv += ["--role", role]
        if json_out:
            argv.append("--json")
        result = self.runner.invoke(main, [*argv, *args], env={**ENV_CLEAR, **(env or {})})
        assert result.exit_code == code, (result.output, result.exception)
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self(*args, json_out=True, **kw).stdout)

    def file(self, *extra: str, **kw: Any) -> str:
        out = self.json("file", "--kind", "resident", "--name", "刘先生", "--phone", "138",
                        "--title", "小区停车难", "--description", "吉安园茅溪小区车位不足",
                        "--category", "property_management", "--channel", "door_to_door",
                        "--street", "寸滩街道", "--community", "保税商厦社区", "--grid", "3",
                        "--address", "茅溪小区", *extra, role="intake_clerk", **kw)
        return str(out["id"])


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def stage(cli: Cli, pid: str) -> tuple[str, str, Any, int]:
    shown = cli.json("show", pid)
    return shown["stage"], shown["status"], shown["outcome"], shown["version"]


# ------------------------------------------------------------ the happy path
def test_full_lifecycle(cli: Cli) -> None:
    pid = cli.file("--at", "2022-06-06T09:30")
    cli("accept", pid, "--note", "受理", "--at", "2022-06-06T10:00")
    cli("assign", pid, "--unit", "寸滩街道", "--person", "网格员张", "--co-unit", "区住建委",
        "--at", "2022-06-06T11:00")
    cli("transfer", pid, "--unit", "区住建委", "--person", "李工", "--reason", "专业对口")
    cli("dispute", pid, "--reason", "不属本单位职责")
    assert stage(cli, pid)[0] == "dispatch"
    cli("assign", pid, "--unit", "寸滩街道", "--person", "网格员张")
    cli("mediation", "open", pid, "--mediator", "老马", "--apprentice", "小马",
        "--party", "业主", "--party", "物业")
    cli("mediation", "session", pid, "--place", "社区会议室", "--participant", "业主",
        "--participant", "物业", "--minutes", "协商")
    cli("mediation", "agree", pid, "--terms", "增设车位")
    cli("act", pid, "--action", "施划车位")
    cli("note", pid, "--text", "居民代表到场", role="grid_worker")
    cli("escalate", pid, "--reason", "久拖未决", role="supervisor")
    cli("extend", pid, "--days", "5", "--reason", "施工", role="supervisor")
    cli("reply", pid, "--outcome", "support", "--text", "已增设车位")
    cli("resolve", pid, "--summary", "完成")
    cli("callback", pid, "--contacted", "--unresolved", "--rating", "unsatisfied",
        "--comment", "车位仍不够", actor="hotline", role="intake_clerk")
    cli("reopen", pid, "--to", "mediation", "--reason", "不满意")
    assert stage(cli, pid)[0] == "mediation"
    cli("mediation", "fail", pid, "--reason", "物业不同意")
    cli("reply", pid, "--outcome", "explain", "--text", "已说明")
    cli("resolve", pid)
    cli("callback", pid, "--contacted", "--resolved", "--rating", "basically-satisfied",
        actor="hotline", role="intake_clerk")
    out = cli.json("close", pid, "--note", "办结")
    assert (out["stage"], out["status"], out["outcome"]) == ("closed", "closed", "resolved")
    assert out["workflow"] == "standard"
    history = cli.json("history", pid)
    assert [e["version"] for e in history] == list(range(1, out["version"] + 1))
    assert {"version", "type", "actor", "role", "occurred_at"} <= set(history[0])
    assert history[0]["type"] == "Filed"
    assert history[0]["occurred_at"] == "2022-06-06T09:30:00+08:00"
    assert history[1]["type"] == "ClockStarted"  # the intake time limit
    assert history[2]["actor"] == "li" and history[2]["role"] == "caseworker"
    assert any(e["type"] == "Escalated" and e["role"] == "supervisor" for e in history)


def test_reject_duplicate_withdraw_and_plan(cli: Cli) -> None:
    a, b, c, d = (cli.file() for _ in range(4))
    cli("reject", a, "--reason", "不属受理范围", "--referral", "区法院")
    cli("duplicate", b, "--original", c)
    cli("withdraw", c, "--reason", "已自行解决")
    assert [stage(cli, p)[1:3] for p in (a, b, c)] == [
        ("closed", "rejected"), ("closed", "duplicate"), ("closed", "withdrawn")]
    cli("accept", d)
    cli("assign", d, "--unit", "华新街街道", "--person", "书记")
    # The standard workflow has no plans: nobody may record a plan step.
    r = cli("plan", "step", d, "--plan", "six_step", "--step", "publicise", "--evidence", "x",
            code=1)
    assert one_line_error(r) == ("petitions: role caseworker may not plan_step; "
                                 "roles that may: none")


def test_show_version_and_json_keys(cli: Cli) -> None:
    pid = cli.file()
    cli("accept", pid)
    now = cli.json("show", pid)
    assert {"id", "workflow", "stage", "status", "outcome", "version"} <= set(now)
    assert (now["id"], now["stage"], now["status"], now["outcome"], now["version"]) == (
        pid, "dispatch", "open", None, 4)  # Filed, Accepted, each with its clock
    then = cli.json("show", pid, "--version", "1")
    assert (then["stage"], then["version"]) == ("intake", 1)
    text = cli("show", pid, lang="zh").stdout
    assert "小区停车难" in text and "派单" in text and "物业管理" in text


def test_file_is_idempotent_with_key(cli: Cli) -> None:
    a = cli.file("--idempotency-key", "wechat:1")
    b = cli.file("--idempotency-key", "wechat:1")
    assert a == b
    assert len(cli.json("list")) == 1
    plain = cli("file", "--kind", "enterprise", "--name", "西南证券", "--title", "t",
                "--description", "d", "--category", "traffic", "--channel", "hotline")
    assert len(plain.stdout.strip()) == 36


def test_list_filters_text_and_table(cli: Cli) -> None:
    a = cli.file()
    b = cli.json("file", "--kind", "enterprise", "--name", "西南证券",
                 "--title", "写字楼周边乱停车",
                 "--description", "早晚高峰交通拥堵", "--category", "traffic",
                 "--channel", "enterprise_liaison", "--street", "江北城街道",
                 role="intake_clerk")["id"]
    cli("accept", b)
    cli("assign", b, "--unit", "江北城街道平安办", "--person", "王强")
    assert {c["id"] for c in cli.json("list")} == {a, b}
    assert [c["id"] for c in cli.json("list", "--street", "江北城街道", "--status", "open")] == [b]
    assert [c["id"] for c in cli.json("list", "--assignee", "王强", "--stage",
                                      "resolution")] == [b]
    assert [c["id"] for c in cli.json("list", "--unit", "江北城街道平安办")] == [b]
    assert [c["id"] for c in cli.json("list", "--grid", "3", "--community", "保税商厦社区")] == [a]
    assert [c["id"] for c in cli.json("list", "--category", "traffic",
                                      "--channel", "enterprise_liaison")] == [b]
    assert [c["id"] for c in cli.json("list", "--workflow", "standard", "--text", "停车")] \
        == [b, a]
    assert [c["id"] for c in cli.json("list", "--text", "交通拥堵")] == [b]
    assert cli.json("list", "--mediator", "老马") == []
    assert cli.json("list", "--campaign", "none") == []
    assert cli.json("list", "--status", "closed") == []
    listed = cli.json("list", "--limit", "1")
    assert len(listed) == 1 and {"id", "workflow", "stage", "status", "outcome",
                                 "version"} <= set(listed[0])
    table = cli("list", lang="zh").stdout
    assert "写字楼周边乱停车" in table and "江北城街道" in table and "共 2 件，显示 2 件" in table


def test_stats_and_caseload(cli: Cli) -> None:
    pid = cli.file("--at", "2022-06-01T09:00")
    cli("accept", pid)
    cli("assign", pid, "--unit", "寸滩街道", "--person", "网格员张")
    cli("sign", pid)
    cli("contact", pid, "--note", "电话联系")
    cli("reply", pid, "--outcome", "support", "--text", "ok")
    cli("resolve", pid)
    cli("callback", pid, "--contacted", "--resolved", "--rating", "basically-satisfied",
        "--at", "2022-07-01T08:00", actor="hotline", role="intake_clerk")
    groups = cli.json("stats", "--by", "street")
    assert groups == [{"group": "寸滩街道", "valid": 1, "contacted": 1, "resolved": 1,
                       "rated": 1, "unreachable": 0, "impossible": 0,
                       "ratings": {"basically_satisfied": 1}, "response_rate": 1.0,
                       "resolution_rate": 1.0, "satisfaction_rate": 0.9,
                       "responded": 1, "signed_in_time": 1, "contacted_in_time": 1,
                       "returns": 0, "reminders": 0, "escalations": 0,
                       "escalation_levels": {}}]
    assert cli.json("stats", "--by", "month", "--from", "2022-07-01",
                    "--to", "2022-07-31")[0]["group"] == "2022-07"
    assert cli.json("stats", "--by", "grid", "--from", "2022-08-01") == []
    for by in ("community", "category", "unit", "year"):
        assert len(cli.json("stats", "--by", by)) == 1
    text = cli("stats", "--by", "category", lang="zh").stdout
    assert "满意率" in text and "90.0%" in text and "物业管理" in text
    assert cli.json("caseload") == [{"person": "网格员张", "open": 1, "closed": 0}]
    assert cli.json("caseload", "--role", "mediator") == []
    assert "网格员张" in cli("caseload").stdout


def test_workflows_commands(cli: Cli, tmp_path: Path) -> None:
    names = [w["name"] for w in cli.json("workflows", "list")]
    assert "standard" in names
    shown = cli.json("workflows", "show", "standard")
    assert shown["initial"] == "intake" and shown["stages"]["closed"]["terminal"] is True
    assert "stateDiagram" in cli("workflows", "show", "standard", "--mermaid").stdout
    assert "受理" in cli("workflows", "show", "standard", lang="zh").stdout
    r = cli("workflows", "show", "nosuch", code=1)
    assert "unknown workflow nosuch" in r.stderr
    import workflows

    good = Path(workflows.__file__).parent / "definitions" / "standard.toml"
    assert "valid" in cli("workflows", "validate", str(good)).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nversion = 1\ninitial = "nowhere"\n', encoding="utf-8")
    r = cli("workflows", "validate", str(bad), code=1)
    assert "bad.toml" in r.stderr
    assert "Traceback" not in r.output


def test_views_rebuild(cli: Cli) -> None:
    pid = cli.file()
    cli("accept", pid)
    # definition, filing, acceptance, and the two clocks they started
    r = cli("views", "rebuild", role="auditor", code=1)
    assert "auditor" in r.stderr
    assert cli.json("views", "rebuild", role="administrator") == {"events": 5}
    assert [c["id"] for c in cli.json("list", "--stage", "dispatch")] == [pid]
    r = cli("views", "run", "--timeout", "0.1", code=1)
    assert "PostgreSQL" in r.stderr


def test_demo_twice(cli: Cli) -> None:
    r = cli("demo", role="auditor", code=1)
    assert "auditor" in r.stderr and cli.json("list") == []
    first = cli.json("demo", role="administrator")
    assert [c["case"] for c in first] == list(range(1, 10))
    assert all(c["new"] for c in first)
    by_case = {c["case"]: c for c in first}
    assert by_case[3]["title"] == "写字楼周边车辆乱停堵塞交通"
    # The report tells of no call-back: the case waits for one.
    assert (by_case[3]["stage"], by_case[3]["outcome"]) == ("review", None)
    assert [by_case[n]["workflow"] for n in range(1, 10)] == [
        "property_dispute", "property_dispute", "enterprise_service", "enterprise_service",
        "enterprise_service", "standard", "standard", "standard", "standard"]
    assert by_case[2]["stage"] == "mediation"
    campaign = by_case[2]["campaign"]
    assert (campaign["collected"], campaign["resolved"], campaign["awaiting_callback"]) == (
        34, 0, 34)
    assert by_case[2]["petitions"] == 35
    assert by_case[8]["stage"] == "review"
    second = cli.json("demo", role="administrator")
    assert not any(c["new"] for c in second)
    assert [c["version"] for c in second] == [c["version"] for c in first]
    assert [c["events"] for c in second] == [c["events"] for c in first]
    assert len(cli.json("list", "--limit", "100")) == 9 + 34
    assert len(cli.json("list", "--workflow", "campaign", "--limit", "100")) == 34
    table = cli("demo", lang="zh", role="administrator").stdout
    assert "江北区典型案例" in table and "已存在" in table and "新载入" not in table
    # Chinese output names workflows by their titles, never by their codes.
    assert "西南证券" in table and "物业矛盾（第2版）" in table
    assert "property_dispute" not in table and "enterprise_service" not in table
    assert "调解（联席会议）" in table and "建议办结0/34条" in table
    assert "34条待回访" in table


# ------------------------------------------------------------- error paths
def events_in(cli: Cli) -> int:
    import sqlite3

    with sqlite3.connect(cli.db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])


def one_line_error(result: Result) -> str:
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_domain_errors_are_one_line_in_each_language(cli: Cli) -> None:
    pid = cli.file()
    before = events_in(cli)
    en = one_line_error(cli("close", pid, code=1))
    assert en.startswith("petitions: close is not allowed in stage intake")
    zh = one_line_error(cli("close", pid, code=1, lang="zh"))
    assert "当前环节 intake 不能办理 close" in zh
    denied = one_line_error(cli("escalate", pid, "--reason", "x", code=1))
    assert "role caseworker may not escalate" in denied
    assert "无权办理" in one_line_error(cli("escalate", pid, "--reason", "x", code=1,
                                            lang="zh"))
    assert events_in(cli) == before


@pytest.mark.parametrize(("args", "expect_en", "expect_zh"), [
    (("accept", "not-an-id"), "id: not a valid petition id", "不是有效的诉求编号"),
    (("accept", "6f1c1b6e-0000-4000-8000-000000000000"), "no petition with id", "没有编号为"),
    (("show", "6f1c1b6e-0000-4000-8000-000000000000"), "no petition with id", "没有编号为"),
    (("history", "6f1c1b6e-0000-4000-8000-000000000000"), "no petition with id", "没有编号为"),
])
def test_not_found_and_bad_ids(cli: Cli, args: tuple[str, ...], expect_en: str,
                               expect_zh: str) -> None:
    cli.file()
    assert expect_en in one_line_error(cli(*args, code=1))
    assert expect_zh in one_line_error(cli(*args, code=1, lang="zh"))


def test_bad_input_is_refused_without_writing(cli: Cli) -> None:
    pid = cli.file()
    before = events_in(cli)
    line = one_line_error(cli("file", "--kind", "resident", "--name", "王", "--title", "t",
                              "--description", "d", "--category", "parking",
                              "--channel", "hotline", role="intake_clerk", code=1))
    assert "category: unknown value parking; valid:" in line and "traffic" in line
    line = one_line_error(cli("file", "--kind", "resident", "--name", "王", "--title", "t",
                              "--description", "d", "--category", "traffic",
                              "--channel", "pigeon", role="intake_clerk", code=1, lang="zh"))
    assert "渠道：未知取值 pigeon" in line and "hotline" in line
    assert "category: unknown value" in one_line_error(
        cli("list", "--category", "parking", code=1))
    assert "title: must not be empty" in one_line_error(
        cli("file", "--kind", "resident", "--name", "王", "--title", " ", "--description", "d",
            "--category", "traffic", "--channel", "hotline", role="intake_clerk", code=1))
    assert "at: is in the future" in one_line_error(
        cli("accept", pid, "--at", "2999-01-01T00:00", code=1))
    assert "at: is before the petition was filed" in one_line_error(
        cli("accept", pid, "--at", "2000-01-01T00:00", code=1))
    assert "version: the petition has no such version" in one_line_error(
        cli("show", pid, "--version", "9", code=1))
    assert "was changed by someone else" in one_line_error(
        cli("accept", pid, "--expected-version", "5", code=1))
    assert "unknown workflow nosuch" in one_line_error(
        cli("file", "--workflow", "nosuch", "--kind", "resident", "--name", "王", "--title",
            "t", "--description", "d", "--category", "traffic", "--channel", "hotline",
            role="intake_clerk", code=1))
    cli("accept", pid)
    cli("assign", pid, "--unit", "U", "--person", "P")
    cli("reply", pid, "--outcome", "support", "--text", "ok")
    cli("resolve", pid)
    before = events_in(cli)
    assert "rating: must not be empty" in one_line_error(
        cli("callback", pid, "--contacted", "--resolved", actor="hotline", role="intake_clerk",
            code=1))
    assert "reopen is not allowed" in one_line_error(
        cli("reopen", pid, "--to", "resolution", "--reason", "r", code=1))
    assert "days: must be a positive whole number" in one_line_error(
        cli("extend", pid, "--days", "0", "--reason", "r", role="supervisor", code=1))
    assert events_in(cli) == before


def test_missing_actor_is_refused(cli: Cli) -> None:
    pid = cli.file()
    line = one_line_error(cli("accept", pid, actor=None, code=1))
    assert "--actor and --role" in line
    assert "--actor" in one_line_error(cli("accept", pid, role=None, code=1, lang="zh"))


@pytest.mark.parametrize("args", [
    ("accept",),
    ("file", "--kind", "alien", "--name", "x"),
    ("reply", "x", "--outcome", "maybe", "--text", "t"),
    ("callback", "x", "--rating", "satisfied"),
    ("accept", "x", "--at", "yesterday"),
    ("stats", "--by", "colour"),
    ("nosuch",),
    ("accept", "x", "--bogus"),
    ("extend", "x", "--days", "abc", "--reason", "r"),
    ("list", "extra"),
    ("accept", "x", "--at"),
    ("calendar", "workdays", "2026-13-01", "3"),
])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_usage_errors_exit_2_on_one_line(cli: Cli, args: tuple[str, ...], lang: str) -> None:
    """A usage error is one line on stderr that says what is wrong and where
    the help is, not Click's usage block (issue 13)."""
    result = cli(*args, code=2, lang=lang)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: "), result.stderr
    assert "--help" in lines[0] and "Usage:" not in result.output
    assert "Traceback" not in result.output and result.stdout == ""
    if lang == "zh":  # Click's own English is not shown to a Chinese reader
        assert not any(w in lines[0] for w in ("Invalid value", "is not", "Missing", "No such",
                                               "Got unexpected", "requires")), lines[0]


def test_environment_supplies_global_options(cli: Cli) -> None:
    env: dict[str, str | None] = {"PETITIONS_DB": cli.db, "PETITIONS_ACTOR": "li",
                                  "PETITIONS_ROLE": "caseworker", "PETITIONS_LANG": "zh"}
    runner = CliRunner()
    filed = runner.invoke(main, ["--json", "file", "--kind", "resident", "--name", "王",
                                 "--title", "t", "--description", "d", "--category",
                                 "traffic", "--channel", "hotline"], env={**ENV_CLEAR, **env})
    assert filed.exit_code == 0, filed.output
    pid = json.loads(filed.stdout)["id"]
    shown = runner.invoke(main, ["--json", "show", pid], env={**ENV_CLEAR, **env})
    assert json.loads(shown.stdout)["id"] == pid
    refused = runner.invoke(main, ["close", pid], env={**ENV_CLEAR, **env})
    assert refused.exit_code == 1 and "当前环节" in refused.stderr
    # Language from the locale when not given.
    by_locale = runner.invoke(main, ["close", pid],
                              env={**ENV_CLEAR, **env, "PETITIONS_LANG": None,
                                   "LANG": "zh_CN.UTF-8"})
    assert "当前环节" in by_locale.stderr
    english = runner.invoke(main, ["close", pid],
                            env={**ENV_CLEAR, **env, "PETITIONS_LANG": None,
                                 "LANG": "en_US.UTF-8"})
    assert "is not allowed" in english.stderr


def test_json_is_utf8_not_escaped(cli: Cli) -> None:
    pid = cli.file()
    out = cli("show", pid, json_out=True).stdout
    assert "小区停车难" in out and "\\u" not in out


def test_times_shown_in_shanghai(cli: Cli) -> None:
    pid = cli.file("--at", "2022-06-06T01:30:00+00:00")
    assert cli.json("show", pid)["filed_at"] == "2022-06-06T09:30:00+08:00"
    assert "2022-06-06 09:30" in cli("history", pid).stdout


def test_postgres_backend(backend_url: str) -> None:
    """The same commands against each storage backend."""
    cli = Cli(backend_url)
    pid = cli.file()
    cli("accept", pid)
    assert [c["id"] for c in cli.json("list", "--stage", "dispatch", "--text", "停车")] == [pid]
    assert cli.json("show", pid)["version"] == 4  # Filed, Accepted, each with its clock


# ------------------------------------------------------- installed script
def test_installed_console_script(tmp_path: Path) -> None:
    script = shutil.which("petitions", path=str(Path(sys.executable).parent))
    assert script is not None, "the petitions console script is not installed"
    db = str(tmp_path / "sub.sqlite")
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAR}
    env.update(PETITIONS_DB=db, PETITIONS_ACTOR="li", PETITIONS_ROLE="caseworker")
    filed = subprocess.run([script, "--json", "file", "--kind", "resident", "--name", "王",
                            "--title", "路灯不亮", "--description", "小区路灯坏了",
                            "--category", "convenience", "--channel", "hotline"],
                           capture_output=True, text=True, env=env, check=True)
    pid = json.loads(filed.stdout)["id"]
    listed = subprocess.run([script, "--json", "list", "--text", "路灯"], capture_output=True,
                            text=True, env=env, check=True)
    assert [c["id"] for c in json.loads(listed.stdout)] == [pid]
    refused = subprocess.run([script, "--lang", "en", "close", pid], capture_output=True,
                             text=True, env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "petitions: close is not allowed in stage intake; allowed here: accept, reject, "
        "duplicate, answer_now, note, escalate, extend, remind, exclude, withdraw"]
    helped = subprocess.run([script, "--help"], capture_output=True, text=True, env=env,
                            check=True)
    assert "callback" in helped.stdout and "mediation" in helped.stdout
