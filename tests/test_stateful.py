"""Random commands by random roles never corrupt a petition's history.

A hypothesis state machine files petitions and issues random commands with
random roles and arguments.  After every step it checks that a refused command
wrote nothing, that the state rebuilt from the stored events equals the live
state, that the version equals the number of events, that a command succeeded
only where the workflow allows it for that role, and that reopening beyond the
workflow's limit is refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

import workflows
from petitions import (
    Actor,
    Location,
    PermissionDenied,
    Petitioner,
    PetitionError,
    PetitionService,
    PetitionView,
    TransitionNotAllowed,
)
from petitions.domain.commands import COMMANDS as COMMAND_TABLE
from petitions.domain.petition import Petition
from petitions.errors import CallbackNotIndependent
from workflows import ROLES

STANDARD = Path(workflows.__file__).parent / "definitions" / "standard.toml"

COMMANDS = [
    "accept", "reject", "duplicate", "withdraw", "assign", "transfer", "dispute",
    "open_mediation", "record_session", "agree", "fail_mediation", "act", "reply",
    "resolve", "callback", "reopen", "close", "note", "escalate", "extend", "remind", "exclude",
    # sign-for (签收), first contact (先行联系), return (退单): standard v4
    "sign", "contact", "return",
    "answer_now",
]
# Drawn less often, so that histories get deep (mediation, reopen limits):
ENDINGS = {"withdraw", "reject", "duplicate", "answer_now"}
ASIDES = {"note", "escalate", "extend", "remind", "exclude"}
texts = st.sampled_from(["已核实", "业主来电", "物业整改", "  ", "协商一致"])


def arguments(command: str) -> st.SearchStrategy[dict[str, Any]]:
    """Plausible (and sometimes invalid) arguments for each command."""
    def d(**kw: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(kw)

    return {
        "accept": d(note=texts),
        "reject": d(reason=texts, referral=st.sampled_from(["区法院", ""])),
        "duplicate": d(),
        "withdraw": d(reason=texts),
        "assign": d(unit=st.sampled_from(["寸滩街道", "区交警支队"]), person=st.just("张"),
                    final=st.booleans()),
        "transfer": d(unit=st.just("保税商厦社区"), person=st.just("王"), reason=texts),
        "dispute": d(reason=texts),
        "open_mediation": d(mediator=st.just("老马"),
                            parties=st.sampled_from([["业主", "物业"], []])),
        "record_session": d(place=st.just("社区"), participants=st.just(["业主", "物业"])),
        "agree": d(terms=texts),
        "fail_mediation": d(reason=texts),
        "act": d(action=texts),
        "reply": d(outcome=st.sampled_from(["support", "explain", "not_support", "maybe"]),
                   text=texts),
        "resolve": d(),
        "callback": st.one_of(
            d(contacted=st.just(True), resolved=st.booleans(),
              rating=st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied",
                                      "meh"])),
            d(contacted=st.just(False), resolved=st.just(False)),
        ),
        "reopen": d(to=st.sampled_from(["mediation", "resolution", None]), reason=texts),
        "close": d(),
        "note": d(text=texts),
        "escalate": d(reason=texts, level=st.sampled_from([None, "yellow", "red", "purple"])),
        "extend": d(days=st.integers(-1, 40), reason=texts),
        "remind": d(note=texts),
        "exclude": d(reason=texts),
        "sign": d(), "contact": d(note=texts), "return": d(reason=texts),
        "answer_now": d(text=texts),
    }[command]


def stored_count(svc: PetitionService, pid: UUID) -> int:
    return len(svc.petition_events(pid))


def replayed(svc: PetitionService, pid: UUID) -> PetitionView:
    """The petition rebuilt from its stored events alone (no snapshot, no cache)."""
    aggregate = project_aggregate(None, svc.petition_events(pid))
    assert isinstance(aggregate, Petition)
    return svc.view_of(aggregate)


class PetitionMachine(RuleBasedStateMachine):
    petitions = Bundle("petitions")

    def __init__(self) -> None:
        super().__init__()
        # The standard workflow with a reopen limit of 1, so that random
        # histories reach the limit often.
        self.folder = tempfile.TemporaryDirectory()
        text = STANDARD.read_text("utf-8").replace('name = "standard"', 'name = "strict"')
        (Path(self.folder.name) / "strict.toml").write_text(
            text.replace("reopen_limit = 2", "reopen_limit = 1"), "utf-8")
        self.svc = PetitionService.open(":memory:", snapshot_interval=4,
                                        workflow_dirs=[self.folder.name])
        self.live: dict[UUID, PetitionView] = {}
        self.wf = self.svc.workflow("strict")
        assert self.wf.reopen_limit == 1

    def teardown(self) -> None:
        self.svc.shutdown()
        self.folder.cleanup()

    @initialize(target=petitions)
    def first_petition(self) -> UUID | None:
        return self.file("intake_clerk")

    @rule(target=petitions, role=st.sampled_from(sorted(ROLES)),
          request_type=st.sampled_from([None, None, "consultation"]))
    def file(self, role: str, request_type: str | None = None) -> UUID | None:
        try:
            pid = self.svc.file(
                actor=Actor("x", role),
                petitioner=Petitioner(kind="resident", name="居民"),
                title="噪声扰民", description="夜间施工噪声", category="environment",
                channel="hotline", location=Location(street="郭家沱街道"), workflow="strict",
                request_type=request_type,
            )
        except PermissionDenied:
            assert not self.wf.may(role, "file")
            return None
        assert self.wf.may(role, "file")
        self.live[pid] = self.svc.get(pid)
        return pid

    @rule(pid=petitions, data=st.data())
    def command(self, pid: UUID | None, data: st.DataObject) -> None:
        if pid is None:
            return
        allowed = self.live[pid].allowed_commands
        progress = tuple(c for c in allowed if c not in ENDINGS and c not in ASIDES)
        if progress and data.draw(st.integers(0, 4), label="prefer progress"):
            allowed = progress
        # Mostly commands the stage allows, by roles that usually may, so that
        # histories get deep (reopen limits, mediation); sometimes anything.
        command = data.draw(st.sampled_from(allowed) if allowed and data.draw(
            st.integers(0, 3)) else st.sampled_from(COMMANDS), label="command")
        role = data.draw(st.sampled_from(["caseworker", "supervisor"]) if data.draw(
            st.integers(0, 3)) else st.sampled_from(sorted(ROLES)), label="role")
        kwargs = data.draw(arguments(command), label="arguments")
        if command == "duplicate":
            others = [p for p in self.live if p != pid] or [pid]
            kwargs["original_id"] = data.draw(st.sampled_from(others))
        before = self.live[pid]
        count_before = stored_count(self.svc, pid)
        try:
            method = COMMAND_TABLE[command].method  # "return" is return_order
            view = getattr(self.svc, method)(pid, actor=Actor("y", role), **kwargs)
        except PetitionError as exc:
            assert stored_count(self.svc, pid) == count_before, "a refused command wrote"
            if isinstance(exc, CallbackNotIndependent):
                # whoever replied or resolved may not call back (回访 by someone else)
                assert command == "callback" and self.wf.independent_callback
                event("call-back by its own handler refused")
            elif isinstance(exc, PermissionDenied):
                # (定责, assign --final, is a supervisor's only)
                assert not self.wf.may(role, command) or (
                    command == "assign" and kwargs.get("final") and role != "supervisor")
            if command == "reopen" and before.reopen_count >= self.wf.reopen_limit \
                    and self.wf.may(role, command):
                assert isinstance(exc, TransitionNotAllowed)
                event("reopen beyond the limit refused")
            return
        assert self.wf.may(role, command), f"{role} may not {command}"
        assert command in before.allowed_commands, f"{command} not allowed in {before.stage}"
        event(f"succeeded: {command}")
        if command == "reopen":
            assert before.reopen_count < self.wf.reopen_limit
            if view.reopen_count == self.wf.reopen_limit:
                event("reached the reopen limit")
            assert view.reopen_count == before.reopen_count + 1
        # The command's event, and the clock of a stage with a time limit it entered.
        written = [e.type for e in self.svc.history(pid)[count_before:]]
        entered = (view.stage != before.stage and not self.wf.is_terminal(view.stage)
                   and self.wf.stage(view.stage).limit is not None)
        assert written[1:] == (["ClockStarted"] if entered else []), written
        if self.wf.is_terminal(view.stage):
            assert view.clock_stage is None and view.deadline is None  # closing stops it
        self.live[pid] = view

    @rule(pid=petitions)
    def unsatisfied_until_refused(self, pid: UUID | None) -> None:
        """From handling, answer, resolve, hear "unsatisfied" and reopen, again and
        again: reopening succeeds exactly until the workflow's limit is reached."""
        if pid is None or self.live[pid].stage not in ("resolution", "mediation", "review"):
            return
        worker = Actor("z", "caseworker")
        for _ in range(self.wf.reopen_limit + 2):
            try:
                if self.live[pid].stage == "mediation":
                    self.live[pid] = self.svc.agree(pid, actor=worker, terms="再议")
                if self.live[pid].stage == "resolution":
                    self.live[pid] = self.svc.reply(pid, actor=worker, outcome="explain",
                                                    text="说明")
                    self.live[pid] = self.svc.resolve(pid, actor=worker)
                self.live[pid] = self.svc.callback(pid, actor=Actor("hotline", "supervisor"),
                                                   contacted=True, resolved=False,
                                                   rating="unsatisfied")
            except PetitionError:  # e.g. a random earlier step left it elsewhere
                self.live[pid] = self.svc.get(pid)
                return
            count_before = stored_count(self.svc, pid)
            at_limit = self.live[pid].reopen_count >= self.wf.reopen_limit
            try:
                self.live[pid] = self.svc.reopen(pid, actor=worker, to="resolution",
                                                 reason="仍不满意")
            except TransitionNotAllowed as exc:
                assert at_limit and "reopen limit" in str(exc)
                assert stored_count(self.svc, pid) == count_before
                event("reopen beyond the limit refused")
                return
            assert not at_limit, "reopened beyond the workflow's limit"
        raise AssertionError("the reopen limit was never enforced")

    @invariant()
    def stored_history_rebuilds_the_live_state(self) -> None:
        for pid, view in self.live.items():
            assert view.version == stored_count(self.svc, pid)
            assert replayed(self.svc, pid) == view
            assert self.svc.get(pid) == view  # through snapshots, when taken
            assert view.reopen_count <= self.wf.reopen_limit


TestPetitionMachine = PetitionMachine.TestCase
TestPetitionMachine.settings = settings(
    max_examples=80, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
