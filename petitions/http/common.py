"""What both HTTP faces share: one service per worker thread, keys, ids, times."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from petitions.errors import InvalidInput
from petitions.http.keys import ApiKey, authenticate
from petitions.timefmt import local, parse

if TYPE_CHECKING:
    from petitions.core import Store
    from petitions.service import PetitionService


class Backend:
    """Opens the configured store once per worker thread.

    A ``PetitionService`` holds connections and caches that are not meant to
    be shared between threads; each thread of the server's pool gets its own,
    all on the same store (SQLite file or PostgreSQL), exactly as several
    processes would.
    """

    def __init__(self, url: str | None = None,
                 factory: Callable[[], PetitionService] | None = None) -> None:
        self.url = small_pool(url)
        self._factory = factory
        self._local = threading.local()
        self._all: list[PetitionService] = []
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def service(self) -> PetitionService:
        found: PetitionService | None = getattr(self._local, "svc", None)
        if found is None:
            if self._factory is not None:
                found = self._factory()
            else:
                from petitions.service import PetitionService

                found = PetitionService.open(self.url)
            self._local.svc = found
            with self._lock:
                self._all.append(found)
        return found

    def store(self) -> Store:
        """The store core of this thread (the API keys live there)."""
        found: Store | None = getattr(self._local, "store", None)
        if found is None:
            from petitions.core import Store

            found = Store(url=self.service().url)
            self._local.store = found
            with self._lock:
                self._stores.append(found)
        return found

    def prepare(self) -> None:
        """Open this thread's service and bring every table into being (events,
        read models, personal data keys, API keys) before requests arrive, so
        that worker threads starting at once do not all create them at once."""
        svc = self.service()
        svc.privacy.sync()
        svc.list_petitions(limit=1)
        self.store()

    def close(self) -> None:
        with self._lock:
            for svc in self._all:
                svc.shutdown()
            for store in self._stores:
                store.close()
            self._all.clear()
            self._stores.clear()
        self._local = threading.local()

    def key(self, key: str | None) -> ApiKey:
        return authenticate(self.store(), key)


#: Connections each worker thread's service keeps open on PostgreSQL (it serves
#: one request at a time), and how many more it may open at once.
THREAD_POOL_SIZE, THREAD_MAX_OVERFLOW = 2, 4


def small_pool(url: str | None) -> str | None:
    """``url`` with a small connection pool per service on PostgreSQL (unless the
    URL sets ``pool_size``): a server keeps one service per worker thread, and
    the library's default pool (5 connections each) would soon use up the
    server's ``max_connections``."""
    from urllib.parse import parse_qs, urlsplit

    from petitions.persistence import default_url, is_postgres

    url = url or default_url()
    if not is_postgres(url) or "pool_size" in parse_qs(urlsplit(url).query):
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}pool_size={THREAD_POOL_SIZE}&max_overflow={THREAD_MAX_OVERFLOW}"


def resolve(svc: PetitionService, ref: str) -> str:
    """The petition a portal names, checked to exist: its id (UUID) or its
    work-order number — the library tells them apart (``exists`` and every
    command and query take either), so numbers work wherever the library
    numbers work orders.  Raises ``PetitionNotFound`` or ``InvalidInput``
    (field ``id``)."""
    if not svc.exists(ref):
        from petitions.errors import PetitionNotFound

        raise PetitionNotFound(ref)
    return ref


def w3c(dt: datetime | None) -> str | None:
    """A W3C datetime with its zone, in Asia/Shanghai time (or ``None``)."""
    return local(dt).isoformat(timespec="seconds") if dt is not None else None


def parse_time(field: str, text: str) -> datetime:
    """An ISO 8601 / W3C datetime; without a zone it is Asia/Shanghai time."""
    try:
        return parse(text.replace(" ", "+") if "T" in text and " " in text else text)
    except ValueError:
        raise InvalidInput(field, "must be a W3C (ISO 8601) date and time",
                           kind="bad_time") from None


def language(explicit: str | None, accept: str | None) -> str:
    """``zh`` or ``en``: the ``locale`` parameter, else Accept-Language, else zh."""
    for candidate in (explicit, *(part.split(";")[0].strip()
                                  for part in (accept or "").split(","))):
        if candidate:
            low = candidate.lower()
            if low.startswith("en"):
                return "en"
            if low.startswith("zh"):
                return "zh"
    return "zh"
