"""Replay: the case at any moment, each event in words, and read-only auditors."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from petitions import Actor, InvalidInput, PermissionDenied, Petitioner, PetitionService
from petitions.audit import describe, export_log, history, keygen, make_seal, verify_store
from tests.audit_support import CLERK, SUPERVISOR, WORKER, build, rows

AUDITOR = Actor("auditor-wu", "auditor")


def test_get_as_of_a_recording_time_returns_the_case_as_it_stood(tmp_path: Path) -> None:
    with PetitionService.open(str(tmp_path / "a.sqlite")) as svc:
        (pid,) = build(svc, 1)
        events = svc.history(pid)
        for e in events:
            then = svc.get(pid, as_of=e.recorded_at)
            assert then == svc.get(pid, version=e.version)
            assert then.version == e.version
        assert events[4].type == "Assigned"
        assert svc.get(pid, as_of=events[4].recorded_at).lead_unit == "寸滩街道"
        assert svc.get(pid, as_of=events[3].recorded_at).lead_unit is None
        just_before = events[5].recorded_at - timedelta(microseconds=1)
        assert svc.get(pid, as_of=just_before).version == 5
        assert svc.get(pid, as_of=events[-1].recorded_at + timedelta(days=1)) == svc.get(pid)
        with pytest.raises(InvalidInput, match="not yet recorded"):
            svc.get(pid, as_of=events[0].recorded_at - timedelta(seconds=1))
        with pytest.raises(InvalidInput, match="time zone"):
            svc.get(pid, as_of=events[0].recorded_at.replace(tzinfo=None))
        with pytest.raises(InvalidInput, match="not both"):
            svc.get(pid, version=2, as_of=events[1].recorded_at)


def test_history_tells_each_event_in_both_languages_with_what_it_changed(
        tmp_path: Path) -> None:
    with PetitionService.open(str(tmp_path / "h.sqlite")) as svc:
        (pid,) = build(svc, 1)
        entries = history(svc, pid)
        plain = svc.history(pid)
    assert [e.version for e in entries] == [e.version for e in plain]
    assert [e.type for e in entries] == ["Filed", "ClockStarted", "Accepted", "ClockStarted",
                                         "Assigned", "ClockStarted", "ActionRecorded",
                                         "NoteAdded", "Replied", "Escalated"]
    filed, accepted, assigned = entries[0], entries[2], entries[4]
    # Stages, units and commands by their labels; the deadline as 24:00 local.
    started = entries[1]
    assert "the Intake time limit started: 2 working days from filing, due " in started.text_en
    assert started.text_en.endswith(" 24:00") and "+00:00" not in started.text_en
    assert started.text_zh.startswith("受理环节开始计时：2个工作日（自登记起算），办理时限 ")
    assert not re.search(r"[a-z_]{3,}", started.text_zh)  # no internal code in Chinese
    assert filed.actor == CLERK.id and filed.role == CLERK.role
    assert "小区停车难 0" in filed.text_zh and "物业管理" in filed.text_zh
    assert filed.text_en.startswith("clerk-01 filed the appeal")
    assert accepted.text_zh == "caseworker-li受理了诉求"
    assert accepted.text_en == "caseworker-li accepted the appeal"
    assert {(c.field, c.before, c.after) for c in accepted.changes} == {
        ("stage", "intake", "dispatch"), ("accepted", False, True),
        ("clock_stage", "intake", None)}  # leaving intake stops its clock
    assert "派单至寸滩街道" in assigned.text_zh and "区住建委" in assigned.text_zh
    assert ("co_units", [], ["区住建委"]) in [
        (c.field, c.before, c.after) for c in assigned.changes]
    assert entries[-1].role == SUPERVISOR.role and "督办" in entries[-1].text_zh
    assert [c.text("en") for c in entries[-1].changes] == ["escalations: 0 → 1"]
    # Hash links as stored.
    assert entries[1].prev_hash == entries[0].hash
    assert all(e.to_dict()["text"]["en"] for e in entries)


def test_describe_falls_back_for_unknown_event_types() -> None:
    assert describe("SomethingNew", {"actor": "x"}, "en") == "x recorded SomethingNew"
    with pytest.raises(InvalidInput):
        describe("Accepted", {"actor": "x"}, "fr")


def test_every_command_issued_as_an_auditor_is_refused_and_writes_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite"
    with PetitionService.open(str(path)) as svc:
        (pid,) = build(svc, 1)
        before = rows(path)
        commands = [
            lambda: svc.file(actor=AUDITOR, petitioner=Petitioner(id="p", kind="resident",
                                                                  name="x"),
                             title="t", description="d", category="property_management",
                             channel="door_to_door"),
            lambda: svc.note(pid, actor=AUDITOR, text="审计意见"),
            lambda: svc.escalate(pid, actor=AUDITOR, reason="r"),
            lambda: svc.extend(pid, actor=AUDITOR, days=3, reason="r"),
            lambda: svc.withdraw(pid, actor=AUDITOR, reason="r"),
            lambda: svc.act(pid, actor=AUDITOR, action="a"),
            lambda: svc.resolve(pid, actor=AUDITOR),
        ]
        for command in commands:
            with pytest.raises(PermissionDenied, match="auditor"):
                command()
        # …while reading and the audit tools work for them.
        assert svc.get(pid).version == len(svc.history(pid))
        assert verify_store(svc).ok
        export_log(svc, tmp_path / "x.jsonl")
        private, _ = keygen(tmp_path / "k")
        make_seal(svc, private)
        svc.note(pid, actor=WORKER, text="仍可由办理人员操作")
    assert len(rows(path)) == len(before) + 1
