"""Errors of the audit tools; all are :class:`~petitions.errors.PetitionError`."""

from __future__ import annotations

from typing import Any

from petitions.errors import PetitionError


class AuditError(PetitionError):
    """An audit operation could not be carried out (bad file, bad key, …)."""

    code = "audit_error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message, **params)


class ChainBroken(AuditError):
    """The stored history is not what was written: names the first broken event."""

    code = "chain_broken"

    def __init__(self, problem: Any, total: int = 1) -> None:
        more = f" (and {total - 1} more problem{'s' if total > 2 else ''})" if total > 1 else ""
        super().__init__(f"history check failed: {problem}{more}", problem=str(problem),
                         problems=total)
        self.problem = problem
        self.total = total


class SealInvalid(AuditError):
    """A seal's signature is wrong, or the store no longer matches it."""

    code = "seal_invalid"


class ImportRefused(AuditError):
    """An export file cannot be imported; nothing was written."""

    code = "import_refused"
