"""Where petitions are stored: turn a database URL into eventsourcing settings.

* a file path (``petitions.sqlite``) — the embedded SQLite default;
* ``:memory:`` — a private in-memory SQLite database that works across
  threads (a shared-cache URI, not a plain ``:memory:``, whose every
  connection would be a separate empty database);
* ``postgresql://user@host:port/dbname?schema=s`` — PostgreSQL through
  ``eventsourcing.postgres`` with its connection pool (see
  :mod:`petitions.postgres`); the schema (default ``public``) and the tables
  are created on first use.  Query options: ``schema``, ``pool_size``,
  ``max_overflow``, ``connect_timeout``, ``mode=ro`` (read only, as a role
  that may only read the schema is anyway).

With no URL, ``PETITIONS_DB`` is used, else ``./petitions.sqlite``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID, uuid4

from workflows.records import asdict, frozen

if TYPE_CHECKING:
    from eventsourcing.persistence import Mapper


class EventLog(Protocol):
    """Where stored events are read (and, on import, written): an eventsourcing
    application, the :class:`petitions.core.Store`, or a ``PetitionService``."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Mapper[UUID]: ...


DEFAULT_DB = "petitions.sqlite"


def default_url() -> str:
    return os.environ.get("PETITIONS_DB") or DEFAULT_DB


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


#: eventsourcing's SQLite recorder that also writes our rows in the events'
#: transaction (:mod:`petitions.recorders`).
SQLITE_RECORDER = "petitions.recorders:SQLiteRecorder"
#: eventsourcing's SQLite factory whose connections keep their prepared
#: statements (:class:`petitions.recorders.SQLiteFactory`).
SQLITE_FACTORY = "petitions.recorders:SQLiteFactory"


def retry_schema_change(create: Callable[[], None], *,
                        also: tuple[type[Exception], ...] = ()) -> None:
    """Run ``create`` (idempotent ``CREATE … IF NOT EXISTS`` statements), trying
    again shortly while another process changes the schema at the same moment:
    SQLite then says "database is locked" (a lock upgrade it will not wait for).
    ``also`` names further errors that mean the same."""
    from eventsourcing.persistence import OperationalError, PersistenceError

    errors: tuple[type[Exception], ...] = (OperationalError, *also)
    caught: tuple[type[Exception], ...] = (PersistenceError, *errors)
    for attempt in range(20):
        try:
            create()
            return
        except caught as exc:
            if is_read_only_error(exc):
                # A read-only store (on PostgreSQL a read-only session, which
                # says so with an InternalError): what exists is read as it is,
                # a missing table is named when it is used, and every write is
                # refused.
                return
            if not isinstance(exc, errors) or attempt == 19:
                raise
            time.sleep(0.05 * (attempt + 1))


def is_read_only_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be written (read-only file,
    folder or connection)."""
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "read only" in text


def read_only_file(path: str) -> bool:
    """Whether the SQLite file at ``path`` is meant to be read only: it exists
    and this process may not write it or its folder (where SQLite keeps its
    journal), or neither has any write permission bit.  (The bits count even
    for root, whom permissions do not stop: ``chmod 444`` says "do not write".)"""
    if not os.path.isfile(path):
        return False
    folder = os.path.dirname(os.path.abspath(path))
    try:
        unwritable = (os.stat(path).st_mode & 0o222 == 0
                      or os.stat(folder).st_mode & 0o222 == 0)
    except OSError:
        return False
    return unwritable or not os.access(path, os.W_OK) or not os.access(folder, os.W_OK)


def _read_only_uri(path: str) -> str:
    """An SQLite URI opening ``path`` read-only.  Where SQLite cannot create its
    shared-memory file beside it (a read-only folder) and no write-ahead log is
    pending, the file is opened as immutable (no locks: nothing may write it)."""
    from urllib.parse import quote

    full = os.path.abspath(path)
    folder = os.path.dirname(full)
    wal = full + "-wal"
    pending = os.path.exists(wal) and os.path.getsize(wal) > 0
    can_lock = os.access(folder, os.W_OK) and os.stat(folder).st_mode & 0o222 != 0
    immutable = "" if can_lock or pending else "&immutable=1"
    return f"file:{quote(full)}?mode=ro{immutable}"


def is_read_only_url(url: str | None) -> bool:
    """Whether the store at ``url`` is opened read-only (a read-only SQLite
    file, or an SQLite URI with ``mode=ro``).  For PostgreSQL only what the URL
    says (``mode=ro``): what the role may do is known once connected
    (:attr:`petitions.core.Store.read_only`)."""
    url = url or default_url()
    if is_postgres(url):
        from urllib.parse import parse_qs, urlsplit

        return parse_qs(urlsplit(url).query).get("mode", [""])[-1] == "ro"
    if url == ":memory:":
        return False
    if url.startswith("file:"):
        from urllib.parse import parse_qs, urlsplit  # (not to open a plain file path)

        query = parse_qs(urlsplit(url).query)
        return query.get("mode", [""])[-1] == "ro" or query.get("immutable", [""])[-1] == "1"
    url = _sqlite_path(url)
    return read_only_file(url)


def _sqlite_path(url: str) -> str:
    """``url`` without an ``sqlite:///`` prefix (a file path or URI)."""
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else url


def is_new_sqlite_store(url: str | None) -> bool:
    """Whether ``url`` names an SQLite file that does not exist yet (nor its
    write-ahead log): opening the store would create it.  False for
    ``:memory:``, PostgreSQL and SQLite URIs (``file:…``)."""
    url = url or default_url()
    if url == ":memory:" or is_postgres(url) or url.startswith("file:"):
        return False
    url = _sqlite_path(url)
    return not any(os.path.lexists(url + end) for end in ("", "-wal", "-journal"))


