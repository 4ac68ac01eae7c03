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
import hmac
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
    digits = _NOT_DIGIT.sub("", value or "")
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


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> Any:
    return hmac.new(key, digestmod=hashlib.sha256)


def hmac_hex(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 of ``data`` under ``key`` in hex (``hmac.digest(key, data,
    "sha256").hex()``), from a copy of an HMAC keyed once per key: a bulk
    import computes several per filing under the same few keys."""
    made = _keyed(key).copy()
    made.update(data)
    return str(made.hexdigest())


def entries(key: bytes, phone: str, id_number: str) -> list[tuple[str, str]]:
    """The ``(digest, kind)`` entries of one petitioner's numbers."""
    out = []
    for kind, value in ((PHONE, phone), (ID_NUMBER, id_number)):
        found = digest(key, kind, value) if value else None
        if found is not None:
            out.append((found, kind))
    return out
