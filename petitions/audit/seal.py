"""Signed seals: an Ed25519-signed checkpoint of the whole store.

A seal pins the last notification position, the number of events up to it,
and a Merkle root over the heads of every chain at that position.  It is a
few hundred bytes whatever the size of the history.  Anyone holding the
public key can later prove that nothing up to the seal's position has been
changed, removed or inserted — even by someone who rewrote events and
recomputed every hash, since the heads (and so the root) would differ and
the root cannot be re-signed without the private key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from petitions.audit.errors import AuditError, SealInvalid

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

SEAL_FORMAT = "petitions-seal/1"
#: Prefix of the signed message (domain separation).
SIGNING_PREFIX = b"petitions-seal/1\n"


@attrs.frozen
class Seal:
    """A checkpoint of the store, signed with Ed25519."""

    position: int
    events: int
    chains: int
    merkle_root: str
    sealed_at: str
    key_id: str
    signature: str = ""
    format: str = SEAL_FORMAT

    def body(self) -> dict[str, Any]:
        """The signed fields (everything but the signature)."""
        return {"format": self.format, "position": self.position, "events": self.events,
                "chains": self.chains, "merkle_root": self.merkle_root,
                "sealed_at": self.sealed_at, "key_id": self.key_id}

    def signed_bytes(self) -> bytes:
        return SIGNING_PREFIX + canonical_json(self.body())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8 (the signed form of a seal)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


# ------------------------------------------------------------------ keys
def keygen(path: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``path`` (private, PEM, mode 0600) and ``path.pub``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Path(path)
    public = Path(f"{private}.pub")
    if not overwrite:
        for p in (private, public):
            if p.exists():
                raise AuditError(f"{p} already exists; refusing to overwrite a key",
                                 path=str(p))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public.write_bytes(pub)
    return private, public


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AuditError(f"cannot read the {what} {path}: {exc.strerror}",
                         path=str(path)) from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(_read(path, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{path} is not an unencrypted PEM private key: {exc}",
                         path=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{path} is not an Ed25519 private key", path=str(path))
    return key


def load_public_key(source: str | Path | Ed25519PublicKey) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if isinstance(source, Ed25519PublicKey):
        return source
    try:
        key = serialization.load_pem_public_key(_read(source, "public key"))
    except ValueError as exc:
        raise AuditError(f"{source} is not a PEM public key: {exc}", path=str(source)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(f"{source} is not an Ed25519 public key", path=str(source))
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: names the key in a seal."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# ----------------------------------------------------------------- seals
def write_seal(seal: Seal, path: str | Path) -> None:
    Path(path).write_text(json.dumps(seal.to_dict(), ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")


def read_seal(path: str | Path) -> Seal:
    raw = _read(path, "seal")
    try:
        data = json.loads(raw)
        if data.get("format") != SEAL_FORMAT:
            raise SealInvalid(f"{path} is not a {SEAL_FORMAT} seal", path=str(path))
        return Seal(position=int(data["position"]), events=int(data["events"]),
                    chains=int(data["chains"]), merkle_root=str(data["merkle_root"]),
                    sealed_at=str(data["sealed_at"]), key_id=str(data["key_id"]),
                    signature=str(data["signature"]), format=str(data["format"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SealInvalid(f"{path} is not a readable seal file", path=str(path)) from None


def check_signature(seal: Seal, public_key: Any) -> None:
    """Raise :class:`SealInvalid` unless ``seal`` was signed by ``public_key``'s key."""
    from cryptography.exceptions import InvalidSignature

    if public_key is None:
        raise SealInvalid("checking a seal needs the public key it was signed with")
    key = load_public_key(public_key)
    if key_id(key) != seal.key_id:
        raise SealInvalid("the seal was signed with another key "
                          f"(key id {seal.key_id[:16]}…, given {key_id(key)[:16]}…)")
    try:
        key.verify(base64.b64decode(seal.signature, validate=True), seal.signed_bytes())
    except (InvalidSignature, ValueError):
        raise SealInvalid("the seal's signature is not valid: the seal file was "
                          "altered") from None
