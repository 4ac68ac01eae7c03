"""Fixtures live in ``tests/fixtures.py`` (a plugin shared with ``features/``)."""

from tests.fixtures import (
    POSTGRES_SERVER,
    file_petition,
    fresh_backend_url,
    postgres_unreachable,
    require_postgres,
    store_beside,
)

__all__ = [
    "POSTGRES_SERVER",
    "file_petition",
    "fresh_backend_url",
    "postgres_unreachable",
    "require_postgres",
    "store_beside",
]
