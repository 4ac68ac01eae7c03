"""``petitions rank --by``: the groupings come from the library (where ``rank``
is defined, ``PetitionService.RANK_BY``), cli.py keeps no copy of them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import LibraryChoice, main
from petitions import Actor, Location, PetitionService
from tests.fixtures import file_petition


def _by() -> click.Parameter:
    command = main.commands["rank"]
    return next(p for p in command.params if p.name == "by")


def test_the_choices_are_the_librarys() -> None:
    by = _by()
    assert isinstance(by.type, LibraryChoice)
    assert tuple(by.type.choices) == PetitionService.RANK_BY == ("unit", "street")
    shown = CliRunner().invoke(main, ["--lang", "en", "rank", "--help"])
    assert shown.exit_code == 0 and "[unit|street]" in shown.output


def test_a_grouping_the_library_adds_is_taken_without_touching_cli(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "rank.sqlite")
    worker, hotline = Actor("li", "caseworker"), Actor("hotline", "intake_clerk")
    with PetitionService.open(db) as svc:
        pid = file_petition(svc, hotline, location=Location(street="寸滩街道",
                                                            community="保税商厦社区"))
        svc.accept(pid, actor=worker)  # type: ignore[arg-type]
        svc.assign(pid, actor=worker, unit="寸滩街道", person="张")  # type: ignore[arg-type]
        svc.reply(pid, actor=worker, outcome="support", text="已办")  # type: ignore[arg-type]
        svc.resolve(pid, actor=worker)  # type: ignore[arg-type]
        svc.callback(pid, actor=hotline, contacted=True, resolved=True,  # type: ignore[arg-type]
                     rating="satisfied")
    run = CliRunner().invoke
    refused = run(main, ["--db", db, "rank", "--by", "community"])
    assert refused.exit_code == 2 and "community" in refused.output
    monkeypatch.setattr(PetitionService, "RANK_BY", ("unit", "street", "community"))
    monkeypatch.setattr(_by().type, "_loaded", None)  # read the library again
    out = run(main, ["--db", db, "--json", "rank", "--by", "community"])
    assert out.exit_code == 0, out.output
    assert [r["group"] for r in json.loads(out.output)] == ["保税商厦社区"]
