"""The PostgreSQL backend, and what both backends share: opening, schema, info, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner

import cli
from petitions import Actor, Location, Petitioner, PetitionService
from petitions.persistence import (
    env_for_url,
    postgres_conninfo,
    postgres_schema,
    store_info,
)
from tests.fixtures import POSTGRES_SERVER, fresh_backend_url


def file_one(svc: PetitionService, actor: Actor, key: str | None = None) -> UUID:
    return svc.file(actor=actor, idempotency_key=key,
                    petitioner=Petitioner(id="", kind="resident", name="刘先生"),
                    title="小区停车难", description="吉安园茅溪小区车位不足",
                    category="property_management", channel="door_to_door",
                    location=Location(street="寸滩街道", community="保税商厦社区"))


def test_postgres_url_maps_to_eventsourcing_settings() -> None:
    env = env_for_url("postgresql://jb:s%40cret@db.local:6543/petitions?schema=office"
                      "&pool_size=7")
    assert env["PERSISTENCE_MODULE"] == "petitions.postgres:Factory"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.local", "6543")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("jb", "s@cret")
    assert env["POSTGRES_DBNAME"] == "petitions"
    assert env["POSTGRES_SCHEMA"] == "office"
    assert env["POSTGRES_POOL_SIZE"] == "7"
    assert postgres_schema("postgresql://x@h/db") is None
    assert "password=s@cret" in postgres_conninfo("postgresql://jb:s%40cret@h/db")


def test_schema_and_tables_are_created_on_first_use(tmp_path: Path, worker: Actor) -> None:
    for url in fresh_backend_url("postgres", tmp_path):
        schema = postgres_schema(url)
        with PetitionService.open(url) as svc:
            pid = file_one(svc, worker)
            with psycopg.connect(postgres_conninfo(url)) as conn:
                tables = {r[0] for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s", [schema])}
                assert {"petitions_events", "petitions_snapshots"} <= tables
                rows = conn.execute(
                    f'SELECT count(*) FROM "{schema}".petitions_events '
                    "WHERE originator_id = %s", [pid]).fetchone()
                assert rows == (2,)  # Filed and its intake clock
    with psycopg.connect(postgres_conninfo(POSTGRES_SERVER)) as conn:  # dropped afterwards
        left = conn.execute("SELECT count(*) FROM information_schema.schemata "
                            "WHERE schema_name = %s", [schema]).fetchone()
        assert left == (0,)


def test_schemas_do_not_see_each_other(tmp_path: Path, worker: Actor) -> None:
    for first in fresh_backend_url("postgres", tmp_path):
        for second in fresh_backend_url("postgres", tmp_path):
            with PetitionService.open(first) as a, PetitionService.open(second) as b:
                pid = file_one(a, worker)
                assert a.exists(pid)
                assert not b.exists(pid)
                assert store_info(b, second).petitions == 0


def test_store_survives_reopening(backend_url: str, worker: Actor) -> None:
    with PetitionService.open(backend_url) as svc:
        pid = file_one(svc, worker, key="wechat:2022-0001")
        svc.accept(pid, actor=worker)
        before = svc.get(pid)
        # A view's petitioner and related cases are read while its service is open.
        assert before.petitioner.name and before.related == ()
    with PetitionService.open(backend_url) as again:
        assert again.get(pid) == before
        assert again.get(pid).stage == "dispatch"
        # Filing again with the same key returns the same petition, writes nothing.
        assert file_one(again, worker, key="wechat:2022-0001") == pid
        assert len(again.history(pid)) == 4  # Filed, Accepted, each with its clock


def test_petitions_db_environment_variable(backend_url: str, worker: Actor,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITIONS_DB", backend_url)
    with PetitionService.open() as svc:
        pid = file_one(svc, worker)
    with PetitionService.open(backend_url) as svc:
        assert svc.exists(pid)


def test_store_info_counts_petitions_events_and_definitions(
        service: PetitionService, backend_url: str, worker: Actor) -> None:
    empty = store_info(service, backend_url)
    assert (empty.position, empty.petitions, empty.petition_events) == (0, 0, 0)
    a = file_one(service, worker)
    file_one(service, worker)
    service.accept(a, actor=worker)
    service.note(a, actor=worker, text="电话联系")
    info = store_info(service, backend_url)
    assert info.backend == ("sqlite" if backend_url.endswith(".sqlite") else "postgresql")
    assert info.petitions == 2
    assert info.petition_events == 7  # 4 commands, 3 clocks started (2 filings, 1 accept)
    assert info.workflow_definitions == 1  # the standard workflow's text, stored once
    assert info.other_events == 1
    assert info.position == service.recorder.max_notification_id()
    assert info.position >= 5


def test_cli_db_init_and_info(backend_url: str, worker: Actor) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli.main, ["--db", backend_url, "--actor", "wu", "--role",
                                       "auditor", "db", "init"])
    assert refused.exit_code == 1 and "auditor" in refused.stderr
    result = runner.invoke(cli.main, ["--db", backend_url, "--actor", "admin-he", "--role",
                                      "administrator", "--json", "db", "init"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["initialised"] is True
    with PetitionService.open(backend_url) as svc:
        file_one(svc, worker)
    result = runner.invoke(cli.main, ["--db", backend_url, "--json", "db", "info"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["petitions"] == 1 and info["petition_events"] == 2  # Filed, ClockStarted
    assert info["backend"] in ("sqlite", "postgresql")
    assert "password" not in info["location"]
    text = runner.invoke(cli.main, ["--db", backend_url, "--lang", "zh", "db", "info"])
    assert text.exit_code == 0
    assert "诉求事件" in text.output and str(info["position"]) in text.output


def test_cli_reports_unreachable_server_in_one_line() -> None:
    result = CliRunner().invoke(cli.main, [
        "--db", "postgresql://postgres:pw@127.0.0.1:1/test?connect_timeout=1", "db", "info"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # handled, not a crash
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: cannot use the store")
    assert "postgresql://postgres@127.0.0.1:1/test" in lines[0]
    assert "pw" not in lines[0]
