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

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
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


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "GENESIS": "petitions.audit.chain",
    "ChainedApplication": "petitions.audit.chain",
    "ChainedMapper": "petitions.audit.chain",
    "event_hash": "petitions.audit.chain",
    "prev_hash_of": "petitions.audit.chain",
    "AuditError": "petitions.audit.errors",
    "ChainBroken": "petitions.audit.errors",
    "ImportRefused": "petitions.audit.errors",
    "SealInvalid": "petitions.audit.errors",
    "export_log": "petitions.audit.exchange",
    "import_log": "petitions.audit.exchange",
    "read_export": "petitions.audit.exchange",
    "merkle_root": "petitions.audit.merkle",
    "Change": "petitions.audit.replay",
    "HistoryEntry": "petitions.audit.replay",
    "describe": "petitions.audit.replay",
    "history": "petitions.audit.replay",
    "Seal": "petitions.audit.seal",
    "check_signature": "petitions.audit.seal",
    "keygen": "petitions.audit.seal",
    "load_private_key": "petitions.audit.seal",
    "load_public_key": "petitions.audit.seal",
    "read_seal": "petitions.audit.seal",
    "write_seal": "petitions.audit.seal",
    "ChainVerifier": "petitions.audit.verify",
    "Problem": "petitions.audit.verify",
    "Report": "petitions.audit.verify",
    "make_seal": "petitions.audit.verify",
    "verify_store": "petitions.audit.verify",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
