"""Audit tools: hash chains, verification, signed seals, export/import, replay.

Every stored event carries the hash of its predecessor (``prev_hash``), so
a petition's history is a hash chain; :func:`verify_store` checks every chain
and the notification log, :func:`make_seal` signs a constant-size checkpoint
(Merkle root over all chain heads) with Ed25519, :func:`export_log` and
:func:`import_log` move the whole log as checked JSON Lines, and
:func:`history` tells each event in words with what it changed.  The formats
are specified in ``docs/audit.md`` so an outside auditor can check them
without this library.
"""

from petitions.audit.chain import (
    GENESIS,
    ChainedApplication,
    ChainedMapper,
    event_hash,
    prev_hash_of,
)
from petitions.audit.errors import AuditError, ChainBroken, ImportRefused, SealInvalid
from petitions.audit.exchange import export_log, import_log, read_export
from petitions.audit.merkle import merkle_root
from petitions.audit.replay import Change, HistoryEntry, describe, history
from petitions.audit.seal import (
    Seal,
    check_signature,
    keygen,
    load_private_key,
    load_public_key,
    read_seal,
    write_seal,
)
from petitions.audit.verify import ChainVerifier, Problem, Report, make_seal, verify_store

__all__ = [
    "GENESIS",
    "AuditError",
    "ChainBroken",
    "ChainVerifier",
    "ChainedApplication",
    "ChainedMapper",
    "Change",
    "HistoryEntry",
    "ImportRefused",
    "Problem",
    "Report",
    "Seal",
    "SealInvalid",
    "check_signature",
    "describe",
    "event_hash",
    "export_log",
    "history",
    "import_log",
    "keygen",
    "load_private_key",
    "load_public_key",
    "make_seal",
    "merkle_root",
    "prev_hash_of",
    "read_export",
    "read_seal",
    "verify_store",
    "write_seal",
]
