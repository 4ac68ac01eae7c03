"""Helpers for the audit tests: build a store, read and tamper with a SQLite file."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from uuid import UUID

from petitions import Actor, Location, Petitioner, PetitionService

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
SUPERVISOR = Actor("supervisor-zhang", "supervisor")


def build(svc: PetitionService, count: int = 3) -> list[UUID]:
    """``count`` petitions with 9–10 events each (plus the stored workflow definition):
    Filed, ClockStarted, Accepted, ClockStarted, Assigned, ClockStarted,
    ActionRecorded, NoteAdded, Replied (and Escalated for every other one)."""
    ids = []
    for i in range(count):
        pid = svc.file(
            actor=CLERK,
            petitioner=Petitioner(id=f"p-{i}", kind="resident", name=f"居民{i}",
                                  phone="13800001234"),
            title=f"小区停车难 {i}", description="吉安园茅溪小区业主反映车位不足",
            category="property_management", channel="door_to_door",
            location=Location(street="寸滩街道", community="保税商厦社区", grid="3"),
        )
        svc.accept(pid, actor=WORKER)
        svc.assign(pid, actor=WORKER, unit="寸滩街道", person="网格员张", co_units=["区住建委"])
        svc.act(pid, actor=WORKER, action="现场查看")
        svc.note(pid, actor=WORKER, text="已联系物业")
        svc.reply(pid, actor=WORKER, outcome="support", text="已增设停车位")
        if i % 2 == 0:
            svc.escalate(pid, actor=SUPERVISOR, reason="群众反映强烈")
        ids.append(pid)
    return ids


# An independent implementation of the documented format (docs/audit.md), so the
# tests check the format itself and not merely the library against itself.
def spec_hash(oid_hex: str, version: int, topic: str, state: bytes) -> str:
    pre = f"petitions/event/v1\n{oid_hex}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(pre + state).hexdigest()


def rows(path: Path | str) -> list[tuple[int, str, int, str, bytes]]:
    with sqlite3.connect(path) as db:
        return [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid")]


def row(path: Path | str, pid: UUID, version: int) -> tuple[int, str, bytes]:
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT rowid, topic, state FROM stored_events "
                           "WHERE originator_id=? AND originator_version=?",
                           (pid.hex, version)).fetchone()
    assert found is not None
    return found[0], found[1], bytes(found[2])


def execute(path: Path | str, sql: str, params: tuple[object, ...] = ()) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()


def set_state(path: Path | str, pid: UUID, version: int, state: bytes,
              topic: str | None = None) -> None:
    if topic is None:
        execute(path, "UPDATE stored_events SET state=? WHERE originator_id=? "
                "AND originator_version=?", (state, pid.hex, version))
    else:
        execute(path, "UPDATE stored_events SET state=?, topic=? WHERE originator_id=? "
                "AND originator_version=?", (state, topic, pid.hex, version))


def state_json(state: bytes) -> dict[str, object]:
    data = json.loads(state)
    assert isinstance(data, dict)
    return data
