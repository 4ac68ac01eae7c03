"""Read models kept in step with petition events: queues, search and rates.

* :class:`ReadModels` — the views of one store and their queries (``list``,
  ``count``, ``caseload``, ``campaigns``, ``stats``), ``catch_up`` and
  ``rebuild``;
* :class:`CaseViews` — the eventsourcing projection that maintains them;
* :mod:`petitions.readmodels.rates` — the three rates and their configuration;
* :mod:`petitions.readmodels.runner` — run the projection as a separate
  process on PostgreSQL.
"""

from petitions.readmodels.projection import CaseViews
from petitions.readmodels.queries import CampaignTally, Caseload, CaseSummary, ReadModels
from petitions.readmodels.rates import GROUPINGS, RateConfig, RateGroup, rate_config
from petitions.readmodels.store import VIEWS_NAME, ViewStore

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
