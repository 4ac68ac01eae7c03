"""Value objects carried by petition events: frozen value classes
(:func:`workflows.records.frozen`: what ``attrs.frozen`` makes, without
compiling code at import; ``attrs.fields``/``evolve``/``asdict`` work on them).

They hold no behaviour beyond validating themselves.  Persistence stores them
through one generic transcoding from their fields (see
:mod:`petitions.transcoding`), registered for every value class in this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from workflows.model import Label
from workflows.records import field, frozen

PETITIONER_KINDS = ("resident", "enterprise", "collective")
MAX_REPRESENTATIVES = 5
REPLY_OUTCOMES = ("support", "explain", "not_support")
#: Answers to a review (复查) or re-review (复核): uphold (维持) or revise
#: (撤销或变更) the earlier answer.
REVIEW_OUTCOMES = ("uphold", "revise")

#: How a written answer is delivered (送达).
DELIVERY_METHODS = ("post", "in_person", "electronic", "sms")
#: Labels of the reply outcomes (答复意见), the same in every workflow.
REPLY_OUTCOME_LABELS: Mapping[str, Label] = {
    "support": Label(zh="支持", en="support"),
    "explain": Label(zh="解释说明", en="explain"),
    "not_support": Label(zh="不予支持", en="not support"),
}


#: Labels of the request types (诉求类型; the codes are the workflow
#: vocabulary's, :data:`workflows.vocabulary.REQUEST_TYPES`).
REQUEST_TYPE_LABELS: Mapping[str, Label] = {
    "consultation": Label(zh="咨询", en="consultation"),
    "help": Label(zh="求助", en="help"),
    "complaint": Label(zh="投诉", en="complaint"),
    "report": Label(zh="举报", en="report"),
    "suggestion": Label(zh="建议", en="suggestion"),
    "praise": Label(zh="表扬", en="praise"),
}
#: Labels of the urgency levels (紧急程度).
URGENCY_LABELS: Mapping[str, Label] = {
    "normal": Label(zh="一般", en="normal"),
    "urgent": Label(zh="紧急", en="urgent"),
    "emergency": Label(zh="特急", en="emergency"),
}


def _tuple(value: object) -> tuple[object, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, (list, set, frozenset)):
        return tuple(value)
    raise TypeError(f"expected a sequence, got {type(value).__name__}")


@frozen
class Actor:
    """Who issued a command: a person's (or system's) id and the role used."""

    id: str
    role: str

    def __str__(self) -> str:
        return f"{self.id} ({self.role})"


@frozen
class Location:
    """Where the appeal is: street or town → community → grid, and ``place``:
    non-personal text naming the spot (a compound, a wharf, a building).

    A person's address is personal data: it belongs to the (sealed)
    :class:`Petitioner`, never here.  Events stored before this rule kept an
    ``address`` in their location, in clear: it loads withheld (:meth:`upcast`
    drops it, since nothing tells a home address from a compound's name), and
    ``audit verify`` reports every such stored event (docs/security.md).
    """

    street: str = ""
    community: str = ""
    grid: str = ""
    place: str = ""

    @staticmethod
    def upcast(data: dict[str, object]) -> dict[str, object]:
        """Stored data of an older version, in this version's form."""
        if "address" in data:
            data = dict(data)
            data.pop("address")  # withheld: never shown (it may be a home address)
        return data


@frozen
class Person:
    """A named person with contact details (a representative, a party)."""

    name: str
    phone: str = ""
    id_number: str = ""


@frozen
class Petitioner:
    """Who raised the appeal: a resident, an enterprise, or a collective.

    A collective (e.g. a compound's owners) speaks through at most five
    representatives (信访工作条例).  ``id`` identifies the petitioner across
    petitions (it keys their personal data).
    """

    kind: str
    name: str
    phone: str = ""
    id_number: str = ""
    address: str = ""
    representatives: tuple[Person, ...] = field(default=(), converter=_tuple)
    id: str = ""  # assigned on filing when empty
    #: An e-mail address (e.g. from an Open311 request); sealed like the phone.
    #: Petitions filed before it existed load with it empty.
    email: str = ""


@frozen
class WorkflowRef:
    """The exact workflow definition a petition was filed under."""

    name: str
    version: int
    sha256: str


@frozen
class MediationSession:
    """One mediation or joint-meeting (联席会议) session."""

    held_at: datetime
    place: str
    participants: tuple[str, ...] = field(converter=_tuple)
    minutes: str = ""
