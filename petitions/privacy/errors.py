"""Errors of the privacy layer (all :class:`~petitions.errors.PetitionError`)."""

from __future__ import annotations

from petitions.errors import PetitionError


class MasterKeyMissing(PetitionError):
    """No master key is configured where one is required (PostgreSQL)."""

    code = "master_key_missing"

    def __init__(self, backend: str) -> None:
        super().__init__(
            f"no master key configured for {backend}: set PETITIONS_MASTER_KEY (base64 of 32 "
            "random bytes) or PETITIONS_MASTER_KEY_FILE (a file holding it) / "
            "未配置主密钥", backend=backend)


class MasterKeyInvalid(PetitionError):
    """The configured master key is malformed, or is not the one the keys were sealed with."""

    code = "master_key_invalid"

    def __init__(self, problem: str) -> None:
        super().__init__(f"master key: {problem} / 主密钥无效", problem=problem)


class PetitionerNotFound(PetitionError):
    """No personal data is held for that petitioner id."""

    code = "petitioner_not_found"

    def __init__(self, petitioner_id: str) -> None:
        super().__init__(f"no personal data is held for petitioner {petitioner_id!r} "
                         "/ 无此诉求人的个人信息", id=petitioner_id)
        self.petitioner_id = petitioner_id


class AlreadyErased(PetitionError):
    """The petitioner's personal data was erased before."""

    code = "already_erased"

    def __init__(self, petitioner_id: str, erased_at: str) -> None:
        super().__init__(f"the personal data of petitioner {petitioner_id!r} was already "
                         f"erased ({erased_at}) / 该诉求人的个人信息已删除",
                         id=petitioner_id, erased_at=erased_at)
        self.petitioner_id = petitioner_id


class InvalidPeriod(PetitionError):
    """A retention period that cannot be read."""

    code = "invalid_period"

    def __init__(self, text: str) -> None:
        super().__init__(f"period {text!r}: write a number and a unit, e.g. 180d, 26w, 24m, 3y "
                         "/ 期限格式错误", period=text)
