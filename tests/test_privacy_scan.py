"""No personal data in clear anywhere (issue 13, point 1), on both backends.

Petitions are filed through the CLI with a name, phone, ID number and home
address; then every byte the store holds (SQLite: the database file, its WAL
and shared-memory files; PostgreSQL: every row of every table of the schema —
events, heads, snapshots, keys, views, search index), the audit export, the key
export and the feed are scanned for each of them, in UTF-8 and as JSON
escapes.  After ``privacy erase`` none of it can be read back, and the audit
trail still verifies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from petitions.privacy import MASTER_KEY_ENV, new_master_key_text
from tests.fixtures import BACKENDS, fresh_backend_url

NAME = "甄秀兰"
PHONE = "13912345678"
ID_NUMBER = "500105198807071234"
ADDRESS = "红石路88号3栋2单元"
EMAIL = "zhen.xiulan@example.cn"
WHISTLE_NAME = "柯志远"
WHISTLE_ADDRESS = "建新北路66号附7号"
SECRETS = (NAME, PHONE, ID_NUMBER, ADDRESS, EMAIL, WHISTLE_NAME, WHISTLE_ADDRESS)


def _forms(text: str) -> list[bytes]:
    """The byte forms a text can take when stored: UTF-8, JSON escapes, UTF-16."""
    return [text.encode(), json.dumps(text)[1:-1].encode(), text.encode("utf-16-le")]


def _leaks(blob: bytes) -> list[str]:
    return [s for s in SECRETS if any(f in blob for f in _forms(s))]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        monkeypatch.setenv(MASTER_KEY_ENV, new_master_key_text())
    yield from fresh_backend_url(request.param, tmp_path)


def _run(url: str, *args: str, role: str = "caseworker") -> str:
    result = CliRunner().invoke(main, ["--db", url, "--actor", "op-1", "--role", role, *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def _store_bytes(url: str) -> Iterator[tuple[str, bytes]]:
    if not url.startswith("postgresql://"):
        folder = Path(url).parent
        for path in sorted(folder.iterdir()):
            if path.name.startswith(Path(url).name) and not path.name.endswith(".key"):
                yield path.name, path.read_bytes()
        return
    import psycopg
    from psycopg.sql import SQL, Identifier

    from petitions.persistence import postgres_conninfo, postgres_schema

    schema = postgres_schema(url)
    with psycopg.connect(postgres_conninfo(url), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))]
        assert {"petitions_events", "petitions_heads", "petitioner_keys"} <= set(tables)
        for table in tables:
            parts = []
            for row in conn.execute(SQL("SELECT * FROM {}.{}").format(
                    Identifier(str(schema)), Identifier(table))):
                for value in row:
                    parts.append(bytes(value) if isinstance(value, (bytes, memoryview))
                                 else str(value).encode())
            yield table, b"\n".join(parts)


def test_no_personal_data_in_clear_anywhere_and_none_after_erasure(
        url: str, tmp_path: Path) -> None:
    pid = _run(url, "file", "--kind", "resident", "--name", NAME, "--phone", PHONE,
               "--id-number", ID_NUMBER, "--address", ADDRESS, "--email", EMAIL,
               "--petitioner-id", "res-1",
               "--title", "楼下商铺油烟扰民", "--description", "晚间油烟很大",
               "--category", "environment", "--channel", "hotline",
               "--street", "寸滩街道", "--place", "保税商厦", role="intake_clerk").strip()
    report = _run(url, "file", "--kind", "resident", "--name", WHISTLE_NAME,
                  "--phone", "13700000000", "--address", WHISTLE_ADDRESS,
                  "--petitioner-id", "res-2", "--matter-type", "report",
                  "--title", "检举某工地违规排污", "--description", "夜间偷排",
                  "--category", "environment", "--channel", "hotline",
                  role="intake_clerk").strip()
    _run(url, "accept", pid)
    _run(url, "note", pid, "--text", "已电话联系")
    assert NAME in _run(url, "show", pid)  # a caseworker sees the name ...
    shown = json.loads(_run(url, "--json", "show", pid))
    assert shown["petitioner"]["address"] == ADDRESS
    assert shown["petitioner"]["email"] == "z***@example.cn"  # masked unless revealed
    revealed = json.loads(_run(url, "--json", "show", pid, "--reveal", role="supervisor"))
    assert revealed["petitioner"]["email"] == EMAIL
    _run(url, "list")  # views and search index caught up
    export = tmp_path / "log.jsonl"
    _run(url, "audit", "export", str(export), role="auditor")
    keys = tmp_path / "keys.json"
    other = tmp_path / "other.key"
    other.write_text(new_master_key_text())
    _run(url, "privacy", "keys", "export", str(keys), "--for-key-file", str(other),
         role="administrator")
    feed = _run(url, "--json", "feed", role="auditor")
    assert report in feed and pid in feed

    def scan() -> dict[str, list[str]]:
        found = {name: _leaks(blob) for name, blob in _store_bytes(url)}
        found["audit export"] = _leaks(export.read_bytes())
        found["key export"] = _leaks(keys.read_bytes())
        found["feed"] = _leaks(feed.encode())
        return {k: v for k, v in found.items() if v}

    assert scan() == {}
    _run(url, "privacy", "erase", "res-1", "--legal-basis", "本人申请删除",
         role="administrator")
    _run(url, "note", pid, "--text", "删除后继续办理")
    feed = _run(url, "--json", "feed", role="auditor")
    assert scan() == {}
    shown = json.loads(_run(url, "--json", "show", pid, "--reveal", role="supervisor"))
    assert shown["petitioner"]["erased"] is True
    assert all(shown["petitioner"][f] is None for f in ("name", "phone", "id_number",
                                                        "address", "email"))
    assert json.loads(_run(url, "--json", "audit", "verify", role="auditor"))["ok"] is True
    assert os.environ.get(MASTER_KEY_ENV) or not url.startswith("postgresql://")


def test_events_stored_with_a_location_address_load_it_withheld(tmp_path: Path) -> None:
    """Before issue 13, ``Location`` had an ``address``, in clear: such events
    load, and the address is withheld (it may be a home address)."""
    import sqlite3
    from uuid import UUID

    from petitions import PetitionService

    path = tmp_path / "old.sqlite"
    pid = _run(str(path), "file", "--kind", "resident", "--name", NAME, "--title", "路灯不亮",
               "--description", "夜间路灯不亮", "--category", "environment",
               "--channel", "hotline", "--place", "茅溪小区", role="intake_clerk").strip()
    db = sqlite3.connect(path)
    (state,) = db.execute("SELECT state FROM stored_events WHERE originator_id=? AND "
                          "originator_version=1", (UUID(pid).hex,)).fetchone()
    assert b'"place":"' in state
    db.execute("UPDATE stored_events SET state=? WHERE originator_id=? AND "
               "originator_version=1", (state.replace(b'"place":"', b'"address":"'),
                                        UUID(pid).hex))
    db.commit()
    db.close()
    with PetitionService.open(str(path), snapshot_interval=0) as svc:
        assert svc.get(pid).location.place == ""
    for args in (("--json", "show", pid), ("show", pid), ("--json", "history", pid),
                 ("--json", "feed")):
        assert "茅溪小区" not in _run(str(path), *args, role="supervisor"), args


def test_events_stored_before_the_email_field_still_load(tmp_path: Path) -> None:
    """Petitioners filed before ``email`` existed have none in their events: they load."""
    import sqlite3
    from uuid import UUID

    from petitions import PetitionService

    path = tmp_path / "old.sqlite"
    pid = _run(str(path), "file", "--kind", "resident", "--name", NAME, "--phone", PHONE,
               "--title", "路灯不亮", "--description", "夜间路灯不亮", "--category",
               "environment", "--channel", "hotline", role="intake_clerk").strip()
    db = sqlite3.connect(path)
    (state,) = db.execute("SELECT state FROM stored_events WHERE originator_id=? AND "
                          "originator_version=1", (UUID(pid).hex,)).fetchone()
    old = state.replace(b',"email":""', b"")
    assert old != state and b'"email"' not in old
    db.execute("UPDATE stored_events SET state=? WHERE originator_id=? AND "
               "originator_version=1", (old, UUID(pid).hex))
    db.commit()
    db.close()
    with PetitionService.open(str(path), snapshot_interval=0) as svc:
        petitioner = svc.get(pid).petitioner
        assert (petitioner.name, petitioner.phone, petitioner.email) == (
            NAME, "139****5678", "")
