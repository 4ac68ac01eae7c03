"""Export the whole event log as JSON Lines, and import it into an empty store.

Each line but the last is one stored event::

    {"position": 7, "petition_id": "…", "version": 3, "type": "Petition.Assigned",
     "topic": "petitions.domain.petition:Petition.Assigned",
     "time": "2022-06-06T01:30:00.123456+00:00", "prev_hash": "…", "hash": "…",
     "state": "{\\"prev_hash\\":\\"…\\",…}"}

``state`` is the stored state exactly as the database holds it (as text; a
state that is not UTF-8 is given as ``state_base64`` instead), so the hashes
can be recomputed from the file alone.  The last line closes the file::

    {"end": {"format": "petitions-export/1", "events": N, "chains": M,
             "last_position": P, "merkle_root": "…"}}

An export is only written from a store that verifies; an import checks the
whole file first — every hash, every link, the closing line, and a seal if
one is given — and writes nothing unless all of it holds.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from petitions.audit.chain import prev_hash_of
from petitions.audit.errors import ImportRefused
from petitions.audit.hashing import id_hex
from petitions.audit.seal import Seal, check_signature
from petitions.audit.verify import ChainVerifier, Report, is_gapless, stored_records
from petitions.domain.values import Actor
from petitions.errors import PermissionDenied

EXPORT_FORMAT = "petitions-export/1"
#: Roles that may import a log into a store.
IMPORT_ROLES = ("administrator",)
_REQUIRED = {"position": int, "petition_id": str, "version": int, "topic": str,
             "prev_hash": str, "hash": str}


_TIMESTAMP = b'"timestamp":{"_type_":"datetime_iso","_data_":"'


def _recorded_time(state: bytes) -> str | None:
    # The recording time is the state's second member (after prev_hash).
    i = state.find(_TIMESTAMP, 79, 200)
    if i >= 0:
        start = i + len(_TIMESTAMP)
        end = state.find(b'"', start)
        if end > start:
            return state[start:end].decode("ascii", "replace")
    try:
        data = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return None
    ts = data.get("timestamp") if isinstance(data, dict) else None
    if isinstance(ts, dict):
        ts = ts.get("_data_")
    return ts if isinstance(ts, str) else None


def export_log(app: Any, path: str | Path) -> Report:
    """Write every stored event of ``app`` to ``path`` (JSON Lines); return the report.

    The store is verified as it is written; if it does not verify, no file
    is left behind and :class:`ChainBroken` is raised.
    """
    target = Path(path)
    verifier = ChainVerifier(gapless=is_gapless(app))
    tmp = target.with_name(f".{target.name}.partial")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            for position, oid, version, topic, state in stored_records(app):
                h = verifier.feed(position, oid, version, topic, state)
                line: dict[str, Any] = {
                    "position": position, "petition_id": str(UUID(oid)), "version": version,
                    "type": topic.rpartition(":")[2], "topic": topic,
                    "time": _recorded_time(state), "prev_hash": prev_hash_of(state) or "",
                    "hash": h,
                }
                try:
                    line["state"] = state.decode("utf-8")
                except UnicodeDecodeError:
                    line["state_base64"] = base64.b64encode(state).decode()
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
            report = verifier.finish()
            report.raise_for_problems()
            out.write(json.dumps({"end": {
                "format": EXPORT_FORMAT, "events": report.events, "chains": report.chains,
                "last_position": report.last_position, "merkle_root": report.merkle_root,
            }}, separators=(",", ":")))
            out.write("\n")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return report


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8") as f:
            for number, text in enumerate(f, 1):
                if text.strip():
                    yield number, text
    except OSError as exc:
        raise ImportRefused(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ImportRefused(f"{path} is not UTF-8 text") from None


def read_export(path: str | Path, *, seal: Seal | None = None
                ) -> tuple[list[StoredEvent], Report]:
    """Read and check a whole export file; raise :class:`ImportRefused` if anything is off."""
    source = Path(path)
    verifier = ChainVerifier(gapless=False, seal=seal)
    events: list[StoredEvent] = []
    end: dict[str, Any] | None = None
    topics: set[str] = set()
    for number, text in _lines(source):
        where = f"{source.name} line {number}"
        if end is not None:
            raise ImportRefused(f"{where}: data after the closing line")
        try:
            line = json.loads(text)
        except ValueError:
            raise ImportRefused(f"{where}: not JSON") from None
        if not isinstance(line, dict):
            raise ImportRefused(f"{where}: not a JSON object")
        if "end" in line:
            end = line["end"] if isinstance(line["end"], dict) else {}
            continue
        for key, kind in _REQUIRED.items():
            if not isinstance(line.get(key), kind) or isinstance(line.get(key), bool):
                raise ImportRefused(f"{where}: {key!r} is missing or not {kind.__name__}")
        if isinstance(line.get("state"), str):
            state = line["state"].encode("utf-8")
        elif isinstance(line.get("state_base64"), str):
            try:
                state = base64.b64decode(line["state_base64"], validate=True)
            except ValueError:
                raise ImportRefused(f"{where}: 'state_base64' is not base64") from None
        else:
            raise ImportRefused(f"{where}: 'state' is missing")
        try:
            oid = UUID(line["petition_id"])
        except ValueError:
            raise ImportRefused(f"{where}: 'petition_id' is not an id") from None
        topic = line["topic"]
        if topic not in topics:
            try:
                resolve_topic(topic)
            except Exception:
                raise ImportRefused(f"{where}: unknown event topic {topic!r}") from None
            topics.add(topic)
        before = verifier.problem_count
        h = verifier.feed(line["position"], id_hex(oid), line["version"], topic, state)
        if verifier.problem_count > before:
            raise ImportRefused(f"{where}: {verifier.problems[-1]}; nothing was imported")
        if h != line["hash"] or prev_hash_of(state) != line["prev_hash"]:
            raise ImportRefused(f"{where}: the event does not hash to the 'hash' and "
                                "'prev_hash' written beside it (the file was altered); "
                                "nothing was imported")
        events.append(StoredEvent(originator_id=oid, originator_version=line["version"],
                                  topic=topic, state=state))
    if end is None:
        raise ImportRefused(f"{source.name} has no closing line: the file is truncated; "
                            "nothing was imported")
    report = verifier.finish()
    if end.get("format") != EXPORT_FORMAT:
        raise ImportRefused(f"{source.name} is not a {EXPORT_FORMAT} file")
    expected = {"events": report.events, "chains": report.chains,
                "last_position": report.last_position, "merkle_root": report.merkle_root}
    for key, value in expected.items():
        if end.get(key) != value:
            raise ImportRefused(f"{source.name}: the closing line's {key} is {end.get(key)!r} "
                                f"but the events give {value!r} (events were removed, added "
                                "or altered); nothing was imported")
    if report.problems:
        raise ImportRefused(f"{source.name}: {report.problems[0]}; nothing was imported")
    return events, report


def import_log(app: Any, path: str | Path, *, actor: Actor, seal: Seal | None = None,
               public_key: Any = None) -> Report:
    """Import an export file into ``app``'s empty store (administrators only).

    Everything is checked before anything is written; the events are then
    written in one transaction with their exact stored bytes, so every hash —
    and so every chain head and the Merkle root — is the same as in the
    source.  Positions are given anew by the target store.
    """
    if actor.role not in IMPORT_ROLES:
        raise PermissionDenied(actor.role, "audit import", IMPORT_ROLES)
    if seal is not None:
        check_signature(seal, public_key)
    if app.recorder.max_notification_id():
        raise ImportRefused("the target store is not empty; import only into an empty "
                            "database")
    events, report = read_export(path, seal=seal)
    if events:
        from petitions.audit.hashing import id_hex, stored_hash
        from petitions.audit.heads import HeadsTable
        from petitions.recorders import WRITE_AFTER, writes_alongside

        heads: dict[str, tuple[int, str]] = {}
        for stored in events:
            key = id_hex(stored.originator_id)
            if key not in heads or stored.originator_version > heads[key][0]:
                heads[key] = (stored.originator_version, stored_hash(stored))
        table = HeadsTable(app.recorder) if HeadsTable.supported(app.recorder) else None
        if table is not None and writes_alongside(app.recorder):
            app.recorder.insert_events(events, **{WRITE_AFTER: [
                lambda cursor: table.upsert(cursor, heads)]})
        else:
            app.recorder.insert_events(events)
            if table is not None:
                table.write_separately(heads)
        reindex = getattr(app, "reindex", None)
        if reindex is not None:  # work-order numbers, in the source's order
            reindex()
    return report
