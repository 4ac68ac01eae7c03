"""Loading, validating, pinning and drawing workflow definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

import workflows
from petitions import Actor, Location, Petitioner, PetitionService, TransitionNotAllowed
from workflows import Registry, WorkflowInvalid, load_text

_DEFINITIONS = Path(workflows.__file__).parent / "definitions"
STANDARD = (_DEFINITIONS / "standard.toml").read_text("utf-8")
STANDARD_V1 = (_DEFINITIONS / "standard_v1.toml").read_text("utf-8")
STANDARD_V2 = (_DEFINITIONS / "standard_v2.toml").read_text("utf-8")

SMALL = """
name = "tiny"
version = 1
initial = "intake"
[stages.intake]
commands = { accept = "open" }
[stages.open]
commands = { reply = "stay", close = "done" }
[stages.done]
terminal = true
[roles]
file = ["portal"]
accept = ["caseworker"]
reply = ["caseworker"]
close = ["caseworker"]
"""


def test_standard_workflow_loads_and_answers() -> None:
    registry = Registry.shipped()
    # v1 and v2 stay, byte for byte, for the petitions filed under them
    assert registry.get("standard", 1).sha256 == workflows.digest(STANDARD_V1)
    assert registry.get("standard", 2).sha256 == workflows.digest(STANDARD_V2)
    wf = registry.current("standard")
    assert wf.name == "standard" and wf.version == 5
    assert wf.sha256 == workflows.digest(STANDARD)
    assert wf.independent_callback and not registry.get("standard", 2).independent_callback
    assert not registry.get("standard", 1).independent_callback
    assert wf.roles_for("callback") == ("intake_clerk", "supervisor")
    assert wf.initial == "intake"
    assert wf.targets("intake", "accept") == ("dispatch",)
    assert wf.targets("review", "reopen") == ("mediation", "resolution")
    assert wf.targets("resolution", "reply") == ("resolution",)  # "stay" resolved
    assert wf.targets("closed", "note") is None  # terminal: nothing allowed
    assert wf.targets("intake", "withdraw") == ("closed",)  # [anytime]
    assert "escalate" in wf.commands_in("mediation")
    assert wf.may("supervisor", "escalate") and not wf.may("caseworker", "escalate")
    assert not any(wf.may("auditor", c) for c in workflows.GRANTABLE)
    assert [r.code for r in wf.ratings] == ["satisfied", "basically_satisfied", "unsatisfied"]
    assert wf.reopen_limit == 2


def test_every_problem_is_reported_at_once_with_file_and_key() -> None:
    broken = (
        SMALL.replace('accept = "open"', 'accept = "opne", fly = "done"')
        .replace('accept = ["caseworker"]', 'accept = ["caseworker", "wizard"]')
        + '\n[stages.orphan]\ncommands = { reply = "stay" }\n'
    )
    with pytest.raises(WorkflowInvalid) as info:
        load_text(broken, source_name="offices/tiny.toml")
    problems = {(p.key, p.message) for p in info.value.problems}
    assert all(p.file == "offices/tiny.toml" for p in info.value.problems)
    assert ("stages.intake.commands.accept", "unknown stage 'opne'") in problems
    assert ("stages.intake.commands.fly", "unknown command 'fly'") in problems
    assert ("roles.accept", "unknown role 'wizard'") in problems
    keys = [p.key for p in info.value.problems]
    assert keys.count("stages.orphan") == 2  # unreachable, and no way out
    assert any("unreachable" in m for k, m in problems if k == "stages.orphan")
    assert any("no way out" in m for k, m in problems if k == "stages.orphan")
    assert "offices/tiny.toml: stages.intake.commands.fly" in str(info.value)


def test_toml_syntax_error_is_a_problem_too() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        load_text("name = ", source_name="bad.toml")
    assert info.value.problems[0].file == "bad.toml"


def test_missing_roles_and_terminal_are_reported() -> None:
    text = SMALL.replace('close = ["caseworker"]', "").replace("terminal = true", "")
    with pytest.raises(WorkflowInvalid) as info:
        load_text(text, source_name="t.toml")
    keys = {p.key for p in info.value.problems}
    assert "roles.close" in keys
    assert "stages.done" in keys  # no way out, not terminal
    assert "stages" in keys  # no terminal stage at all


def test_mermaid_diagram_names_every_stage_and_edge() -> None:
    wf = Registry.shipped().current("standard")
    text = workflows.to_mermaid(wf, lang="en")
    assert text.startswith("stateDiagram-v2")
    for stage in wf.stages:
        assert f"    {stage}: " in text
    assert "review --> mediation: reopen" in text
    assert "resolution --> closed: withdraw" in text
    assert "[*] --> intake" in text


def _file(svc: PetitionService, workflow: str) -> object:
    return svc.file(
        actor=Actor("portal-1", "portal"),
        petitioner=Petitioner(kind="resident", name="赵女士"),
        title="路灯不亮", description="五宝镇主街路灯损坏", category="convenience",
        channel="online", location=Location(street="五宝镇"), workflow=workflow,
    )


def test_petition_stays_under_the_definition_it_was_filed_under(tmp_path: Path) -> None:
    office = tmp_path / "office"
    office.mkdir()
    (office / "tiny.toml").write_text(SMALL, "utf-8")
    db = str(tmp_path / "p.sqlite")
    worker = Actor("li", "caseworker")

    svc = PetitionService.open(db, workflow_dirs=[office])
    pid = _file(svc, "tiny")
    pinned = svc.get(pid).workflow
    assert (pinned.name, pinned.version) == ("tiny", 1)
    assert pinned.sha256 == workflows.digest(SMALL)
    svc.shutdown()

    # The office edits its file in place (same name and version, new rules:
    # no more replies in "open") ...
    edited = SMALL.replace('reply = "stay", close = "done"', 'close = "done"')
    (office / "tiny.toml").write_text(edited, "utf-8")
    svc = PetitionService.open(db, workflow_dirs=[office])
    svc.accept(pid, actor=worker)
    view = svc.reply(pid, actor=worker, outcome="support", text="已受理")
    assert view.stage == "open"  # ... but the old petition follows the old rules
    assert svc.workflow("tiny").sha256 == workflows.digest(edited)
    svc.shutdown()

    # ... and even with the office folder gone, the stored copy is used.
    (office / "tiny.toml").unlink()
    svc = PetitionService.open(db)
    view = svc.reply(pid, actor=worker, outcome="explain", text="已报修")
    assert view.stage == "open"
    assert svc.close(pid, actor=worker).stage == "done"  # type: ignore[union-attr]
    svc.shutdown()


def test_new_version_applies_to_new_filings_only(tmp_path: Path) -> None:
    office = tmp_path / "office"
    office.mkdir()
    (office / "tiny.toml").write_text(SMALL, "utf-8")
    db = str(tmp_path / "p.sqlite")
    worker = Actor("li", "caseworker")
    svc = PetitionService.open(db, workflow_dirs=[office])
    old = _file(svc, "tiny")
    svc.shutdown()

    v2 = SMALL.replace("version = 1", "version = 2").replace(
        'reply = "stay", close = "done"', 'close = "done"')
    (office / "tiny-v2.toml").write_text(v2, "utf-8")
    svc = PetitionService.open(db, workflow_dirs=[office])
    new = _file(svc, "tiny")
    assert svc.get(new).workflow.version == 2
    assert svc.get(old).workflow.version == 1
    svc.accept(old, actor=worker)
    svc.accept(new, actor=worker)
    svc.reply(old, actor=worker, outcome="support", text="ok")  # allowed in v1
    with pytest.raises(TransitionNotAllowed):
        svc.reply(new, actor=worker, outcome="support", text="ok")  # not in v2
    svc.shutdown()


def test_limits_per_type_and_urgency_are_checked() -> None:
    """``[types]`` and ``[urgency]``: every mistake named with its key."""
    text = SMALL + """
