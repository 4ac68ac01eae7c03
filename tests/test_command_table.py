"""The command table: one frozen value per command, equal to the workflow vocabulary,
executed through one path, with choices read from the petition's pinned workflow."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import workflows
from petitions.domain import commands as cmds
from petitions.domain.commands import CHOICE_KINDS, COMMANDS, Command, choices
from petitions.domain.values import Actor
from petitions.errors import InvalidInput, TransitionNotAllowed
from petitions.service import PetitionService
from tests.conftest import file_petition
from workflows import vocabulary

KINDS = {"text", "texts", "time", "int", "id", "bool"}


def test_the_table_is_the_workflow_vocabulary() -> None:
    assert set(COMMANDS) == set(workflows.COMMANDS)
    assert set(COMMANDS) == set(vocabulary.commands())
    for name, cls in COMMANDS.items():
        assert cls.name == name
        assert issubclass(cls, Command)


def test_every_command_is_a_frozen_value_with_its_metadata() -> None:
    paths = set()
    for cls in COMMANDS.values():
        assert attrs.has(cls)
        assert cls.help and cls.help.endswith((".", "。"))
        assert cls.cli and all(part == part.lower() for part in cls.cli)
        paths.add(cls.cli)
        method = getattr(PetitionService, cls.method)
        # The service method takes exactly the command's fields (and the common ones).
        params = set(inspect.signature(method).parameters) - {
            "self", "petition_id", "actor", "at", "expected_version"}
        assert params == {f.name for f in attrs.fields(cls)}, cls.name
        for f in attrs.fields(cls):
            assert f.metadata["help"], (cls.name, f.name)
            assert f.metadata["kind"] in KINDS, (cls.name, f.name)
            assert f.metadata["choices"] in (None, *CHOICE_KINDS)
            if f.metadata["kind"] == "bool":
                assert f.metadata["flag"].startswith("--")
    assert len(paths) == len(COMMANDS)  # no two commands share a CLI path


def test_today_s_cli_spellings_are_kept() -> None:
    spelled = {cls.name: cls.cli for cls in COMMANDS.values()}
    assert spelled["open_mediation"] == ("mediation", "open")
    assert spelled["record_session"] == ("mediation", "session")
    assert spelled["plan_step"] == ("plan", "step")
    assert spelled["answer_rereview"] == ("rereview", "answer")
    assert spelled["on_site_meeting"] == ("onsite",)
    options = {f.name: f.metadata.get("option") for f in attrs.fields(cmds.Duplicate)}
    assert options["original_id"] == "--original"
    flags = {f.name: f.metadata.get("flag") for f in attrs.fields(cmds.Callback)}
    assert flags == {"contacted": "--contacted/--not-contacted",
                     "resolved": "--resolved/--unresolved", "rating": None, "comment": None}


def test_fields_are_checked_when_a_command_is_made() -> None:
    with pytest.raises(InvalidInput) as exc:
        cmds.Reopen(to="resolution", reason=42)  # type: ignore[arg-type]
    assert exc.value.params["field"] == "reason"
    with pytest.raises(InvalidInput):
        cmds.Extend(days="3", reason="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        cmds.Callback(contacted="yes", resolved=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        cmds.Duplicate(original_id="not-an-id")  # type: ignore[arg-type]
    assert exc.value.params["kind"] == "bad_id"
    # Choice values take "-" for "_"; repeatable fields become tuples.
    assert cmds.Reply(outcome="not-support", text="t").outcome == "not_support"
    assert cmds.OpenMediation(mediator="m", parties=["a", "b"]).parties == ("a", "b")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cmds.Note(text="x").text = "y"  # type: ignore[misc]


def test_choices_come_from_the_workflow() -> None:
    reg = workflows.Registry.shipped()
    standard, care = reg.get("standard"), reg.get("emergency_care")
    assert [c.code for c in choices(standard, "review", "reopen_targets")] == [
        "mediation", "resolution"]
    assert [c.code for c in choices(care, "review", "reopen_targets")] == ["response"]
    # Not allowed in this stage: every target the workflow has, the petition says why not.
    assert [c.code for c in choices(standard, "intake", "reopen_targets")] == [
        "mediation", "resolution"]
    ratings = choices(standard, "review", "ratings")
    assert (ratings[0].code, ratings[0].label_zh) == ("satisfied", "满意")
    assert [c.code for c in choices(standard, "intake", "reply_outcomes")] == [
        "support", "explain", "not_support"]
    with pytest.raises(InvalidInput):
        choices(standard, "intake", "colours")


def test_execute_runs_a_command_value(service: PetitionService, clerk: Actor,
                                      worker: Actor) -> None:
    pid = file_petition(service, clerk)
    v = service.execute(pid, cmds.Accept(note="ok"), actor=worker)  # type: ignore[arg-type]
    assert v.stage == "dispatch"
    v = service.execute(pid, cmds.Assign(unit="寸滩街道", person="张"),  # type: ignore[arg-type]
                        actor=worker, expected_version=v.version)
    assert (v.stage, v.lead_unit) == ("resolution", "寸滩街道")
    with pytest.raises(TransitionNotAllowed):
        service.execute(pid, cmds.Close(), actor=worker)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        service.execute(pid, "close", actor=worker)  # type: ignore[arg-type]
    assert [c.code for c in service.choices(pid, "reopen_targets")] == [  # type: ignore[arg-type]
        "mediation", "resolution"]
    assert service.get(pid).version == v.version  # type: ignore[arg-type]


def test_close_closes_a_petition_and_shutdown_the_service(tmp_path: object) -> None:
    clerk, worker = Actor("c", "intake_clerk"), Actor("w", "caseworker")
    with PetitionService.open(":memory:") as svc:
        pid = file_petition(svc, clerk)
        svc.accept(pid, actor=worker)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            svc.close()  # type: ignore[call-arg]
        assert svc.get(pid).stage == "dispatch"  # type: ignore[arg-type]
    assert datetime.now(UTC)  # the block closed the service without error


def test_views_carry_labels_of_the_pinned_workflow_version(tmp_path: Path, clerk: Actor,
                                                           worker: Actor) -> None:
    db = str(tmp_path / "labels.sqlite")
    with PetitionService.open(db) as svc:
        old = file_petition(svc, clerk)
        svc.accept(old, actor=worker)  # type: ignore[arg-type]
        svc.assign(old, actor=worker, unit="寸滩街道", person="张")  # type: ignore[arg-type]
        svc.reply(old, actor=worker, outcome="not-support", text="不符合")  # type: ignore[arg-type]
        svc.resolve(old, actor=worker)  # type: ignore[arg-type]
        v = svc.callback(old, actor=clerk, contacted=True, resolved=True,  # type: ignore[arg-type]
                         rating="basically-satisfied")
    assert (v.stage_label.zh, v.stage_label.en) == ("回访", "Satisfaction review")
    assert v.rating_label is not None and v.rating_label.zh == "基本满意"
    assert v.reply_outcome_label is not None and v.reply_outcome_label.zh == "不予支持"
    assert v.workflow_title.zh == "标准诉求"
    # A next version of "standard" relabels its stages and scale; the old
    # petition keeps the current one's.
    standard = (Path(workflows.__file__).parent / "definitions" / "standard.toml").read_text(
        "utf-8")
    # (whatever the shipped version is: it is bumped by one here)
    found = re.search(r"^version = (\d+)$", standard, re.M)
    assert found is not None
    current = int(found.group(1))
    v2 = (standard.replace(f"version = {current}", f"version = {current + 1}", 1)
          .replace('label = { zh = "回访", en = "Satisfaction review" }',
                   'label = { zh = "满意度回访", en = "Call-back" }')
          .replace('{ zh = "基本满意", en = "basically satisfied" }',
                   '{ zh = "比较满意", en = "fairly satisfied" }'))
    folder = tmp_path / "v2"
    folder.mkdir()
    (folder / "standard.toml").write_text(v2, encoding="utf-8")
    with PetitionService.open(db, workflow_dirs=[folder]) as svc:
        assert svc.workflow("standard").version == current + 1
        again = svc.get(old)  # type: ignore[arg-type]
        assert again.workflow.version == current
        assert again.stage_label.zh == "回访"
        assert again.rating_label is not None and again.rating_label.zh == "基本满意"
        # queue rows (and exports) carry the same labels of the pinned version
        (row,) = [c for c in svc.list_petitions() if c.id == str(old)]
        assert row.rating_label is not None and row.rating_label.zh == "基本满意"
        assert [c.label_zh for c in svc.choices(old, "ratings")][1] == "基本满意"  # type: ignore[arg-type]
        new = file_petition(svc, clerk, idempotency_key="v2-petition")
        assert svc.get(new).workflow.version == current + 1  # type: ignore[arg-type]
        for step in (svc.accept, ):
            step(new, actor=worker)  # type: ignore[arg-type]
        svc.assign(new, actor=worker, unit="寸滩街道", person="张")  # type: ignore[arg-type]
        svc.reply(new, actor=worker, outcome="support", text="已办")  # type: ignore[arg-type]
        fresh = svc.resolve(new, actor=worker)  # type: ignore[arg-type]
        assert fresh.stage_label.zh == "满意度回访"
        assert [c.label_zh for c in svc.choices(new, "ratings")][1] == "比较满意"  # type: ignore[arg-type]
        # Queue rows too: each row's stage label is its own version's.
        rows = {c.id: c for c in svc.read_models.cases()}
        assert rows[str(old)].stage_label is not None
        assert rows[str(old)].stage_label.zh == "回访"
        assert rows[str(old)].workflow_sha256 == again.workflow.sha256
        assert rows[str(new)].stage_label is not None
        assert rows[str(new)].stage_label.zh == "满意度回访"
        assert svc.read_models.summary(str(old)).stage_label.en == "Satisfaction review"  # type: ignore[union-attr]
    # ... and so does the command line, which renders them (no look-up of its own).
    from click.testing import CliRunner

    from cli import main

    listed = CliRunner().invoke(main, ["--db", db, "--lang", "zh", "--actor", "w", "--role",
                                       "caseworker", "list"],
                                env={"PETITIONS_WORKFLOWS": str(folder), "PETITIONS_DB": None})
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[1]: line for line in listed.stdout.splitlines()
             if str(old) in line or str(new) in line}
    assert "回访" in lines[str(old)] and "满意度回访" not in lines[str(old)]
    assert "满意度回访" in lines[str(new)]
    as_json = CliRunner().invoke(main, ["--db", db, "--json", "--actor", "w", "--role",
                                        "caseworker", "list"],
                                 env={"PETITIONS_WORKFLOWS": str(folder), "PETITIONS_DB": None})
    by_id = {c["id"]: c for c in __import__("json").loads(as_json.stdout)}
    assert by_id[str(old)]["stage_label"] == {"zh": "回访", "en": "Satisfaction review"}


def test_a_case_index_without_the_pinned_version_is_rebuilt(tmp_path: Path,
                                                            clerk: Actor) -> None:
    """A case index written before it kept each petition's workflow version
    (no ``workflow_sha256`` column) is dropped and rebuilt from the events."""
    import sqlite3

    db = str(tmp_path / "old-index.sqlite")
    with PetitionService.open(db) as svc:
        pid = file_petition(svc, clerk)
        assert svc.read_models.summary(str(pid)) is not None  # the index is written
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    index = next(t for t in tables if t.endswith("petition_index"))
    con.execute(f"ALTER TABLE {index} DROP COLUMN workflow_sha256")
    con.commit()
    con.close()
    with PetitionService.open(db) as svc:
        row = svc.read_models.summary(str(pid))
        assert row is not None
        assert row.workflow_sha256 == svc.get(pid).workflow.sha256  # type: ignore[arg-type]
        assert row.stage_label is not None and row.stage_label.zh == "受理"


def test_plan_step_labels_come_with_the_view(service: PetitionService, clerk: Actor,
                                             worker: Actor) -> None:
    wf = service.workflow("property_dispute")
    name, plan = next(iter(wf.plans.items()))
    pid = file_petition(service, clerk, workflow="property_dispute")
    service.accept(pid, actor=worker)  # type: ignore[arg-type]
    service.assign(pid, actor=worker, unit="寸滩街道", person="张")  # type: ignore[arg-type]
    view = service.get(pid)  # type: ignore[arg-type]
    if view.stage == "mediation":
        service.open_mediation(pid, actor=worker, mediator="老马",  # type: ignore[arg-type]
                               parties=["业主", "物业"])
        view = service.agree(pid, actor=worker, terms="共同推进选举")  # type: ignore[arg-type]
    assert "plan_step" in view.allowed_commands
    assert view.plan_label is None and view.plan_step_labels == ()
    first = plan.steps[0]
    view = service.plan_step(pid, actor=worker, plan=name, step=first.code,  # type: ignore[arg-type]
                             evidence="会议纪要")
    assert view.plan_label == plan.label
    assert view.plan_step_labels == (first.label,)
    assert [c.code for c in service.choices(pid, "plans")] == list(wf.plans)  # type: ignore[arg-type]


def test_help_texts_are_in_the_catalogs() -> None:
    from petitions.domain.commands import GROUPS
    from petitions.i18n import Messages

    zh = Messages("zh")
    texts = [*GROUPS.values()]
    for cls in COMMANDS.values():
        texts += [cls.help, *(f.metadata["help"] for f in attrs.fields(cls))]
    untranslated = [t for t in texts if zh(t) == t]
    assert untranslated == []
    assert zh(cmds.Reopen.help) != cmds.Reopen.help


def test_choice_values_take_hyphens_for_underscores(service: PetitionService, clerk: Actor,
                                                    worker: Actor) -> None:
    pid = file_petition(service, clerk, workflow="property_dispute")
    service.accept(pid, actor=worker)  # type: ignore[arg-type]
    service.assign(pid, actor=worker, unit="寸滩街道", person="张")  # type: ignore[arg-type]
    if service.get(pid).stage == "mediation":  # type: ignore[arg-type]
        service.open_mediation(pid, actor=worker, mediator="老马",  # type: ignore[arg-type]
                               parties=["业主"])
        service.agree(pid, actor=worker, terms="共同推进")  # type: ignore[arg-type]
    view = service.execute(pid, cmds.PlanStepDone(plan="owners-committee-election",  # type: ignore[arg-type]
                                                  step="publicise", evidence="海报"),
                           actor=worker)
    assert view.plan == "owners_committee_election" and view.plan_steps_done == ("publicise",)
    view = service.execute(pid, cmds.PlanStepDone(plan="owners_committee_election",  # type: ignore[arg-type]
                                                  step="nominate-representatives",
                                                  evidence="名单"), actor=worker)
    assert view.plan_steps_done == ("publicise", "nominate_representatives")
    view = service.reply(pid, actor=worker, outcome="not-support", text="t")  # type: ignore[arg-type]
    assert view.reply_outcome == "not_support"
