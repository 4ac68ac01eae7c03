"""Data keys per petitioner, kept in a key table outside the event log.

Each petitioner's personal fields are sealed with their own random 256-bit
AES-GCM *data key*.  Data keys live in the table ``petitioner_keys`` in the
same database as the events (SQLite file, or the PostgreSQL schema), each
wrapped (AES-GCM) under the *master key*, which is never stored there:

* ``PETITIONS_MASTER_KEY`` — base64 of 16, 24 or 32 random bytes; else
* ``PETITIONS_MASTER_KEY_FILE`` — a file holding that base64 text; else
* on SQLite, ``<database>.key`` beside the database file, created on first use
  with owner-only permissions (0600) and a warning in the log; an in-memory
  database gets a key that lives as long as the process;
* PostgreSQL refuses to work without a configured key
  (:class:`~petitions.privacy.errors.MasterKeyMissing`).

Erasing a petitioner (crypto-shredding) blanks their wrapped keys and marks
them erased; the events are never touched.

Caching.  Unwrapped data keys are cached per process, so filing and reading
cost one small query (the *erasure epoch*) rather than a key lookup and an
unwrap.  Every erasure increments the epoch in the same transaction that
destroys the keys, and every operation of the service reads the epoch first
(:meth:`Keyring.sync`): when it moved, the cache is dropped.  So an erasure
made by another process is honoured on that process's next operation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from petitions.domain.isotime import isoformat
from petitions.logs import get_logger
from petitions.persistence import describe, is_postgres, retry_schema_change
from petitions.privacy.errors import MasterKeyInvalid, MasterKeyMissing
from petitions.recorders import BatchedWrite
from workflows.records import evolve, field, frozen

if TYPE_CHECKING:
    from pathlib import Path

log = get_logger("petitions.privacy")
#: Says where a master key file was created (the CLI prints it on stderr).
created_log = get_logger("petitions.keyfile")

MASTER_KEY_ENV = "PETITIONS_MASTER_KEY"
MASTER_KEY_FILE_ENV = "PETITIONS_MASTER_KEY_FILE"
KEY_FILE_SUFFIX = ".key"
DATA_KEY_BYTES = 32
#: The random bytes a new data key takes (:meth:`Keyring.new_key`): its id (16),
#: the key and the nonce wrapping it (12).
KEY_DRAW = 16 + DATA_KEY_BYTES + 12


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyInvalid(f"{where} is not base64 text") from None
    if len(key) not in (16, 24, 32):
        raise MasterKeyInvalid(f"{where} holds {len(key)} bytes; 16, 24 or 32 are needed")
    return key


def new_master_key_text() -> str:
    """A fresh master key, as the base64 text the configuration takes."""
    import secrets  # (with hmac) only where a key is made: not to read a petition

    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@lru_cache(maxsize=8)
def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"petitions master key\n" + key).hexdigest()[:16]


@lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    # One cipher object per master key (a bulk import wraps a key per filing).
    return AESGCM(key)


@frozen
class MasterKey:
    """The key that wraps the data keys, and where it came from."""

    key: bytes = field(repr=False)
    source: str

    @property
    def fingerprint(self) -> str:
        """A short public name of the key (not usable to recover it)."""
        return _fingerprint(self.key)

    def wrap(self, data_key: bytes, key_id: str, petitioner_id: str,
             nonce: bytes | None = None) -> bytes:
        """``data_key`` sealed under this key, with the key row's id and its
        petitioner's id bound in as associated data: a row whose key id or
        petitioner id was changed no longer opens.  ``nonce``: 12 random
        bytes drawn by the caller for this wrapping only (None: drawn now)."""
        if nonce is None:
            nonce = os.urandom(12)
        elif len(nonce) != 12:
            raise ValueError("a wrapping nonce is 12 bytes")
        return nonce + _aead(self.key).encrypt(nonce, data_key,
                                                wrap_aad(key_id, petitioner_id))

    def unwrap(self, blob: bytes, key_id: str, petitioner_id: str) -> bytes | None:
        """The data key, or None when ``blob`` does not open for this key id and
        petitioner (altered, or sealed under another master key).  A key
        wrapped before petitioner ids were bound in (key id only) still opens."""
        aead = AESGCM(self.key)
        try:
            return aead.decrypt(blob[:12], blob[12:], wrap_aad(key_id, petitioner_id))
        except InvalidTag:
            pass
        try:
            return aead.decrypt(blob[:12], blob[12:], key_id.encode())
        except InvalidTag:
            return None


def wrap_aad(key_id: str, petitioner_id: str) -> bytes:
    """The associated data of a wrapped data key."""
    return f"petitions/key/v2\n{key_id}\n{petitioner_id}".encode()


def key_file_for(url: str) -> Path | None:
    """Where the default master key file of a SQLite database lies (None: in memory)."""
    found = _key_file(url)
    if found is None:
        return None
    from pathlib import Path

    return Path(found)


def _key_file(url: str) -> str | None:
    """:func:`key_file_for` as text, as ``str(Path(…))`` writes it (pathlib is not
    imported to open a store: it is not needed to read a petition)."""
    if url == ":memory:" or is_postgres(url):
        return None
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///"):]
    if url.startswith("file:"):  # an SQLite URI (e.g. ``file:PATH?mode=ro``)
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if "mode=memory" in parts.query:
            return None
        url = unquote(parts.path)
    return path_text(url + KEY_FILE_SUFFIX)


def path_text(path: str) -> str:
    """``str(pathlib.Path(path))`` (on POSIX: without importing pathlib)."""
    if os.name != "posix":
        from pathlib import Path

        return str(Path(path))
    # pathlib keeps a root of exactly two slashes, drops empty and "." parts.
    root = "//" if path[:2] == "//" and path[2:3] != "/" else "/" if path[:1] == "/" else ""
    return root + "/".join(p for p in path.split("/") if p not in ("", ".")) or "."


def master_key_configured(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a master key is configured for the store at ``url`` (environment,
    key file, or the key file beside a SQLite database), without reading or
    creating one: for checks that must never make a key (``audit verify``)."""
    env = os.environ if environ is None else environ
    if env.get(MASTER_KEY_ENV) or env.get(MASTER_KEY_FILE_ENV):
        return True
    beside = _key_file(url)
    return beside is not None and os.path.exists(beside)


