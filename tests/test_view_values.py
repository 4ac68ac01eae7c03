"""A petition's view (issue 18, point 3): made from its values by position,
and a command's view worked out when first read — the same view either way,
as of the command that made it.

``reference`` below is the view as ``PetitionView.of`` made it before, field
by field by keyword: every field of a view made now must equal it."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest

from petitions import Actor, Petitioner, PetitionService, PetitionView
from petitions.deadlines.states import is_provisional
from petitions.domain.petition import Petition
from petitions.domain.values import REPLY_OUTCOME_LABELS, REQUEST_TYPE_LABELS, URGENCY_LABELS
from petitions.privacy.render import PetitionerView
from petitions.views import _commands_in
from tests.fixtures import file_petition
from workflows import Label, Workflow
from workflows.records import fields

CLERK = Actor("clerk-01", "intake_clerk")
WORKER = Actor("caseworker-li", "caseworker")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def reference(p: Petition, wf: Workflow, petitioner: Any, now: datetime | None,
              number: str | None) -> PetitionView:
    """The view of ``p`` made by keyword, as ``PetitionView.of`` made it before."""
    rejection = p.rejection
    stage = wf.stages[p.stage]
    rating = wf.rating(p.last_rating) if p.last_rating else None
    plan = wf.plans.get(p.plan) if p.plan else None
    steps = {s.code: s.label for s in plan.steps} if plan is not None else {}
    return PetitionView(
        id=p.id, version=p.version, workflow=p.workflow, stage=p.stage,
        status="closed" if stage.terminal else "open", outcome=p.outcome, title=p.title,
        description=p.description, category=p.category, channel=p.channel,
        matter_type=p.matter_type,
        petitioner=(petitioner if petitioner is not None
                    else PetitionerView.withheld(p.petitioner.kind)),
        location=p.location, lead_unit=p.lead_unit, assignee=p.assignee,
        co_units=tuple(p.co_units), mediator=p.mediator, apprentice=p.apprentice,
        parties=tuple(p.parties), mediation_state=p.mediation_state, agreement=p.agreement,
        sessions=p.sessions, plan=p.plan, plan_steps_done=tuple(p.plan_steps_done),
        actions=p.actions, reply_outcome=p.reply_outcome, reply_text=p.reply_text,
        last_contacted=p.last_contacted, last_resolved=p.last_resolved,
        last_rating=p.last_rating, reopen_count=p.reopen_count, escalations=p.escalations,
        extension_days=p.extension_days, notes=p.notes,
        rejection_reason=rejection[0] if rejection else None,
        referral=rejection[1] if rejection else None, duplicate_of=p.duplicate_of,
        campaign_id=p.campaign_id, idempotency_key=p.idempotency_key, filed_at=p.filed_at,
        updated_at=p.last_occurred_at, recorded_at=p.modified_on,
        allowed_commands=_commands_in(wf, p.stage), workflow_title=wf.title,
        stage_label=stage.label, rating_label=rating.label if rating is not None else None,
        reply_outcome_label=(REPLY_OUTCOME_LABELS.get(p.reply_outcome)
                             if p.reply_outcome else None),
        plan_label=plan.label if plan is not None else None,
        plan_step_labels=tuple(steps.get(code, Label(zh=code, en=code))
                               for code in p.plan_steps_done),
        deadline=p.clock_deadline if p.clock_stage is not None else None,
        deadline_state=p.deadline_state(now), clock_stage=p.clock_stage,
        calendar_note=p.clock_note if p.clock_stage is not None else "",
        reminders=getattr(p, "reminders", 0), excluded=bool(getattr(p, "excluded", False)),
        number=number, related=(),
        deadline_provisional=(p.clock_stage is not None and is_provisional(p.clock_note)),
        state_at=now, sign_by=p.sign_by, signed_at=p.signed_at, contact_by=p.contact_by,
        contacted_at=p.contacted_at, return_by=p.return_by, returns=p.returns,
        final_assignment=bool(p.final_assignment),
        escalation_levels=tuple(p.escalation_levels),
        callback_due=(p.clock_deadline if p.clock_stage is not None
                      and p.clock_stage == p.stage and not stage.terminal
                      and "callback" in stage.transitions else None),
        type=getattr(p, "request_type", "complaint"), urgency=getattr(p, "urgency", "normal"),
        type_label=REQUEST_TYPE_LABELS.get(getattr(p, "request_type", "complaint"),
                                           REQUEST_TYPE_LABELS["complaint"]),
        urgency_label=URGENCY_LABELS.get(getattr(p, "urgency", "normal"),
                                         URGENCY_LABELS["normal"]),
        anonymous=bool(getattr(p, "anonymous", False)),
        callback_impossible=bool(getattr(p, "callback_impossible", False)),
    )


def field_values(view: PetitionView) -> dict[str, Any]:
    """Every field's value (the petitioner rendered, the related cases looked up)."""
    out = {f.name: getattr(view, f.name) for f in fields(PetitionView)}
    out["_petitioner"], out["_related"] = view.petitioner, view.related
    return out


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(backend_url: str, monkeypatch: pytest.MonkeyPatch,
            ) -> Iterator[tuple[PetitionService, Clock]]:
    # One petition in the aggregate cache (and so in the states the store
    # keeps of what it saved): a command on another petition evicts it.
    monkeypatch.setenv("PETITIONS_CACHE_SIZE", "1")
    clock = Clock()
    svc = PetitionService.open(backend_url, clock=clock)
    try:
        yield svc, clock
    finally:
        svc.shutdown()


