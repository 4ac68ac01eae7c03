"""A filing as a value: what :meth:`petitions.service.PetitionService.file`
is given, checked as far as it can be without the store.

:class:`Filing` carries one filing's details — who files, for whom, what,
where, under which workflow, when — through every layer that files (the
service, :func:`petitions.filing.file_petition`,
:func:`petitions.filing.prepare_filing`, the bulk filing), instead of each
repeating the same keyword arguments.  Making one refuses, naming the field,
what no filing can store: personal details, place text, the key or the
source that is not UTF-8 text or is too long, an e-mail address that cannot
be one, and an anonymous filing that names a petitioner.  What needs data
(the taxonomy's codes), the workflow version (roles, request type, urgency,
the matter types it takes, title and description) or the store (the time, a
concluded matter, the campaign) is decided when it is filed
(:func:`petitions.filing.prepare_filing`, ``Petition.file``).

It is never stored: the filing's event records what was decided.
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

import attrs

from petitions.domain.values import Actor, Location, Petitioner
from petitions.errors import MAX_DETAIL, InvalidInput, checked_text
from workflows.vocabulary import DEFAULT_URGENCY

#: An e-mail address as far as it is checked: one ``@``, a dot in the domain,
#: no spaces, at most 254 characters (RFC 5321's path limit).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: The longest ``source`` text a filing records.
MAX_SOURCE = 10 * MAX_DETAIL


def check_email(email: str) -> None:
    """Refuse an e-mail address that cannot be one (empty is fine)."""
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email.strip())):
        raise InvalidInput("petitioner.email", "is not an e-mail address", kind="invalid")


#: The petitioner's text fields checked, and the names they are refused under.
_PETITIONER_TEXTS = tuple((name, f"petitioner.{name}")
                          for name in ("kind", "name", "phone", "id_number", "address", "id"))
_PERSON_TEXTS = tuple((name, f"petitioner.representatives.{name}")
                      for name in ("name", "phone", "id_number"))
_LOCATION_TEXTS = ("street", "community", "grid", "place")


_PETITIONER_VALUES = attrgetter(*(name for name, _ in _PETITIONER_TEXTS))
_LOCATION_VALUES = attrgetter(*_LOCATION_TEXTS)


def _storable(values: tuple[Any, ...]) -> bool:
    """Whether :func:`checked_text` takes every one of ``values`` (all text,
    valid UTF-8, none longer than :data:`MAX_DETAIL`), tested at once: the
    values joined (only text joins) are valid UTF-8 when each is (a lone
    surrogate stays one when joined), and each is short enough when all
    together are.  False: check them one by one (the first refused named)."""
    try:
        joined = "".join(values)
    except TypeError:
        return False
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return len(joined) <= MAX_DETAIL or max(map(len, values)) <= MAX_DETAIL


def _petitioner(_: Any, __: Any, petitioner: Petitioner) -> None:
    if not _storable(_PETITIONER_VALUES(petitioner)):
        for name, field in _PETITIONER_TEXTS:
            checked_text(field, getattr(petitioner, name))
    for person in petitioner.representatives:
        for name, field in _PERSON_TEXTS:
            checked_text(field, getattr(person, name))
    check_email(petitioner.email)


def _location(_: Any, __: Any, location: Location) -> None:
    if not _storable(_LOCATION_VALUES(location)):
        for name in _LOCATION_TEXTS:
            checked_text(name, getattr(location, name))


def _key(_: Any, __: Any, key: str | None) -> None:
    if key is not None:
        checked_text("idempotency_key", key)


def _source(_: Any, __: Any, source: str) -> None:
    checked_text("source", source, MAX_SOURCE)


def _anonymous(filing: Filing, _: Any, anonymous: bool) -> None:
    if anonymous is True and filing.petitioner.id:
        raise InvalidInput("anonymous", "an anonymous filing names no petitioner",
                           kind="anonymous_named")
    # A flag that is not a bool is refused by Petition.file (after the role).


def _location_or_none(value: Location | None) -> Location:
    return Location() if value is None else value


@attrs.frozen(kw_only=True)
class Filing:
    """One filing's details: the keyword arguments of
    :meth:`petitions.service.PetitionService.file` (see there), checked.

    ``at``: when it was filed (``None``: now); ``matter_type``: ``None`` for
    the one its request type implies under the workflow; ``location``:
    ``None`` reads as an empty :class:`Location`.

    The validators run in field order, which is the order the checks are
    reported in: personal details (and the e-mail address), place, key,
    source, the anonymous flag.
    """

    actor: Actor
    petitioner: Petitioner = attrs.field(validator=_petitioner)
    location: Location = attrs.field(default=None, converter=_location_or_none,
                                     validator=_location)
    idempotency_key: str | None = attrs.field(default=None, validator=_key)
    source: str = attrs.field(default="", validator=_source)
    anonymous: bool = attrs.field(default=False, validator=_anonymous)
    title: str
    category: str
    channel: str
    matter_type: str | None = None
    description: str
    workflow: str = "standard"
    campaign_id: UUID | None = None
    at: datetime | None = None
    request_type: str | None = None
    urgency: str = DEFAULT_URGENCY


class Checked:
    """A filing and what :meth:`Petition.check_filing` made of it — the
    values of its ``Filed`` event, its petitioner as given (clear), under the
    workflow version its ``workflow`` names — with matter type
    ``matter_type``: an import's check pass makes one per line
    (:func:`petitions.importer.check`), and the bulk path files the line with
    those values (the petitioner sealed, the time its own) instead of checking
    it again, while that version (name, number, text) is still the workflow's
    (else it checks it again, as any filing).  Checking the sealed petitioner
    decides as checking the clear one: sealing keeps its kind and
    representatives, keeps an empty field empty, and makes a field that is not
    empty text of at most a few thousand ASCII characters.

    ``file_batch`` takes it in place of the filing value (from the import
    only: it is trusted as the worker's handed-over rows are)."""

    __slots__ = ("fields", "filing", "matter_type")

    def __init__(self, filing: Filing, matter_type: str, fields: dict[str, Any]) -> None:
        self.filing, self.matter_type, self.fields = filing, matter_type, fields

    def fields_for(self, filing: Filing, wf: Any, matter_type: str) -> dict[str, Any] | None:
        """A copy of the checked values when they are those of ``filing``
        under the workflow version ``wf`` and ``matter_type``; else None."""
        ref = self.fields["workflow"]
        if (filing is not self.filing or matter_type != self.matter_type
                or ref.sha256 != wf.sha256 or ref.version != wf.version
                or ref.name != wf.name):
            return None
        return dict(self.fields)
