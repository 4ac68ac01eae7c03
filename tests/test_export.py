"""`petitions export cases` (issue 17, point 3), through the command line, on both
backends: CSV that Excel opens (BOM, header in the chosen language, no internal
codes in Chinese), GBK, JSON Lines, personal data masked unless revealed by a
role that may (and each reveal recorded), list filters, hostile input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from petitions import PetitionService
from tests.test_cli import Cli

NAME, PHONE = "王秀英", "13912345678"
CODES = ("property_management", "door_to_door", "closed", "resolved", "satisfied", "claim",
         "resident", "on_time", "review", "enterprise")


def _cases(cli: Cli) -> tuple[str, str, str]:
    """A resident's case taken to closed (escalated once, reopened once), an
    enterprise's case, and a confidential report (检举控告)."""
    out = cli.json("file", "--kind", "resident", "--name", NAME, "--phone", PHONE,
                   "--email", "wang.xiuying@example.cn", "--petitioner-id", "res-1",
                   "--title", "小区停车难", "--description", "车位不足",
                   "--category", "property_management", "--channel", "door_to_door",
                   "--street", "寸滩街道", "--community", "保税商厦社区", "--grid", "3",
                   "--at", "2022-06-06T09:30", role="intake_clerk")
    pid = str(out["id"])
    cli("accept", pid, "--at", "2022-06-06T10:00")
    cli("assign", pid, "--unit", "寸滩街道", "--person", "网格员张", "--at", "2022-06-06T11:00")
    cli("escalate", pid, "--reason", "久拖未决", "--at", "2022-06-07T09:00", role="supervisor")
    cli("reply", pid, "--outcome", "support", "--text", "已施划车位", "--at", "2022-06-08T09:00")
    cli("resolve", pid, "--at", "2022-06-08T10:00")
    cli("callback", pid, "--contacted", "--unresolved", "--rating", "unsatisfied",
        "--at", "2022-06-09T09:00", actor="hotline", role="intake_clerk")
    cli("reopen", pid, "--to", "resolution", "--reason", "车位仍不够", "--at", "2022-06-09T10:00")
    cli("reply", pid, "--outcome", "support", "--text", "又增设车位", "--at", "2022-06-10T09:00")
    cli("resolve", pid, "--at", "2022-06-10T10:00")
    cli("callback", pid, "--contacted", "--resolved", "--rating", "satisfied",
        "--at", "2022-06-13T09:00", actor="hotline", role="intake_clerk")
    cli("close", pid, "--at", "2022-06-13T10:00")
    firm = cli.json("file", "--kind", "enterprise", "--name", "西南证券", "--phone", "02300000000",
                    "--title", "周边车辆乱停", "--description", "影响交通", "--category",
                    "traffic", "--channel", "enterprise_liaison", "--street", "江北城街道",
                    "--at", "2022-06-07T09:00", role="intake_clerk")["id"]
    report = cli.json("file", "--kind", "resident", "--name", "柯志远", "--phone", "13700000000",
                      "--matter-type", "report", "--title", "检举违规排污", "--description",
                      "夜间偷排", "--category", "environment", "--channel", "hotline",
                      "--at", "2022-06-08T09:00", role="intake_clerk")["id"]
    return pid, str(firm), str(report)


def _rows(path: Path, encoding: str) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


