"""A Merkle root over the heads of all chains (format in ``docs/audit.md``).

Leaves are the chains' heads sorted by aggregate id; each leaf is
``SHA-256(0x00 || "<id hex>:<version>:<head hash>")``, each inner node
``SHA-256(0x01 || left || right)`` over the 32-byte digests; a level with an
odd number of nodes carries its last node up unchanged.  The root of no
leaves is ``SHA-256("")``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any


def leaf(originator_id: str, version: int, head: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{originator_id}:{version}:{head}".encode()).digest()


def root_of_leaves(leaves: list[bytes]) -> str:
    """The hex root over already-hashed, already-ordered leaves."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = leaves
    sha = hashlib.sha256
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def merkle_root(heads: Mapping[str, tuple[Any, ...]] | Iterable[tuple[str, int, str]]) -> str:
    """The root over chain heads: ``{id_hex: (version, hash, …)}`` or ``(id, version, hash)``."""
    if isinstance(heads, Mapping):
        items = [(k, v[0], v[1]) for k, v in heads.items()]
    else:
        items = list(heads)
    items.sort()
    return root_of_leaves([leaf(i, v, h) for i, v, h in items])
