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
    from petitions.readmodels.rates import GROUPINGS, RateConfig, RateGroup, rate_config
    from petitions.readmodels.store import VIEWS_NAME, ViewStore
    from petitions.readmodels.views import CampaignProgress, Caseload, CaseSummary, ReadModels


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "CaseViews": "petitions.readmodels.projection",
    "GROUPINGS": "petitions.readmodels.rates",
    "RateConfig": "petitions.readmodels.rates",
    "RateGroup": "petitions.readmodels.rates",
    "rate_config": "petitions.readmodels.rates",
    "VIEWS_NAME": "petitions.readmodels.store",
    "ViewStore": "petitions.readmodels.store",
    "CampaignProgress": "petitions.readmodels.views",
    "Caseload": "petitions.readmodels.views",
    "CaseSummary": "petitions.readmodels.views",
    "ReadModels": "petitions.readmodels.views",
}

__all__ = [
    "GROUPINGS",
    "VIEWS_NAME",
    "CampaignProgress",
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
