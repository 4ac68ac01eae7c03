"""Filing a petition: the one command that creates one (idempotent, sealed, pinned).

A new petition is filed under the current version of its workflow (which is
kept in the store the first time it is used, so the petition can always be
read under it), its petitioner's personal fields sealed before they reach the
domain, the clock of its first stage started, and — when it was collected by
a door-to-door campaign — counted by the campaign, all in one transaction.

:func:`prepare_filing` decides a filing without saving it; :func:`file_petition`
saves one, :func:`file_petitions` many in one transaction (the bulk import).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from petitions.core import Store, as_id
from petitions.domain.campaign import Campaign
from petitions.domain.filing import Checked
from petitions.domain.filing import Filing as Filing  # re-exported for the service
from petitions.domain.finality import (
    ConcludedMatter,
    PetitionerMatters,
    concluded_matter_id,
    facts_key,
    normalised_facts,
    petitioner_matters_id,
)
from petitions.domain.petition import Petition, petition_id_for
from petitions.domain.values import Petitioner
from petitions.errors import (
    ConcurrentUpdate,
    InvalidInput,
    PetitionError,
    RepeatFiling,
)
from petitions.privacy.core import FILING_DRAW, NewKey, Privacy
from petitions.recorders import ALSO_WRITE, writes_alongside
from petitions.sidetables import Write, filing_writes, office_prefix
from petitions.taxonomy import Taxonomy, taxonomy
from workflows import Workflow

if TYPE_CHECKING:
    from datetime import datetime

    from petitions.bulkfiling import Handed
    from petitions.domain.definitions import WorkflowDefinition


def campaign_of(store: Store, campaign_id: UUID | str) -> Campaign:
    """The campaign with that id, or :class:`InvalidInput` naming ``campaign_id``."""
    try:
        found = store.find(as_id(campaign_id, "campaign_id"))
    except InvalidInput:
        found = None
    if not isinstance(found, Campaign):
        raise InvalidInput("campaign_id", f"no campaign with id {campaign_id}",
                           kind="unknown_campaign")
    return found


def refuse_repeat(store: Store, petitioner_id: str, title: str, description: str) -> None:
    """Refuse a filing of facts whose re-review (复核) is concluded."""
    if not isinstance(title, str) or not isinstance(description, str):
        return  # Petition.file names the bad field
    found = store.find(concluded_matter_id(petitioner_id,
                                           facts_key(title.strip(), description.strip())))
    if isinstance(found, ConcludedMatter):
        raise RepeatFiling(tuple(found.petition_ids))


def similar_concluded(store: Store, petitioner_id: str, title: str,
                      description: str) -> tuple[UUID, ...]:
    """The petitions of ``petitioner_id`` concluded by re-review whose facts are
    similar to these (a warning: only the same matter is refused)."""
    found = store.find(petitioner_matters_id(petitioner_id))
    if not isinstance(found, PetitionerMatters):
        return ()
    return found.similar(normalised_facts(title.strip(), description.strip()))


#: The 信访 matter type (信访事项类型) a request type implies when none is given:
#: a report (举报) is 检举控告 — so whistle-blower confidentiality holds for it —
#: a suggestion (建议) 建议意见, anything else 申诉求决.
IMPLIED_MATTER_TYPES = {"report": "report", "suggestion": "suggestion"}


def implied_matter_type(wf: Workflow, request_type: str | None) -> str:
    """The matter type of a filing that names none: the one its request type
    implies, when the workflow takes it; else ``claim``, else the workflow's first."""
    code = request_type if isinstance(request_type, str) else wf.default_type
    found = IMPLIED_MATTER_TYPES.get(code, "claim")
    if wf.matter_types and found not in wf.matter_types:
        found = "claim" if "claim" in wf.matter_types else wf.matter_types[0]
    return found


