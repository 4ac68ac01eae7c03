"""The filing value (:class:`petitions.domain.filing.Filing`): one value carries a
filing's details through the service, ``file_petition``, ``prepare_filing`` and
the bulk filing, checked when it is made; ``svc.file(...)`` keeps its keywords."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from petitions import Actor, Filing, InvalidInput, PetitionService
from petitions.core import Store
from petitions.domain.petition import petition_id_for
from petitions.domain.values import Location, Person, Petitioner
from petitions.errors import MAX_DETAIL
from tests.fixtures import file_petition

SH = ZoneInfo("Asia/Shanghai")
CLERK = Actor("hotline-wang", "intake_clerk")
LIU = Petitioner(kind="resident", name="刘先生", phone="13800001234")


def details(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        actor=CLERK, petitioner=LIU, title="小区停车难",
        description="吉安园茅溪小区业主反映车位不足", category="property_management",
        channel="hotline", location=Location(street="寸滩街道"))
    args.update(overrides)
    return args


def refused(field: str, kind: str | None = None, **overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        Filing(**details(**overrides))
    assert caught.value.field == field
    if kind is not None:
        assert caught.value.params["kind"] == kind
    return caught.value


def test_the_value_checks_what_no_filing_can_store() -> None:
    refused("petitioner.name", "too_long", petitioner=Petitioner(kind="resident",
                                                                 name="刘" * (MAX_DETAIL + 1)))
    refused("petitioner.phone", "not_text", petitioner=Petitioner(kind="resident", name="刘",
                                                                  phone="\ud800"))
    refused("petitioner.representatives.name", "too_long", petitioner=Petitioner(
        kind="collective", name="业主", representatives=(Person(name="x" * (MAX_DETAIL + 1)),)))
    refused("petitioner.email", "invalid", petitioner=attrs.evolve(LIU, email="not-an-address"))
    refused("street", "too_long", location=Location(street="街" * (MAX_DETAIL + 1)))
    refused("idempotency_key", "not_text", idempotency_key="\udc80")
    refused("source", "too_long", source="s" * (10 * MAX_DETAIL + 1))
    refused("anonymous", "anonymous_named", anonymous=True,
            petitioner=attrs.evolve(LIU, id="p-1"))
    # Personal details are reported first (then place, key, source, flag).
    refused("petitioner.name", petitioner=Petitioner(kind="resident", name="刘" * 5000),
            location=Location(street="街" * 5000))


def test_the_value_is_frozen_and_reads_no_location_as_an_empty_one() -> None:
    filing = Filing(**details(location=None))
    assert filing.location == Location()
    assert (filing.workflow, filing.matter_type, filing.urgency, filing.at) == (
        "standard", None, "normal", None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        filing.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Filing(**details(colour="red"))  # a misspelt argument is no field


def test_file_and_file_one_file_the_same_petition(service: PetitionService) -> None:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=SH)
    by_keywords = service.get(service.file(**details(at=at, idempotency_key="k-1")))
    by_value = service.get(service.file_one(Filing(**details(at=at, idempotency_key="k-2"))))
    a, b = by_keywords.to_dict(), by_value.to_dict()
    assert a.pop("id") != b.pop("id")
    for d in (a, b):
        for volatile in ("recorded_at", "updated_at", "number", "related"):
            d.pop(volatile, None)
        d["petitioner"].pop("id")
        d.pop("idempotency_key", None)
    assert a == b
    assert by_value.filed_at == at and by_value.matter_type == "claim"
    # Filing again by the key returns the same id and writes nothing.
    again = service.file_one(Filing(**details(at=at, idempotency_key="k-2", title="重复")))
    assert again == by_value.id and service.get(again).title == "小区停车难"


def test_the_checks_the_value_leaves_are_made_when_it_is_filed(
        service: PetitionService) -> None:
    with pytest.raises(InvalidInput, match="category"):
        service.file_one(Filing(**details(category="potholes")))
    with pytest.raises(InvalidInput, match="matter_type"):
        service.file_one(Filing(**details(matter_type="gossip")))
    with pytest.raises(InvalidInput, match="urgency"):
        service.file_one(Filing(**details(urgency="yesterday")))
    # The keywords are checked the same way, through the value.
    with pytest.raises(InvalidInput, match=r"petitioner\.email"):
        file_petition(service, CLERK, petitioner=attrs.evolve(LIU, email="a@b"))


def test_a_batch_takes_values_and_keyword_mappings(service: PetitionService) -> None:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=SH)
    first = Filing(**details(at=at, idempotency_key="b-1"))
    results = service.file_batch([
        first,
        details(at=at + timedelta(minutes=1), idempotency_key="b-2", title="噪音扰民"),
        first,  # the same key again: already filed, nothing new
        details(idempotency_key="b-3", source="x" * (10 * MAX_DETAIL + 1)),  # refused
        details(idempotency_key="b-4"),  # not reached
    ])
    assert len(results) == 4
    (a, new_a), (b, new_b), (again, new_again) = results[:3]  # type: ignore[misc]
    assert (new_a, new_b, new_again) == (True, True, False) and again == a
    assert isinstance(results[3], InvalidInput) and results[3].field == "source"
    assert service.get(b).title == "噪音扰民" and service.get(a).filed_at == at
    assert service.exists(petition_id_for("b-2"))
    assert not service.exists(petition_id_for("b-3"))
    assert not service.exists(petition_id_for("b-4"))


def test_an_anonymous_filing_is_filed_again_after_losing_a_race(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer stores the workflow text between the check and the save:
    the filing is filed again on its own — an anonymous one too (it used to be
    refused then as naming the petitioner id minted for it)."""
    from petitions.domain.definitions import WorkflowDefinition

    svc = PetitionService.open(str(tmp_path / "race.sqlite"))
    file_petition(svc, CLERK)  # the workflow's text is stored now
    original = Store.definition_to_keep
    calls: list[str] = []

    def stale(self: Store, wf: Any) -> Any:
        calls.append(wf.sha256)
        if len(calls) == 1:  # as if not yet stored: the save then fails
            return WorkflowDefinition.register(wf.name, wf.version, wf.sha256, wf.source)
        return original(self, wf)

    monkeypatch.setattr(Store, "definition_to_keep", stale)
    pid = svc.file(**details(petitioner=Petitioner(kind="resident", name=""), anonymous=True,
                             request_type="report", title="工地夜间施工",
                             description="某工地夜间施工扰民"))
    assert len(calls) == 2  # filed twice: the first save was refused
    view = svc.get(pid)
    assert view.anonymous is True and view.title == "工地夜间施工"
    assert next(e.type for e in svc.history(pid)) == "Filed"
    svc.shutdown()
