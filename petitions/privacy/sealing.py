"""Field-level encryption of personal data: AES-GCM sealed text.

A personal field (a name, a phone number, an ID number, an address) is stored
as *sealed text*::

    enc1:<nonce>:<ciphertext>:<key id>

``nonce`` and ``ciphertext`` are URL-safe base64 (without padding) and the key
id names the petitioner's data key in the key table.  The field's name and
the key id are bound to the ciphertext as associated data, so a sealed value
cannot be moved to another field or another petitioner unnoticed.  Sealed
text is plain text to the domain and to the event store: the aggregate and
its events only ever hold it, never the clear value.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from workflows.records import frozen

PREFIX = "enc1"
NONCE_BYTES = 12
#: The nonce in base64 letters (a whole number of 3-byte groups: no padding).
_NONCE_LETTERS = NONCE_BYTES // 3 * 4
assert NONCE_BYTES % 3 == 0


#: Standard base64's last two letters as the URL-safe alphabet writes them.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64e(data: bytes) -> str:
    """URL-safe base64 without padding (what ``base64.urlsafe_b64encode``
    writes, the ``=`` stripped), in one step: a filing seals several fields."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(
        _URLSAFE).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@frozen
class Sealed:
    """One sealed personal value: which key, the nonce and the ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def text(self) -> str:
        return f"{PREFIX}:{b64e(self.nonce)}:{b64e(self.ciphertext)}:{self.key_id}"

    @classmethod
    def parse(cls, text: str) -> Sealed | None:
        """The sealed value in ``text``, or None if ``text`` is not sealed."""
        if not text.startswith(PREFIX + ":"):
            return None
        parts = text.split(":", 3)
        if len(parts) != 4 or not parts[3]:
            return None
        try:
            return cls(key_id=parts[3], nonce=b64d(parts[1]), ciphertext=b64d(parts[2]))
        except ValueError:
            return None


def is_sealed(text: str) -> bool:
    return Sealed.parse(text) is not None


def _aad(key_id: str, field: str) -> bytes:
    return f"petitions/v1\n{key_id}\n{field}".encode()


def seal(key: AESGCM, key_id: str, field: str, value: str, nonce: bytes | None = None) -> str:
    """``value`` sealed under ``key`` (empty text stays empty).  ``nonce``:
    :data:`NONCE_BYTES` random bytes drawn by the caller for this value only
    (None: drawn now)."""
    if not value:
        return ""
    # A new random nonce for every value sealed (never reused under a key).
    if nonce is None:
        nonce = os.urandom(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
    return seal_fields(key, key_id, ((field, value),), nonce)[0]


def seal_fields(key: AESGCM, key_id: str, fields: Iterable[tuple[str, str]],
                nonces: bytes) -> list[str]:
    """Each ``(field, value)`` sealed under ``key`` as :func:`seal` seals it,
    the n-th with the n-th :data:`NONCE_BYTES` of ``nonces`` (random bytes the
    caller drew for these values only; an empty value stays empty and leaves
    its nonce unused).  A filing seals a petitioner's fields under one key:
    the parts that are the key's are made once."""
    encrypt, aad, tail = key.encrypt, f"petitions/v1\n{key_id}\n", f":{key_id}"  # _aad()
    out: list[str] = []
    at = 0
    for field, value in fields:
        if value:
            nonce = nonces[at:at + NONCE_BYTES]
            if len(nonce) != NONCE_BYTES:
                raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
            # Sealed.text(): the nonce's 12 bytes are 16 base64 letters without
            # padding, so the two are encoded together and split after the 16th.
            both = b64e(nonce + encrypt(nonce, value.encode("utf-8"), (aad + field).encode()))
            out.append(f"{PREFIX}:{both[:_NONCE_LETTERS]}:{both[_NONCE_LETTERS:]}{tail}")
        else:
            out.append("")
        at += NONCE_BYTES
    return out


def unseal(key: AESGCM, sealed: Sealed, field: str) -> str | None:
    """The clear value, or None if the ciphertext does not open with ``key``."""
    try:
        clear = key.decrypt(sealed.nonce, sealed.ciphertext, _aad(sealed.key_id, field))
    except InvalidTag:
        return None
    return clear.decode("utf-8")