[types]
default = "gripe"
anonymous = ["report", "rumour"]
colour = "red"
[types.limits.consultation]
open = { amount = 2, unit = "working_days", from = "accept" }
nowhere = { amount = 2, unit = "working_days" }
done = { amount = 1, unit = "days" }
[types.limits.gossip]
open = { amount = 1, unit = "days", from = "accept" }
[urgency.limits.emergency]
intake = { amount = 15, unit = "minutes" }
[urgency.limits.urgent]
open = { amount = 0, unit = "fortnights", from = "accept" }
"""
    with pytest.raises(WorkflowInvalid) as info:
        load_text(text, source_name="t.toml")
    keys = {p.key for p in info.value.problems}
    assert {"types.default", "types.anonymous", "types.colour",
            "types.limits.consultation.nowhere", "types.limits.consultation.done",
            "types.limits.gossip", "urgency.limits.emergency.intake.from",
            "urgency.limits.urgent.open.amount", "urgency.limits.urgent.open.unit"} <= keys
    good = load_text(SMALL + """
[types]
anonymous = ["report"]
[types.limits.consultation]
open = { amount = 2, unit = "working_days", from = "accept" }
[urgency.limits.emergency]
open = { amount = 15, unit = "minutes", from = "accept" }
""")
    assert good.default_type == "complaint" and good.anonymous_types == {"report"}
    assert good.limit_for("open", "consultation").amount == 2
    assert good.limit_for("open", "consultation", "emergency").unit == "minutes"
    assert good.limit_for("open") is None  # no limit of its own


def test_the_current_version_is_the_latest_registered_even_after_it_was_asked_for() -> None:
    # The registry keeps each name's current definition once asked for (every
    # filing asks, issue 18 point 4); registering a later version makes it
    # current at once (each time), and a name unknown stays unknown.
    import re

    registry = Registry.shipped()
    first = registry.current("standard")
    assert registry.current("standard") is first
    text = first.source
    newer = re.sub(r"(?m)^version\s*=\s*\d+", f"version = {first.version + 1}", text, count=1)
    assert newer != text
    registry.add_lazy(newer, source_name="newer.toml")
    found = registry.current("standard")
    assert found.version == first.version + 1 and registry.current("standard") is found
    older = re.sub(r"(?m)^version\s*=\s*\d+", f"version = {first.version + 50}", text,
                   count=1).replace("[stages", "# older\n[stages", 1)
    registry.add_text(older, source_name="older.toml")  # a later version again
    assert registry.current("standard").version == first.version + 50
    assert registry.get("standard", first.version) is first
    with pytest.raises(workflows.registry.UnknownWorkflow):
        registry.current("no_such_workflow")
    assert registry.current("campaign").name == "campaign"
