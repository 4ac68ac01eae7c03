"""``PetitionService``: the application service portals and the CLI call.

One method per command, named after its verb, each taking ``actor=`` (an
:class:`~petitions.domain.values.Actor`) and optionally ``at=`` (when it
happened in the world; default now, never in the future) and
``expected_version=`` (refuse if the petition changed since the caller looked).
Queries return plain views, never the aggregate.  A refused command raises a
:class:`~petitions.errors.PetitionError` and writes nothing.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import attrs
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from petitions import persistence
from petitions.audit.chain import ChainedApplication
from petitions.campaigns import CampaignProgress
from petitions.domain import values
from petitions.domain.campaign import Campaign
from petitions.domain.definitions import WorkflowDefinition, definition_id
from petitions.domain.finality import ConcludedMatter, concluded_matter_id, facts_key
from petitions.domain.petition import OUTCOME_RESOLVED, Petition, petition_id_for
from petitions.domain.register import REGISTER_ID, UnitRegister
from petitions.domain.values import Actor, Location, MediationSession, Petitioner
from petitions.errors import (
    ConcurrentUpdate,
    InvalidInput,
    PermissionDenied,
    PetitionError,
    PetitionNotFound,
    RepeatFiling,
    WorkflowNotFound,
)
from petitions.privacy.core import NewKey, Privacy
from petitions.privacy.render import PetitionerView
from petitions.recorders import ALSO_WRITE, writes_alongside
from petitions.sidetables import (
    SideTables,
    local_year,
    looks_like_number,
    office_prefix,
    side_tables,
)
from petitions.taxonomy import taxonomy
from petitions.transcoding import register_values
from petitions.views import EventView, PetitionView, RelatedCase
from workflows import Registry, UnknownWorkflow, Workflow

if TYPE_CHECKING:
    from petitions.deadlines.clock import Timekeeper
    from petitions.deadlines.sweep import SweepReport
    from petitions.feed import Change
    from petitions.org import Register
    from petitions.readmodels import CaseSummary, RateGroup, ReadModels
    from petitions.readmodels.rates import RankRow

log = logging.getLogger("petitions")

T = TypeVar("T")

#: How far in the future an ``at=`` may lie, to allow for clock skew.
CLOCK_SKEW = timedelta(seconds=60)
DEFAULT_SNAPSHOT_INTERVAL = 50


def _utcnow() -> datetime:
    return datetime.now(UTC)


def retry_on_conflict(fn: Callable[..., T], *args: Any, attempts: int = 8,
                      base_delay: float = 0.005, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``, retrying on :class:`ConcurrentUpdate`.

    Each retry reloads the petition (commands always load fresh state), after
    a short randomised back-off.  After ``attempts`` tries the last
    ``ConcurrentUpdate`` is raised.  Other errors are raised at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except ConcurrentUpdate:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, base_delay * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


class PetitionService(ChainedApplication):
    """The petitions application: commands, queries and idempotent filing.

    Its stored events form hash chains (:mod:`petitions.audit`).
    """

    name = "petitions"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Petition: DEFAULT_SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        url: str | None = None,
        workflow_dirs: Iterable[str | Path] = (),
        clock: Callable[[], datetime] = _utcnow,
        snapshot_interval: int | None = None,
    ) -> None:
        self.url = url or persistence.default_url()
        interval = snapshot_interval
        if interval is None:
            interval = int(os.environ.get("PETITIONS_SNAPSHOT_INTERVAL",
                                          DEFAULT_SNAPSHOT_INTERVAL))
        self.snapshotting_intervals = (  # type: ignore[misc]
            {Petition: interval} if interval > 0 else {})
        full_env = dict(env or persistence.env_for_url(self.url))
        full_env["IS_SNAPSHOTTING_ENABLED"] = "y" if interval > 0 else "n"
        # An LRU cache of aggregates, fast-forwarded from the store on every
        # get (so other writers' events are always seen): a command then reads
        # only the events it has not seen instead of replaying the petition.
        full_env.setdefault("AGGREGATE_CACHE_MAXSIZE",
                            os.environ.get("PETITIONS_CACHE_SIZE", "1000"))
        full_env.setdefault("AGGREGATE_CACHE_FASTFORWARD", "y")
        super().__init__(full_env)
        dirs = list(workflow_dirs)
        extra = os.environ.get("PETITIONS_WORKFLOWS")
        if extra:
            dirs.extend(p for p in extra.split(os.pathsep) if p)
        self.workflows = Registry.shipped(dirs)
        self._stored_hashes: set[str] = set()
        self.clock = clock
        self._privacy: Privacy | None = None

    @classmethod
    def open(cls, url: str | None = None, **kwargs: Any) -> PetitionService:
        """Open the store at ``url``: a SQLite path, ``":memory:"`` or a
        ``postgresql://`` DSN; default ``PETITIONS_DB``, else ``./petitions.sqlite``.

        Keep the returned service for as long as you use it (or use it as a
        context manager): it closes its connections when it is closed.
        """
        return cls(url=url, **kwargs)

    @property
    def privacy(self) -> Privacy:
        """Personal data: sealing, masking, reveal auditing, erasure (docs/privacy.md)."""
        if self._privacy is None:
            self._privacy = Privacy(self)
        return self._privacy

    def view_of(self, petition: Petition, wf: Workflow | None = None,
                viewer: Actor | None = None, unit: str | None = None,
                reveal: bool = False) -> PetitionView:
        """The view of ``petition`` (e.g. rebuilt from its events) with its
        petitioner as ``viewer`` may see them (see :meth:`get`)."""
        return self._view(petition, wf or self.workflow_of(petition), viewer, unit, reveal)

    def _view(self, petition: Petition, wf: Workflow, viewer: Actor | None = None,
              unit: str | None = None, reveal: bool = False,
              at: datetime | None = None) -> PetitionView:
        """The view of ``petition``; its deadline state as of ``at`` (default now)."""
        self.privacy.sync()
        shown = self._petitioner_view(petition, viewer, unit, reveal)
        view = PetitionView.of(petition, wf, shown, now=at or self.clock())
        return attrs.evolve(view, number=self.number_of(petition.id))

    def _result(self, petition: Petition, wf: Workflow, actor: Actor) -> PetitionView:
        """What a command returns: the petition as it now stands, its petitioner
        rendered for ``actor`` only if the caller reads them."""
        sealed, matter_type, lead_unit = (petition.petitioner, petition.matter_type,
                                          petition.lead_unit)

        def render() -> PetitionerView:
            self.privacy.sync()
            return self.privacy.render(sealed, matter_type=matter_type, lead_unit=lead_unit,
                                       viewer=actor)

        view = PetitionView.of(petition, wf, render, now=self.clock())
        return attrs.evolve(view, number=self.number_of(petition.id))

    def _petitioner_view(self, petition: Petition, viewer: Actor | None, unit: str | None,
                         reveal: bool) -> PetitionerView:
        shown = self.privacy.render(petition.petitioner, matter_type=petition.matter_type,
                                    lead_unit=petition.lead_unit, viewer=viewer, unit=unit,
                                    reveal=reveal)
        if reveal and viewer is not None and not shown.erased:
            self.privacy.record_reveal(viewer, petition.id, shown, unit, self.clock())
        return shown

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_values(transcoder, [values])

    # ------------------------------------------------------------ workflows
    def workflow(self, name: str, version: int | None = None) -> Workflow:
        """A known workflow definition (the current version by default)."""
        try:
            return self.workflows.get(name, version)
        except UnknownWorkflow:
            raise WorkflowNotFound(name if version is None else f"{name} v{version}",
                                   tuple(self.workflows.names())) from None

    def workflow_of(self, petition: Petition) -> Workflow:
        """The exact definition ``petition`` was filed under."""
        ref = petition.workflow
        if self.workflows.has_hash(ref.sha256):
            return self.workflows.by_hash(ref.sha256)
        try:
            stored: WorkflowDefinition = self.repository.get(definition_id(ref.sha256))
        except AggregateNotFoundError:
            raise WorkflowNotFound(f"{ref.name} v{ref.version} ({ref.sha256[:12]})") from None
        return self.workflows.add_text(stored.text, source_name=f"<stored {ref.name}>")

    def _keep_definition(self, wf: Workflow) -> WorkflowDefinition | None:
        """A new ``WorkflowDefinition`` to save if ``wf``'s text is not stored yet."""
        if wf.sha256 in self._stored_hashes:
            return None
        if definition_id(wf.sha256) in self.repository:
            self._stored_hashes.add(wf.sha256)
            return None
        return WorkflowDefinition.register(wf.name, wf.version, wf.sha256, wf.source)

    # ----------------------------------------------------------------- time
    def _when(self, at: datetime | None) -> datetime:
        now = self.clock()
        if at is None:
            return now
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise InvalidInput("at", "must be a date and time with a time zone",
                               kind="naive_time")
        if at > now + CLOCK_SKEW:
            raise InvalidInput("at", "is in the future", kind="future")
        return at.astimezone(UTC)

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
        matter_type: str = "claim",
        idempotency_key: str | None = None,
        campaign_id: UUID | None = None,
        at: datetime | None = None,
    ) -> UUID:
        """File a petition; return its id.

        With an ``idempotency_key``, filing again returns the same id and
        writes nothing new — also when two portals race with the same key.
        """
        if idempotency_key:
            existing = petition_id_for(idempotency_key.strip())
            if existing in self.repository:
                return existing
        tax = taxonomy()
        tax.check("categories", category)
        tax.check("channels", channel)
        tax.check("matter_types", matter_type)
        wf = self.workflow(workflow)
        minted = not petitioner.id
        if minted:
            petitioner = attrs.evolve(petitioner, id=uuid4().hex)
        else:
            self._refuse_repeat(petitioner.id, title, description)
        campaign = self._campaign(campaign_id) if campaign_id is not None else None
        occurred_at = self._when(at)
        # Personal fields are sealed before they reach the domain.  A new
        # petitioner's key is stored with the events of the filing, when the
        # store can write it in their transaction (both shipped backends can).
        new_key: NewKey | None = None
        alongside = writes_alongside(self.recorder)
        if alongside:
            sealed, new_key = self.privacy.seal_for_filing(petitioner, new=minted)
        else:
            sealed = self.privacy.seal_petitioner(petitioner)
        petition = Petition.file(
            wf, actor=actor, occurred_at=occurred_at, petitioner=sealed,
            channel=channel, category=category, title=title, description=description,
            location=location or Location(), matter_type=matter_type,
            idempotency_key=idempotency_key, campaign_id=campaign_id,
        )
        petition.keep_time(wf, self.timekeeper, actor, occurred_at, None, "file")
        if wf.channels_accepted_on_filing and channel in wf.channels_accepted_on_filing:
            petition.accept(wf, actor, occurred_at, note="accepted on filing (device channel)")
            petition.keep_time(wf, self.timekeeper, actor, occurred_at, wf.initial, "accept")
        if campaign is not None:
            campaign.collect(petition.id, actor, occurred_at)
        definition = self._keep_definition(wf)
        # The work-order number and the caller index are written in the
        # filing's own transaction (both shipped backends can), else just after.
        tables = self.side_tables
        tables.create()
        year, prefix = local_year(occurred_at), office_prefix()
        callers = self._caller_entries(petitioner.phone, petitioner.id_number)
        numbered: list[str] = []
        writes = [tables.number_writer(str(petition.id), year, prefix, numbered)]
        if callers:
            writes.append(tables.caller_writer(callers, petitioner.id, str(petition.id)))
        if new_key is not None:
            writes.insert(0, new_key.write)

        def again() -> UUID:  # the failed save collected the pending events
            return self.file(actor=actor, petitioner=petitioner, title=title,
                             description=description, category=category, channel=channel,
                             location=location, workflow=workflow, matter_type=matter_type,
                             idempotency_key=idempotency_key, campaign_id=campaign_id,
                             at=occurred_at)

        try:
            self.save(*(a for a in (definition, petition, campaign) if a is not None),
                      **({ALSO_WRITE: writes} if alongside else {}))
        except IntegrityError:
            if idempotency_key and petition.id in self.repository:
                return petition.id
            if definition is not None:
                # Another writer stored the same definition first: file again,
                # without it.
                self._stored_hashes.add(wf.sha256)
                return again()
            if new_key is not None and not minted and self.privacy.has_live_key(petitioner.id):
                # Another filing stored this petitioner's first data key
                # meanwhile (ours was refused with the events): file again,
                # sealed under that key.
                return again()
            if campaign is not None:
                raise ConcurrentUpdate(campaign.id, "the campaign collected another "
                                       "petition at the same time") from None
            raise ConcurrentUpdate(petition.id, "id already taken") from None
        if definition is not None:
            self._stored_hashes.add(wf.sha256)
        if new_key is not None:
            new_key.kept()
        if numbered:
            self._numbers[petition.id] = numbered[0]
        elif not alongside:
            self._numbers[petition.id] = tables.allocate(str(petition.id), year, prefix)
            if callers:
                tables.add_callers(callers, petitioner.id, str(petition.id))
        self._remember(petition)
        return petition.id

    # ---------------------------------------------- work orders and callers
    @property
    def side_tables(self) -> SideTables:
        """Work-order numbers and the caller index (:mod:`petitions.sidetables`)."""
        return side_tables(self)

    @property
    def _numbers(self) -> dict[UUID, str]:
        found: dict[UUID, str] | None = self.__dict__.get("_number_cache")
        if found is None:
            found = {}
            self.__dict__["_number_cache"] = found
        return found

    def number_of(self, petition_id: UUID | str) -> str | None:
        """The petition's work-order number (工单号), e.g. ``2026-000123``.  A
        petition filed before numbers existed gets the next one of its filing
        year when first asked."""
        pid = self._uuid(petition_id)
        found = self._numbers.get(pid)
        if found is None:
            found = self.side_tables.number_of(str(pid))
            if found is None:
                if pid not in self.repository:
                    return None
                filed = self._load(pid).filed_at
                found = self.side_tables.allocate(str(pid), local_year(filed),
                                                  office_prefix())
            if len(self._numbers) > 100_000:
                self._numbers.clear()
            self._numbers[pid] = found
        return found

    def _caller_key(self) -> bytes:
        found: bytes | None = self.__dict__.get("_caller_key_bytes")
        if found is None:
            from petitions.privacy.callers import index_key

            found = index_key(self.privacy.keyring.master)
            self.__dict__["_caller_key_bytes"] = found
        return found

    def _caller_entries(self, phone: str, id_number: str) -> list[tuple[str, str]]:
        from petitions.privacy.callers import entries

        if not (isinstance(phone, str) and isinstance(id_number, str)):
            return []
        if not phone.strip() and not id_number.strip():
            return []
        return entries(self._caller_key(), phone, id_number)

    def reindex(self, *, callers_afresh: bool = False) -> tuple[int, int]:
        """Number every petition that has no work-order number yet, in the
        order they were stored (after ``audit import`` this gives the numbers
        of the source store), and index the callers of petitions that have no
        index entries and whose personal data can be read (after a key import;
        with ``callers_afresh``, every entry is made again: after a master-key
        rotation).  Returns (numbered, indexed)."""
        tables = self.side_tables
        tables.create()
        if callers_afresh:
            with tables._tx(commit=True) as c:
                c.execute(f"DELETE FROM {tables.callers}")
            self.__dict__.pop("_caller_key_bytes", None)
        self.privacy.sync()
        numbered = indexed = 0
        start = 0
        prefix = office_prefix()
        while True:
            notifications = self.recorder.select_notifications(
                start=start, limit=500, inclusive_of_start=False)
            if not notifications:
                break
            start = notifications[-1].id
            for n in notifications:
                event = self.mapper.to_domain_event(n)
                if not isinstance(event, Petition.Filed):
                    continue
                pid = str(event.originator_id)
                if tables.number_of(pid) is None:
                    tables.allocate(pid, local_year(event.occurred_at), prefix)
                    numbered += 1
                if tables.digests_of_petition(pid):
                    continue
                sealed = event.petitioner
                phone, _ = self.privacy._open("phone", sealed.phone)
                id_number, _ = self.privacy._open("id_number", sealed.id_number)
                callers = self._caller_entries(phone or "", id_number or "")
                if callers:
                    tables.add_callers(callers, sealed.id, pid)
                    indexed += 1
        self._numbers.clear()
        return numbered, indexed

    def caller_petitions(self, *, phone: str | None = None,
                         id_number: str | None = None) -> list[UUID]:
        """Every petition of the caller with this phone and/or ID number (both
        given: either matches), found through the blind index, oldest id first."""
        from petitions.privacy.callers import ID_NUMBER, PHONE, digest

        key = self._caller_key()
        ids: set[str] = set()
        for kind, value in ((PHONE, phone), (ID_NUMBER, id_number)):
            if value is None:
                continue
            found = digest(key, kind, value)
            if found is None:
                raise InvalidInput(kind, "must contain digits", kind="empty")
            ids.update(self.side_tables.petitions_of_digest(found))
        return sorted(UUID(i) for i in ids)

    def related_cases(self, petition_id: UUID | str) -> tuple[RelatedCase, ...]:
        """The same caller's other open cases (by phone or ID number)."""
        pid = self._uuid(petition_id)
        out = []
        for other in self.side_tables.related(str(pid)):
            try:
                p = self._load(UUID(other))
            except PetitionNotFound:
                continue
            if self.workflow_of(p).is_terminal(p.stage):
                continue
            out.append(RelatedCase(id=p.id, number=self.number_of(p.id), stage=p.stage,
                                   title=p.title))
        return tuple(out)

    # ------------------------------------------------------------- commands
    def _load(self, petition_id: UUID) -> Petition:
        pid = self._uuid(petition_id)
        try:
            petition: Any = self.repository.get(pid)
        except AggregateNotFoundError:
            raise PetitionNotFound(petition_id) from None
        if not isinstance(petition, Petition):
            raise PetitionNotFound(petition_id)
        return petition

    def _remember(self, petition: Petition) -> None:
        """Keep ``petition``, just saved, as the cached state of its petition.

        The cache is fast-forwarded from the store on every load, so this is
        only a shortcut: the next command on it need not read back and apply
        the events it has just written.  The service drops its reference, and
        loads hand out copies, so the cached object is never changed again.
        """
        cache = self.repository.cache
        if cache is not None:
            cache.put(petition.id, petition)

    def _uuid(self, value: UUID | str) -> UUID:
        """A petition id from an id or a work-order number (resolved here, for
        every command and query)."""
        if isinstance(value, UUID):
            return value
        text = str(value).strip()
        try:
            return UUID(text)
        except ValueError:
            pass
        if looks_like_number(text):
            found = self.side_tables.petition_of(text)
            if found is None:
                raise PetitionNotFound(text)
            return UUID(found)
        raise InvalidInput("id", f"{value!r} is not a petition id or work-order number",
                           kind="bad_id")

    def _run(self, petition_id: UUID | str, actor: Actor, at: datetime | None,
             expected_version: int | None,
             command: Callable[[Petition, Workflow, datetime], None]) -> PetitionView:
        petition = self._load(self._uuid(petition_id))
        if expected_version is not None and petition.version != expected_version:
            raise ConcurrentUpdate(petition.id, f"expected version {expected_version}, "
                                   f"found {petition.version}")
        wf = self.workflow_of(petition)
        when = self._when(at)
        stage_before = petition.stage
        try:
            command(petition, wf, when)
        except PermissionDenied as exc:
            log.warning("refused: %s (actor %s, petition %s)", exc, actor.id, petition.id)
            raise
        # Entering a stage with a time limit starts its clock, in the same save.
        petition.keep_time(wf, self.timekeeper, actor, when, stage_before)
        try:
            self.save(petition)
        except IntegrityError:
            raise ConcurrentUpdate(petition.id) from None
        self._remember(petition)
        return self._result(petition, wf, actor)

    def accept(self, petition_id: UUID | str, *, actor: Actor, note: str = "",
               at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Accept the appeal for handling (受理)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.accept(wf, actor, t, note))

    def reject(self, petition_id: UUID | str, *, actor: Actor, reason: str, referral: str,
               at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Refuse the appeal with a reason and where to go instead (不予受理并告知)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.reject(wf, actor, t, reason, referral))

    def duplicate(self, petition_id: UUID | str, *, actor: Actor, original_id: UUID | str,
                  note: str = "", at: datetime | None = None,
                  expected_version: int | None = None) -> PetitionView:
        """Mark the petition as a duplicate of ``original_id`` and close it."""
        original = self._load(self._uuid(original_id)).id
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.mark_duplicate(wf, actor, t, original, note))

    def withdraw(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                 at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """The petitioner withdraws the appeal (any time before it is closed)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.withdraw(wf, actor, t, reason))

    def assign(self, petition_id: UUID | str, *, actor: Actor, unit: str, person: str,
               co_units: Sequence[str] = (), note: str = "", at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Dispatch to a lead unit and a responsible person, with co-handling units.
        With a unit register loaded, units are given by code or exact name."""
        unit = self.unit_name(unit)
        co_units = [self.unit_name(u, "co_units") for u in co_units]
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.assign(wf, actor, t, unit, person,
                                                   tuple(co_units), note))

    def transfer(self, petition_id: UUID | str, *, actor: Actor, unit: str, person: str,
                 reason: str, at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Hand the petition to another unit or person."""
        unit = self.unit_name(unit)
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.transfer(wf, actor, t, unit, person, reason))

    def dispute(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """The assigned unit disputes the dispatch; the petition goes back to dispatch."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.dispute(wf, actor, t, reason))

    def open_mediation(self, petition_id: UUID | str, *, actor: Actor, mediator: str,
                       parties: Sequence[str], apprentice: str | None = None,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Open mediation with a mediator, an optional apprentice (老马带小马) and parties."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.open_mediation(wf, actor, t, mediator,
                                                           tuple(parties), apprentice))

    def record_session(self, petition_id: UUID | str, *, actor: Actor, place: str,
                       participants: Sequence[str], minutes: str = "",
                       held_at: datetime | None = None, at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Record a mediation or joint-meeting session (time, place, participants, minutes)."""
        when = self._when(at)
        session = MediationSession(held_at=self._when(held_at) if held_at else when,
                                   place=place, participants=tuple(participants),
                                   minutes=minutes)
        return self._run(petition_id, actor, when, expected_version,
                         lambda p, wf, t: p.record_session(wf, actor, t, session))

    def agree(self, petition_id: UUID | str, *, actor: Actor, terms: str,
              at: datetime | None = None,
              expected_version: int | None = None) -> PetitionView:
        """Mediation reached an agreement on ``terms``."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.agree(wf, actor, t, terms))

    def fail_mediation(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """Mediation failed; handling continues without agreement."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.fail_mediation(wf, actor, t, reason))

    def plan_step(self, petition_id: UUID | str, *, actor: Actor, plan: str, step: str,
                  evidence: str, at: datetime | None = None,
                  expected_version: int | None = None) -> PetitionView:
        """Record the next step of an ordered plan as completed, with evidence."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.plan_step(wf, actor, t, plan, step, evidence))

    def act(self, petition_id: UUID | str, *, actor: Actor, action: str,
            at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Record an action taken to resolve the appeal."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.act(wf, actor, t, action))

    def reply(self, petition_id: UUID | str, *, actor: Actor, outcome: str, text: str,
              at: datetime | None = None, expected_version: int | None = None) -> PetitionView:
        """Give the written reply: ``support`` (支持), ``explain`` (解释说明) or
        ``not_support`` (不予支持)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.reply(wf, actor, t, outcome.replace("-", "_"),
                                                  text))

    def resolve(self, petition_id: UUID | str, *, actor: Actor, summary: str = "",
                at: datetime | None = None,
                expected_version: int | None = None) -> PetitionView:
        """Mark the appeal resolved; it goes to the satisfaction review."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.resolve(wf, actor, t, summary))

    def callback(self, petition_id: UUID | str, *, actor: Actor, contacted: bool,
                 resolved: bool, rating: str | None = None, comment: str = "",
                 at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Record the satisfaction call-back (回访)."""
        code = rating.replace("-", "_") if rating else None
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.callback(wf, actor, t, contacted, resolved,
                                                     code, comment))

    def reopen(self, petition_id: UUID | str, *, actor: Actor, reason: str,
               to: str | None = None, at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Reopen into mediation or resolution after an unsatisfied call-back."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.reopen(wf, actor, t, to, reason))

    def close(  # type: ignore[override]
        self, petition_id: UUID | str | None = None, *, actor: Actor | None = None,
        note: str = "", at: datetime | None = None,
        expected_version: int | None = None,
    ) -> PetitionView | None:
        """Close the petition after its call-back (办结).

        Called without a petition id, closes the service itself (its database
        connections), as eventsourcing's ``Application.close()`` does.
        """
        if petition_id is None:
            super().close()
            return None
        if actor is None:
            raise InvalidInput("actor", "closing a petition needs an actor", kind="empty")
        who = actor
        return self._run(petition_id, who, at, expected_version,
                         lambda p, wf, t: p.close(wf, who, t, note))

    def note(self, petition_id: UUID | str, *, actor: Actor, text: str,
             at: datetime | None = None,
             expected_version: int | None = None) -> PetitionView:
        """Add a note to the record."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.note(wf, actor, t, text))

    def escalate(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                 at: datetime | None = None,
                 expected_version: int | None = None) -> PetitionView:
        """Escalate for supervision (督办)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.escalate(wf, actor, t, reason))

    def extend(self, petition_id: UUID | str, *, actor: Actor, days: int, reason: str,
               approver: str | None = None, at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Extend the deadline by ``days``; ``approver`` defaults to the actor."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.extend(wf, actor, t, days,
                                                   approver or actor.id, reason))

    def pause(self, petition_id: UUID | str, *, actor: Actor, reason: str,
              at: datetime | None = None,
              expected_version: int | None = None) -> PetitionView:
        """Pause the running clock (waiting for the petitioner's materials; a
        hearing).  Allowed to whoever may ``extend`` unless the workflow names
        ``pause`` itself."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.pause(wf, actor, t, reason))

    def resume(self, petition_id: UUID | str, *, actor: Actor, reason: str = "",
               at: datetime | None = None,
               expected_version: int | None = None) -> PetitionView:
        """Resume the paused clock; its deadline moves by the time paused."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.resume(wf, actor, t, reason))

    # ---------------------------------------------------------------- clocks
    @property
    def timekeeper(self) -> Timekeeper:
        """Computes deadlines on the official calendar (:mod:`petitions.deadlines`)."""
        found: Timekeeper | None = self.__dict__.get("_timekeeper")
        if found is None:
            from petitions.deadlines.clock import Timekeeper

            found = Timekeeper()
            self.__dict__["_timekeeper"] = found
        return found

    def sweep(self, now: datetime | None = None, *, actor: Actor | None = None,
              batch: int = 200) -> SweepReport:
        """Record every warning and breach due at ``now`` (default the current
        time), with the escalation (督办) a breached limit asks for.  Finds
        the due petitions through the case index's ``next_due`` index; running
        it twice at the same moment records nothing new."""
        from petitions.deadlines.sweep import sweep

        return sweep(self, self._when(now), actor=actor, batch=batch)

    def on_site_meeting(self, petition_id: UUID | str, *, actor: Actor, place: str,
                        participants: Sequence[str], minutes: str = "",
                        held_at: datetime | None = None, at: datetime | None = None,
                        expected_version: int | None = None) -> PetitionView:
        """Record an on-site office meeting (现场办公): where, who took part, minutes."""
        when = self._when(at)
        held = self._when(held_at) if held_at else when
        return self._run(petition_id, actor, when, expected_version,
                         lambda p, wf, t: p.on_site_meeting(wf, actor, t, held, place,
                                                            tuple(participants), minutes))

    def request_review(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                       at: datetime | None = None,
                       expected_version: int | None = None) -> PetitionView:
        """The petitioner asks for a review (复查) of the written reply, within the
        workflow's window (信访工作条例: 30 days)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.request_review(wf, actor, t, reason))

    def answer_review(self, petition_id: UUID | str, *, actor: Actor, outcome: str,
                      text: str, at: datetime | None = None,
                      expected_version: int | None = None) -> PetitionView:
        """Give the review opinion (复查意见): ``uphold`` (维持) or ``revise`` (变更)."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.answer_review(wf, actor, t, outcome, text))

    def request_rereview(self, petition_id: UUID | str, *, actor: Actor, reason: str,
                         at: datetime | None = None,
                         expected_version: int | None = None) -> PetitionView:
        """The petitioner asks for a re-review (复核) of the review opinion, in time."""
        return self._run(petition_id, actor, at, expected_version,
                         lambda p, wf, t: p.request_rereview(wf, actor, t, reason))

    def answer_rereview(self, petition_id: UUID | str, *, actor: Actor, outcome: str,
                        text: str, at: datetime | None = None,
                        expected_version: int | None = None) -> PetitionView:
        """Give the re-review opinion (复核意见).  The matter is then final: when the
        workflow says so, a repeat filing of the same facts is refused from now on."""
        petition = self._load(self._uuid(petition_id))
        if expected_version is not None and petition.version != expected_version:
            raise ConcurrentUpdate(petition.id, f"expected version {expected_version}, "
                                   f"found {petition.version}")
        wf = self.workflow_of(petition)
        when = self._when(at)
        petition.answer_rereview(wf, actor, when, outcome, text)
        matter: ConcludedMatter | None = None
        if wf.review is not None and wf.review.refuse_repeat_after_rereview:
            key = facts_key(petition.title, petition.description)
            mid = concluded_matter_id(petition.petitioner.id, key)
            if mid in self.repository:
                matter = self.repository.get(mid)
                matter.add(petition.id, actor, when)
            else:
                matter = ConcludedMatter.conclude(
                    actor=actor, occurred_at=when, petitioner_id=petition.petitioner.id,
                    key=key, petition_id=petition.id)
        try:
            self.save(*(a for a in (petition, matter) if a is not None))
        except IntegrityError:
            raise ConcurrentUpdate(petition.id) from None
        self._remember(petition)
        return self._result(petition, wf, actor)

    def _refuse_repeat(self, petitioner_id: str, title: str, description: str) -> None:
        if not isinstance(title, str) or not isinstance(description, str):
            return  # Petition.file names the bad field
        mid = concluded_matter_id(petitioner_id, facts_key(title.strip(), description.strip()))
        if mid in self.repository:
            matter: ConcludedMatter = self.repository.get(mid)
            raise RepeatFiling(tuple(matter.petition_ids))

    # --------------------------------------------------------- unit register
    #: Roles that may load the unit register.
    REGISTER_ROLES: ClassVar[tuple[str, ...]] = ("administrator", "supervisor")

    def load_register(self, path: str | Path, *, actor: Actor,
                      at: datetime | None = None) -> tuple[Register, bool]:
        """Load the unit register (units, people, 包联) from a TOML or CSV file
        (:mod:`petitions.org`), recorded as an event; returns the register and
        whether it changed (loading the same register again records nothing)."""
        from petitions.org import parse_register

        if actor.role not in self.REGISTER_ROLES:
            raise PermissionDenied(actor.role, "org_load", self.REGISTER_ROLES)
        register = parse_register(path)
        when = self._when(at)
        found: Any = None
        if REGISTER_ID in self.repository:
            found = self.repository.get(REGISTER_ID)
        aggregate: UnitRegister = found or UnitRegister.start(actor=actor, occurred_at=when)
        data = register.to_data()
        changed = aggregate.load(actor=actor, occurred_at=when, units=data["units"],
                                 people=data["people"], liaisons=data["liaisons"],
                                 source=Path(path).name, sha256=register.sha256())
        if changed:
            try:
                self.save(aggregate)
            except IntegrityError:
                raise ConcurrentUpdate(REGISTER_ID, "the register was loaded meanwhile") \
                    from None
        self.__dict__.pop("_register_cache", None)
        return register, changed

    def register(self) -> Register | None:
        """The unit register in force (the last one loaded), or None."""
        from petitions.org import register_from_event_data

        if REGISTER_ID not in self.repository:
            return None
        aggregate: Any = self.repository.get(REGISTER_ID)
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
        if not isinstance(unit, str):
            raise InvalidInput(field, "must be text")
        register = self.register()
        if register is None or not unit.strip():
            return unit
        return register.resolve(unit, field).name_zh

    # ------------------------------------------------------------ campaigns
    def open_campaign(self, *, actor: Actor, name: str, location: Location | None = None,
                      description: str = "", at: datetime | None = None) -> UUID:
        """Open a door-to-door campaign (进家入户); file its suggestions with
        ``campaign_id=`` the id returned."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name", "must not be empty", kind="empty")
        campaign = Campaign.open(actor=actor, occurred_at=self._when(at), name=name.strip(),
                                 location=location or Location(),
                                 description=description.strip())
        self.save(campaign)
        return campaign.id

    def _campaign(self, campaign_id: UUID | str) -> Campaign:
        try:
            found: Any = self.repository.get(self._uuid(campaign_id))
        except (AggregateNotFoundError, InvalidInput, PetitionNotFound):
            found = None
        if not isinstance(found, Campaign):
            raise InvalidInput("campaign_id", f"no campaign with id {campaign_id}",
                               kind="unknown_campaign")
        return found

    def campaign_progress(self, campaign_id: UUID | str) -> CampaignProgress:
        """How many petitions the campaign collected, and how many are resolved."""
        campaign = self._campaign(campaign_id)
        resolved = closed_other = still_open = 0
        for pid in campaign.petition_ids:
            petition = self._load(pid)
            if petition.outcome == OUTCOME_RESOLVED:
                resolved += 1
            elif petition.outcome is not None:
                closed_other += 1
            else:
                still_open += 1
        return CampaignProgress(
            id=campaign.id, name=campaign.name, location=campaign.location,
            opened_at=campaign.opened_at, collected=len(campaign.petition_ids),
            resolved=resolved, closed_other=closed_other, open=still_open,
            petition_ids=tuple(campaign.petition_ids))

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
        """
        pid = self._uuid(petition_id)
        if as_of is not None:
            if version is not None:
                raise InvalidInput("as_of", "give a version or a time, not both",
                                   kind="conflict")
            version = self._version_as_of(pid, as_of)
        if version is not None:
            if not isinstance(version, int) or version < 1:
                raise InvalidInput("version", "must be a positive whole number")
            try:
                found: Any = self.repository.get(pid, version=version)
            except AggregateNotFoundError:
                raise PetitionNotFound(petition_id) from None
            if not isinstance(found, Petition):
                raise PetitionNotFound(petition_id)
            petition = found
            if petition.version < version:
                raise InvalidInput("version", f"the petition has only {petition.version} "
                                   "versions", kind="no_such_version")
        else:
            petition = self._load(pid)
        # A past state shows its deadline as it stood then: as of the time asked
        # for, or when that version was recorded.
        then = as_of if as_of is not None else (petition.modified_on if version else None)
        view = self._view(petition, self.workflow_of(petition), viewer, unit, reveal, at=then)
        return attrs.evolve(view, related=self.related_cases(pid))

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
        pid = self._uuid(petition_id)
        found = [e for e in self.events.get(pid) if isinstance(e, Petition.Event)]
        if not found:
            raise PetitionNotFound(petition_id)
        return found

    def history(self, petition_id: UUID | str, *, viewer: Actor | None = None,
                unit: str | None = None, reveal: bool = False) -> tuple[EventView, ...]:
        """Every event of the petition, oldest first: who did what and when, the
        event in words (zh and en), what it changed, and its chain hashes.  The
        petitioner in them is shown as in :meth:`get` (masked, erased or
        withheld as ``viewer`` may see them)."""
        from petitions.audit.replay import history as replay

        pid = self._uuid(petition_id)
        entries = replay(self, pid)
        self.privacy.sync()
        petition = self._load(pid)
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

    def exists(self, petition_id: UUID | str) -> bool:
        return self._uuid(petition_id) in self.repository

    # ----------------------------------------------------------------- feed
    def changes(self, after: int = 0, *, follow: bool = False,
                poll_interval: float = 0.5) -> Iterator[Change]:
        """Petition events after position ``after``, in order, each with its
        position; with ``follow``, keep waiting for new ones (PostgreSQL:
        LISTEN/NOTIFY, SQLite: polling every ``poll_interval`` seconds).
        Resume after a restart with the last position handled."""
        from petitions.feed import changes

        return changes(self, after, follow=follow, poll_interval=poll_interval)

    # ---------------------------------------------------------- read models
    @property
    def views(self) -> ReadModels:
        """The read models (case index, caseloads, campaigns, rates) of this store."""
        found: ReadModels | None = self.__dict__.get("_views")
        if found is None:
            from petitions.readmodels import ReadModels

            found = ReadModels(self)
            self.__dict__["_views"] = found
        return found

    def list_petitions(self, *, text: str | None = None, limit: int | None = 50,
                       offset: int = 0, overdue: bool = False,
                       due_within: timedelta | None = None, phone: str | None = None,
                       id_number: str | None = None,
                       **filters: str | None) -> list[CaseSummary]:
        """Petitions from the case index, newest first, filtered by ``status``,
        ``stage``, ``workflow``, ``street``, ``community``, ``grid``, ``unit``,
        ``assignee``, ``mediator``, ``category``, ``channel``, ``campaign``,
        ``outcome``, ``kind``, and ``text`` (in title or description); with
        ``phone`` / ``id_number``, every case of that caller (blind index, no
        clear text stored); with ``overdue`` and/or ``due_within``, those whose
        deadline has passed or falls within that time, soonest first."""
        if phone is not None or id_number is not None:
            ids = [str(i) for i in self.caller_petitions(phone=phone, id_number=id_number)]
            return self.views.cases(text=text, limit=limit, offset=offset, ids=ids, **filters)
        if overdue or due_within is not None:
            return self.views.cases_by_deadline(overdue=overdue, due_within=due_within,
                                                now=self.clock(), text=text, limit=limit,
                                                offset=offset, **filters)
        return self.views.cases(text=text, limit=limit, offset=offset, **filters)

    def search(self, text: str, *, limit: int | None = 50,
               **filters: str | None) -> list[CaseSummary]:
        """Petitions whose title or description contains ``text`` (Chinese too)."""
        return self.views.cases(text=text, limit=limit, offset=0, **filters)

    def stats(self, by: str = "street", *, date_from: str | None = None,
              date_to: str | None = None, rollup: bool = True) -> list[RateGroup]:
        """Response, resolution and satisfaction rates per ``by`` group.  By
        unit, with a register loaded and ``rollup``, each unit also counts the
        cases of the units below it (a street its communities' and grids')."""
        register = self.register() if by == "unit" and rollup else None
        return self.views.stats(by, date_from, date_to,
                                rollup=register.rollup_names if register else None)

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
        for unit, is_open, n in self.views.unit_counts():
            for name in (register.rollup_names(unit) if register else [unit]):
                t = totals.setdefault(name, [0, 0])
                t[0 if is_open else 1] += n
        return sorted(((u, o, c) for u, (o, c) in totals.items()),
                      key=lambda r: (-r[1], r[0]))


__all__ = ["PetitionError", "PetitionService", "retry_on_conflict"]
