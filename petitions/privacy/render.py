"""How a petitioner is shown: masked, revealed, erased or hidden.

:class:`PetitionerView` is what queries hand out in place of the stored
(sealed) :class:`~petitions.domain.values.Petitioner`.  A personal field is
``None`` when it cannot be shown: the petitioner's data was erased
(``erased``), its key is not available in this store (``sealed``), or the
petition is confidential and the viewer may not see who filed it
(``hidden``, which also withholds the petitioner's ``id``).  Phone and ID
numbers and e-mail addresses are masked (``138****1234``, ``w***@example.com``)
unless revealed.
"""

from __future__ import annotations

from typing import Any

from workflows.records import asdict, frozen

#: How an erased or withheld value reads in text output.
ERASED_TEXT = "〔已删除 erased〕"
HIDDEN_TEXT = "〔不公开 withheld〕"
SEALED_TEXT = "〔无法解密 sealed: key not available〕"


def mask_phone(value: str) -> str:
    """``13800001234`` → ``138****1234``; short numbers keep only their last two."""
    if not value:
        return value
    if len(value) >= 8:
        return f"{value[:3]}****{value[-4:]}"
    return "*" * max(len(value) - 2, 1) + value[-2:] if len(value) > 2 else "*" * len(value)


def mask_email(value: str) -> str:
    """``wang.xiuying@example.com`` → ``w***@example.com`` (the domain stays)."""
    if not value:
        return value
    local, at, domain = value.rpartition("@")
    if not at:
        return "*" * len(value)
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str) -> str:
    """An ID number with all but its first three and last four characters hidden."""
    if not value:
        return value
    if len(value) >= 10:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


@frozen
class PersonView:
    """A representative of a collective, as shown."""

    name: str | None
    phone: str | None
    id_number: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@frozen
class PetitionerView:
    """The petitioner of a petition, as the viewer may see them."""

    id: str | None
    kind: str
    name: str | None
    phone: str | None
    id_number: str | None
    address: str | None
    representatives: tuple[PersonView, ...] = ()
    erased: bool = False
    hidden: bool = False
    revealed: bool = False
    #: The personal data is stored but cannot be opened here (its keys were not
    #: brought along, or a key row was altered) — not erased.
    sealed: bool = False
    #: The e-mail address (masked unless revealed); ``""`` when none was given.
    email: str | None = ""

    @classmethod
    def withheld(cls, kind: str) -> PetitionerView:
        """A confidential petitioner (or one not decrypted): nothing personal, no id."""
        return cls(id=None, kind=kind, name=None, phone=None, id_number=None, address=None,
                   hidden=True, email=None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self, recurse=False)
        out["representatives"] = [r.to_dict() for r in self.representatives]
        return out

    def text(self, value: str | None) -> str:
        """A field for text output: the value, or why it is not shown."""
        if value is not None:
            return value
        if self.hidden:
            return HIDDEN_TEXT
        return SEALED_TEXT if self.sealed else ERASED_TEXT
