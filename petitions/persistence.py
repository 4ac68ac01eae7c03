"""Where petitions are stored: turn a database URL into eventsourcing settings.

* a file path (``petitions.sqlite``) — the embedded SQLite default;
* ``:memory:`` — a private in-memory SQLite database that works across
  threads (a shared-cache URI, not a plain ``:memory:``, whose every
  connection would be a separate empty database);
* ``postgresql://user@host:port/dbname?schema=s`` — PostgreSQL through
  ``eventsourcing.postgres`` with its connection pool.

With no URL, ``PETITIONS_DB`` is used, else ``./petitions.sqlite``.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import uuid4

DEFAULT_DB = "petitions.sqlite"


def default_url() -> str:
    return os.environ.get("PETITIONS_DB") or DEFAULT_DB


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def env_for_url(url: str | None = None) -> dict[str, str]:
    """The eventsourcing environment for ``url``."""
    url = url or default_url()
    if is_postgres(url):
        return _postgres_env(url)
    if url == ":memory:":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": f"file:petitions-{uuid4().hex}?mode=memory&cache=shared",
        }
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///"):]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": url,
        "SQLITE_LOCK_TIMEOUT": os.environ.get("PETITIONS_SQLITE_LOCK_TIMEOUT", "30"),
    }


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": query.get("pool_size", "5"),
        "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", "10"),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "10"),
    }
    if "schema" in query:
        env["POSTGRES_SCHEMA"] = query["schema"]
    return env


def describe(url: str | None = None) -> str:
    """A short description of the backend, without any password."""
    url = url or default_url()
    if is_postgres(url):
        p = urlsplit(url)
        host = p.hostname or "127.0.0.1"
        return f"postgresql://{p.username or 'postgres'}@{host}:{p.port or 5432}{p.path}"
    return f"sqlite:{url}"
