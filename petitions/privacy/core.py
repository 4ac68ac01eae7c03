"""The privacy layer of the petitions store (:class:`petitions.core.Store`).

``service.privacy`` seals a petitioner's personal fields before they reach the
domain, renders them for a viewer (masked, revealed, erased or hidden),
records reveals, and erases (crypto-shreds) a petitioner's data.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from petitions.domain.values import Actor, Person, Petitioner
from petitions.errors import InvalidInput, PermissionDenied
from petitions.logs import get_logger
from petitions.persistence import is_postgres
from petitions.privacy.errors import AlreadyErased, PetitionerNotFound
from petitions.privacy.keys import (
    KEY_DRAW,
    Keyring,
    KeyRow,
    KeyTable,
    MasterKey,
    load_master_key,
)
from petitions.privacy.policy import PrivacyPolicy, privacy_policy
from petitions.privacy.render import (
    PersonView,
    PetitionerView,
    mask_email,
    mask_id_number,
    mask_phone,
)
from petitions.privacy.sealing import NONCE_BYTES, Sealed, seal, seal_fields, unseal
from workflows.records import asdict, evolve, frozen

if TYPE_CHECKING:
    from pathlib import Path

    from petitions.core import Store
    from petitions.privacy.ledger import PrivacyRecord

log = get_logger("petitions.privacy")

#: The personal fields of a petitioner, and of each representative.
PETITIONER_FIELDS = ("name", "phone", "id_number", "address", "email")
PERSON_FIELDS = ("name", "phone", "id_number")


@frozen
class Erasure:
    """What an erasure did."""

    petitioner_id: str
    keys_destroyed: int
    legal_basis: str
    actor: Actor
    erased_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"petitioner_id": self.petitioner_id, "keys_destroyed": self.keys_destroyed,
                "legal_basis": self.legal_basis, "actor": self.actor.id,
                "role": self.actor.role, "erased_at": self.erased_at.isoformat()}


@frozen
class KeyStatus:
    """The key table at a glance (nothing secret)."""

    master_source: str
    master_fingerprint: str
    live_keys: int
    erased_keys: int
    #: Set when the master key file lies in the database's folder: a backup of
    #: the folder then carries both, and the encryption protects nothing.
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NewKey:
    """A new petitioner's data key, to be stored with the events of their filing
    (a plain class: one is made per filing of a bulk import)."""

    __slots__ = ("key", "keyring", "row", "write")

    def __init__(self, row: KeyRow, key: AESGCM, keyring: Keyring,
                 write: Callable[[Any], None]) -> None:
        self.row, self.key, self.keyring = row, key, keyring
        #: Writes the key with the cursor of the events' transaction.
        self.write = write

    def kept(self) -> None:
        """The transaction committed: use the key from now on."""
        self.keyring.remember(self.row, self.key)


def key_beside_database(url: str, source: str) -> str | None:
    """A warning when the master key file (``source``: ``"file PATH"`` or
    ``"created PATH"``) lies in the same folder as the SQLite database ``url``."""
    if is_postgres(url) or url == ":memory:":
        return None
    kind, _, where = source.partition(" ")
    if kind not in ("file", "created") or not where:
        return None
    db = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    from pathlib import Path

    if Path(where).resolve().parent != Path(db).resolve().parent:
        return None
    return (f"the master key file {where} lies beside the database: a copy or backup of the "
            "folder carries both, so the encryption protects nothing. Move it elsewhere "
            "and set PETITIONS_MASTER_KEY_FILE (see README, Personal data)")


#: The petitioner's fields sealed on filing (besides their representatives').
_SEALED_FIELDS = ("name", "phone", "id_number", "address", "email")
#: The random bytes :meth:`Privacy.seal_for_filing` takes for a new
#: petitioner: their key's, then a nonce for each field it may seal.
FILING_DRAW = KEY_DRAW + NONCE_BYTES * len(_SEALED_FIELDS)


def _seal_or_empty(key: AESGCM, key_id: str, field: str, value: str) -> str:
    if not value:
        return ""  # as seal() makes of it: empty stays empty
    return seal(key, key_id, field, value.strip() if isinstance(value, str) else value)


class Privacy:
    """Sealing, rendering, reveal auditing and erasure for one store."""

    def __init__(self, store: Store, policy: PrivacyPolicy | None = None, *,
                 master: MasterKey | None = None) -> None:
        """``master``: the master key to use (an import's worker process is
        given its writer's); else the one configured for the store's URL."""
        self.store = store
        self.policy = policy or privacy_policy()
        datastore = store.recorder.datastore  # type: ignore[attr-defined]
        url = store.url
        self.keyring = Keyring(KeyTable(datastore, postgres=is_postgres(url)),
                               (lambda: master) if master is not None
                               else (lambda: load_master_key(url)))
        # The work-order rows are authenticated under the master key in use.
        from petitions.sidetables import side_tables

        side_tables(store).master_source = self.keyring.loaded_master

    # ------------------------------------------------------------ sealing
    def seal_petitioner(self, petitioner: Petitioner) -> Petitioner:
        """``petitioner`` with every personal field sealed under their data key
        (made and stored now, in a transaction of its own, if they have none)."""
        if not petitioner.id:
            raise InvalidInput("petitioner.id", "is needed to seal personal data")
        self.keyring.sync()  # an erased petitioner's old key must not be reused
        key_id, key = self.keyring.for_sealing(petitioner.id)
        return self._sealed(petitioner, key_id, key)

    def seal_for_filing(self, petitioner: Petitioner, *, new: bool = False,
                        petitioner_id: str | None = None, drawn: bytes | None = None,
                        ) -> tuple[Petitioner, NewKey | None]:
        """``petitioner`` sealed under their live data key, or, when they have
        none yet (always when ``new``: their id was made just now), under a new
        key that is not stored yet.  Store that one in the same transaction as
        the events holding the sealed data (``save(..., also_write=[new_key.write])``),
        then call :meth:`NewKey.kept`: if the transaction fails, no key is left
        behind.  Its write is a plain insert: should another filing have stored
        a first key for the same petitioner meanwhile, the transaction fails
        (``IntegrityError``) and the filing is to be made again, under that key.

        ``petitioner_id``: the id to give the sealed petitioner (one minted
        just now for a petitioner without one), set in the same copy as the
        sealed fields.  ``drawn``: with ``new``, :data:`FILING_DRAW` bytes of
        the operating system's CSPRNG drawn by the caller for this filing only:
        the new key's (:meth:`Keyring.new_key`), then a nonce per field (None:
        drawn here).  A bulk filing draws them with the petitioner's id, in
        one system call."""
        pid = petitioner.id if petitioner_id is None else petitioner_id
        if not pid:
            raise InvalidInput("petitioner.id", "is needed to seal personal data")
        if not new:
            self.keyring.sync()  # an erased petitioner's old key must not be reused
            found = self.keyring.live_key(pid)
            if found is not None:
                return self._sealed(petitioner, *found, petitioner_id), None
        if drawn is None:
            drawn = os.urandom(FILING_DRAW)
        elif len(drawn) != FILING_DRAW:
            raise ValueError(f"a new petitioner's key and fields take {FILING_DRAW} "
                             "random bytes")
        row, key = self.keyring.new_key(pid, drawn[:KEY_DRAW])
        new_key = NewKey(row, key, self.keyring, self.keyring.table.writer(row))
        return self._sealed(petitioner, row.key_id, key, petitioner_id,
                            drawn[KEY_DRAW:]), new_key

    def has_live_key(self, petitioner_id: str) -> bool:
        """Whether the store holds a live data key for ``petitioner_id`` now."""
        return self.keyring.table.live(petitioner_id) is not None

    @staticmethod
    def _sealed(petitioner: Petitioner, key_id: str, key: AESGCM,
                petitioner_id: str | None = None, nonces: bytes | None = None,
                ) -> Petitioner:
        # One copy of the petitioner, with only its non-empty fields sealed
        # (an empty one stays empty, as seal() makes of it) and the id given.
        # Every field is sealed with its own random nonce (seal()), under the
        # petitioner's own key: nothing is shared between fields or filings.
        # ``nonces``: a nonce's bytes per sealed field, in field order, drawn
        # by the caller for this petitioner (None: drawn here).
        changes: dict[str, Any] = {}
        if petitioner_id is not None:
            changes["id"] = petitioner_id
        present: list[tuple[str, str]] = []
        for name in _SEALED_FIELDS:
            value = getattr(petitioner, name)
            if value:
                present.append((name, value.strip() if isinstance(value, str) else value))
            elif value != "":
                changes[name] = ""  # as seal() makes of any empty value
        if present:
            # The fields' nonces in one draw of the operating system's CSPRNG
            # (the bytes separate draws would give: a different nonce per field).
            if nonces is None:
                nonces = os.urandom(NONCE_BYTES * len(present))
            elif len(nonces) < NONCE_BYTES * len(present):
                raise ValueError(f"{len(present)} fields take {len(present)} nonces")
            for (name, _), sealed in zip(present, seal_fields(key, key_id, present, nonces),
                                         strict=True):
                changes[name] = sealed
        if petitioner.representatives:
            changes["representatives"] = tuple(
                Person(name=_seal_or_empty(key, key_id, f"representatives.{i}.name", r.name),
                       phone=_seal_or_empty(key, key_id, f"representatives.{i}.phone",
                                            r.phone),
                       id_number=_seal_or_empty(key, key_id,
                                                f"representatives.{i}.id_number",
                                                r.id_number))
                for i, r in enumerate(petitioner.representatives))
        return evolve(petitioner, **changes) if changes else petitioner

    def open_field(self, field: str, value: str) -> str | None:
        """The clear text of one sealed field (None when erased or sealed); for
        internal indexes (the caller index), never shown."""
        return self._open(field, value)[0]

    def open_checked(self, field: str, value: str) -> tuple[str | None, str | None]:
        """The clear text of one sealed field and why it is None (``"erased"``,
        ``"sealed"``); for checking the caller index (``audit verify``)."""
        return self._open(field, value)

    def _open(self, field: str, value: str) -> tuple[str | None, str | None]:
        """(clear value or None, why not: ``"erased"``, ``"sealed"`` — the key is
        not available here, or the value does not open — or None)."""
        sealed = Sealed.parse(value)
        if sealed is None:
            return value, None  # empty, or stored before encryption
        key = self.keyring.for_opening(sealed.key_id)
        if key is None:
            return None, "erased" if self.keyring.is_erased(sealed.key_id) else "sealed"
        clear = unseal(key, sealed, field)
        if clear is None:
            log.warning("a sealed %s does not open with its key %s", field, sealed.key_id)
            return None, "sealed"
        return clear, None

    # ---------------------------------------------------------- rendering
    def render(self, petitioner: Petitioner, *, matter_type: str, lead_unit: str | None,
               viewer: Actor | None = None, unit: str | None = None,
               reveal: bool = False) -> PetitionerView:
        """The petitioner as ``viewer`` (of ``unit``) may see them.

        Raises :class:`PermissionDenied` when ``reveal`` is asked by a role
        that may not reveal, or on a confidential petition the viewer may not
        see.  Call :meth:`sync` first (the service does).
        """
        confidential = self.policy.is_confidential(matter_type)
        visible = (not confidential
                   or self.policy.may_see_confidential(viewer, unit, lead_unit))
        if reveal:
            if viewer is None:
                raise InvalidInput("viewer", "revealing personal data needs a viewer",
                                   kind="no_viewer")
            self.policy.check(viewer, "reveal", f"petitioner {petitioner.id}")
            if not visible:
                exc = PermissionDenied(
                    viewer.role, "reveal the petitioner of a confidential (检举控告) petition",
                    tuple(f"{r} of the lead unit" if self.policy.confidential_same_unit else r
                          for r in sorted(self.policy.confidential_roles)))
                log.warning("refused: %s (actor %s, confidential petitioner)", exc, viewer.id)
                raise exc
        if not visible:
            return PetitionerView.withheld(petitioner.kind)
        erased = unavailable = False

        def o(field: str, value: str) -> str | None:
            nonlocal erased, unavailable
            clear, gone = self._open(field, value)
            erased = erased or gone == "erased"
            unavailable = unavailable or gone == "sealed"
            return clear

        name = o("name", petitioner.name)
        phone = o("phone", petitioner.phone)
        id_number = o("id_number", petitioner.id_number)
        address = o("address", petitioner.address)
        email = o("email", petitioner.email)
        reps = [(o(f"representatives.{i}.name", r.name),
                 o(f"representatives.{i}.phone", r.phone),
                 o(f"representatives.{i}.id_number", r.id_number))
                for i, r in enumerate(petitioner.representatives)]
        if erased or unavailable:
            return PetitionerView(
                id=petitioner.id, kind=petitioner.kind, name=None, phone=None,
                id_number=None, address=None,
                representatives=tuple(PersonView(None, None, None) for _ in reps),
                erased=erased, sealed=not erased, email=None)

        def m(value: str | None, masker: Any) -> str | None:
            return value if reveal or value is None else masker(value)

        return PetitionerView(
            id=petitioner.id, kind=petitioner.kind, name=name,
            phone=m(phone, mask_phone), id_number=m(id_number, mask_id_number),
            address=address,
            representatives=tuple(PersonView(n, m(p, mask_phone), m(i, mask_id_number))
                                  for n, p, i in reps),
            revealed=reveal, email=m(email, mask_email))

    def sync(self) -> None:
        """Honour erasures made since the last look (by any process)."""
        self.keyring.sync()

    # ----------------------------------------------------------- the record
    def _record(self, petitioner_id: str, actor: Actor,
                at: datetime) -> PrivacyRecord:
        # The record (an aggregate of its own) is needed by a reveal or an
        # erasure only: imported then, not when a petition is shown masked.
        from petitions.privacy.ledger import PrivacyRecord, privacy_record_id

        try:
            found: Any = self.store.repository.get(privacy_record_id(petitioner_id))
        except AggregateNotFoundError:
            return PrivacyRecord.open(petitioner_id, actor, at)
        assert isinstance(found, PrivacyRecord)
        return found

    def _append(self, petitioner_id: str, actor: Actor, at: datetime,
                change: Any) -> None:
        for attempt in range(8):
            record = self._record(petitioner_id, actor, at)
            change(record)
            try:
                self.store.save(record)
                return
            except IntegrityError:
                if attempt == 7:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def record_reveal(self, viewer: Actor, petition_id: UUID, petitioner: PetitionerView,
                      unit: str | None, at: datetime) -> None:
        """Append a reveal to the petitioner's privacy record."""
        if petitioner.id is None:
            return
        fields = [f for f in ("phone", "id_number", "email") if getattr(petitioner, f)]
        fields += [f"representatives.{i}.{f}" for i, r in enumerate(petitioner.representatives)
                   for f in ("phone", "id_number") if getattr(r, f)]
        self._append(petitioner.id, viewer, at,
                     lambda r: r.reveal(viewer, at, petition_id, unit or "", fields))

    def record_of(self, petitioner_id: str) -> list[PrivacyRecord.Event]:
        """The petitioner's privacy record (reveals and erasures), oldest first."""
        from petitions.privacy.ledger import PrivacyRecord, privacy_record_id

        events = self.store.events.get(privacy_record_id(petitioner_id))
        return [e for e in events if isinstance(e, PrivacyRecord.Event)]

    # -------------------------------------------------------------- erasure
    def erase(self, petitioner_id: str, *, actor: Actor, legal_basis: str,
              at: datetime | None = None) -> Erasure:
        """Crypto-shred the petitioner's personal data, audited.

        Their data keys are destroyed, so every sealed field of theirs, in
        every petition and event, reads as erased from now on; no stored event
        is changed.  The erasure is recorded (who, when, legal basis) first.
        """
        self.policy.check(actor, "erase", f"petitioner {petitioner_id}")
        basis = (legal_basis or "").strip()
        if not basis:
            raise InvalidInput("legal_basis", "must say on what legal basis the data is erased",
                               kind="empty")
        when = self.store.when(at)
        self.keyring.sync()
        rows = self.keyring.table.of_petitioner(petitioner_id)
        if not rows:
            raise PetitionerNotFound(petitioner_id)
        live = [r for r in rows if r.erased_at is None]
        if not live:
            raise AlreadyErased(petitioner_id, max(r.erased_at or "" for r in rows))
        self._append(petitioner_id, actor, when,
                     lambda r: r.erase(actor, when, basis, len(live)))
        destroyed = self.keyring.erase(petitioner_id, when)
        # Their entries in the caller index (blind digests of phone and ID) go too.
        from petitions.sidetables import side_tables

        side_tables(self.store).forget_petitioner(petitioner_id)
        log.info("erased the personal data of petitioner %s (%d key(s)) by %s: %s",
                 petitioner_id, destroyed, actor, basis)
        return Erasure(petitioner_id, destroyed, basis, actor, when)

    def is_erased(self, petitioner_id: str) -> bool:
        """True when the petitioner had keys and none is left."""
        self.keyring.sync()
        rows = self.keyring.table.of_petitioner(petitioner_id)
        return bool(rows) and all(r.erased_at is not None for r in rows)

    def has_data(self, petitioner_id: str) -> bool:
        """True when personal data of the petitioner can still be read."""
        self.keyring.sync()
        return self.keyring.table.live(petitioner_id) is not None

    # ------------------------------------------------------------------ keys
    def key_status(self, actor: Actor) -> KeyStatus:
        self.policy.check(actor, "keys")
        self.keyring.sync()
        live, erased = self.keyring.table.counts()
        master = self.keyring.master
        return KeyStatus(master.source, master.fingerprint, live, erased,
                         key_beside_database(self.store.url, master.source))

    def rotate(self, actor: Actor, new_master: MasterKey) -> int:
        """Re-wrap every live data key under ``new_master`` (then configure it)."""
        self.policy.check(actor, "keys")
        old = self.keyring.master
        count = self.keyring.rotate(new_master)
        # The side tables' keys derive from the master key: the work-order rows
        # authenticated under the old one are authenticated under the new one,
        # and the caller index is made again (its digests were keyed by the old).
        from petitions.sidetables import reindex, side_key, side_tables

        side_tables(self.store).reauthenticate(side_key(old), side_key(new_master))
        reindex(self.store, self, callers_afresh=True)
        return count

    def export_keys(self, actor: Actor, path: str | Path, target: MasterKey) -> int:
        """Write every data key, re-wrapped under ``target`` (the master key of
        the store a log export will be imported into), as JSON Lines to
        ``path``; erased keys are written as erased.  Returns the number of rows.

        Together with ``audit export``/``audit import`` this moves a store whole:
        the event log holds personal data only as ciphertext, the keys to it
        live here.  The file holds no clear key: only ``target`` opens it.
        """
        self.policy.check(actor, "keys")
        self.keyring.sync()
        rows = self.keyring.export_for(target)
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({
                    "key_id": row.key_id, "petitioner_id": row.petitioner_id,
                    "wrapped": base64.b64encode(row.wrapped).decode() if row.wrapped else None,
                    "master": row.master, "created_at": row.created_at,
                    "erased_at": row.erased_at}, ensure_ascii=False) + "\n")
        return len(rows)

    def import_keys(self, actor: Actor, path: str | Path) -> int:
        """Add the data keys of a key export (see :meth:`export_keys`); every live
        key must open under this store's master key, or nothing is written."""
        self.policy.check(actor, "keys")
        rows = self.read_key_file(path)
        self.keyring.sync()
        added = self.keyring.import_rows(rows)
        # The callers of petitions whose data can now be read go into the index.
        from petitions.sidetables import reindex

        reindex(self.store, self)
        return added

    def check_key_file(self, actor: Actor, path: str | Path) -> int:
        """Check a key export without writing anything: every row is well formed
        and every live key opens under this store's master key; the row count."""
        self.policy.check(actor, "keys")
        rows = self.read_key_file(path)
        self.keyring.sync()
        self.keyring.check_rows(rows)
        return len(rows)

    @staticmethod
    def read_key_file(path: str | Path) -> list[KeyRow]:
        """The rows of a key export (see :meth:`export_keys`)."""
        rows = []
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    rows.append(KeyRow(
                        key_id=str(d["key_id"]), petitioner_id=str(d["petitioner_id"]),
                        wrapped=base64.b64decode(d["wrapped"]) if d["wrapped"] else None,
                        master=str(d["master"]), created_at=str(d["created_at"]),
                        erased_at=d["erased_at"]))
                except (ValueError, KeyError, TypeError) as exc:
                    raise InvalidInput("file", f"line {number} is not a key row ({exc})",
                                       kind="bad_line", line=number) from None
        return rows
