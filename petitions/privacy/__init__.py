"""Personal data: sealed in the events, masked on show, erasable by crypto-shredding.

See ``docs/privacy.md``.  A :class:`~petitions.service.PetitionService` has a
:class:`Privacy` at ``service.privacy``; :func:`retain` applies a retention
period.
"""

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
