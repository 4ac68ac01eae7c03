"""The ordered feed of petition events (``changes()`` and ``petitions feed``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from uuid import UUID

import pytest
from click.testing import CliRunner

import cli
from petitions import Actor, Change, InvalidInput, Location, Petitioner, PetitionService


def file_one(svc: PetitionService, actor: Actor, title: str = "小区停车难") -> UUID:
    return svc.file(actor=actor, petitioner=Petitioner(id="", kind="resident", name="王女士"),
                    title=title, description="夜间施工噪音扰民",
                    category="property_management", channel="door_to_door",
                    location=Location(street="寸滩街道"))


def some_history(svc: PetitionService, worker: Actor) -> list[UUID]:
    a = file_one(svc, worker, "甲")
    b = file_one(svc, worker, "乙")
    svc.accept(a, actor=worker)
    svc.note(b, actor=worker, text="已电话联系")
    svc.assign(a, actor=worker, unit="寸滩街道", person="网格员张")
    return [a, b]


def test_changes_yield_every_petition_event_in_order(service: PetitionService,
                                                     worker: Actor) -> None:
    a, b = some_history(service, worker)
    feed = list(service.changes())
    assert all(isinstance(c, Change) for c in feed)
    assert [(c.petition_id, c.version, c.type) for c in feed] == [
        (a, 1, "Filed"), (a, 2, "ClockStarted"), (b, 1, "Filed"), (b, 2, "ClockStarted"),
        (a, 3, "Accepted"), (a, 4, "ClockStarted"), (b, 3, "NoteAdded"), (a, 5, "Assigned"),
        (a, 6, "ClockStarted")]
    positions = [c.position for c in feed]
    assert positions == sorted(set(positions)) and positions[0] >= 1
    # The stored copy of the workflow definition is in the store but not in the feed.
    assert service.recorder.max_notification_id() == positions[-1]
    assert len(positions) < positions[-1]
    # Each change carries the same facts as the petition's history.
    history = {e.version: e for e in service.history(a)}
    for change in (c for c in feed if c.petition_id == a):
        event = history[change.version]
        assert (change.type, change.actor, change.role, change.occurred_at) == \
            (event.type, event.actor, event.role, event.occurred_at)
        # ... but withholds the petitioner, whom the history shows (masked).
        data = dict(event.data)
        if "petitioner" in data:
            assert data["petitioner"]["name"] == "王女士"
            assert change.data["petitioner"]["name"] is None
            assert change.data["petitioner"]["hidden"] is True
            data["petitioner"] = change.data["petitioner"]
        assert change.data == data
    assert feed[7].data["unit"] == "寸滩街道"
    as_json = feed[0].to_dict()
    assert as_json["petition_id"] == str(a) and as_json["position"] == positions[0]
    json.dumps(as_json)  # JSON-ready


def test_resuming_after_a_position_has_no_gaps_or_repeats(service: PetitionService,
                                                          worker: Actor) -> None:
    some_history(service, worker)
    everything = list(service.changes())
    for k, change in enumerate(everything):
        assert list(service.changes(after=change.position)) == everything[k + 1:]
    assert list(service.changes(after=everything[-1].position)) == []
    with pytest.raises(InvalidInput):
        service.changes(after=-1)


def test_follow_delivers_new_events_as_they_are_written(service: PetitionService,
                                                        worker: Actor) -> None:
    a, _ = some_history(service, worker)
    start = list(service.changes())[2].position  # resume mid-way
    received: list[Change] = []
    wanted = 6 + 6  # the rest of the history, then six new events

    def follow() -> None:
        for change in service.changes(after=start, follow=True, poll_interval=0.05):
            received.append(change)
            if len(received) == wanted:
                break

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(0.3)
    c = file_one(service, worker, "丙")
    service.note(a, actor=worker, text="跟进")
    service.accept(c, actor=worker)
    service.escalate(c, actor=Actor("supervisor-zhang", "supervisor"), reason="超期督办")
    thread.join(timeout=20)
    assert not thread.is_alive(), f"received only {len(received)} of {wanted}"
    assert [ch.type for ch in received[6:]] == ["Filed", "ClockStarted", "NoteAdded",
                                                  "Accepted", "ClockStarted", "Escalated"]
    assert received == list(service.changes(after=start))


def test_cli_feed_prints_one_json_line_per_event(service: PetitionService,
                                                 backend_url: str, worker: Actor) -> None:
    some_history(service, worker)
    expected = [c.to_dict() for c in service.changes()]
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--db", backend_url, "--json", "feed", "--after", "0"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == expected
    after = str(expected[1]["position"])
    result = runner.invoke(cli.main, ["--db", backend_url, "--json", "feed", "--after", after])
    assert [json.loads(line) for line in result.output.splitlines()] == expected[2:]
    text = runner.invoke(cli.main, ["--db", backend_url, "feed"])
    assert len(text.output.splitlines()) == len(expected) and "Assigned" in text.output
    bad = runner.invoke(cli.main, ["--db", backend_url, "feed", "--after", "-3"])
    assert bad.exit_code == 2


@pytest.mark.slow
def test_cli_feed_follow_streams_until_interrupted(service: PetitionService,
                                                   backend_url: str, worker: Actor) -> None:
    a, _ = some_history(service, worker)
    last = list(service.changes())[-1].position
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--db", backend_url, "--json", "feed", "--after",
         str(last), "--follow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.5)  # let it start following
        service.note(a, actor=worker, text="第一次跟进")
        service.note(a, actor=worker, text="第二次跟进")
        assert proc.stdout is not None
        lines = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [line["data"]["text"] for line in lines] == ["第一次跟进", "第二次跟进"]
        assert lines[0]["position"] > last and lines[1]["position"] > lines[0]["position"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