@attrs.define
class Prepared:
    """A filing decided but not saved: the aggregates to save, the rows to
    write in their transaction, and what to do once it committed."""

    petition: Petition
    petitioner: Petitioner  # with its id (minted when it had none)
    minted: bool
    definition: WorkflowDefinition | None
    campaign: Campaign | None
    writes: list[Write]
    committed: Callable[[bool], None]
    new_key: NewKey | None

    @property
    def petition_id(self) -> UUID:
        return self.petition.id

    @property
    def filed_at(self) -> datetime:
        return self.petition.filed_at

    def aggregates(self) -> list[Aggregate]:
        return [a for a in (self.definition, self.petition, self.campaign) if a is not None]

    def kept(self, store: Store, alongside: bool) -> None:
        """The transaction committed: keep the key, numbers and cached state."""
        if self.definition is not None:
            store.stored_hashes.add(self.definition.sha256)
        if self.new_key is not None:
            self.new_key.kept()
        self.committed(alongside)
        store.remember(self.petition)


def mint_petitioner_id(drawn: bytes | None = None) -> str:
    """The id given to a petitioner filed without one: a random (version 4)
    UUID's 32 hex digits, as ``uuid4().hex`` gives them (made from its 16
    random bytes directly: a bulk import mints one per filing).  ``drawn``:
    16 bytes of the operating system's CSPRNG drawn by the caller for this id
    only (None: drawn now)."""
    if drawn is None:
        drawn = os.urandom(16)
    elif len(drawn) != 16:
        raise ValueError("a petitioner id is made of 16 random bytes")
    raw = bytearray(drawn)
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def filing_workflow(store: Store, filing: Filing,
                    tax: Taxonomy | None = None) -> tuple[Workflow, str]:
    """The workflow a filing is filed under and its matter type (implied when
    none is given), its category, channel and matter type checked against the
    taxonomy (``tax``: the one in force, read by the caller once for many
    filings): the first checks of every filing, on either path."""
    if tax is None:
        tax = taxonomy()
    tax.check("categories", filing.category)
    tax.check("channels", filing.channel)
    wf = store.workflow(filing.workflow)
    matter_type = filing.matter_type
    if matter_type is None:
        matter_type = implied_matter_type(wf, filing.request_type)
    tax.check("matter_types", matter_type)
    return wf, matter_type


def prepare_filing(store: Store, privacy: Privacy, filing: Filing) -> Prepared:
    """Decide a filing (every check :func:`file_petition` makes) without saving it."""
    petitioner, title, description = filing.petitioner, filing.title, filing.description
    wf, matter_type = filing_workflow(store, filing)
    minted = not petitioner.id
    alongside = writes_alongside(store.recorder)
    drawn: bytes | None = None
    if minted:
        # As the bulk path draws them (bulkfiling.BulkFiler.decide): a new
        # petitioner's random bytes in one draw — their id's 16, then (their
        # key stored with the events) their key's and their fields' nonces.
        drawn = os.urandom(16 + FILING_DRAW if alongside else 16)
        petitioner = attrs.evolve(petitioner, id=mint_petitioner_id(drawn[:16]))
    else:
        refuse_repeat(store, petitioner.id, title, description)
    campaign_id, actor, channel = filing.campaign_id, filing.actor, filing.channel
    campaign = campaign_of(store, campaign_id) if campaign_id is not None else None
    occurred_at = store.when(filing.at)
    # Personal fields are sealed before they reach the domain.  A new
    # petitioner's key is stored with the events of the filing, when the
    # store can write it in their transaction (both shipped backends can).
    new_key: NewKey | None = None
    if alongside:
        sealed, new_key = privacy.seal_for_filing(
            petitioner, new=minted, drawn=None if drawn is None else drawn[16:])
    else:
        sealed = privacy.seal_petitioner(petitioner)
    petition = Petition.file(
        wf, actor=actor, occurred_at=occurred_at, petitioner=sealed,
        channel=channel, category=filing.category, title=title, description=description,
        location=filing.location, matter_type=matter_type,
        idempotency_key=filing.idempotency_key, campaign_id=campaign_id,
        source=filing.source, request_type=filing.request_type, urgency=filing.urgency,
        anonymous=filing.anonymous,
    )
    petition.keep_time(wf, lambda: store.timekeeper, actor, occurred_at, None, "file")
    if wf.channels_accepted_on_filing and channel in wf.channels_accepted_on_filing:
        petition.accept(wf, actor, occurred_at, note="accepted on filing (device channel)")
        petition.keep_time(wf, lambda: store.timekeeper, actor, occurred_at, wf.initial,
                           "accept")
    if campaign is not None:
        campaign.collect(petition.id, actor, occurred_at)
    # A petitioner whose id was made just now has no concluded matters.
    similar = () if minted else similar_concluded(store, petitioner.id, title, description)
    if similar:
        # The same matter was refused above; a similar one only warns.
        petition.trigger_event(Petition.SimilarToConcluded, actor=actor,
                               occurred_at=occurred_at, petition_ids=list(similar))
    definition = store.definition_to_keep(wf)
    # The work-order number and the caller index are written in the filing's
    # own transaction (both shipped backends can), else just after.
    writes, committed = filing_writes(store, privacy, petition.id, petitioner, occurred_at)
    if new_key is not None:
        writes.insert(0, new_key.write)
    return Prepared(petition, petitioner, minted, definition, campaign, writes, committed,
                    new_key)


