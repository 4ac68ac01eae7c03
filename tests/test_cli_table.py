"""The CLI's tables (printed without rich): aligned by the columns text takes."""

from __future__ import annotations

import sys

import click
import pytest

import cli


def _print(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *,
           tty: bool, columns: int = 0) -> list[str]:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    if columns:
        monkeypatch.setenv("COLUMNS", str(columns))
    ctx = click.Context(cli.main)
    ctx.obj = cli.State(None, None, None, "zh", False)
    with ctx:
        cli._table(("字段", "值"), [("说明", "新入驻的西南证券反映：公司周边车辆停放影响交通。"),
                                   ("ID", None), ("Version", 3)], title="诉求")
    return capsys.readouterr().out.splitlines()


def test_piped_output_is_one_line_a_row(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    lines = _print(monkeypatch, capsys, tty=False)
    assert lines[0] == "诉求"
    assert lines[1] == "  字段     值"
    assert set(lines[2].strip()) == {"─"}
    assert lines[3] == "  说明     新入驻的西南证券反映：公司周边车辆停放影响交通。"
    assert lines[4] == "  ID"  # None is an empty cell, trailing spaces cut
    assert lines[5] == "  Version  3"
    assert cli._columns(lines[2]) == cli._columns(lines[3]) + 1


def test_a_narrow_terminal_wraps_the_widest_column(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    lines = _print(monkeypatch, capsys, tty=True, columns=40)
    assert all(cli._columns(line) <= 40 for line in lines)
    wrapped = [line for line in lines[3:] if line.startswith("           ")]
    first = lines[3].split(maxsplit=1)[1]
    assert wrapped and "".join(s.strip() for s in [first, *wrapped]) == (
        "新入驻的西南证券反映：公司周边车辆停放影响交通。")
