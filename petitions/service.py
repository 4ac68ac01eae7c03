"""``PetitionService``: the application service portals and the CLI call.

One method per command, named after its verb, each taking ``actor=`` (an
:class:`~petitions.domain.values.Actor`) and optionally ``at=`` (when it
happened in the world; default now, never in the future) and
``expected_version=`` (refuse if the petition changed since the caller looked).
Each builds its command value (:mod:`petitions.domain.commands`) and runs it
through :meth:`PetitionService.execute`, which any command — also one added by
a plugin — can be given directly.  Queries return plain views, never the
aggregate.  A refused command raises a :class:`~petitions.errors.PetitionError`
and writes nothing.

The service composes the event store (:class:`petitions.core.Store`, an
eventsourcing application) rather than being one: ``close(pid, actor=…)``
closes a petition; :meth:`shutdown` (or leaving a ``with`` block) closes the
service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Mapper

from petitions.core import AuditLog, Store, retry_on_conflict, utcnow
from petitions.domain.petition import OUTCOME_RESOLVED, Petition
from petitions.domain.values import Actor, Location, Petitioner
from petitions.errors import (
    ConcurrentUpdate,
    InvalidInput,
    PermissionDenied,
    PetitionError,
    bounded,
)
from petitions.lazy import LazyModule
from petitions.privacy.core import Privacy
from petitions.privacy.render import PetitionerView
from petitions.views import EventView, PetitionView, RelatedCase
from workflows import Label, Registry, Workflow
from workflows.records import evolve

if TYPE_CHECKING:
    from pathlib import Path

    import petitions.filing as filing
    from petitions.bulkfiling import Handed
    from petitions.campaigns import CampaignProgress
    from petitions.deadlines.clock import Timekeeper
    from petitions.deadlines.recheck import RecheckReport
    from petitions.deadlines.sweep import SweepReport
    from petitions.domain import commands
    from petitions.domain.commands import Choice, Command
    from petitions.domain.filing import Checked, Filing
    from petitions.export import ExportRow
    from petitions.feed import Change
    from petitions.org import Register
    from petitions.readmodels.queries import CaseSummary, ReadModels
    from petitions.readmodels.rates import RankRow, RateGroup
    from petitions.sidetables import SideTables
else:
    def _commands() -> Any:
        from petitions.domain import commands

        return commands

    def _filing() -> Any:
        import petitions.filing as filing

        return filing

    # Imported when a command or a filing first needs them: ``show`` and the
    # queries do not (docs/benchmarks.md, start-up).
    commands = LazyModule(_commands)
    filing = LazyModule(_filing)


def _unit_name(register: Register | None, unit: str, field: str = "unit") -> str:
    """``unit`` as ``register`` names it (its Chinese name; refused when
    unknown), or as it is without a register; refused unless text."""
    if not isinstance(unit, str):
        raise InvalidInput(field, "must be text")
    if register is None or not unit.strip():
        return unit
    return register.resolve(unit, field).name_zh


class PetitionService:
    """The petitions application: commands, queries and idempotent filing.

    Its stored events form hash chains (:mod:`petitions.audit`).  Open one
    with :meth:`open`; close it with :meth:`shutdown` or a ``with`` block.
    """

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        url: str | None = None,
        workflow_dirs: Iterable[str | Path] = (),
        clock: Callable[[], datetime] = utcnow,
        snapshot_interval: int | None = None,
        timekeeper: Timekeeper | None = None,
    ) -> None:
        self._store = Store(env, url=url, workflow_dirs=workflow_dirs, clock=clock,
                            snapshot_interval=snapshot_interval, timekeeper=timekeeper)
        self._privacy: Privacy | None = None
        self._read_models: ReadModels | None = None

    @classmethod
    def open(cls, url: str | None = None, **kwargs: Any) -> PetitionService:
        """Open the store at ``url``: a SQLite path, ``":memory:"`` or a
        ``postgresql://`` DSN; default ``PETITIONS_DB``, else ``./petitions.sqlite``.

        Keep the returned service for as long as you use it, and close it with
        :meth:`shutdown` — or use it as a context manager
        (``with PetitionService.open(url) as svc:``), which closes it on leaving.
        """
        return cls(url=url, **kwargs)

    def shutdown(self) -> None:
        """Close the service: its database connections.  (``close(pid, actor=…)``
        closes a petition.)"""
        if self._read_models is not None:
            self._read_models.close()
        self._store.close()

    def __enter__(self) -> PetitionService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------ the store
    @property
    def url(self) -> str:
        """Where the events are stored (as given to :meth:`open`)."""
        return self._store.url

    def audit_log(self) -> AuditLog:
        """What audit tools read of the store this service composes — its stored
        events, snapshots and database (:class:`petitions.core.AuditLog`), never
        an aggregate: :mod:`petitions.audit` checks the snapshots and views with it."""
        return self._store.audit_log()

    @property
    def clock(self) -> Callable[[], datetime]:
        """The service's clock (UTC): what "now" is for its commands and views."""
        return self._store.clock

    @property
    def recorder(self) -> Any:
        """The store's event recorder (stored events as bytes), for audit tools:
        :mod:`petitions.audit` verifies, seals, exports and imports through it."""
        return self._store.recorder

    @property
    def mapper(self) -> Mapper[UUID]:
        """Turns stored events back into domain events (for audit tools)."""
        return self._store.mapper

    @property
    def workflows(self) -> Registry:
        """The workflow definitions this service knows (shipped, extra, stored)."""
        return self._store.workflows

    @property
    def timekeeper(self) -> Timekeeper:
        """Computes deadlines on the official calendar (:mod:`petitions.deadlines`)."""
        return self._store.timekeeper

    @property
    def privacy(self) -> Privacy:
        """Personal data: sealing, masking, reveal auditing, erasure (docs/privacy.md)."""
        if self._privacy is None:
            self._privacy = Privacy(self._store)
        return self._privacy

    @property
    def read_models(self) -> ReadModels:
        """The read models (case index, caseloads, campaigns, rates) of this store."""
        if self._read_models is None:
            from petitions.readmodels.queries import ReadModels

            self._read_models = ReadModels(self._store)
        return self._read_models

    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """A known workflow definition (the current version by default)."""
        return self._store.workflow(name, version)

    def exists(self, petition_id: UUID | str) -> bool:
        return self._store.exists(petition_id)

    # ---------------------------------------------------------------- views
    def view_of(self, petition: Petition, wf: Workflow | None = None,
                viewer: Actor | None = None, unit: str | None = None,
                reveal: bool = False) -> PetitionView:
        """The view of ``petition`` (e.g. rebuilt from its events) with its
        petitioner as ``viewer`` may see them (see :meth:`get`)."""
        return self._view(petition, wf or self._store.workflow_of(petition), viewer, unit,
                          reveal)

    def _view(self, petition: Petition, wf: Workflow, viewer: Actor | None = None,
              unit: str | None = None, reveal: bool = False,
              at: datetime | None = None,
              related: Callable[[], tuple[RelatedCase, ...]] | None = None) -> PetitionView:
        """The view of ``petition``; its deadline state as of ``at`` (default now);
        with ``related``, how to look up the same caller's other open cases
        (done when the view's ``related`` is first read).  The petitioner is
        rendered when first read, as for a command's view — unless revealed:
        a reveal is checked and recorded now."""
        shown: PetitionerView | Callable[[], PetitionerView]
        if reveal:
            self.privacy.sync()
            shown = self._petitioner_view(petition, viewer, unit, reveal)
        else:
            shown = self._renderer(petition, viewer, unit)
        return PetitionView.of(petition, wf, shown, now=at or self.clock(),
                               number=self._number(petition.id),
                               related=() if related is None else related)

    def _renderer(self, petition: Petition, viewer: Actor | None,
                  unit: str | None = None) -> Callable[[], PetitionerView]:
        """Renders ``petition``'s petitioner (masked) for ``viewer`` when called:
        personal data is decrypted only for a caller who reads it, and an
        erasure made meanwhile (by any process) is honoured."""
        sealed, matter_type, lead_unit = (petition.petitioner, petition.matter_type,
                                          petition.lead_unit)
        privacy = self.privacy

        def render() -> PetitionerView:
            privacy.sync()
            return privacy.render(sealed, matter_type=matter_type, lead_unit=lead_unit,
                                  viewer=viewer, unit=unit)

        return render

    def _result(self, petition: Petition, wf: Workflow, actor: Actor) -> PetitionView:
        """What a command returns: the petition as it now stands, its petitioner
        rendered for ``actor`` only if the caller reads them, its other fields
        worked out when one is first read (``petition`` is the state the store
        saved, which nothing changes afterwards: see ``Store.remember``)."""
        return PetitionView.of_saved(petition, wf, self._renderer(petition, actor),
                                     self.clock(), number=self._number(petition.id))

    def _number(self, petition_id: UUID) -> str | None:
        from petitions.sidetables import number_of

        found: str | None = number_of(self._store, petition_id)
        return found

    def _petitioner_view(self, petition: Petition, viewer: Actor | None, unit: str | None,
                         reveal: bool) -> PetitionerView:
        shown = self.privacy.render(petition.petitioner, matter_type=petition.matter_type,
                                    lead_unit=petition.lead_unit, viewer=viewer, unit=unit,
                                    reveal=reveal)
        if reveal and viewer is not None and not shown.erased and not shown.sealed:
            self.privacy.record_reveal(viewer, petition.id, shown, unit, self.clock())
        return shown

    # --------------------------------------------------------------- filing
    def file(
        self,
        *,
        actor: Actor,
        petitioner: Petitioner,
        title: str,
        description: str,
        category: str,
        channel: str,
        location: Location | None = None,
        workflow: str = "standard",
        matter_type: str | None = None,
        idempotency_key: str | None = None,
        campaign_id: UUID | None = None,
        at: datetime | None = None,
        source: str = "",
        request_type: str | None = None,
        urgency: str = "normal",
        anonymous: bool = False,
    ) -> UUID:
        """File a petition; return its id.  ``source``: where the filing came from
        as its sender says (a portal's name, an import line's claim) — recorded
        in the filing, never taken as the actor.

        ``request_type`` (咨询 consultation, 求助 help, 投诉 complaint, 举报
        report, 建议 suggestion, 表扬 praise; the workflow's default, a
        complaint, when ``None``) and ``urgency`` (normal, urgent, emergency)
        choose the time limits the workflow sets for them.  ``matter_type``
        defaults to the one the request type implies (a report is 检举控告, a
        suggestion 建议意见, anything else 申诉求决).  ``anonymous``: filed
        without name, phone, ID number or address (for the types the workflow
        allows); its call-back is then impossible.

        With an ``idempotency_key``, filing again returns the same id and
        writes nothing new — also when two portals race with the same key.
        """
        return self.file_one(filing.Filing(
            actor=actor, petitioner=petitioner, title=title, description=description,
            category=category, channel=channel, location=location, workflow=workflow,
            matter_type=matter_type, idempotency_key=idempotency_key,
            campaign_id=campaign_id, at=at, source=source, request_type=request_type,
            urgency=urgency, anonymous=anonymous))

    def file_one(self, details: Filing) -> UUID:
        """File the petition ``details`` describe (a
        :class:`petitions.domain.filing.Filing`: the arguments of :meth:`file`
        as one value, checked when it is made); return its id."""
        return filing.file_petition(self._store, self.privacy, details)

    def file_batch(self, filings: Sequence[Filing | Checked | Mapping[str, Any] | Handed],
                   ) -> list[tuple[UUID, bool] | PetitionError]:
        """File many petitions (each a :class:`~petitions.domain.filing.Filing`
        — or a :class:`~petitions.domain.filing.Checked` one, as an import's
        check pass made it — or the keyword arguments of :meth:`file`, an
        ``idempotency_key`` each)
        in as few transactions as they allow — all in one when no two share a
        petitioner id, campaign or key: their events, work-order numbers (in
        order), caller index rows and new keys commit together or not at all.
        Returns per filing its id and whether it was filed now (``False``:
        already present by its key), or the error that refused it, which ends
        the batch (the filings before it are filed).  The bulk import files
        through it."""
        return filing.file_petitions(self._store, self.privacy, filings)

    # ------------------------------------------------------------- commands
    def execute(self, petition_id: UUID | str, command: Command, *, actor: Actor,
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """Carry out ``command`` (a value from :mod:`petitions.domain.commands`,
        or a plugin's) on the petition, under the workflow version it was filed
        under: load it, decide, save its events (and the clock of a stage it
        enters); return the petition as it now stands."""
        command = self._registered_units(command)
        petition, wf = self._store.execute(petition_id, command, actor=actor, at=at,
                                           expected_version=expected_version)
        return self._result(petition, wf, actor)

    def choices(self, petition_id: UUID | str, kind: str) -> tuple[Choice, ...]:
        """The values the choice set ``kind`` (``ratings``, ``reopen_targets``,
        ``reply_outcomes``, ``review_outcomes``, ``plans``, ``plan_steps``) may
        take for this petition: under its pinned workflow, in its stage."""
        petition = self._store.load(petition_id)
        return commands.choices(self._store.workflow_of(petition), petition.stage, kind)

    # The verbs: each builds its command and executes it.
    def accept(self, petition_id: UUID | str, *, actor: Actor, note: str = "",
               at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Accept the appeal for handling (受理)."""
        return self.execute(petition_id, commands.Accept(note=note), actor=actor, at=at,
                            expected_version=expected_version)

    def reject(self, petition_id: UUID | str, *, actor: Actor, reason: str, referral: str,
               at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Refuse the appeal with a reason and where to go instead (不予受理并告知)."""
        return self.execute(petition_id, commands.Reject(reason=reason, referral=referral),
                            actor=actor, at=at, expected_version=expected_version)

    def duplicate(self, petition_id: UUID | str, *, actor: Actor, original_id: UUID | str,
                  note: str = "", at: datetime | None = None,
                  expected_version: int | None = None) -> PetitionView:
        """Mark the petition as a duplicate of ``original_id`` and close it."""
        return self.execute(petition_id,
                            commands.Duplicate(original_id=original_id, note=note),
                            actor=actor, at=at, expected_version=expected_version)

    def withdraw(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                 at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """The petitioner withdraws the appeal (any time before it is closed)."""
        return self.execute(petition_id, commands.Withdraw(reason=reason), actor=actor, at=at,
                            expected_version=expected_version)

    def assign(self, petition_id: UUID | str, *, actor: Actor, unit: str, person: str,
               co_units: Sequence[str] = (), note: str = "", final: bool = False,
               at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Dispatch to a lead unit and a responsible person, with co-handling
        units; ``final``: a supervisor names the handling unit (定责), which can
        then no longer return it."""
        return self.execute(
            petition_id, commands.Assign(unit=unit, person=person,
                                         co_units=tuple(co_units), note=note, final=final),
            actor=actor, at=at, expected_version=expected_version)

    def sign(self, petition_id: UUID | str, *, actor: Actor, at: datetime | None = None,
             expected_version: int | None = None) -> PetitionView:
        """The assigned unit signs for the dispatched order (签收)."""
        return self.execute(petition_id, commands.Sign(), actor=actor, at=at,
                            expected_version=expected_version)

    def contact(self, petition_id: UUID | str, *, actor: Actor, note: str = "",
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """The assigned unit records its first contact with the petitioner (先行联系)."""
        return self.execute(petition_id, commands.Contact(note=note), actor=actor, at=at,
                            expected_version=expected_version)

    def return_order(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                     at: datetime | None = None,
                     expected_version: int | None = None) -> PetitionView:
        """The assigned unit returns a misrouted order (退单); it goes back to
        dispatch.  (``return`` on the command line.)"""
        return self.execute(petition_id, commands.ReturnOrder(reason=reason), actor=actor,
                            at=at, expected_version=expected_version)

    def transfer(self, petition_id: UUID | str, *, actor: Actor, unit: str, person: str,
                 reason: str, at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Hand the petition to another unit or person."""
        return self.execute(petition_id,
                            commands.Transfer(unit=unit, person=person, reason=reason),
                            actor=actor, at=at, expected_version=expected_version)

    def dispute(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """The assigned unit disputes the dispatch; the petition goes back to dispatch."""
        return self.execute(petition_id, commands.Dispute(reason=reason), actor=actor, at=at,
                            expected_version=expected_version)

    def open_mediation(self, petition_id: UUID | str, *, actor: Actor, mediator: str,
                       parties: Sequence[str], apprentice: str | None = None,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Open mediation with a mediator, an optional apprentice (老马带小马) and parties."""
        return self.execute(
            petition_id, commands.OpenMediation(mediator=mediator, parties=tuple(parties),
                                                apprentice=apprentice),
            actor=actor, at=at, expected_version=expected_version)

    def record_session(self, petition_id: UUID | str, *, actor: Actor, place: str,
                       participants: Sequence[str], minutes: str = "",
                       held_at: datetime | None = None, at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Record a mediation or joint-meeting session (time, place, participants, minutes)."""
        return self.execute(
            petition_id, commands.RecordSession(place=place, participants=tuple(participants),
                                                minutes=minutes, held_at=held_at),
            actor=actor, at=at, expected_version=expected_version)

    def agree(self, petition_id: UUID | str, *, actor: Actor, terms: str,
              at: datetime | None = None,
              expected_version: int | None = None) -> PetitionView:
        """Mediation reached an agreement on ``terms``."""
        return self.execute(petition_id, commands.Agree(terms=terms), actor=actor, at=at,
                            expected_version=expected_version)

    def fail_mediation(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Mediation failed; handling continues without agreement."""
        return self.execute(petition_id, commands.FailMediation(reason=reason), actor=actor,
                            at=at, expected_version=expected_version)

    def plan_step(self, petition_id: UUID | str, *, actor: Actor, plan: str, step: str,
                  evidence: str, at: datetime | None = None,
                  expected_version: int | None = None) -> PetitionView:
        """Record the next step of an ordered plan as completed, with evidence."""
        return self.execute(petition_id,
                            commands.PlanStepDone(plan=plan, step=step, evidence=evidence),
                            actor=actor, at=at, expected_version=expected_version)

    def act(self, petition_id: UUID | str, *, actor: Actor, action: str,
            at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Record an action taken to resolve the appeal."""
        return self.execute(petition_id, commands.Act(action=action), actor=actor, at=at,
                            expected_version=expected_version)

    def on_site_meeting(self, petition_id: UUID | str, *, actor: Actor, place: str,
                        participants: Sequence[str], minutes: str = "",
                        held_at: datetime | None = None, at: datetime | None = None,
                        expected_version: int | None = None) -> PetitionView:
        """Record an on-site office meeting (现场办公): where, who took part, minutes."""
        return self.execute(
            petition_id, commands.OnSiteMeeting(place=place, participants=tuple(participants),
                                                minutes=minutes, held_at=held_at),
            actor=actor, at=at, expected_version=expected_version)

    def reply(self, petition_id: UUID | str, *, actor: Actor, outcome: str, text: str,
              at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Give the written reply: ``support`` (支持), ``explain`` (解释说明) or
        ``not_support`` (不予支持)."""
        return self.execute(petition_id, commands.Reply(outcome=outcome, text=text),
                            actor=actor, at=at, expected_version=expected_version)

    def resolve(self, petition_id: UUID | str, *, actor: Actor, summary: str = "",
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """Mark the appeal resolved; it goes to the satisfaction review."""
        return self.execute(petition_id, commands.Resolve(summary=summary), actor=actor,
                            at=at, expected_version=expected_version)

    def callback(self, petition_id: UUID | str, *, actor: Actor, contacted: bool,
                 resolved: bool, rating: str | None = None, comment: str = "",
                 at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Record the satisfaction call-back (回访)."""
        return self.execute(
            petition_id, commands.Callback(contacted=contacted, resolved=resolved,
                                           rating=rating, comment=comment),
            actor=actor, at=at, expected_version=expected_version)

    def reopen(self, petition_id: UUID | str, *, actor: Actor, reason: str,
               to: str | None = None, at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Reopen into an earlier stage after an unsatisfied call-back (``to``:
        one of the stages the workflow allows; needed when it allows several)."""
        return self.execute(petition_id, commands.Reopen(to=to, reason=reason), actor=actor,
                            at=at, expected_version=expected_version)

    def close(self, petition_id: UUID | str, *, actor: Actor, note: str = "",
              at: datetime | None = None,
              expected_version: int | None = None) -> PetitionView:
        """Close the petition after its call-back (办结).  (The service itself
        is closed by :meth:`shutdown`.)"""
        return self.execute(petition_id, commands.Close(note=note), actor=actor, at=at,
                            expected_version=expected_version)

    def request_review(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """The petitioner asks for a review (复查) of the written reply, within the
        workflow's window (信访工作条例: 30 days)."""
        return self.execute(petition_id, commands.RequestReview(reason=reason), actor=actor,
                            at=at, expected_version=expected_version)

    def answer_review(self, petition_id: UUID | str, *, actor: Actor, outcome: str,
                      text: str, unit: str | None = None, at: datetime | None = None,
                      expected_version: int | None = None) -> PetitionView:
        """Give the review opinion (复查意见): ``uphold`` (维持) or ``revise`` (变更),
        by ``unit`` (above the lead unit, where the workflow asks for it)."""
        return self.execute(petition_id,
                            commands.AnswerReview(outcome=outcome, text=text, unit=unit),
                            actor=actor, at=at, expected_version=expected_version)

    def request_rereview(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                         at: datetime | None = None,
                         expected_version: int | None = None) -> PetitionView:
        """The petitioner asks for a re-review (复核) of the review opinion, in time."""
        return self.execute(petition_id, commands.RequestReReview(reason=reason), actor=actor,
                            at=at, expected_version=expected_version)

    def answer_rereview(self, petition_id: UUID | str, *, actor: Actor, outcome: str,
                        text: str, unit: str | None = None, at: datetime | None = None,
                        expected_version: int | None = None) -> PetitionView:
        """Give the re-review opinion (复核意见), by ``unit`` (above the unit
        that reviewed).  The matter is then final: when the workflow says so, a
        repeat filing of the same facts is refused from now on."""
        return self.execute(petition_id,
                            commands.AnswerReReview(outcome=outcome, text=text, unit=unit),
                            actor=actor, at=at, expected_version=expected_version)

    def deliver(self, petition_id: UUID | str, *, actor: Actor, via: str = "post",
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """Record delivery (送达) of the latest written answer not yet delivered
        (the reply, the review answer or the re-review answer), ``via`` post,
        in_person, electronic or sms; the review windows count from it."""
        return self.execute(petition_id, commands.Deliver(via=via), actor=actor,
                            at=at, expected_version=expected_version)

    def note(self, petition_id: UUID | str, *, actor: Actor, text: str,
             at: datetime | None = None,
             expected_version: int | None = None) -> PetitionView:
        """Add a note to the record."""
        return self.execute(petition_id, commands.Note(text=text), actor=actor, at=at,
                            expected_version=expected_version)

    def escalate(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                 level: str | None = None, at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Escalate for supervision (督办), at a ``level`` of the workflow
        (``yellow``, ``red``) when given."""
        return self.execute(petition_id, commands.Escalate(reason=reason, level=level),
                            actor=actor, at=at, expected_version=expected_version)

    def extend(self, petition_id: UUID | str, *, actor: Actor, days: int, reason: str,
               approver: str | None = None, at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Extend the deadline by ``days``; ``approver`` defaults to the actor."""
        return self.execute(petition_id,
                            commands.Extend(days=days, reason=reason, approver=approver),
                            actor=actor, at=at, expected_version=expected_version)

    def pause(self, petition_id: UUID | str, *, actor: Actor, reason: str,
              at: datetime | None = None,
              expected_version: int | None = None) -> PetitionView:
        """Pause the running clock (waiting for the petitioner's materials; a
        hearing).  Allowed to whoever may ``extend`` unless the workflow names
        ``pause`` itself."""
        return self.execute(petition_id, commands.Pause(reason=reason), actor=actor, at=at,
                            expected_version=expected_version)

    def resume(self, petition_id: UUID | str, *, actor: Actor, reason: str = "",
               at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Resume the paused clock; its deadline moves by the time paused."""
        return self.execute(petition_id, commands.Resume(reason=reason), actor=actor, at=at,
                            expected_version=expected_version)

    # ---------------------------------------------------------------- clocks
    def sweep(self, now: datetime | None = None, *, actor: Actor | None = None,
              batch: int = 200) -> SweepReport:
        """Record every warning and breach due at ``now`` (default the current
        time), with the escalation (督办) a breached limit asks for.  Finds
        the due petitions through the case index's ``next_due`` index; running
        it twice at the same moment records nothing new."""
        from petitions.deadlines.sweep import sweep

        return sweep(self._store, self.read_models, self._store.when(now), actor=actor,
                     batch=batch)

    def recheck_calendar(self, now: datetime | None = None, *,
                         actor: Actor | None = None) -> RecheckReport:
        """Count provisional deadlines (counted in a year the official calendar
        did not cover) again on the calendar now installed; records an event
        only where a deadline moves (:mod:`petitions.deadlines.recheck`)."""
        from petitions.deadlines.recheck import recheck

        return recheck(self._store, self.read_models, self._store.when(now), actor=actor)

    # ------------------------------------------------------------ campaigns
    def open_campaign(self, *, actor: Actor, name: str, location: Location | None = None,
                      description: str = "", at: datetime | None = None) -> UUID:
        """Open a door-to-door campaign (进家入户); file its suggestions with
        ``campaign_id=`` the id returned."""
        from petitions.operations import check

        check(actor, "campaign_open")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name", "must not be empty", kind="empty")
        from petitions.domain.campaign import Campaign

        campaign = Campaign.open(actor=actor, occurred_at=self._store.when(at),
                                 name=name.strip(), location=location or Location(),
                                 description=description.strip())
        self._store.save(campaign)
        return campaign.id

    def campaign_progress(self, campaign_id: UUID | str) -> CampaignProgress:
        """How many petitions the campaign collected, and how many are resolved."""
        from petitions.campaigns import CampaignProgress

        campaign = filing.campaign_of(self._store, campaign_id)
        resolved = closed_other = still_open = awaiting = 0
        for pid in campaign.petition_ids:
            petition = self._store.load(pid)
            if petition.outcome == OUTCOME_RESOLVED:
                resolved += 1
            elif petition.outcome is not None:
                closed_other += 1
            else:
                still_open += 1
                stage = self._store.workflow_of(petition).stages[petition.stage]
                if not petition.callback_recorded and "callback" in stage.transitions:
                    awaiting += 1
        return CampaignProgress(
            id=campaign.id, name=campaign.name, location=campaign.location,
            opened_at=campaign.opened_at, collected=len(campaign.petition_ids),
            resolved=resolved, closed_other=closed_other, open=still_open,
            petition_ids=tuple(campaign.petition_ids), awaiting_callback=awaiting)

    # --------------------------------------------------------- unit register
    #: Roles that may load the unit register.
    REGISTER_ROLES: ClassVar[tuple[str, ...]] = ("administrator", "supervisor")

    def load_register(self, path: str | Path, *, actor: Actor,
                      at: datetime | None = None) -> tuple[Register, bool]:
        """Load the unit register (units, people, 包联) from a TOML or CSV file
        (:mod:`petitions.org`), recorded as an event; returns the register and
        whether it changed (loading the same register again records nothing)."""
        from pathlib import Path

        from petitions.domain.register import REGISTER_ID, UnitRegister
        from petitions.org import parse_register

        if actor.role not in self.REGISTER_ROLES:
            raise PermissionDenied(actor.role, "org_load", self.REGISTER_ROLES)
        register = parse_register(path)
        when = self._store.when(at)
        found = self._store.find(REGISTER_ID)
        aggregate = (found if isinstance(found, UnitRegister)
                     else UnitRegister.start(actor=actor, occurred_at=when))
        data = register.to_data()
        changed = aggregate.load(actor=actor, occurred_at=when, units=data["units"],
                                 people=data["people"], liaisons=data["liaisons"],
                                 source=Path(path).name, sha256=register.sha256())
        if changed:
            try:
                self._store.save(aggregate)
            except IntegrityError:
                raise ConcurrentUpdate(REGISTER_ID, "the register was loaded meanwhile") \
                    from None
        self.__dict__.pop("_register_cache", None)
        return register, changed

    def register(self) -> Register | None:
        """The unit register in force (the last one loaded), or None."""
        from petitions.domain.register import REGISTER_ID, UnitRegister
        from petitions.org import register_from_event_data

        aggregate = self._store.find(REGISTER_ID)
        if not isinstance(aggregate, UnitRegister):
            return None
        cached = self.__dict__.get("_register_cache")
        if cached is not None and cached[0] == aggregate.version:
            found: Register = cached[1]
            return found
        if not aggregate.units:
            return None
        found = register_from_event_data(aggregate.units, aggregate.people, aggregate.liaisons)
        self.__dict__["_register_cache"] = (aggregate.version, found)
        return found

    def unit_name(self, unit: str, field: str = "unit") -> str:
        """With a register loaded, the Chinese name of the unit given by code or
        exact name (refused, naming close matches, when unknown); else ``unit``."""
        return _unit_name(self.register(), unit, field)

    def _registered_units(self, command: Command) -> Command:
        """``assign``/``transfer`` with a register loaded: units given by code or
        exact name become the unit's Chinese name (unknown ones are refused).
        The register is looked up once per command (one query when none is
        loaded); without one the command is returned as it is, its units
        checked to be text."""
        if isinstance(command, commands.Assign):
            register = self.register()
            unit = _unit_name(register, command.unit)
            co_units = tuple(_unit_name(register, u, "co_units") for u in command.co_units)
            if register is None:
                return command
            return evolve(command, unit=unit, co_units=co_units)
        if isinstance(command, commands.Transfer):
            register = self.register()
            unit = _unit_name(register, command.unit)
            return command if register is None else evolve(command, unit=unit)
        return command

    # ---------------------------------------------- work orders and callers
    @property
    def side_tables(self) -> SideTables:
        """Work-order numbers and the caller index (:mod:`petitions.sidetables`)."""
        from petitions.sidetables import side_tables

        return side_tables(self._store)

    def number_of(self, petition_id: UUID | str) -> str | None:
        """The petition's work-order number (工单号), e.g. ``2026-000123``."""
        from petitions.sidetables import number_of

        return number_of(self._store, self._store.petition_id(petition_id))

    def reindex(self, *, callers_afresh: bool = False) -> tuple[int, int]:
        """Number petitions without a work-order number (in stored order) and
        index callers not yet indexed; returns (numbered, indexed)."""
        from petitions.sidetables import reindex

        return reindex(self._store, self.privacy, callers_afresh=callers_afresh)

    def caller_petitions(self, *, phone: str | None = None,
                         id_number: str | None = None) -> list[UUID]:
        """Every petition of the caller with this phone and/or ID number (either
        matches), found through the blind index."""
        from petitions.sidetables import caller_petitions

        found: list[UUID] = caller_petitions(self._store, self.privacy, phone=phone,
                                             id_number=id_number)
        return found

    def related_cases(self, petition_id: UUID | str) -> tuple[RelatedCase, ...]:
        """The same caller's other open cases (by phone or ID number)."""
        from petitions.sidetables import related_cases

        found: tuple[RelatedCase, ...] = related_cases(self._store,
                                                       self._store.petition_id(petition_id))
        return found

    def remind(self, petition_id: UUID | str, *, actor: Actor, note: str = "",
               at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Remind the handling unit (催办); counted per unit."""
        return self.execute(petition_id, commands.Remind(note=note), actor=actor, at=at,
                            expected_version=expected_version)

    def exclude(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """Exclude an unreasonable demand from the rates (核减), with the reason."""
        return self.execute(petition_id, commands.Exclude(reason=reason), actor=actor, at=at,
                            expected_version=expected_version)

    def answer_now(self, petition_id: UUID | str, *, actor: Actor, text: str,
                   at: datetime | None = None,
                   expected_version: int | None = None) -> PetitionView:
        """Answer a consultation at once and close it (即时办结), without dispatch."""
        return self.execute(petition_id, commands.AnswerNow(text=text), actor=actor, at=at,
                            expected_version=expected_version)

    def supervision_counts(self, *, rollup: bool = True) -> dict[str, tuple[int, int]]:
        """``unit → (reminders, escalations)``, rolled up the unit register."""
        register = self.register() if rollup else None
        totals: dict[str, list[int]] = {}
        for unit, reminders, escalations in self.read_models.supervision_counts():
            for name in (register.rollup_names(unit) if register else [unit]):
                t = totals.setdefault(name, [0, 0])
                t[0] += reminders
                t[1] += escalations
        return {u: (r, e) for u, (r, e) in totals.items()}

    # -------------------------------------------------------------- queries
    def get(self, petition_id: UUID | str, *, version: int | None = None,
            as_of: datetime | None = None, viewer: Actor | None = None,
            unit: str | None = None, reveal: bool = False) -> PetitionView:
        """The petition as it stands, or as it stood at ``version``, or ``as_of`` a time.

        ``as_of`` is a recording time: the petition as the store held it at
        that moment (every event recorded at or before ``as_of``).

        The petitioner is shown as ``viewer`` (working in ``unit``) may see
        them: phone and ID numbers masked unless ``reveal`` (allowed roles
        only; recorded), erased data as ``None``, and a confidential
        (检举控告) petitioner withheld except from the lead unit's supervisor.
        The petitioner is decrypted, and the caller's other open cases
        (``related``) looked up, when the view's field is first read — read
        them while the service is open; a reveal is checked and recorded now.
        """
        pid = self._store.petition_id(petition_id)
        if as_of is not None:
            if version is not None:
                raise InvalidInput("as_of", "give a version or a time, not both",
                                   kind="conflict")
            version = self._version_as_of(pid, as_of)
        if version is not None:
            if not isinstance(version, int) or version < 1:
                raise InvalidInput("version", "must be a positive whole number")
            bounded("version", version)
            petition = self._store.load_version(pid, version)
            if petition.version < version:
                raise InvalidInput("version", f"the petition has only {petition.version} "
                                   "versions", kind="no_such_version")
        else:
            petition = self._store.current(pid)  # read only: the view copies what it shows
        # A past state shows its deadline as it stood then: as of the time asked
        # for, or when that version was recorded.
        # (World time: a version recorded today for an event of last month
        # shows the deadline as it stood last month.)
        then = as_of if as_of is not None else (petition.last_occurred_at if version else None)
        # The petitioner is rendered when first read; a master key that cannot
        # open the key table is refused now all the same (checked once).
        self.privacy.keyring.check_master()
        return self._view(petition, self._store.workflow_of(petition), viewer, unit, reveal,
                          at=then, related=lambda: self.related_cases(pid))

    def _version_as_of(self, pid: UUID, as_of: datetime) -> int:
        """The last version of ``pid`` recorded at or before ``as_of``."""
        if not isinstance(as_of, datetime) or as_of.tzinfo is None:
            raise InvalidInput("as_of", "must be a date and time with a time zone",
                               kind="naive_time")
        found = 0
        for event in self.petition_events(pid):
            if event.timestamp > as_of:
                break
            found = event.originator_version
        if not found:
            raise InvalidInput("as_of", "the petition was not yet recorded at that time",
                               kind="before_filing")
        return found

    def petition_events(self, petition_id: UUID | str) -> list[Petition.Event]:
        """The stored domain events of a petition, oldest first."""
        return self._store.petition_events(petition_id)

    def history(self, petition_id: UUID | str, *, viewer: Actor | None = None,
                unit: str | None = None, reveal: bool = False) -> tuple[EventView, ...]:
        """Every event of the petition, oldest first: who did what and when, the
        event in words (zh and en), what it changed, and its chain hashes.  The
        petitioner in them is shown as in :meth:`get` (masked, erased or
        withheld as ``viewer`` may see them)."""
        from petitions.audit.replay import history as replay

        pid = self._store.petition_id(petition_id)
        entries = replay(self._store, pid)
        self.privacy.sync()
        petition = self._store.load(pid)
        shown = self._petitioner_view(petition, viewer, unit, reveal).to_dict()
        out = []
        for h in entries:
            data = dict(h.data)
            if "petitioner" in data:
                data["petitioner"] = shown
            changes = tuple(
                {"field": c.field, "before": shown if c.field == "petitioner" and c.before
                 else c.before, "after": shown if c.field == "petitioner" else c.after}
                for c in h.changes)
            assert h.occurred_at is not None
            out.append(EventView(
                version=h.version, type=h.type, actor=h.actor, role=h.role,
                occurred_at=h.occurred_at, recorded_at=h.recorded_at, data=data,
                text_zh=h.text_zh, text_en=h.text_en, changes=changes, hash=h.hash,
                prev_hash=h.prev_hash))
        return tuple(out)

    # ----------------------------------------------------------------- feed
    def changes(self, after: int = 0, *, follow: bool = False,
                poll_interval: float = 0.5) -> Iterator[Change]:
        """Petition events after position ``after``, in order, each with its
        position; with ``follow``, keep waiting for new ones (PostgreSQL:
        LISTEN/NOTIFY, SQLite: polling every ``poll_interval`` seconds).
        Resume after a restart with the last position handled."""
        from petitions.feed import changes

        return changes(self._store, after, follow=follow, poll_interval=poll_interval)

    # ---------------------------------------------------------- read models
    def list_petitions(self, *, text: str | None = None, limit: int | None = 50,
                       offset: int = 0, overdue: bool = False,
                       due_within: timedelta | None = None, phone: str | None = None,
                       id_number: str | None = None,
                       **filters: str | None) -> list[CaseSummary]:
        """Petitions from the case index, newest first, filtered by ``status``,
        ``stage``, ``workflow``, ``street``, ``community``, ``grid``, ``unit``,
        ``assignee``, ``mediator``, ``category``, ``channel``, ``campaign``,
        ``outcome``, ``kind``, ``type`` (request type), ``urgency``, and
        ``text`` (in title or description); with
        ``phone`` / ``id_number``, every case of that caller (blind index, no
        clear text stored); with ``overdue`` and/or ``due_within``, those whose
        deadline has passed or falls within that time, soonest first."""
        if phone is not None or id_number is not None:
            ids = [str(i) for i in self.caller_petitions(phone=phone, id_number=id_number)]
            return self.read_models.cases(text=text, limit=limit, offset=offset, ids=ids,
                                          **filters)
        if overdue or due_within is not None:
            return self.read_models.cases_by_deadline(overdue=overdue, due_within=due_within,
                                                now=self.clock(), text=text, limit=limit,
                                                offset=offset, **filters)
        return self.read_models.cases(text=text, limit=limit, offset=offset, **filters)

    #: Rows read from the case index at a time by :meth:`export_cases`.
    EXPORT_BATCH: ClassVar[int] = 1000

    def export_cases(self, *, viewer: Actor | None = None, reveal: bool = False,
                     viewer_unit: str | None = None, text: str | None = None,
                     overdue: bool = False, due_within: timedelta | None = None,
                     phone: str | None = None, id_number: str | None = None,
                     **filters: str | None) -> Iterator[ExportRow]:
        """Every case matching the :meth:`list_petitions` filters, oldest filing
        first, streamed from the case index in batches of :attr:`EXPORT_BATCH`, each with
        its petitioner as ``viewer`` may see them: masked unless ``reveal`` (a
        role that may reveal; each reveal recorded in the petitioner's privacy
        record, as :meth:`get` does).  A confidential petitioner the viewer (of
        ``viewer_unit``) may not see is withheld even when revealing; ``unit``
        among the filters is the lead unit, as in :meth:`list_petitions`.  Refusals (the role, a bad
        filter) are raised here, before the first row (petitions/export.py
        writes the rows as CSV or JSON Lines)."""
        if reveal:
            if viewer is None:
                raise InvalidInput("viewer", "revealing personal data needs a viewer",
                                   kind="no_viewer")
            self.privacy.policy.check(viewer, "reveal", "export of cases")
        ids = None
        if phone is not None or id_number is not None:
            ids = [str(i) for i in self.caller_petitions(phone=phone, id_number=id_number)]
        self.read_models.check_filters(filters)
        if due_within is not None and due_within < timedelta(0):
            raise InvalidInput("due_within", "must not be negative", kind="invalid")
        cases = self.read_models.iter_cases(text=text, ids=ids, overdue=overdue,
                                            due_within=due_within, now=self.clock(),
                                            batch=self.EXPORT_BATCH, **filters)
        return self._export_rows(cases, viewer, viewer_unit, reveal)

    def _export_rows(self, cases: Iterator[CaseSummary], viewer: Actor | None,
                     unit: str | None, reveal: bool) -> Iterator[ExportRow]:
        from petitions.export import ExportRow

        self.privacy.sync()
        for case in cases:
            pid = UUID(case.id)
            # The case index keeps the petitioner's name and phone sealed, as the
            # events do: rendered here like any petitioner, no event read.
            petitioner_id, name, phone = case.sealed_petitioner or ("", "", "")
            sealed = Petitioner(kind=case.petitioner_kind, name=name, phone=phone,
                                id=petitioner_id)
            matter_type, lead_unit = case.matter_type or "claim", case.lead_unit
            try:
                shown = self.privacy.render(sealed, matter_type=matter_type,
                                            lead_unit=lead_unit, viewer=viewer, unit=unit,
                                            reveal=reveal)
            except PermissionDenied:  # confidential: withheld from this viewer
                shown = self.privacy.render(sealed, matter_type=matter_type,
                                            lead_unit=lead_unit, viewer=viewer, unit=unit)
            if shown.revealed and viewer is not None and not shown.erased and not shown.sealed:
                self.privacy.record_reveal(viewer, pid, shown, unit, self.clock())
            yield ExportRow(case=case, petitioner=shown)

    def search(self, text: str, *, limit: int | None = 50,
               **filters: str | None) -> list[CaseSummary]:
        """Petitions whose title or description contains ``text`` (Chinese too),
        most recently recorded first (the full-text index's order: a page of hits
        is read without reading every hit)."""
        return self.read_models.cases(text=text, limit=limit, offset=0, **filters)

    def stats(self, by: str = "street", *, date_from: str | None = None,
              date_to: str | None = None, rollup: bool = True) -> list[RateGroup]:
        """Response, resolution and satisfaction rates per ``by`` group.  By
        unit, with a register loaded and ``rollup``, each unit also counts the
        cases of the units below it (a street its communities' and grids')."""
        register = self.register() if by == "unit" and rollup else None
        return self.read_models.stats(by, date_from, date_to,
                                rollup=register.rollup_names if register else None)

    def escalation_level_labels(self) -> dict[str, Label]:
        """The label of each supervision level (督办) the current workflow
        versions name (a level two workflows both name: the first one's), for
        showing the ``escalation_levels`` counts of :meth:`stats` and :meth:`rank`
        rows, which add up the petitions of every workflow."""
        found: dict[str, Label] = {}
        for name in self.workflows.names():
            for code, label in self.workflows.current(name).escalation_levels.items():
                found.setdefault(code, label)
        return found

    #: What ``rank`` groups by.
    RANK_BY: ClassVar[tuple[str, ...]] = ("unit", "street")

    def rank(self, by: str = "unit", *, date_from: str | None = None,
             date_to: str | None = None) -> list[RankRow]:
        """Units (lead units) or streets ranked by the composite score of their
        rates over valid call-backs within the local days ``date_from`` …
        ``date_to``; the weights are rates data (``[rank.weights]``)."""
        from petitions.readmodels.rates import rank_groups, rate_config

        if by not in self.RANK_BY:
            raise InvalidInput("by", f"must be one of {', '.join(self.RANK_BY)}",
                               kind="unknown_code", value=by, valid=", ".join(self.RANK_BY))
        groups = self.stats(by, date_from=date_from, date_to=date_to, rollup=False)
        return rank_groups([g for g in groups if g.group], rate_config())

    def unit_caseload(self, *, rollup: bool = True) -> list[tuple[str, int, int]]:
        """``(unit, open, closed)`` per lead unit, most open first; with a
        register loaded and ``rollup``, each unit also counts those below it."""
        register = self.register() if rollup else None
        totals: dict[str, list[int]] = {}
        for unit, is_open, n in self.read_models.unit_counts():
            for name in (register.rollup_names(unit) if register else [unit]):
                t = totals.setdefault(name, [0, 0])
                t[0 if is_open else 1] += n
        return sorted(((u, o, c) for u, (o, c) in totals.items()),
                      key=lambda r: (-r[1], r[0]))


__all__ = ["PetitionError", "PetitionService", "retry_on_conflict"]