def test_csv_jsonl_masking_filters_and_reveal(backend_url: str, tmp_path: Path) -> None:
    cli = Cli(backend_url)
    pid, firm, _report = _cases(cli)
    number = cli.json("show", pid)["number"]

    # CSV, Chinese, UTF-8 with BOM by default.
    out = tmp_path / "cases.csv"
    done = cli("export", "cases", str(out), lang="zh")
    assert "3" in done.stdout and str(out) in done.stdout
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = _rows(out, "utf-8-sig")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["工单号", "诉求类型", "类别"] and "办结时间" in header
    assert len(body) == 3
    by = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    mine = by[number]
    assert (mine["诉求类型"], mine["类别"], mine["渠道"]) == ("申诉求决", "物业管理", "进家入户")
    assert (mine["街道/镇"], mine["社区"], mine["网格"]) == ("寸滩街道", "保税商厦社区", "3")
    assert mine["登记时间"] == "2022-06-06 09:30" and mine["办结时间"] == "2022-06-13 10:00"
    assert mine["重新办理次数"] == "1" and mine["督办次数"] == "1"
    assert mine["牵头单位"] == "寸滩街道" and mine["最近评价"] == "满意"
    assert mine["诉求人"] == "王**" and mine["电话"] == "139****5678"  # masked
    text = raw.decode("utf-8-sig")
    assert NAME not in text and PHONE not in text and "wang.xiuying" not in text
    assert not [c for c in CODES if c in text]  # no internal codes in Chinese output
    # Oldest filing first; the confidential petitioner is withheld from a caseworker.
    assert [r[7] for r in body] == sorted(r[7] for r in body)
    assert "柯志远" not in text and "不公开" in text
    assert any(r[header.index("诉求人")] == "西南证券" for r in body)  # an enterprise's name

    # JSON Lines: the same rows, with codes and local ISO times.
    lines_path = tmp_path / "cases.jsonl"
    cli("export", "cases", str(lines_path), "--format", "jsonl")
    lines = [json.loads(line) for line in lines_path.read_text("utf-8").splitlines()]
    assert len(lines) == 3 and not lines_path.read_bytes().startswith(b"\xef\xbb\xbf")
    first = next(x for x in lines if x["number"] == number)
    assert (first["category"], first["stage"], first["outcome"]) == (
        "property_management", "closed", "resolved")
    assert first["closed_at"] == "2022-06-13T10:00:00+08:00"
    assert (first["reopens"], first["escalations"], first["last_rating"]) == (1, 1, "satisfied")
    assert (first["petitioner"], first["phone"]) == ("王**", "139****5678")
    running = next(x for x in lines if x["id"] == firm)
    assert running["deadline"] and running["due_date"] and running["closed_at"] is None

    # List filters.
    only = tmp_path / "street.csv"
    cli("export", "cases", str(only), "--street", "江北城街道", lang="en")
    rows = _rows(only, "utf-8-sig")
    assert rows[0][0] == "Work-order number" and len(rows) == 2 and rows[1][3] == "江北城街道"
    cli("export", "cases", str(only), "--status", "closed")
    assert [r[0] for r in _rows(only, "utf-8-sig")[1:]] == [number]

    # GBK for older Excel: no BOM, readable with the gbk codec.
    gbk = tmp_path / "gbk.csv"
    cli("export", "cases", str(gbk), "--encoding", "gbk", lang="zh")
    assert not gbk.read_bytes().startswith(b"\xef\xbb\xbf")
    assert _rows(gbk, "gbk")[0][0] == "工单号"
    assert any(r[header.index("诉求人")] == "王**" for r in _rows(gbk, "gbk"))

    # Reveal: a supervisor sees the clear data, and each reveal is recorded.
    clear = tmp_path / "clear.csv"
    cli.json("export", "cases", str(clear), "--reveal", "--status", "closed",
             actor="zhang", role="supervisor")
    row = _rows(clear, "utf-8-sig")[1]
    assert NAME in row and PHONE in row
    with PetitionService.open(backend_url) as svc:
        record = svc.privacy.record_of("res-1")
        reveals = [e for e in record if type(e).__name__ == "Revealed"]
        assert len(reveals) == 1 and reveals[0].actor.id == "zhang"

    # An auditor may not reveal: one line, exit 1, no file, nothing recorded.
    refused = cli("export", "cases", str(tmp_path / "no.csv"), "--reveal", role="auditor",
                  code=1)
    assert refused.stderr.count("\n") == 1 and "reveal" in refused.stderr
    assert not (tmp_path / "no.csv").exists() and not (tmp_path / "no.csv.part").exists()
    with PetitionService.open(backend_url) as svc:
        assert len([e for e in svc.privacy.record_of("res-1")
                    if type(e).__name__ == "Revealed"]) == 1


def test_hostile_input_is_one_line(tmp_path: Path) -> None:
    cli = Cli(str(tmp_path / "h.sqlite"))
    cli.file()
    cases = [
        (("export", "cases", str(tmp_path / "nodir" / "x.csv")), 1, "cannot write"),
        (("export", "cases", str(tmp_path / "x.csv"), "--encoding", "latin-1"), 2, "latin-1"),
        (("export", "cases", str(tmp_path / "x.jsonl"), "--format", "jsonl",
          "--encoding", "gbk"), 2, "UTF-8"),
        (("export", "cases", str(tmp_path / "x.csv"), "--format", "xlsx"), 2, "xlsx"),
        (("export", "cases", str(tmp_path / "x.csv"), "--category", "nope"), 1, "nope"),
        (("export", "cases", str(tmp_path / "x.csv"), "--phone", "138", "--overdue"), 2,
         "--phone"),
    ]
    for args, code, says in cases:
        result = cli(*args, code=code)
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
        if code == 1:
            assert result.stderr.count("\n") == 1, result.stderr
        assert not (tmp_path / "x.csv").exists()


def test_characters_gbk_cannot_hold_are_replaced_and_counted(tmp_path: Path) -> None:
    cli = Cli(str(tmp_path / "g.sqlite"))
    cli.json("file", "--kind", "enterprise", "--name", "𠀀记餐馆", "--title", "t",
             "--description", "d", "--category", "other", "--channel", "hotline",
             "--street", "😀街", role="intake_clerk")
    out = tmp_path / "g.csv"
    result = cli("export", "cases", str(out), "--encoding", "gbk")
    assert "2" in result.stderr and "?" in result.stderr
    row = _rows(out, "gbk")[1]
    assert "?街" in row and "?记餐馆" in row


def test_the_case_index_is_read_in_batches(backend_url: str) -> None:
    cli = Cli(backend_url)
    ids = [cli.file("--at", f"2022-06-0{d}T09:00") for d in range(1, 6)]
    with PetitionService.open(backend_url) as svc:
        seen = [c.id for c in svc.read_models.iter_cases(batch=2)]
        assert seen == ids  # oldest first, every case once, across three batches
        assert [c.id for c in svc.read_models.iter_cases(batch=2, street="寸滩街道")] == ids
        assert list(svc.read_models.iter_cases(batch=2, street="nowhere")) == []