def file_petition(store: Store, privacy: Privacy, filing: Filing) -> UUID:
    """File a petition and return its id (see
    :meth:`petitions.service.PetitionService.file`)."""
    key = filing.idempotency_key
    if key:
        existing = petition_id_for(key.strip())
        if store.exists(existing):
            return existing
    prepared = prepare_filing(store, privacy, filing)
    petition, definition = prepared.petition, prepared.definition
    campaign, new_key = prepared.campaign, prepared.new_key
    petitioner = prepared.petitioner
    alongside = writes_alongside(store.recorder)

    def again() -> UUID:  # the failed save collected the pending events
        # The same filing at the same time (a petitioner id minted for it is
        # minted again: nothing of it was stored).
        return file_petition(store, privacy,
                             attrs.evolve(filing, at=prepared.petition.filed_at))

    try:
        store.save(*prepared.aggregates(),
                   **({ALSO_WRITE: prepared.writes} if alongside else {}))
    except IntegrityError:
        if key and store.exists(petition.id):
            return petition.id
        if definition is not None:
            # Another writer stored the same definition first: file again,
            # without it.
            store.stored_hashes.add(definition.sha256)
            return again()
        if new_key is not None and not prepared.minted and privacy.has_live_key(petitioner.id):
            # Another filing stored this petitioner's first data key
            # meanwhile (ours was refused with the events): file again,
            # sealed under that key.
            return again()
        if campaign is not None:
            raise ConcurrentUpdate(campaign.id, "the campaign collected another "
                                   "petition at the same time") from None
        raise ConcurrentUpdate(petition.id, "id already taken") from None
    prepared.kept(store, alongside)
    return petition.id


def _key_of(item: Filing | Checked | Mapping[str, Any]) -> str:
    if isinstance(item, Checked):
        item = item.filing
    key = item.idempotency_key if isinstance(item, Filing) else item.get("idempotency_key")
    return str(key or "").strip()


def file_petitions(store: Store, privacy: Privacy,
                   filings: Sequence[Filing | Checked | Mapping[str, Any] | Handed],
                   ) -> list[tuple[UUID, bool] | PetitionError]:
    """File many petitions (see :func:`_file_petitions`); a run of
    :class:`~petitions.bulkfiling.Handed` filings (decided by an import's
    worker process) is written by :func:`file_handed`, in its place: its
    transactions after those of the filings before it, before the next's."""
    from petitions.bulkfiling import Handed

    if not any(type(f) is Handed for f in filings):
        return _file_petitions(store, privacy, cast(
            "Sequence[Filing | Checked | Mapping[str, Any]]", filings))
    out: list[tuple[UUID, bool] | PetitionError] = []
    start = 0
    while start < len(filings):
        handed = type(filings[start]) is Handed
        end = start + 1
        while end < len(filings) and (type(filings[end]) is Handed) is handed:
            end += 1
        run = filings[start:end]
        found = (file_handed(store, privacy, cast("Sequence[Handed]", run)) if handed
                 else _file_petitions(store, privacy, cast(
                     "Sequence[Filing | Checked | Mapping[str, Any]]", run)))
        out.extend(found)
        if len(found) < len(run) or (found and isinstance(found[-1], PetitionError)):
            break  # refused there: the rest is the caller's to file again, or not
        start = end
    return out


