"""The command line for the seed workflows' own commands: on-site meetings,
review and re-review, campaigns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def test_letters_and_visits_review_then_rereview_then_repeat_refused(cli: Cli) -> None:
    pid = cli.file("--workflow", "letters_and_visits", "--petitioner-id", "wang-001",
                   "--at", "2022-03-01T09:00")
    cli("accept", pid, "--at", "2022-03-05T09:00")
    cli("assign", pid, "--unit", "江北区住建委", "--person", "科长", "--at", "2022-03-06T09:00")
    cli("reply", pid, "--outcome", "not-support", "--text", "不符合补偿政策",
        "--at", "2022-04-20T09:00")
    cli("resolve", pid, "--at", "2022-04-20T10:00")
    cli("review", "request", pid, "--reason", "对答复不服", "--at", "2022-05-10T09:00",
        role="intake_clerk")
    cli("review", "answer", pid, "--outcome", "uphold", "--text", "维持原答复",
        "--unit", "江北区信访办", "--at", "2022-06-01T09:00", role="supervisor")
    cli("rereview", "request", pid, "--reason", "仍不服", "--at", "2022-06-20T09:00",
        role="intake_clerk")
    shown = cli.json("rereview", "answer", pid, "--outcome", "uphold", "--text", "复核维持",
                     "--unit", "重庆市信访办", "--at", "2022-07-10T09:00", role="supervisor")
    assert (shown["stage"], shown["status"]) == ("concluded", "closed")
    # The same facts and reasons again, from the same petitioner: refused, nothing written.
    again = cli("file", "--workflow", "letters_and_visits", "--petitioner-id", "wang-001",
                "--kind", "resident", "--name", "刘先生", "--title", "小区停车难",
                "--description", "吉安园茅溪小区车位不足", "--category",
                "property_management", "--channel", "door_to_door", role="intake_clerk",
                code=1)
    assert len(again.stderr.strip().splitlines()) == 1
    assert len(cli.json("list", "--workflow", "letters_and_visits")) == 1


def test_review_window_is_enforced(cli: Cli) -> None:
    pid = cli.file("--workflow", "letters_and_visits", "--at", "2022-03-01T09:00")
    cli("accept", pid, "--at", "2022-03-02T09:00")
    cli("assign", pid, "--unit", "江北区信访办", "--person", "科员", "--at", "2022-03-02T10:00")
    cli("reply", pid, "--outcome", "explain", "--text", "解释说明", "--at", "2022-03-10T09:00")
    cli("resolve", pid, "--at", "2022-03-10T10:00")
    late = cli("review", "request", pid, "--reason", "迟到的复查申请",
               "--at", "2022-05-10T09:00", role="intake_clerk", code=1)
    assert len(late.stderr.strip().splitlines()) == 1
    assert cli.json("show", pid)["stage"] == "answered"


def test_on_site_office_meeting(cli: Cli) -> None:
    pid = cli.file("--workflow", "enterprise_service", "--kind", "enterprise",
                   "--channel", "enterprise_liaison")
    shown = cli.json("show", pid)
    assert shown["stage"] != "intake"  # accepted on filing from the liaison channel
    cli("assign", pid, "--unit", "江北城街道", "--person", "包联干部周")
    cli("onsite", pid, "--place", "西南证券大楼", "--participant", "区交警支队",
        "--participant", "西南证券物业", "--minutes", "明确划线停车")
    history = cli.json("history", pid)
    assert history[-1]["type"] == "OnSiteMeetingHeld"
    assert history[-1]["data"]["participants"] == ["区交警支队", "西南证券物业"]


def test_campaign_collects_and_reports(cli: Cli) -> None:
    cid = cli.json("campaign", "open", "--name", "吉安园茅溪小区进家入户", "--street",
                   "寸滩街道", role="supervisor")["id"]
    ids = [cli.file("--workflow", "campaign", "--campaign", cid, "--title", f"建议{i}",
                    "--channel", "door_to_door") for i in range(3)]
    progress = cli.json("campaign", "show", cid)
    assert (progress["collected"], progress["resolved"], progress["open"]) == (3, 0, 3)
    assert sorted(progress["petition_ids"]) == sorted(ids)
    text = cli("campaign", "show", cid, lang="zh").stdout
    assert "收集" in text and "3" in text
    cli("file", "--kind", "resident", "--name", "x", "--title", "t", "--description", "d",
        "--category", "other", "--channel", "hotline", "--campaign", "nope",
        role="intake_clerk", code=1)