def lifecycles(svc: PetitionService, clock: Clock,
               ) -> Iterator[tuple[UUID, Actor, Callable[[], PetitionView | None]]]:
    """Commands on three petitions (the standard lifecycle with a note and a
    reopen, a rejection, a property dispute's mediation and plan), in turns,
    the clock moving on before each: each with its petition and actor."""
    a = UUID(str(file_petition(svc, CLERK)))
    b = UUID(str(file_petition(svc, CLERK, petitioner=Petitioner(
        kind="resident", name="赵先生", phone="13900004321"))))
    c = UUID(str(file_petition(svc, CLERK, workflow="property_dispute",
                               petitioner=Petitioner(kind="enterprise", name="某物业公司"))))
    plan_name, plan = next(iter(svc.workflow("property_dispute").plans.items()))

    def if_allowed(name: str, run: Callable[[], PetitionView]) -> Callable[[], PetitionView | None]:
        return lambda: run() if name in svc.get(c).allowed_commands else None

    queues: list[list[tuple[UUID, Actor, Callable[[], PetitionView | None]]]] = [
        [(a, WORKER, lambda: svc.accept(a, actor=WORKER)),
         (a, WORKER, lambda: svc.assign(a, actor=WORKER, unit="寸滩街道", person="网格员张",
                                        co_units=["区住建委"])),
         (a, WORKER, lambda: svc.note(a, actor=WORKER, text="已约业主面谈")),
         (a, WORKER, lambda: svc.reply(a, actor=WORKER, outcome="support", text="已增设车位")),
         (a, WORKER, lambda: svc.resolve(a, actor=WORKER)),
         (a, CLERK, lambda: svc.callback(a, actor=CLERK, contacted=True, resolved=False,
                                         rating="unsatisfied")),
         (a, WORKER, lambda: svc.reopen(a, actor=WORKER, to="resolution",
                                        reason="回访不满意"))],
        [(b, CLERK, lambda: svc.reject(b, actor=CLERK, reason="属司法程序事项",
                                       referral="江北区人民法院"))],
        [(c, WORKER, lambda: svc.accept(c, actor=WORKER)),
         (c, WORKER, lambda: svc.assign(c, actor=WORKER, unit="寸滩街道", person="张")),
         (c, WORKER, if_allowed("open_mediation", lambda: svc.open_mediation(
             c, actor=WORKER, mediator="老马", parties=["业主", "物业"]))),
         (c, WORKER, if_allowed("agree", lambda: svc.agree(c, actor=WORKER,
                                                           terms="共同推进选举"))),
         (c, WORKER, lambda: svc.plan_step(c, actor=WORKER, plan=plan_name,
                                           step=plan.steps[0].code, evidence="会议纪要"))],
    ]
    while any(queues):
        for queue in queues:
            if queue:
                clock.now += timedelta(hours=7)
                yield queue.pop(0)


