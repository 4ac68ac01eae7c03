"""Progress of a door-to-door campaign (进家入户), as a plain view."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from petitions.domain.values import Location
from petitions.transcoding import to_plain


@attrs.frozen
class CampaignProgress:
    """How many suggestions a campaign collected and how many are resolved.

    ``resolved`` counts collected petitions closed as resolved (办结 after
    the call-back); ``closed_other`` those closed otherwise (rejected,
    duplicate, withdrawn, concluded); ``open`` those not closed yet, of which
    ``awaiting_callback`` are resolved by their unit and wait for the
    call-back (回访).
    """

    id: UUID
    name: str
    location: Location
    opened_at: datetime
    collected: int
    resolved: int
    closed_other: int
    open: int
    petition_ids: tuple[UUID, ...]
    awaiting_callback: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_plain(self)
        return out
