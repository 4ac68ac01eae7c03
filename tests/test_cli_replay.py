"""Auditors at the command line: history in words, show as of a time, reveal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def handled(cli: Cli) -> str:
    pid = cli.file("--phone", "13800001234", "--at", "2022-06-06T09:30")
    cli("accept", pid, "--at", "2022-06-06T10:00")
    cli("assign", pid, "--unit", "寸滩街道", "--person", "网格员张", "--at", "2022-06-06T11:00")
    return pid


def test_history_tells_each_event_in_words_and_what_it_changed(cli: Cli) -> None:
    pid = handled(cli)
    events = cli.json("history", pid)
    # Filed, Accepted and Assigned, each starting its stage's clock.
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["type"] for e in events[1::2]] == ["ClockStarted"] * 3
    assigned = events[4]
    assert assigned["type"] == "Assigned" and assigned["actor"] == "li"
    assert assigned["occurred_at"] == "2022-06-06T11:00:00+08:00"  # Asia/Shanghai
    assert "寸滩街道" in assigned["text"]["zh"] and "派单" in assigned["text"]["zh"]
    assert "dispatched" in assigned["text"]["en"]
    changed = {c["field"]: (c["before"], c["after"]) for c in assigned["changes"]}
    assert changed["stage"] == ("dispatch", "resolution")
    assert changed["lead_unit"] == (None, "寸滩街道")
    assert assigned["prev_hash"] == events[3]["hash"]  # the chain
    assert "time limit started" in events[5]["text"]["en"]
    zh = cli("history", pid, lang="zh").stdout
    assert "派单至寸滩街道" in zh and "2022-06-06 11:00" in zh and "经过" in zh
    en = cli("history", pid, lang="en").stdout
    assert "accepted the appeal" in en and "What it changed" in en


def test_history_never_shows_the_phone_in_clear(cli: Cli) -> None:
    pid = handled(cli)
    filed = cli.json("history", pid)[0]
    assert filed["data"]["petitioner"]["phone"] == "138****1234"
    assert "13800001234" not in cli("history", pid, json_out=True).stdout


def test_show_as_of_a_time_and_at_a_version(cli: Cli) -> None:
    pid = handled(cli)
    now = cli.json("show", pid)
    assert now["stage"] == "resolution" and now["version"] == 6
    at_four = cli.json("show", pid, "--version", "4")
    assert (at_four["stage"], at_four["version"]) == ("dispatch", 4)
    # --as-of is the recording time: everything was recorded just now, so an
    # as-of in the future shows the present and one long ago is refused.
    later = cli.json("show", pid, "--as-of", "2100-01-01T00:00")
    assert later["version"] == 6
    refused = cli("show", pid, "--as-of", "2000-01-01T00:00", code=1)
    assert len(refused.stderr.strip().splitlines()) == 1
    both = cli("show", pid, "--as-of", "2100-01-01T00:00", "--version", "1", code=1)
    assert "not both" in both.stderr


def test_reveal_is_for_roles_that_may_and_is_recorded(cli: Cli) -> None:
    pid = handled(cli)
    assert cli.json("show", pid)["petitioner"]["phone"] == "138****1234"
    shown = cli.json("show", pid, "--reveal")
    assert shown["petitioner"]["phone"] == "13800001234" and shown["petitioner"]["revealed"]
    from petitions import PetitionService

    with PetitionService.open(cli.db) as svc:
        records = svc.privacy.record_of(shown["petitioner"]["id"])
    assert [type(r).__name__ for r in records][-1] == "Revealed"
    assert records[-1].actor.id == "li"
    denied = cli("show", pid, "--reveal", role="auditor", code=1)
    assert len(denied.stderr.strip().splitlines()) == 1
    nobody = cli("show", pid, "--reveal", actor=None, role=None, code=1)
    assert "--actor" in nobody.stderr
