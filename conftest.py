"""Root of the test suite: shared fixtures for ``tests/`` and ``features/``."""

pytest_plugins = ["tests.fixtures"]
