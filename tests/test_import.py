"""Importing filings from JSON Lines: malformed lines, idempotency, and SIGKILL safety."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli
from petitions import Actor, PetitionService
from petitions.domain.petition import petition_id_for
from petitions.importer import ImportRefused, import_filings
from petitions.importer_csv import import_csv
from petitions.persistence import store_info


def filing(n: int, **overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "idempotency_key": f"wechat:2022-{n:05d}", "title": f"小区停车难 {n}",
        "description": "吉安园茅溪小区业主反映车位不足", "category": "property_management",
        "channel": "door_to_door", "petitioner": {"kind": "resident", "name": "刘先生"},
        "location": {"street": "寸滩街道", "community": "保税商厦社区"},
        "at": "2022-06-06T09:30:00+08:00",
    }
    line.update(overrides)
    return line


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False))
                            + "\n" for x in lines), encoding="utf-8")
    return path


CLERK = Actor("clerk-wang", "intake_clerk")
OPERATOR = ["--actor", "clerk-wang", "--role", "intake_clerk"]


def filed_keys(svc: PetitionService) -> Counter[str]:
    """How many Filed events each idempotency key has in the store."""
    return Counter(c.data["idempotency_key"] for c in svc.changes() if c.type == "Filed")


def test_import_files_each_line_once_and_again_writes_nothing(
        service: PetitionService, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(5)] + [""])
    first = import_filings(service, path, actor=CLERK)
    assert (first.lines, first.imported, first.existing, first.skipped) == (5, 5, 0, 0)
    again = import_filings(service, path, actor=CLERK)
    assert (again.imported, again.existing) == (0, 5)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(5)})
    view = service.get(petition_id_for("wechat:2022-00003"))
    assert view.title == "小区停车难 3" and view.location.community == "保税商厦社区"
    assert view.filed_at.isoformat() == "2022-06-06T01:30:00+00:00"
    assert service.history(view.id)[0].actor == "clerk-wang"


BAD_LINES: list[Any] = [
    "{not json",
    ["a", "list"],
    filing(90, idempotency_key=""),
    filing(91, category="no_such_category"),
    filing(92, petitioner={"kind": "alien", "name": "x"}),
    filing(93, titel="misspelt field"),
    filing(94, at="yesterday"),
    filing(95, title="   "),
]


def test_on_error_stop_refuses_the_file_and_writes_nothing(
        service: PetitionService, tmp_path: Path) -> None:
    lines = [filing(1), *BAD_LINES, filing(2)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    with pytest.raises(ImportRefused) as refused:
        import_filings(service, path, actor=CLERK, on_error="stop")
    report = refused.value.report
    assert [e.line for e in report.errors] == list(range(2, 2 + len(BAD_LINES)))
    assert "category" in str(report.errors[3]) and "titel" in str(report.errors[5])
    assert list(service.changes()) == []  # nothing written


def test_on_error_skip_reports_line_numbers_and_imports_the_rest(
        service: PetitionService, tmp_path: Path) -> None:
    lines = [filing(1), *BAD_LINES, filing(2)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    report = import_filings(service, path, actor=CLERK, on_error="skip")
    assert (report.imported, report.skipped) == (2, len(BAD_LINES))
    assert [e.line for e in report.errors] == list(range(2, 2 + len(BAD_LINES)))
    assert filed_keys(service) == Counter({"wechat:2022-00001": 1, "wechat:2022-00002": 1})


def test_check_only_reports_what_the_import_would_skip_and_files_nothing(
        service: PetitionService, tmp_path: Path) -> None:
    from tests.test_import_csv import row, write_csv

    lines = [filing(1), *BAD_LINES, filing(2)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    checked = import_filings(service, path, actor=CLERK, on_error="skip", check_only=True,
                             pipeline=True)  # (no worker is started for a check)
    assert (checked.lines, checked.imported, checked.existing, checked.skipped,
            checked.stopped) == (len(lines), 0, 0, len(BAD_LINES), False)
    with pytest.raises(ImportRefused) as refused:
        import_filings(service, path, actor=CLERK, check_only=True)
    assert refused.value.report.errors == checked.errors
    good = write_csv(tmp_path / "in.csv", [row(1), row(2)])
    assert import_csv(service, good, actor=CLERK, check_only=True).lines == 2
    assert list(service.changes()) == []  # nothing written
    done = import_filings(service, path, actor=CLERK, on_error="skip")
    assert (done.imported, done.skipped, done.errors) == (2, len(BAD_LINES), checked.errors)


def test_cli_import_reports_bad_lines_on_stderr(backend_url: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", [filing(1), "{oops", filing(2)])
    runner = CliRunner()
    stop = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "import", str(path)])
    assert stop.exit_code == 1
    assert "line 2:" in stop.output and "nothing was written" in stop.output
    skip = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "--json", "import",
                                    str(path), "--on-error", "skip"])
    assert skip.exit_code == 1, skip.output  # a line failed: the counts say how many
    assert "line 2:" in skip.output
    summary = json.loads(skip.output.strip().splitlines()[-1])
    assert (summary["imported"], summary["skipped"]) == (2, 1)
    assert summary["errors"][0]["line"] == 2


@pytest.mark.slow
def test_import_killed_at_a_random_point_and_run_again_files_everything_once(
        backend_url: str, tmp_path: Path) -> None:
    from petitions.importer import BATCH

    total = 2 * BATCH + BATCH // 2  # three batches, the last one short
    path = write_lines(tmp_path / "big.jsonl", [filing(n) for n in range(total)])
    rng = random.Random()
    kill_after = rng.randrange(5, total // 2)  # filings seen in the store before SIGKILL
    command = [sys.executable, "-m", "cli", "--db", backend_url, *OPERATOR, "import",
               str(path)]
    with PetitionService.open(backend_url) as svc:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while (svc.recorder.max_notification_id() or 0) < kill_after:
            if proc.poll() is not None:  # say why, should it ever end first
                assert proc.stderr is not None
                pytest.fail(f"the import ended (exit {proc.returncode}) before it could be "
                            f"killed: {proc.stderr.read().decode(errors='replace')}")
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        partial = store_info(svc, backend_url).petitions
        assert 0 < partial < total, (kill_after, partial)

        rerun = subprocess.run([*command, "--on-error", "stop"], capture_output=True,
                               text=True, timeout=120, check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert f"already present {partial}," in rerun.stdout, rerun.stdout
        keys = filed_keys(svc)
        assert keys == Counter({f"wechat:2022-{n:05d}": 1 for n in range(total)}), kill_after
        info = store_info(svc, backend_url)
        # Filed and its intake clock, once each
        assert (info.petitions, info.petition_events) == (total, 2 * total)


def test_import_records_the_operator_and_keeps_the_claim_as_source(
        service: PetitionService, tmp_path: Path) -> None:
    claimed = filing(7, actor={"id": "portal-wechat", "role": "administrator"},
                     source="微信公众号")
    path = write_lines(tmp_path / "in.jsonl", [claimed])
    import_filings(service, path, actor=CLERK)
    first = service.history(petition_id_for("wechat:2022-00007"))[0]
    assert (first.actor, first.role) == ("clerk-wang", "intake_clerk")
    assert first.data["source"] == "微信公众号; portal-wechat (administrator)"


def test_auditors_cannot_import(backend_url: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", [filing(1)])
    result = CliRunner().invoke(cli.main, ["--db", backend_url, "--actor", "wu", "--role",
                                           "auditor", "import", str(path)])
    assert result.exit_code == 1 and "auditor" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with PetitionService.open(backend_url) as svc:
        assert list(svc.changes()) == []


def _refused_file(folder: Path, kind: str) -> Path:
    """A file of one good filing and one malformed line (JSON Lines or CSV)."""
    from tests.test_import_csv import row, write_csv

    good = json.dumps(filing(1), ensure_ascii=False)
    if kind == "huge number":
        return write_lines(folder / "in.jsonl", [good, '{"idempotency_key": 1' + "0" * 5000
                                                 + ', "title": "x"}'])
    if kind == "control character":
        return write_lines(folder / "in.jsonl", [good, '{"idempotency_key": "k\x01"}'])
    if kind == "CSV unterminated quote":
        return write_csv(folder / "in.csv", [row(1)], extra='12345:2022-00002,"楼道\r\n')
    return write_csv(folder / "in.csv", [{**row(1), "colour": "红"}],  # an unknown column
                     columns=(*row(1), "colour"))


#: What the one line on stderr says of each refused file.
REFUSED = {"huge number": "line 2: JSON: not valid (a number with too many digits)",
           "control character": "line 2: JSON: not valid (Invalid control character",
           "CSV unterminated quote": "line 3: malformed CSV",
           "CSV unknown column": "unknown column 'colour'"}


@pytest.mark.parametrize("how", ["--db", "PETITIONS_DB"])
@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_refused_file_leaves_no_store_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, how: str) -> None:
    # Hostile input: one clear line, exit 1, no traceback — and nothing
    # written: an import into a store that does not exist yet creates no
    # database, journal or master key file when the file is refused.  Once
    # the file is fixed, the same command makes the store and imports it.
    from petitions.privacy.keys import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)  # the key file beside the store
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    (inputs := tmp_path / "inputs").mkdir()
    (folder := tmp_path / "store").mkdir()
    path = _refused_file(inputs, kind)
    db = str(folder / "new.sqlite")
    where = ["--db", db] if how == "--db" else []
    monkeypatch.setenv("PETITIONS_DB", db)
    runner = CliRunner()
    refused = runner.invoke(cli.main, [*where, *OPERATOR, "import", str(path)])
    assert refused.exit_code == 1, refused.output
    assert isinstance(refused.exception, SystemExit) and "Traceback" not in refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petitions: "), refused.stderr
    assert REFUSED[kind] in lines[0], lines[0]
    assert sorted(p.name for p in folder.iterdir()) == []
    # Skipping the malformed line, the good one is imported: the store is made.
    skip = runner.invoke(cli.main, [*where, *OPERATOR, "--json", "import", str(path),
                                    "--on-error", "skip"])
    if kind == "CSV unknown column":  # the header refuses the whole file
        assert skip.exit_code == 1 and REFUSED[kind] in skip.stderr, skip.output
        assert sorted(p.name for p in folder.iterdir()) == []
        return
    assert skip.exit_code == 1, skip.output  # a line was skipped
    assert json.loads(skip.stdout)["imported"] == 1
    assert {"new.sqlite", "new.sqlite.key"} <= {p.name for p in folder.iterdir()}
    with PetitionService.open(db) as svc:
        assert len(filed_keys(svc)) == 1


def test_an_import_with_nothing_to_file_leaves_no_store_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every line skipped, an empty file, an operator who may not import:
    # into a store that does not exist yet, nothing is created.
    from petitions.privacy.keys import MASTER_KEY_ENV, MASTER_KEY_FILE_ENV

    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    monkeypatch.delenv(MASTER_KEY_FILE_ENV, raising=False)
    (folder := tmp_path / "store").mkdir()
    db = ["--db", str(folder / "new.sqlite")]
    runner = CliRunner()
    bad = write_lines(tmp_path / "bad.jsonl", ["{oops", '{"idempotency_key": 1' + "0" * 5000
                                               + "}"])
    skip = runner.invoke(cli.main, [*db, *OPERATOR, "--json", "import", str(bad),
                                    "--on-error", "skip"])
    assert skip.exit_code == 1 and "Traceback" not in skip.output, skip.output
    assert json.loads(skip.stdout)["skipped"] == 2 and "line 2:" in skip.stderr
    empty = write_lines(tmp_path / "empty.jsonl", [])
    done = runner.invoke(cli.main, [*db, *OPERATOR, "import", str(empty)])
    assert done.exit_code == 0 and "(of 0 lines)" in done.stdout, done.output
    auditor = runner.invoke(cli.main, [*db, "--actor", "wu", "--role", "auditor", "import",
                                       str(write_lines(tmp_path / "in.jsonl", [filing(1)]))])
    assert auditor.exit_code == 1 and len(auditor.stderr.strip().splitlines()) == 1
    assert "auditor" in auditor.stderr
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_import_reads_gbk_gb18030_and_utf8_with_or_without_bom(
        backend_url: str, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes("".join(json.dumps(filing(n), ensure_ascii=False) + "\n"
                             for n in range(2)).encode(encoding))
    given = [] if encoding.startswith("utf-8") else ["--encoding", encoding]
    result = CliRunner().invoke(cli.main, ["--db", backend_url, *OPERATOR, "--json", "import",
                                           str(path), *given])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 2
    with PetitionService.open(backend_url) as svc:
        assert svc.get(petition_id_for("wechat:2022-00001")).title == "小区停车难 1"


def test_undecodable_input_names_the_line_and_skip_exits_non_zero(
        backend_url: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    good = json.dumps(filing(1), ensure_ascii=False) + "\n"
    path.write_bytes(good.encode() + (json.dumps(filing(2), ensure_ascii=False) + "\n")
                     .encode("gbk"))
    runner = CliRunner()
    stop = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "import", str(path)])
    assert stop.exit_code == 1 and "line 2:" in stop.stderr and "--encoding" in stop.stderr
    assert "Traceback" not in stop.output
    skip = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "import", str(path),
                                    "--on-error", "skip"])
    assert skip.exit_code == 1 and "imported 1" in skip.stdout and "skipped 1" in skip.stdout
    bad = runner.invoke(cli.main, ["--db", backend_url, *OPERATOR, "import", str(path),
                                   "--encoding", "klingon"])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("batch", [3, 100])
def test_filings_are_filed_in_batches_numbered_in_file_order(
        service: PetitionService, tmp_path: Path, batch: int) -> None:
    # Seven lines, three per transaction: a key given twice, one petitioner
    # (by id) twice — their second filing starts a new transaction, under the
    # key the first stored.
    same = {"id": "p-liu", "kind": "resident", "name": "刘先生", "phone": "13800001111"}
    order = [0, 1, 3, 2, 4, 5]
    lines = [filing(0), filing(1, petitioner=same),
             filing(3, petitioner=same, title="路灯不亮", description="路灯坏了"),
             filing(2), filing(1), filing(4), filing(5)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    report = import_filings(service, path, actor=CLERK, batch=batch)
    assert (report.lines, report.imported, report.existing) == (7, 6, 1)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(6)})
    ids = {n: petition_id_for(f"wechat:2022-{n:05d}") for n in range(6)}
    numbers = [service.number_of(ids[n]) for n in order]  # in the file's order
    assert all(numbers) and numbers == sorted(numbers) and len(set(numbers)) == 6
    shown = [service.get(ids[n], viewer=CLERK).petitioner for n in (1, 3)]
    assert [p.name for p in shown] == ["刘先生", "刘先生"]
    # The caller index knows both of the same phone's cases.
    assert set(service.caller_petitions(phone="13800001111")) == {ids[1], ids[3]}


def test_a_failure_inside_a_batch_leaves_whole_batches_and_a_rerun_files_the_rest(
        service: PetitionService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(8)])
    recorder: Any = service.recorder
    insert = recorder._insert_events
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        found = insert(*args, **kwargs)
        if calls == 2:  # the second batch's rows are written, then the process "dies"
            raise RuntimeError("crash before commit")
        return found

    monkeypatch.setattr(recorder, "_insert_events", failing)
    with pytest.raises(RuntimeError):
        import_filings(service, path, actor=CLERK, batch=3)
    monkeypatch.undo()
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(3)})
    numbered = [service.number_of(petition_id_for(f"wechat:2022-{n:05d}")) for n in range(3)]
    assert all(numbered)
    again = import_filings(service, path, actor=CLERK, batch=3)
    assert (again.imported, again.existing) == (5, 3)
    assert filed_keys(service) == Counter({f"wechat:2022-{n:05d}": 1 for n in range(8)})


def test_a_campaigns_filings_in_one_batch_are_all_counted(
        service: PetitionService, tmp_path: Path) -> None:
    organiser = Actor("gu", "supervisor")
    campaign = service.open_campaign(actor=organiser, name="进家入户 寸滩街道")
    lines = [filing(n, campaign_id=str(campaign), channel="door_to_door") for n in range(4)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    report = import_filings(service, path, actor=CLERK)  # one batch of 100
    assert report.imported == 4
    progress = service.campaign_progress(campaign)
    assert progress.collected == 4
    assert set(progress.petition_ids) == {petition_id_for(f"wechat:2022-{n:05d}")
                                          for n in range(4)}