def load_master_key(url: str, environ: Mapping[str, str] | None = None) -> MasterKey:
    """The master key for the store at ``url`` (see the module documentation)."""
    env = os.environ if environ is None else environ
    if env.get(MASTER_KEY_ENV):
        return MasterKey(_parse_key(env[MASTER_KEY_ENV], MASTER_KEY_ENV), "environment")
    if env.get(MASTER_KEY_FILE_ENV):
        from pathlib import Path

        path = Path(env[MASTER_KEY_FILE_ENV])
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise MasterKeyInvalid(f"cannot read {path}: {exc}") from None
        return MasterKey(_parse_key(text, str(path)), f"file {path}")
    if is_postgres(url):
        raise MasterKeyMissing(describe(url))
    beside = _key_file(url)
    if beside is None:
        import secrets

        return MasterKey(secrets.token_bytes(32), "ephemeral (in-memory database)")
    return _default_key_file(beside)


def _default_key_file(path: str) -> MasterKey:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.stat(path).st_mode & 0o077:
            log.warning("master key file %s is readable by others; chmod 600 it", path)
        with open(path, encoding="ascii") as fh:
            return MasterKey(_parse_key(fh.read(), path), f"file {path}")
    text = new_master_key_text()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
    created_log.warning(
        "created master key file %s (owner-only). Back it up and keep it apart from the "
        "database (see `petitions privacy keys status`): without it nobody can read the "
        "personal data. 已创建主密钥文件 %s，请妥善备份并与数据库分开存放。", path, path)
    return MasterKey(_parse_key(text, str(path)), f"created {path}")


