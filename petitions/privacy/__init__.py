"""Personal data: sealed in the events, masked on show, erasable by crypto-shredding.

See ``docs/privacy.md``.  A :class:`~petitions.service.PetitionService` has a
:class:`Privacy` at ``service.privacy``; :func:`retain` applies a retention
period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petitions.lazy import lazy_exports

if TYPE_CHECKING:
    from petitions.privacy.core import (
        PERSON_FIELDS,
        PETITIONER_FIELDS,
        Erasure,
        KeyStatus,
        Privacy,
    )
    from petitions.privacy.errors import (
        AlreadyErased,
        InvalidPeriod,
        MasterKeyInvalid,
        MasterKeyMissing,
        PetitionerNotFound,
    )
    from petitions.privacy.keys import (
        MASTER_KEY_ENV,
        MASTER_KEY_FILE_ENV,
        MasterKey,
        key_file_for,
        load_master_key,
        new_master_key_text,
    )
    from petitions.privacy.ledger import PrivacyRecord, privacy_record_id
    from petitions.privacy.policy import PrivacyPolicy, parse_policy, privacy_policy
    from petitions.privacy.render import (
        ERASED_TEXT,
        HIDDEN_TEXT,
        PersonView,
        PetitionerView,
        mask_id_number,
        mask_phone,
    )
    from petitions.privacy.retention import (
        RetentionItem,
        RetentionRun,
        parse_period,
        petition_ids,
        retain,
    )
    from petitions.privacy.sealing import Sealed, is_sealed


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "PERSON_FIELDS": "petitions.privacy.core",
    "PETITIONER_FIELDS": "petitions.privacy.core",
    "Erasure": "petitions.privacy.core",
    "KeyStatus": "petitions.privacy.core",
    "Privacy": "petitions.privacy.core",
    "AlreadyErased": "petitions.privacy.errors",
    "InvalidPeriod": "petitions.privacy.errors",
    "MasterKeyInvalid": "petitions.privacy.errors",
    "MasterKeyMissing": "petitions.privacy.errors",
    "PetitionerNotFound": "petitions.privacy.errors",
    "MASTER_KEY_ENV": "petitions.privacy.keys",
    "MASTER_KEY_FILE_ENV": "petitions.privacy.keys",
    "MasterKey": "petitions.privacy.keys",
    "key_file_for": "petitions.privacy.keys",
    "load_master_key": "petitions.privacy.keys",
    "new_master_key_text": "petitions.privacy.keys",
    "PrivacyRecord": "petitions.privacy.ledger",
    "privacy_record_id": "petitions.privacy.ledger",
    "PrivacyPolicy": "petitions.privacy.policy",
    "parse_policy": "petitions.privacy.policy",
    "privacy_policy": "petitions.privacy.policy",
    "ERASED_TEXT": "petitions.privacy.render",
    "HIDDEN_TEXT": "petitions.privacy.render",
    "PersonView": "petitions.privacy.render",
    "PetitionerView": "petitions.privacy.render",
    "mask_id_number": "petitions.privacy.render",
    "mask_phone": "petitions.privacy.render",
    "RetentionItem": "petitions.privacy.retention",
    "RetentionRun": "petitions.privacy.retention",
    "parse_period": "petitions.privacy.retention",
    "petition_ids": "petitions.privacy.retention",
    "retain": "petitions.privacy.retention",
    "Sealed": "petitions.privacy.sealing",
    "is_sealed": "petitions.privacy.sealing",
}

__all__ = [
    "ERASED_TEXT",
    "HIDDEN_TEXT",
    "MASTER_KEY_ENV",
    "MASTER_KEY_FILE_ENV",
    "PERSON_FIELDS",
    "PETITIONER_FIELDS",
    "AlreadyErased",
    "Erasure",
    "InvalidPeriod",
    "KeyStatus",
    "MasterKey",
    "MasterKeyInvalid",
    "MasterKeyMissing",
    "PersonView",
    "PetitionerNotFound",
    "PetitionerView",
    "Privacy",
    "PrivacyPolicy",
    "PrivacyRecord",
    "RetentionItem",
    "RetentionRun",
    "Sealed",
    "is_sealed",
    "key_file_for",
    "load_master_key",
    "mask_id_number",
    "mask_phone",
    "new_master_key_text",
    "parse_period",
    "parse_policy",
    "petition_ids",
    "privacy_policy",
    "privacy_record_id",
    "retain",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