def file_handed(store: Store, privacy: Privacy, handed: Sequence[Handed],
                ) -> list[tuple[UUID, bool] | PetitionError]:
    """File the filings an import's worker decided (:class:`~petitions.bulkfiling.Handover`)
    as :func:`_file_petitions` files them, from the rows they were handed
    over as: here, in the transaction, only what depends on the database —
    which are present already (by their ids: written nothing), whether the
    workflow text each was decided under is the store's current one (if not,
    all are filed as the general path files them) and must be stored (before
    the events filed under it: a new transaction from there), the
    work-order numbers (counted in the transaction, in order).  Should the
    transaction fail (another writer filed one of them, say), each is filed
    again on its own with :func:`file_petition`."""
    from petitions.audit.chain import ENCODED, EncodedRows
    from petitions.bulkfiling import BulkFiler, Handover
    from petitions.sidetables import remember_number, side_key, side_tables, write_callers
    from petitions.sidetables import write_numbers as number_rows

    def otherwise() -> list[tuple[UUID, bool] | PetitionError]:
        return _file_petitions(store, privacy, [h.value() for h in handed])

    if not writes_alongside(store.recorder) or BulkFiler.of(store, privacy) is None:
        return otherwise()
    ids = [h.petition_id for h in handed]
    present = store.existing(ids)
    out: list[tuple[UUID, bool] | PetitionError] = []
    kept: list[int] = []  # the positions of those filed now
    seen: set[UUID] = set()
    for i, pid in enumerate(ids):
        if pid in present or pid in seen:
            out.append((pid, False))
            continue
        seen.add(pid)
        kept.append(i)
        out.append((pid, True))
    if not kept:
        return out
    # The workflows: each one's text stored with (before) the first filing under it.
    checked: set[tuple[str, str]] = set()
    segments: list[tuple[int, list[WorkflowDefinition]]] = [(0, [])]
    for at, i in enumerate(kept):
        item = handed[i]
        pair = item.handover.workflows[item.index]
        if pair in checked:
            continue
        checked.add(pair)
        wf = store.workflow(pair[0])
        if wf.sha256 != pair[1]:  # decided under another text: decided again here
            return otherwise()
        definition = store.definition_to_keep(wf)
        if definition is not None:
            if at > segments[-1][0]:
                segments.append((at, []))
            segments[-1][1].append(definition)
    try:
        prefix = office_prefix()
    except PetitionError as exc:  # refuses the first to file, as _file_petitions does
        return [*out[:kept[0]], exc]
    tables = side_tables(store)
    tables.create()
    keys = privacy.keyring
    keys.ready()
    mac_key = side_key(keys.master)
    bounds = [b for b, _ in segments[1:]] + [len(kept)]
    for (begin, definitions), end in zip(segments, bounds, strict=True):
        part = kept[begin:end]
        rows: list[tuple[str, int, str, bytes]] = []
        heads: dict[str, tuple[int, str]] = {}
        key_rows: list[tuple[Any, ...]] = []
        callers: list[tuple[str, str, str, str]] = []
        members: list[tuple[str, int, str, bytes | None, bool]] = []
        # In runs of consecutive filings of one handover (most often all of
        # it): their rows taken as slices.
        runs: list[tuple[Handover, int, int]] = []
        for i in part:
            item = handed[i]
            if runs and runs[-1][0] is item.handover and runs[-1][2] == item.index:
                runs[-1] = (item.handover, runs[-1][1], item.index + 1)
            else:
                runs.append((item.handover, item.index, item.index + 1))
        for handover, first, stop in runs:
            ends, caller_ends = handover.ends, handover.caller_ends
            rows += handover.events[ends[first - 1] if first else 0:ends[stop - 1]]
            heads.update(zip(handover.ids[first:stop], handover.heads[first:stop],
                             strict=True))
            key_rows += [r for r in handover.key_rows[first:stop] if r is not None]
            edges = caller_ends[first - 1:stop] if first else [0, *caller_ends[:stop]]
            callers += handover.callers[edges[0]:edges[-1]]
            members += [(name, year, prefix, mac_key, after > before)
                        for name, year, before, after in zip(
                            handover.names[first:stop], handover.years[first:stop],
                            edges, edges[1:], strict=False)]
        numbers: list[str] = []

        def write_keys(cursor: Any, rows: list[tuple[Any, ...]] = key_rows) -> None:
            if rows:
                keys.table.insert_rows(cursor, rows)

        def write_orders(cursor: Any, members: list[Any] = members,
                         numbers: list[str] = numbers) -> None:
            numbers[:] = number_rows(cursor, tables, members)

        def write_index(cursor: Any, rows: list[tuple[str, str, str, str]] = callers) -> None:
            write_callers(cursor, tables, rows)

        try:
            store.save(*definitions, **{ALSO_WRITE: [write_keys, write_orders, write_index],
                                        ENCODED: EncodedRows(rows, heads)})
        except IntegrityError:
            # The failed save collected the pending events: each again on its own.
            for i in part:
                try:
                    # At the time decided (a minted petitioner id is minted again).
                    file_petition(store, privacy,
                                  attrs.evolve(handed[i].value(), at=handed[i].filed_at))
                except PetitionError as exc:
                    out[i] = exc
        else:
            for definition in definitions:
                store.stored_hashes.add(definition.sha256)
            for i, number in zip(part, numbers, strict=True):
                remember_number(store, ids[i], number)
    return out