def _built_on(obj: object, module: str) -> bool:
    return any(c.__module__ == module for c in type(obj).__mro__)


def is_sqlite_recorder(recorder: object) -> bool:
    """Whether ``recorder`` is (built on) eventsourcing's SQLite recorder."""
    return _built_on(recorder, "eventsourcing.sqlite")


def is_postgres_recorder(recorder: object) -> bool:
    """Whether ``recorder`` is (built on) eventsourcing's PostgreSQL recorder."""
    return _built_on(recorder, "eventsourcing.postgres")


def env_for_url(url: str | None = None) -> dict[str, str]:
    """The eventsourcing environment for ``url``."""
    url = url or default_url()
    if is_postgres(url):
        return _postgres_env(url)
    if url == ":memory:":
        return {
            "PERSISTENCE_MODULE": SQLITE_FACTORY,
            "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
            "SQLITE_DBNAME": f"file:petitions-{uuid4().hex}?mode=memory&cache=shared",
        }
    url = _sqlite_path(url)
    if not url.startswith("file:") and read_only_file(url):
        url = _read_only_uri(url)  # read, never written (not even its journal mode)
    return {
        "PERSISTENCE_MODULE": SQLITE_FACTORY,
        "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
        "SQLITE_DBNAME": url,
        "SQLITE_LOCK_TIMEOUT": os.environ.get("PETITIONS_SQLITE_LOCK_TIMEOUT", "30"),
    }


def _postgres_env(url: str) -> dict[str, str]:
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    env = {
        # eventsourcing's PostgresFactory, plus creation of a named schema.
        "PERSISTENCE_MODULE": "petitions.postgres:Factory",
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
    if query.get("mode") == "ro":
        env["POSTGRES_READ_ONLY"] = "y"  # petitions.postgres.READ_ONLY_ENV
    return env


def describe(url: str | None = None) -> str:
    """A short description of the backend, without any password."""
    url = url or default_url()
    if is_postgres(url):
        from urllib.parse import urlsplit

        p = urlsplit(url)
        host = p.hostname or "127.0.0.1"
        return f"postgresql://{p.username or 'postgres'}@{host}:{p.port or 5432}{p.path}"
    return f"sqlite:{url}"


def postgres_schema(url: str) -> str | None:
    """The schema named by a ``postgresql://`` URL's ``?schema=``, if any."""
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    return query.get("schema")


def postgres_conninfo(url: str) -> str:
    """A libpq connection string for a ``postgresql://`` URL (without our options)."""
    env = _postgres_env(url)
    parts = [f"host={env['POSTGRES_HOST']}", f"port={env['POSTGRES_PORT']}",
             f"dbname={env['POSTGRES_DBNAME']}", f"user={env['POSTGRES_USER']}",
             f"connect_timeout={env['POSTGRES_CONNECT_TIMEOUT']}"]
    if env["POSTGRES_PASSWORD"]:
        parts.append(f"password={env['POSTGRES_PASSWORD']}")
    return " ".join(parts)


@frozen
class StoreInfo:
    """What ``petitions db info`` shows: where the store is and what it holds."""

    backend: str  # "sqlite" or "postgresql"
    location: str  # file or DSN (without password) and schema
    position: int  # the highest position (notification id) recorded, 0 when empty
    petitions: int
    petition_events: int
    workflow_definitions: int
    other_events: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def store_info(app: EventLog, url: str | None = None) -> StoreInfo:
    """Backend, position and counts of ``app``'s store (one grouped query)."""
    from eventsourcing.utils import resolve_topic

    from petitions.domain.definitions import WorkflowDefinition
    from petitions.domain.petition import Petition

    url = url or default_url()
    counts = {"petitions": 0, "petition_events": 0, "workflow_definitions": 0,
              "other_events": 0}
    for topic, events, created in _topic_counts(app):
        try:
            cls = resolve_topic(topic)
        except Exception:  # a topic this version of the code does not know
            cls = None
        if isinstance(cls, type) and issubclass(cls, Petition.Event):
            counts["petition_events"] += events
            counts["petitions"] += created
        elif isinstance(cls, type) and issubclass(cls, WorkflowDefinition.Registered):
            counts["workflow_definitions"] += created
            counts["other_events"] += events
        else:
            counts["other_events"] += events
    location = describe(url)
    if is_postgres(url):
        location += f" schema={postgres_schema(url) or 'public'}"
    return StoreInfo(
        backend="postgresql" if is_postgres(url) else "sqlite",
        location=location,
        position=app.recorder.max_notification_id() or 0,
        **counts,
    )


def _topic_counts(app: EventLog) -> list[tuple[str, int, int]]:
    """``(topic, events, aggregates created)`` for each stored topic."""
    recorder: Any = app.recorder
    table = recorder.events_table_name
    query = ("SELECT topic, COUNT(*) AS events, "
             "SUM(CASE WHEN originator_version = 1 THEN 1 ELSE 0 END) AS created "
             "FROM {table} GROUP BY topic")
    statement: Any
    if is_postgres_recorder(recorder):
        from psycopg.sql import SQL, Identifier

        statement = SQL(query).format(
            table=SQL(".").join([Identifier(recorder.datastore.schema), Identifier(table)]))
    else:
        statement = query.format(table=table)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(statement)
        rows = curs.fetchall()
    return [(str(r["topic"]), int(r["events"]), int(r["created"] or 0)) for r in rows]