# ---------------------------------------------------------------- key table
@frozen
class KeyRow:
    key_id: str
    petitioner_id: str
    wrapped: bytes | None
    master: str
    created_at: str
    erased_at: str | None


class KeyWrite(BatchedWrite):
    """Inserts one new key row with the cursor of the events' transaction (the
    new keys of a batch of filings are inserted together)."""

    __slots__ = ("row", "table")

    def __init__(self, table: KeyTable, row: KeyRow) -> None:
        self.table, self.row = table, row

    def group(self) -> Any:
        return (KeyWrite, id(self.table))

    @classmethod
    def write_many(cls, cursor: Any, writes: Sequence[Any]) -> None:
        table: KeyTable = writes[0].table
        if len(writes) == 1:
            table._insert(cursor, writes[0].row)
            return
        table.insert_rows(cursor, [(w.row.key_id, w.row.petitioner_id, w.row.wrapped,
                                    w.row.master, w.row.created_at, w.row.erased_at)
                                   for w in writes])


class KeyTable:
    """The ``petitioner_keys`` table (and its erasure epoch) of one database."""

    def __init__(self, datastore: Any, *, postgres: bool) -> None:
        self.datastore = datastore
        self.postgres = postgres
        if postgres:
            schema = '"' + str(datastore.schema).replace('"', '""') + '"'
            self.keys = f"{schema}.petitioner_keys"
            self.epoch_table = f"{schema}.petitioner_keys_epoch"
            self.p = "%s"
        else:
            self.keys = "petitioner_keys"
            self.epoch_table = "petitioner_keys_epoch"
            self.p = "?"

    @contextmanager
    def _tx(self, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    @staticmethod
    def _rows(cursor: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                for r in cursor.fetchall()]

    def create(self) -> None:
        blob = "BYTEA" if self.postgres else "BLOB"
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.keys} ("
            "key_id TEXT PRIMARY KEY, petitioner_id TEXT NOT NULL, "
            f"wrapped {blob}, master TEXT NOT NULL, created_at TEXT NOT NULL, erased_at TEXT)",
            "CREATE UNIQUE INDEX IF NOT EXISTS petitioner_keys_live ON "
            f"{self.keys} (petitioner_id) WHERE erased_at IS NULL",
            "CREATE INDEX IF NOT EXISTS petitioner_keys_by_petitioner ON "
            f"{self.keys} (petitioner_id)",
            f"CREATE TABLE IF NOT EXISTS {self.epoch_table} ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL)",
            f"INSERT INTO {self.epoch_table} (id, epoch) VALUES (1, 0) ON CONFLICT DO NOTHING",
        ]

        def create() -> None:
            with self._tx(commit=True) as c:
                for statement in statements:
                    c.execute(statement)

        retry_schema_change(create)

    def epoch(self) -> int:
        with self._tx(commit=False) as c:
            c.execute(f"SELECT epoch FROM {self.epoch_table} WHERE id = 1")
            rows = self._rows(c)
        return int(rows[0][0]) if rows else 0

    _COLUMNS = "key_id, petitioner_id, wrapped, master, created_at, erased_at"

    def _select(self, where: str, *params: Any) -> list[KeyRow]:
        with self._tx(commit=False) as c:
            c.execute(f"SELECT {self._COLUMNS} FROM {self.keys} WHERE {where}", params)
            rows = self._rows(c)
        return [KeyRow(r[0], r[1], bytes(r[2]) if r[2] is not None else None, r[3], r[4], r[5])
                for r in rows]

    def live(self, petitioner_id: str) -> KeyRow | None:
        rows = self._select(f"petitioner_id = {self.p} AND erased_at IS NULL", petitioner_id)
        return rows[0] if rows else None

    def by_id(self, key_id: str) -> KeyRow | None:
        rows = self._select(f"key_id = {self.p}", key_id)
        return rows[0] if rows else None

    def of_petitioner(self, petitioner_id: str) -> list[KeyRow]:
        return self._select(f"petitioner_id = {self.p}", petitioner_id)

    def one_live(self) -> KeyRow | None:
        """A live key row (any), or None when there is none."""
        rows = self._select("erased_at IS NULL AND wrapped IS NOT NULL LIMIT 1")
        return rows[0] if rows else None

    def all_live(self) -> list[KeyRow]:
        return self._select("erased_at IS NULL")

    def all_rows(self) -> list[KeyRow]:
        return self._select("1 = 1")

    def insert_many(self, rows: list[KeyRow]) -> int:
        """Insert rows whose key id is not present yet, in one transaction."""
        p = self.p
        added = 0
        with self._tx(commit=True) as c:
            for row in rows:
                c.execute(f"SELECT COUNT(*) FROM {self.keys} WHERE key_id = {p}", (row.key_id,))
                if int(self._rows(c)[0][0]):
                    continue
                c.execute(f"INSERT INTO {self.keys} ({self._COLUMNS}) "
                          f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                          (row.key_id, row.petitioner_id, row.wrapped, row.master,
                           row.created_at, row.erased_at))
                added += 1
        return added

    def _insert(self, cursor: Any, row: KeyRow, tail: str = "") -> None:
        p = self.p
        cursor.execute(f"INSERT INTO {self.keys} ({self._COLUMNS}) "
                       f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}){tail}",
                       (row.key_id, row.petitioner_id, row.wrapped, row.master,
                        row.created_at, row.erased_at))

    def insert(self, row: KeyRow) -> bool:
        """Insert ``row`` unless the petitioner already has a live key; whether it was."""
        with self._tx(commit=True) as c:
            self._insert(c, row, " ON CONFLICT DO NOTHING RETURNING key_id")
            return bool(self._rows(c))

    def insert_rows(self, cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new key rows (as :class:`KeyRow`'s fields, in order) with the
        cursor of another transaction (the events'), keys nobody else can hold."""
        p = self.p
        cursor.executemany(
            f"INSERT INTO {self.keys} ({self._COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
            rows)

    def writer(self, row: KeyRow) -> Callable[[Any], None]:
        """Writes ``row`` with the cursor of another transaction (the events'):
        for a key nobody else can hold, so a conflict is an error."""
        return KeyWrite(self, row)

    def shred(self, petitioner_id: str, erased_at: str) -> int:
        """Destroy the petitioner's keys and move the epoch on; the number destroyed."""
        p = self.p
        with self._tx(commit=True) as c:
            if not self.postgres:
                c.execute("PRAGMA secure_delete = ON")
            c.execute(f"UPDATE {self.keys} SET wrapped = NULL, erased_at = {p} "
                      f"WHERE petitioner_id = {p} AND erased_at IS NULL",
                      (erased_at, petitioner_id))
            c.execute(f"SELECT COUNT(*) FROM {self.keys} WHERE petitioner_id = {p} "
                      f"AND erased_at = {p}", (petitioner_id, erased_at))
            count = int(self._rows(c)[0][0])
            c.execute(f"UPDATE {self.epoch_table} SET epoch = epoch + 1 WHERE id = 1")
        if not self.postgres:
            self._sqlite_checkpoint()
        return count

    def _sqlite_checkpoint(self) -> None:
        # Old page images holding the wrapped key may linger in the WAL file:
        # copy the WAL back and truncate it.
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                cursor.sqlite_cursor.close()

    def rewrap(self, rows: list[tuple[str, bytes, str]]) -> None:
        """Replace wrapped keys: ``(key_id, wrapped, master)`` each, in one transaction."""
        p = self.p
        with self._tx(commit=True) as c:
            for key_id, wrapped, master in rows:
                c.execute(f"UPDATE {self.keys} SET wrapped = {p}, master = {p} "
                          f"WHERE key_id = {p} AND erased_at IS NULL",
                          (wrapped, master, key_id))

    def counts(self) -> tuple[int, int]:
        """(live keys, erased keys)."""
        with self._tx(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.keys} WHERE erased_at IS NULL")
            live = int(self._rows(c)[0][0])
            c.execute(f"SELECT COUNT(*) FROM {self.keys} WHERE erased_at IS NOT NULL")
            erased = int(self._rows(c)[0][0])
        return live, erased


# ------------------------------------------------------------------- keyring
#: How many data keys a process keeps in memory before it starts afresh
#: (they are read back from the key table when needed again).
KEY_CACHE_MAX = 100_000


class Keyring:
    """Data keys for sealing and opening, with a per-process cache."""

    def __init__(self, table: KeyTable, master: Callable[[], MasterKey]) -> None:
        self.table = table
        self._master_loader = master
        self._master: MasterKey | None = None
        self._lock = threading.RLock()
        self._by_id: dict[str, AESGCM | None] = {}
        self._erased: dict[str, bool] = {}
        self._live: dict[str, tuple[str, AESGCM]] = {}
        self._epoch: int | None = None
        self._created = False
        self._master_checked = False

    @property
    def master(self) -> MasterKey:
        found = self._master
        if found is not None:  # (loaded: read without the lock, once per filing)
            return found
        with self._lock:
            if self._master is None:
                self._master = self._master_loader()
            return self._master

    def loaded_master(self) -> MasterKey | None:
        """The master key if it was loaded already (never loads or creates one)."""
        return self._master

    def check_master(self) -> None:
        """Raise :class:`MasterKeyInvalid` (or :class:`MasterKeyMissing`) unless a
        master key is configured and opens the key table (a live key row sealed
        under another master key shows it does not); checked once per keyring."""
        if self._master_checked:
            return
        with self._lock:
            self._ready()
            master = self.master
            row = self.table.one_live()
            if (row is not None and row.wrapped is not None and row.master != master.fingerprint
                    and master.unwrap(row.wrapped, row.key_id, row.petitioner_id) is None):
                raise MasterKeyInvalid(
                    f"it does not open the key table (keys were sealed under master key "
                    f"{row.master}, the configured key is {master.fingerprint})")
            self._master_checked = True

    def ready(self) -> None:
        """Make the key tables if this keyring has not yet (before a key row
        made by another process, :meth:`new_key`'s, is written here)."""
        with self._lock:
            self._ready()

    def _ready(self) -> None:
        if not self._created:
            self.table.create()
            self._created = True

    def sync(self) -> None:
        """Drop cached keys if any petitioner was erased since the last look."""
        with self._lock:
            self._ready()
            epoch = self.table.epoch()
            if epoch != self._epoch:
                self._by_id.clear()
                self._live.clear()
                self._epoch = epoch

    def _unwrap(self, row: KeyRow) -> AESGCM | None:
        if row.wrapped is None:
            return None
        clear = self.master.unwrap(row.wrapped, row.key_id, row.petitioner_id)
        if clear is None:
            raise MasterKeyInvalid(
                f"it does not open the key table (keys were sealed under master key "
                f"{row.master}, the configured key is {self.master.fingerprint})")
        return AESGCM(clear)

    def new_key(self, petitioner_id: str, drawn: bytes | None = None,
                ) -> tuple[KeyRow, AESGCM]:
        """A new data key for ``petitioner_id``, wrapped for storing; not stored
        (see :meth:`KeyTable.insert`, :meth:`KeyTable.writer`) nor cached (see
        :meth:`remember`) yet.  ``drawn``: :data:`KEY_DRAW` bytes of the
        operating system's CSPRNG drawn by the caller for this key only (None:
        drawn now; a bulk filing draws what a new petitioner needs at once)."""
        if drawn is None:
            # One draw of the operating system's CSPRNG for the key id (16
            # bytes: what secrets.token_hex(16) gives), the data key (32: the
            # size AESGCM.generate_key makes, without running OpenSSL's own
            # generator once per filing) and the nonce that wraps it (12):
            # the bytes separate draws would give, in one system call.
            drawn = os.urandom(KEY_DRAW)
        elif len(drawn) != KEY_DRAW:
            raise ValueError(f"a new key takes {KEY_DRAW} random bytes")
        if not self._created:
            with self._lock:
                self._ready()
        # (Nothing else shared: the key made and wrapped without the lock.)
        key_id = drawn[:16].hex()
        data_key = drawn[16:16 + DATA_KEY_BYTES]
        master = self.master
        row = KeyRow(key_id=key_id, petitioner_id=petitioner_id,
                     wrapped=master.wrap(data_key, key_id, petitioner_id,
                                         drawn[16 + DATA_KEY_BYTES:]),
                     master=master.fingerprint,
                     created_at=isoformat(datetime.now(UTC)), erased_at=None)
        return row, AESGCM(data_key)

    def remember(self, row: KeyRow, aead: AESGCM) -> None:
        """Cache a key just stored as its petitioner's live key (the cache
        starts afresh past :data:`KEY_CACHE_MAX` keys: a bulk import of a
        million petitioners does not keep a million keys in memory)."""
        with self._lock:
            if len(self._by_id) >= KEY_CACHE_MAX:
                self._by_id.clear()
                self._live.clear()
            self._live[row.petitioner_id] = (row.key_id, aead)
            self._by_id[row.key_id] = aead

    def for_sealing(self, petitioner_id: str) -> tuple[str, AESGCM]:
        """The petitioner's live key (made and stored now if they have none)."""
        with self._lock:
            found = self.live_key(petitioner_id)
            if found is not None:
                return found
            made, aead = self.new_key(petitioner_id)
            if self.table.insert(made):
                self.remember(made, aead)
                return made.key_id, aead
            found = self.live_key(petitioner_id)  # another writer won
            if found is None:  # pragma: no cover - erased in the same instant
                raise MasterKeyInvalid("the new data key could not be stored")
            return found

    def live_key(self, petitioner_id: str) -> tuple[str, AESGCM] | None:
        """The petitioner's live key (cached, else from the store), or None."""
        with self._lock:
            found = self._live.get(petitioner_id)
            if found is not None:
                return found
            self._ready()
            row = self.table.live(petitioner_id)
            if row is None:
                return None
            opened = self._unwrap(row)
            assert opened is not None
            self.remember(row, opened)
            return row.key_id, opened

    def for_opening(self, key_id: str) -> AESGCM | None:
        """The key ``key_id``, or None when it was erased or is unavailable
        (see :meth:`is_erased`)."""
        with self._lock:
            if key_id in self._by_id:
                return self._by_id[key_id]
            self._ready()
            return self._opened(key_id, self.table.by_id(key_id))

    def preload(self) -> None:
        """Read every key row at once (one query), for opening many petitioners'
        data in a row (``audit verify``'s check of the caller index)."""
        with self._lock:
            self._ready()
            for row in self.table.all_rows():
                if row.key_id not in self._by_id:
                    self._opened(row.key_id, row)

    def adopt(self, master: MasterKey, opened: list[tuple[KeyRow, bytes]]) -> None:
        """Cache keys already unwrapped under ``master`` (``audit verify``
        opened every row), if it is the master key in use here."""
        with self._lock:
            if self.master.fingerprint != master.fingerprint:
                return
            for row, clear in opened:
                if row.key_id not in self._by_id:
                    self._by_id[row.key_id] = AESGCM(clear)

    def _opened(self, key_id: str, row: KeyRow | None) -> AESGCM | None:
        with self._lock:
            aead: AESGCM | None = None
            if row is None:
                self._erased[key_id] = False  # not in this store's key table
            elif row.wrapped is None:
                self._erased[key_id] = row.erased_at is not None
            else:
                clear = self.master.unwrap(row.wrapped, row.key_id, row.petitioner_id)
                if clear is not None:
                    aead = AESGCM(clear)
                elif row.master != self.master.fingerprint:
                    raise MasterKeyInvalid(
                        f"it does not open the key table (keys were sealed under master key "
                        f"{row.master}, the configured key is {self.master.fingerprint})")
                else:
                    log.warning("key row %s (petitioner %s) does not open under the master "
                                "key it names: the row was altered; its data reads as "
                                "sealed", row.key_id, row.petitioner_id)
                    self._erased[key_id] = False
            self._by_id[key_id] = aead
            return aead

    def is_erased(self, key_id: str) -> bool:
        """Whether a key :meth:`for_opening` did not give was erased (True) or is
        merely unavailable here (False: its row is missing — a store copied
        without its keys — or does not open)."""
        with self._lock:
            return self._erased.get(key_id, True)

    def erase(self, petitioner_id: str, at: datetime) -> int:
        """Destroy every key of the petitioner; the number destroyed."""
        with self._lock:
            self._ready()
            count = self.table.shred(petitioner_id, at.astimezone(UTC).isoformat())
            self._by_id.clear()
            self._live.clear()
            self._epoch = None
            return count

    def rotate(self, new: MasterKey) -> int:
        """Re-wrap every live data key under ``new``; the number re-wrapped.

        Configure ``new`` as the master key right afterwards: the old one no
        longer opens the key table.
        """
        with self._lock:
            self._ready()
            rows = []
            for row in self.table.all_live():
                if row.wrapped is None:
                    continue
                clear = self.master.unwrap(row.wrapped, row.key_id,
                                           row.petitioner_id)
                if clear is None:
                    raise MasterKeyInvalid(f"key {row.key_id} is not sealed under the "
                                           "configured master key")
                rows.append((row.key_id, new.wrap(clear, row.key_id, row.petitioner_id),
                             new.fingerprint))
            self.table.rewrap(rows)
            self._master = new
            self._by_id.clear()
            self._live.clear()
            return len(rows)

    # ------------------------------------------------------------- transfer
    def export_for(self, target: MasterKey) -> list[KeyRow]:
        """Every key row, live keys re-wrapped under ``target`` (for a copy of
        the store that uses that master key); erased keys stay erased."""
        with self._lock:
            self._ready()
            out = []
            for row in self.table.all_rows():
                if row.wrapped is None:
                    out.append(row)
                    continue
                clear = self.master.unwrap(row.wrapped, row.key_id,
                                           row.petitioner_id)
                if clear is None:
                    raise MasterKeyInvalid(f"key {row.key_id} is not sealed under the "
                                           "configured master key")
                out.append(evolve(row, wrapped=target.wrap(clear, row.key_id,
                                                                 row.petitioner_id),
                                        master=target.fingerprint))
            return out

    def check_rows(self, rows: list[KeyRow]) -> None:
        """Raise :class:`MasterKeyInvalid` unless every live row opens under our
        master key (for its key id and petitioner)."""
        for row in rows:
            if row.wrapped is not None and self.master.unwrap(
                    row.wrapped, row.key_id, row.petitioner_id) is None:
                raise MasterKeyInvalid(
                    f"key {row.key_id} was exported for master key {row.master}, "
                    f"not for the configured {self.master.fingerprint}")

    def import_rows(self, rows: list[KeyRow]) -> int:
        """Add exported key rows; every live one must open under our master key.

        Nothing is written unless all of them do.  Rows whose key id is already
        present are left as they are.  Returns the number of rows added.
        """
        with self._lock:
            self._ready()
            self.check_rows(rows)
            added = self.table.insert_many(rows)
            self._by_id.clear()
            self._live.clear()
            self._epoch = None
            return added
