"""Run the read-model projection as a separate process (PostgreSQL).

    python -m petitions.readmodels.runner postgresql://user@host/db?schema=s

eventsourcing's ``ProjectionRunner`` follows the store's notifications
(LISTEN/NOTIFY) and hands each event to :class:`CaseViews`, which writes the
view change and its tracking record in one transaction.  Start it with the
service's ``PETITIONS_VIEWS=runner`` so that the service leaves the views to
it.  SQLite cannot push notifications: there the service catches its views up
in-process.
"""

from __future__ import annotations

import sys
from typing import Any

from petitions.persistence import default_url, env_for_url, is_postgres


def runner(url: str) -> Any:
    """A started ``ProjectionRunner`` for the store at ``url`` (use it with ``with``)."""
    if not is_postgres(url):
        raise ValueError("the projection runner needs PostgreSQL; SQLite views catch up "
                         "in-process")
    from eventsourcing.projection import ProjectionRunner

    from petitions.core import Store
    from petitions.readmodels.postgres import PostgresViewStore
    from petitions.readmodels.projection import CaseViews

    return ProjectionRunner(application_class=Store, projection_class=CaseViews,
                            view_class=PostgresViewStore, env=env_for_url(url))


def run(url: str, timeout: float | None = None) -> None:
    """Keep the views of ``url`` up to date until interrupted (or ``timeout``)."""
    with runner(url) as r:
        r.run_forever(timeout)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else default_url()
    try:
        run(url)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
