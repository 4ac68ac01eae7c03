"""The handling commands of the CLI come from the command table (issue 12, point 3).

Options from the fields, help from the catalogs, and every workflow-dependent
choice read from the petition's pinned workflow at run time: a district's own
workflow, loaded through ``PETITIONS_WORKFLOWS``, works end to end with its own
satisfaction scale and reopen stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import click
import pytest
from eventsourcing.domain import Aggregate

import cli as cli_module
from petitions.domain.commands import COMMANDS, Command, Context, register, unregister
from petitions.domain.petition import Petition
from tests.test_cli import Cli, one_line_error

#: A made-up district workflow (an assumption for the test, not a real
#: office's): a five-point satisfaction scale, and an unsatisfied petition
#: reopened into its own ``rework`` stage.
DISTRICT = '''
name = "district_five_point"
version = 1
initial = "intake"
reopen_limit = 2

[title]
zh = "区五级满意度诉求"
en = "District appeal, five-point scale"

[satisfaction]
scale = ["very_satisfied", "satisfied", "neutral", "unsatisfied", "very_unsatisfied"]
unsatisfied = ["unsatisfied", "very_unsatisfied"]
labels.very_satisfied = { zh = "非常满意", en = "very satisfied" }
labels.satisfied = { zh = "满意", en = "satisfied" }
labels.neutral = { zh = "一般", en = "neutral" }
labels.unsatisfied = { zh = "不满意", en = "unsatisfied" }
labels.very_unsatisfied = { zh = "非常不满意", en = "very unsatisfied" }

[stages.intake]
label = { zh = "受理", en = "Intake" }
commands = { accept = "resolution" }

[stages.resolution]
label = { zh = "办理", en = "Resolution" }
commands = { act = "stay", reply = "stay", resolve = "review" }

[stages.rework]
label = { zh = "返工整改", en = "Rework" }
commands = { act = "stay", resolve = "review" }

[stages.review]
label = { zh = "回访", en = "Satisfaction review" }
[stages.review.commands]
callback = "stay"
reopen = ["rework"]
close = "closed"

[stages.closed]
label = { zh = "办结", en = "Closed" }
terminal = true

[anytime]
note = "stay"

[requires]
close = ["callback_recorded"]
reopen = ["unsatisfied"]

[roles]
file = ["intake_clerk", "caseworker"]
accept = ["intake_clerk", "caseworker"]
act = ["caseworker"]
reply = ["caseworker"]
resolve = ["caseworker"]
callback = ["caseworker"]
reopen = ["caseworker"]
close = ["caseworker"]
note = ["intake_clerk", "caseworker"]
'''


@pytest.fixture
def district(tmp_path: Path) -> dict[str, str | None]:
    folder = tmp_path / "district"
    folder.mkdir()
    (folder / "district_five_point.toml").write_text(DISTRICT, encoding="utf-8")
    return {"PETITIONS_WORKFLOWS": str(folder)}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "cli.sqlite"))


def test_every_command_of_the_table_is_on_the_command_line() -> None:
    for cls in COMMANDS.values():
        group: click.Command = cli_module.main
        for part in cls.cli:
            assert isinstance(group, click.Group)
            found = group.get_command(click.Context(group), part)
            assert found is not None, cls.cli
            group = found
        assert group.help == cls.help
        spelled = {o for p in group.params for o in (*p.opts, *p.secondary_opts)}
        assert {"--at", "--expected-version"} <= spelled
        for field in attrs.fields(cls):
            wanted = field.metadata.get("flag") or field.metadata.get("option") or (
                "--" + field.name.replace("_", "-"))
            assert set(wanted.split("/")) <= spelled, (cls.cli, wanted)


def test_no_domain_value_lists_in_cli_py() -> None:
    source = Path(cli_module.__file__).read_text(encoding="utf-8")
    for pattern in (r"\bRATINGS\b", r"\bREPLY_OUTCOMES\b", r"\bKINDS\b", r"\bGROUPINGS =",
                    r"mediation\W+resolution", r"\buphold\b", r"\brevise\b",
                    r"basically.satisfied", r"not.support", r'"open", "closed"',
                    r'"assignee", "mediator"', r'\["closed"\]', r'"resident", "enterprise"'):
        assert not re.search(pattern, source), pattern


def test_a_district_workflow_works_end_to_end(cli: Cli, district: dict[str, str | None]) -> None:
    pid = cli.file("--workflow", "district_five_point", env=district)
    cli("accept", pid, env=district)
    cli("reply", pid, "--outcome", "not-support", "--text", "不符合条件", env=district)
    cli("resolve", pid, env=district)
    # A value of another scale is refused with the petition's own, one line.
    refused = cli("callback", pid, "--contacted", "--unresolved", "--rating",
                  "basically-satisfied", env=district, code=2)
    line = refused.stderr.strip().splitlines()[-1]
    assert "--rating" in line and "basically-satisfied" in line
    assert "very_satisfied (very satisfied)" in line and "neutral (neutral)" in line
    zh = cli("callback", pid, "--contacted", "--unresolved", "--rating", "great",
             env=district, code=2, lang="zh").stderr
    assert "very_unsatisfied (非常不满意)" in zh
    cli("callback", pid, "--contacted", "--unresolved", "--rating", "very-unsatisfied",
        env=district)
    shown = cli.json("show", pid, env=district)
    assert shown["last_rating"] == "very_unsatisfied"
    refused = cli("reopen", pid, "--to", "mediation", "--reason", "没修好", env=district,
                  code=2)
    assert "rework (Rework)" in refused.stderr
    cli("reopen", pid, "--to", "rework", "--reason", "没修好", env=district)
    assert cli.json("show", pid, env=district)["stage"] == "rework"
    cli("act", pid, "--action", "返工", env=district)
    cli("resolve", pid, env=district)
    cli("callback", pid, "--contacted", "--resolved", "--rating", "very_satisfied",
        env=district)
    assert cli.json("show", pid, env=district)["last_rating"] == "very_satisfied"
    cli("close", pid, env=district)
    shown = cli.json("show", pid, env=district)
    assert (shown["stage"], shown["status"]) == ("closed", "closed")


def test_emergency_care_reopens_into_response(cli: Cli) -> None:
    pid = cli.file("--workflow", "emergency_care")
    cli("accept", pid)
    cli("assign", pid, "--unit", "石马河街道", "--person", "网格员")
    cli("resolve", pid)
    cli("callback", pid, "--contacted", "--unresolved", "--rating", "unsatisfied")
    refused = cli("reopen", pid, "--to", "mediation", "--reason", "r", code=2)
    assert "response (At the door)" in refused.stderr
    cli("reopen", pid, "--to", "response", "--reason", "老人仍不舒服")
    assert cli.json("show", pid)["stage"] == "response"


def test_a_choice_on_a_petition_that_cannot_be_read(cli: Cli) -> None:
    # Valid in some workflow: the petition's own error (exit 1).
    assert "petition id" in one_line_error(
        cli("reply", "x", "--outcome", "support", "--text", "t", code=1))
    # Valid in none: a usage error (exit 2) that lists the values.
    assert "explain" in cli("reply", "x", "--outcome", "maybe", "--text", "t",
                            code=2).stderr


# ----------------------------------------------- a command added in the test
class VisitRecorded(Petition.Event):
    """A home visit (走访) was made (an event class defined by this test)."""

    place: str

    def evolve(self, petition: Petition) -> None:
        pass


@attrs.frozen
class RecordVisit(Command):
    """A command added by this test: nothing in cli.py or service.py knows it."""

    name = "record_visit"
    cli = ("visit",)
    help = "Record a home visit."
    method = "record_visit"

    place: str = attrs.field(metadata={"help": "Where.", "kind": "text", "choices": None})

    def decide(self, petition: Petition, ctx: Context) -> Sequence[Aggregate]:
        petition.permit(ctx.workflow, ctx.actor, self.name)
        petition.trigger_event(VisitRecorded, actor=ctx.actor,
                               occurred_at=petition.checked_time(ctx.at), place=self.place)
        return ()


@pytest.fixture
def visit_command() -> Iterator[None]:
    register(RecordVisit, in_place=True)
    try:
        yield
    finally:
        unregister(RecordVisit.name)
    assert "visit" not in cli_module.main.commands  # gone from the command line too


def test_a_command_added_without_touching_cli_or_service(
        cli: Cli, district: dict[str, str | None], visit_command: None) -> None:
    folder = Path(str(district["PETITIONS_WORKFLOWS"]))
    (folder / "district_five_point.toml").write_text(
        DISTRICT.replace('commands = { act = "stay", reply = "stay", resolve = "review" }',
                         'commands = { act = "stay", reply = "stay", resolve = "review", '
                         'record_visit = "stay" }')
        .replace('act = ["caseworker"]', 'act = ["caseworker"]\nrecord_visit = ["caseworker"]'),
        encoding="utf-8")
    pid = cli.file("--workflow", "district_five_point", env=district)
    cli("accept", pid, env=district)
    assert "Record a home visit." in cli("--help").stdout
    assert "--place" in cli("visit", "--help").stdout
    cli("visit", pid, "--place", "茅溪小区3栋", env=district)
    events = cli.json("history", pid, env=district)
    assert events[-1]["type"] == "VisitRecorded"
    refused = cli("visit", pid, "--place", "x", role="intake_clerk", env=district, code=1)
    assert "record_visit" in one_line_error(refused)
