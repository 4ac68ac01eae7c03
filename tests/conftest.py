"""Fixtures live in ``tests/fixtures.py`` (a plugin shared with ``features/``)."""

from tests.fixtures import file_petition

__all__ = ["file_petition"]
