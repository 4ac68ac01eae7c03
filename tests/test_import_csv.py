"""Importing filings from CSV: default columns, encodings, a mapping for another
system's export, line numbers, rerun safety and SIGKILL safety (as JSON Lines)."""

from __future__ import annotations

import csv
import functools
import io
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from petitions import Actor, PetitionService
from petitions.errors import InvalidInput
from petitions.importer import ImportRefused
from petitions.importer_csv import COLUMNS, import_csv
from petitions.persistence import store_info

OPERATOR = Actor("clerk-01", "intake_clerk")
csv_import = functools.partial(import_csv, actor=OPERATOR)
AS_CLERK = ("--actor", "clerk-01", "--role", "intake_clerk")


def row(n: int, **overrides: str) -> dict[str, str]:
    out = {"idempotency_key": f"12345:2022-{n:05d}", "title": f"楼道堆物 {n}",
           "description": "老旧小区楼道堆放杂物，存在消防隐患", "category": "fire_safety",
           "channel": "hotline", "kind": "resident", "name": "陈女士",
           "phone": "13700001111", "id_number": "", "address": "石子山体育公园旁",
           "street": "观音桥街道", "community": "洋河花园社区", "grid": "7",
           "at": "2022-06-06T09:30:00+08:00", "workflow": "", "type": "claim"}
    out.update(overrides)
    return out


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8",
              columns: tuple[str, ...] = COLUMNS, extra: str = "") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes((buf.getvalue() + extra).encode(encoding))
    return path


def filed(svc: PetitionService) -> Counter[str]:
    return Counter(c.data["idempotency_key"] for c in svc.changes() if c.type == "Filed")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_each_row_filed_once_in_every_encoding(service: PetitionService, tmp_path: Path,
                                               encoding: str) -> None:
    path = write_csv(tmp_path / "in.csv", [row(n) for n in range(3)], encoding=encoding)
    report = csv_import(service, path, encoding=encoding)
    assert (report.lines, report.imported, report.existing) == (3, 3, 0)
    again = csv_import(service, path, encoding=encoding)
    assert (again.imported, again.existing) == (0, 3)
    assert filed(service) == Counter({f"12345:2022-{n:05d}": 1 for n in range(3)})
    case = service.list_petitions(grid="7")[0]
    view = service.get(case.id, viewer=Actor("s", "supervisor"), reveal=True)
    assert view.title.startswith("楼道堆物") and view.category == "fire_safety"
    assert view.location.community == "洋河花园社区" and view.matter_type == "claim"
    assert view.petitioner.name == "陈女士" and view.petitioner.address == "石子山体育公园旁"
    assert view.filed_at.isoformat() == "2022-06-06T01:30:00+00:00"


def test_a_wrong_encoding_is_one_clear_error(service: PetitionService, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [row(1)], encoding="gbk")
    with pytest.raises(InvalidInput) as err:
        csv_import(service, path, encoding="utf-8")
    assert err.value.field == "encoding"
    assert filed(service) == Counter()


def test_the_whole_file_is_checked_first(service: PetitionService, tmp_path: Path) -> None:
    rows = [row(1), row(2, category="nope"), row(3, title=""), row(4)]
    path = write_csv(tmp_path / "in.csv", rows, extra='"12345:x","unterminated\r\n')
    with pytest.raises(ImportRefused) as err:
        csv_import(service, path)
    lines = [e.line for e in err.value.report.errors]
    assert lines[:2] == [3, 4]  # header is line 1; rows 2 and 3 are lines 3 and 4
    assert "category" in str(err.value.report.errors[0])
    assert filed(service) == Counter()  # nothing written
    report = csv_import(service, path, on_error="skip")
    assert report.imported == 2 and report.skipped == len(set(lines))
    assert set(filed(service)) == {"12345:2022-00001", "12345:2022-00004"}


def test_a_multi_line_field_keeps_line_numbers_right(service: PetitionService,
                                                    tmp_path: Path) -> None:
    rows = [row(1, description="第一行\n第二行"), row(2, category="nope")]
    with pytest.raises(ImportRefused) as err:
        csv_import(service, write_csv(tmp_path / "in.csv", rows))
    assert [e.line for e in err.value.report.errors] == [4]


def test_header_problems_refuse_the_file(service: PetitionService, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown column 'colour'"):
        csv_import(service, write_csv(tmp_path / "a.csv", [{**row(1), "colour": "red"}],
                                      columns=(*COLUMNS, "colour")))
    with pytest.raises(InvalidInput, match="no column 'category'"):
        csv_import(service, write_csv(tmp_path / "b.csv", [
            {k: v for k, v in row(1).items() if k != "category"}],
            columns=tuple(c for c in COLUMNS if c != "category")))


def test_a_mapping_reads_another_systems_export(backend_url: str, tmp_path: Path) -> None:
    theirs = {"idempotency_key": "工单编号", "title": "标题", "description": "诉求内容",
              "category": "分类", "name": "来电人", "phone": "来电号码", "grid": "网格"}
    mapping = tmp_path / "map.toml"
    mapping.write_text("[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in theirs.items())
                       + '[defaults]\nchannel = "hotline"\n', encoding="utf-8")
    rows = [{theirs[k]: v for k, v in row(n).items() if k in theirs} for n in range(2)]
    path = write_csv(tmp_path / "export.csv", rows, encoding="gb18030",
                     columns=tuple(theirs.values()))
    runner = CliRunner()
    args = ["--db", backend_url, *AS_CLERK, "--json", "import", str(path), "--encoding", "gb18030",
            "--mapping", str(mapping)]
    result = runner.invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["imported"] == 2
    again = runner.invoke(cli.main, args)
    assert json.loads(again.output.strip().splitlines()[-1])["existing"] == 2
    with PetitionService.open(backend_url) as svc:
        cases = svc.list_petitions(grid="7")
        assert len(cases) == 2 and {c.channel for c in cases} == {"hotline"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\ncolour = "颜色"\n', encoding="utf-8")
    refused = runner.invoke(cli.main, ["--db", backend_url, *AS_CLERK, "import", str(path),
                                       "--mapping", str(bad)])
    assert refused.exit_code == 1 and "colour" in refused.output
    assert "Traceback" not in refused.output
    wrong = runner.invoke(cli.main, ["--db", backend_url, *AS_CLERK, "import", str(path)])
    assert wrong.exit_code == 1 and "encoding" in wrong.output
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("", encoding="utf-8")
    usage = runner.invoke(cli.main, ["--db", backend_url, "--actor", "clerk-01", "--role",
                                     "intake_clerk", "import", str(jsonl), "--mapping",
                                     str(mapping)])
    assert usage.exit_code == 2


@pytest.mark.slow
def test_csv_import_killed_and_run_again_files_everything_once(
        backend_url: str, tmp_path: Path) -> None:
    from petitions.importer import BATCH

    total = 2 * BATCH + BATCH // 2  # three batches, the last one short
    path = write_csv(tmp_path / "big.csv", [row(n) for n in range(total)], encoding="gbk")
    kill_after = random.Random().randrange(5, total // 2)
    command = [sys.executable, "-m", "cli", "--db", backend_url, "--actor", "clerk-01",
               "--role", "intake_clerk", "import", str(path),
               "--encoding", "gbk"]
    with PetitionService.open(backend_url) as svc:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while (svc.recorder.max_notification_id() or 0) < kill_after:
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        partial = store_info(svc, backend_url).petitions
        assert 0 < partial < total
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=120,
                               check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert f"already present {partial}," in rerun.stdout, rerun.stdout
        assert filed(svc) == Counter({f"12345:2022-{n:05d}": 1 for n in range(total)})
