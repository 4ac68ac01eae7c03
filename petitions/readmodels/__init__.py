"""Read models kept in step with petition events: queues, search and rates.

* :class:`ReadModels` — the views of one store and their queries (``list``,
  ``count``, ``caseload``, ``campaigns``, ``stats``), ``catch_up`` and
  ``rebuild``;
* :class:`CaseViews` — the eventsourcing projection that maintains them;
* :mod:`petitions.readmodels.rates` — the three rates and their configuration;
* :mod:`petitions.readmodels.runner` — run the projection as a separate
  process on PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.readmodels.projection import CaseViews
    from petitions.readmodels.queries import CampaignTally, Caseload, CaseSummary, ReadModels
    from petitions.readmodels.rates import GROUPINGS, RateConfig, RateGroup, rate_config
    from petitions.readmodels.store import VIEWS_NAME, ViewStore


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "CaseViews": "petitions.readmodels.projection",
    "CampaignTally": "petitions.readmodels.queries",
    "Caseload": "petitions.readmodels.queries",
    "CaseSummary": "petitions.readmodels.queries",
    "ReadModels": "petitions.readmodels.queries",
    "GROUPINGS": "petitions.readmodels.rates",
    "RateConfig": "petitions.readmodels.rates",
    "RateGroup": "petitions.readmodels.rates",
    "rate_config": "petitions.readmodels.rates",
    "VIEWS_NAME": "petitions.readmodels.store",
    "ViewStore": "petitions.readmodels.store",
}

__all__ = [
    "GROUPINGS",
    "VIEWS_NAME",
    "CampaignTally",
    "CaseSummary",
    "CaseViews",
    "Caseload",
    "RateConfig",
    "RateGroup",
    "ReadModels",
    "ViewStore",
    "rate_config",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