def _file_petitions(store: Store, privacy: Privacy,
                    filings: Sequence[Filing | Checked | Mapping[str, Any]],
                    ) -> list[tuple[UUID, bool] | PetitionError]:
    """File many petitions (each a :class:`Filing`, a :class:`Checked` one —
    not checked again by the bulk path under the same workflow text —, or the
    keyword arguments of one, an ``idempotency_key`` each), in order, in as few transactions as they
    allow: all of them in one ``save`` — their events, numbers, caller index
    rows and new keys commit together or not at all.

    Returns one item per filing handled: its id and whether it was filed now
    (``False``: already present by its key), or the error that refused it; filing stops at the first
    refused one (the last item then), the ones before it are filed (a filing
    refused only when filed again on its own, below, has its error in its
    place).  A
    filing sharing a petitioner id, a campaign or a key with an earlier one
    of the same call starts a new transaction (their keys and tallies are
    taken in order).  Should the transaction fail (another writer filed one
    of them, stored the workflow text or a first key meanwhile), each is
    filed again on its own with :func:`file_petition`, which knows how.

    A filing of a new petitioner (no id given) outside a campaign is decided
    and encoded by the bulk path (:mod:`petitions.bulkfiling`: the same checks
    and the same stored rows, without aggregate objects); the others as
    :func:`file_petition` decides them.  Their events are stored in file
    order: a filing of the general path after bulk ones starts a new
    transaction.  (Filings an import's worker decided are written by
    :func:`file_handed`.)
    """
    from petitions.audit.chain import ENCODED
    from petitions.bulkfiling import BulkFiler, BulkPrepared, encoded_of

    out: list[tuple[UUID, bool] | PetitionError] = []
    batch: list[Prepared | BulkPrepared] = []
    # The batch's filings (each at its time: ``batch``).
    filed: list[Filing] = []
    positions: list[int] = []  # where each of the batch is in ``out``
    seen: set[Any] = set()  # ids, petitioner ids and campaigns of this transaction
    handled: set[UUID] = set()  # ids filed by this call
    definitions: set[str] = set()
    alongside = writes_alongside(store.recorder)
    bulk = BulkFiler.of(store, privacy) if alongside else None
    encoding = False  # whether the batch holds filings of the bulk path
    # The taxonomy and office prefix in force, read (from the environment)
    # at the first filing that needs them, then kept for the call.
    tax: Taxonomy | None = None
    prefix: str | None = None

    def flush() -> None:
        nonlocal encoding
        if not batch:
            return
        kwargs: dict[str, Any] = {}
        if alongside:
            kwargs[ALSO_WRITE] = [w for p in batch for w in p.writes]
        if encoding:
            kwargs[ENCODED] = encoded_of(store.recorder, [
                p for p in batch if isinstance(p, BulkPrepared)])
        try:
            store.save(*(a for p in batch for a in p.aggregates()), **kwargs)
        except IntegrityError:
            # The failed save collected the pending events: each again on its own.
            for again, p, at in zip(filed, batch, positions, strict=True):
                try:
                    # At the time decided (a minted petitioner id is minted again).
                    file_petition(store, privacy, attrs.evolve(again, at=p.filed_at))
                except PetitionError as exc:  # e.g. a campaign updated meanwhile
                    out[at] = exc
        else:
            for p in batch:
                p.kept(store, alongside)
        batch.clear()
        filed.clear()
        positions.clear()
        seen.clear()
        definitions.clear()
        encoding = False

    keys = [_key_of(item) for item in filings]
    ids = [petition_id_for(key) if key else None for key in keys]
    present = store.existing([i for i in ids if i is not None])
    for item, pid in zip(filings, ids, strict=True):
        if pid is not None and (pid in handled or pid in present):
            if pid in seen:
                flush()  # the same key earlier in this transaction: file that first
            out.append((pid, False))
            continue
        shared: list[tuple[str, object]] = []  # (none for a new petitioner's filing)
        prepared: Prepared | BulkPrepared | None = None
        try:
            checked = item if isinstance(item, Checked) else None
            filing = (item.filing if isinstance(item, Checked)
                      else item if isinstance(item, Filing) else Filing(**item))
            petitioner_id = filing.petitioner.id
            if petitioner_id:
                shared.append(("p", petitioner_id))
            if filing.campaign_id is not None:
                shared.append(("c", filing.campaign_id))
            if (shared and not seen.isdisjoint(shared)) or not alongside:
                flush()
            if bulk is not None and bulk.takes(filing):
                if tax is None:
                    tax = taxonomy()
                if prefix is None:
                    prefix = office_prefix()
                wf, matter_type = filing_workflow(store, filing, tax)
                prepared = bulk.prepare(filing, wf, matter_type, mint_petitioner_id,
                                        definitions, prefix=prefix, checked=checked)
            if prepared is not None and prepared.definition is not None and batch:
                # The workflow's text is stored before the events filed
                # under it, and the encoded events after the batch's
                # aggregates': a new transaction keeps the file order.
                flush()
            if prepared is None:
                if encoding:
                    flush()  # its events after the bulk ones' (file order)
                prepared = prepare_filing(store, privacy, filing)
        except PetitionError as exc:
            flush()
            out.append(exc)
            return out
        if isinstance(prepared, BulkPrepared):
            encoding = True
        if prepared.definition is not None:
            if prepared.definition.sha256 in definitions:
                prepared.definition = None  # already in this transaction
            else:
                definitions.add(prepared.definition.sha256)
        batch.append(prepared)
        filed.append(filing)
        positions.append(len(out))
        if shared:
            seen.update(shared)
        seen.add(pid if pid is not None else prepared.petition_id)
        handled.add(prepared.petition_id)
        out.append((prepared.petition_id, True))
    flush()
    return out
