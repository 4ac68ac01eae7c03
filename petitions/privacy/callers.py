"""Caller look-up without clear text: a keyed blind index.

A 12345 operator must find a repeat caller's other cases while the phone and
ID numbers stay sealed.  Each filing stores, beside its events and in their
transaction, ``HMAC-SHA256(k, kind ‖ normalised value)`` for the
petitioner's phone and ID number, where ``k`` is derived (HKDF-SHA256) from
the master key and never stored.  Looking a caller up hashes the number given
the same way and matches digests; the database holds no number in clear, and
without the master key a digest cannot be tested against guesses.

Erasing a petitioner removes their entries (:meth:`Privacy.erase`).  Rotating
the master key changes ``k``: :meth:`Privacy.rotate` makes every entry again
under the new key (``db reindex --callers-afresh`` does the same by hand).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from petitions.privacy.keys import MasterKey

PHONE = "phone"
ID_NUMBER = "id_number"

_INFO = b"petitions caller index v1"
_NOT_DIGIT = re.compile(r"\D")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def normalise_phone(value: str) -> str:
    """Digits only, without a +86 / 0086 country code: ``+86 138-0000-1234`` →
    ``13800001234``."""
    # (ASCII digits only, the usual case, are the digits as they are.)
    digits = (value if value and value.isascii() and value.isdigit()
              else _NOT_DIGIT.sub("", value or ""))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def normalise_id_number(value: str) -> str:
    """Letters and digits only, upper case (a trailing ``x`` is ``X``)."""
    return _NOT_ALNUM.sub("", value or "").upper()


def index_key(master: MasterKey) -> bytes:
    """The HMAC key of the index, derived from the master key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master.key)


def digest(key: bytes, kind: str, value: str) -> str | None:
    """The blind-index digest of a phone or ID number (None when it is empty)."""
    norm = normalise_phone(value) if kind == PHONE else normalise_id_number(value)
    if not norm:
        return None
    return hmac_hex(key, f"{kind}\n{norm}".encode())


#: SHA-256's block: an HMAC key is padded (or first hashed) to it (RFC 2104).
_BLOCK = 64
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256's inner and outer hashes under ``key``, each begun with its
    padded key (RFC 2104): what ``hmac.new(key, digestmod=sha256)`` computes
    first, computed once per key."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def hmac_hex(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 of ``data`` under ``key`` in hex (``hmac.digest(key, data,
    "sha256").hex()``), continued from copies of its inner and outer hashes
    begun once per key: a bulk import computes several per filing under the
    same few keys."""
    inner, outer = _keyed(key)
    inner = inner.copy()
    inner.update(data)
    outer = outer.copy()
    outer.update(inner.digest())
    return str(outer.hexdigest())


def entries(key: bytes, phone: str, id_number: str) -> list[tuple[str, str]]:
    """The ``(digest, kind)`` entries of one petitioner's numbers."""
    out = []
    for kind, value in ((PHONE, phone), (ID_NUMBER, id_number)):
        found = digest(key, kind, value) if value else None
        if found is not None:
            out.append((found, kind))
    return out