def test_a_commands_view_stays_as_of_its_command(
        clocked: tuple[PetitionService, Clock]) -> None:
    """Each command's view, read only after later commands on the same
    petition and on others (which evict it from the cache of one), equals the
    view of the same petition read right after that command (for the same
    viewer, at the same time), field by field; read twice, it stays the same."""
    svc, clock = clocked
    kept: list[tuple[PetitionView, dict[str, Any]]] = []
    for pid, actor, step in lifecycles(svc, clock):
        view = step()
        if view is None:
            continue
        right_after = svc.get(pid, viewer=actor)
        assert (view.id, view.version) == (pid, right_after.version)
        kept.append((view, field_values(right_after)))
    assert len(kept) >= 12
    for view, expected in kept:
        got = field_values(view)
        assert got == expected
        assert got["_related"] == ()  # three callers: none has another case
        assert field_values(view) == got
    assert [v.stage for v, _ in kept if v.id == kept[0][0].id] == [
        "dispatch", "resolution", "resolution", "resolution", "review", "review",
        "resolution"]
    assert any(v.referral == "江北区人民法院" for v, _ in kept)
    assert any(v.plan_step_labels for v, _ in kept)
    assert any(v.rating_label is not None for v, _ in kept)
    assert any(v.deadline is not None for v, _ in kept)


def test_of_and_of_saved_equal_the_view_made_by_keyword(
        clocked: tuple[PetitionService, Clock]) -> None:
    """For each state of the petitions above, ``of`` (by position) and
    ``of_saved`` (worked out when read) make the reference view, every field."""
    svc, clock = clocked
    store = svc._store  # the states the commands saved
    checked = 0
    for pid, _, step in lifecycles(svc, clock):
        if step() is None:
            continue
        p = store.load(pid)
        wf = store.workflow_of(p)

        def render() -> PetitionerView:
            return PetitionerView.withheld("resident")

        for petitioner in (None, render):
            want = field_values(reference(p, wf, petitioner, clock.now, "2026-000001"))
            made = PetitionView.of(p, wf, petitioner, clock.now, number="2026-000001")
            assert field_values(made) == want
            later = PetitionView.of_saved(p, wf, petitioner, clock.now, number="2026-000001")
            assert field_values(later) == want
            checked += 1
        # Without ``now`` (a view not judged at a moment) and with related cases.
        assert field_values(PetitionView.of(p, wf)) == field_values(
            reference(p, wf, None, None, None))
    assert checked >= 20


def test_a_commands_view_before_it_is_read(clocked: tuple[PetitionService, Clock]) -> None:
    """What callers do with a command's view works on one no field of which
    was read yet: equality, hashing, repr, pickling, ``attrs``, ``to_dict``,
    ``match``; a name no field has is an AttributeError as on any view, and
    the view stays frozen."""
    service, _ = clocked
    pid = UUID(str(file_petition(service, CLERK)))
    service.accept(pid, actor=WORKER)
    service.assign(pid, actor=WORKER, unit="寸滩街道", person="张")

    def fresh() -> PetitionView:
        return service.note(pid, actor=WORKER, text="已电话联系")

    assert repr(fresh()) == repr(service.get(pid, viewer=WORKER))
    assert pickle.loads(pickle.dumps(fresh())) == service.get(pid, viewer=WORKER)
    v = fresh()
    assert v == service.get(pid, viewer=WORKER)
    assert hash(fresh()) == hash(service.get(pid, viewer=WORKER))
    assert attrs.evolve(fresh(), title="改").title == "改"
    assert attrs.asdict(fresh())["notes"] == service.get(pid).notes
    assert fresh().to_dict() == service.get(pid, viewer=WORKER).to_dict()
    match fresh():
        case PetitionView(id=found, stage=stage, notes=notes):
            assert (found, stage, notes) == (pid, "resolution", 8)
    v = fresh()
    assert not hasattr(v, "no_such_field")
    with pytest.raises(AttributeError, match="no_such_field"):
        v.no_such_field  # type: ignore[attr-defined]  # noqa: B018
    assert v.notes == 9
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        v.stage = "closed"  # type: ignore[misc]
    # The slot of what it was made from is no field: neither kept nor pickled.
    assert "_source" not in {f.name for f in fields(PetitionView)}
    assert "_source" not in fresh().__getstate__()
