"""Stored copies of the workflow definitions petitions were filed under.

A petition pins the sha256 of its workflow's text.  The first time a
definition is used, its exact text is stored as a ``WorkflowDefinition``
aggregate (id derived from the hash), so a petition can always be interpreted
under the rules it was filed under — even after the file on disk changed or
an office's own workflow directory is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

DEFINITION_NAMESPACE = UUID("2b0d8d7e-0f43-4d8c-8f5b-6d0c1f6f9a41")


def definition_id(sha256: str) -> UUID:
    return uuid5(DEFINITION_NAMESPACE, sha256)


class WorkflowDefinition(Aggregate):
    """The text of one workflow definition, as first used."""

    class Registered(Aggregate.Created):
        name: str
        workflow_version: int
        sha256: str
        text: str

        def apply(self, aggregate: Any) -> None:
            aggregate.name = self.name
            aggregate.workflow_version = self.workflow_version
            aggregate.sha256 = self.sha256
            aggregate.text = self.text

    if TYPE_CHECKING:
        name: str
        sha256: str
        text: str

    @classmethod
    def register(cls, name: str, version: int, sha256: str, text: str) -> WorkflowDefinition:
        return cls._create(cls.Registered, id=definition_id(sha256), name=name,
                           workflow_version=version, sha256=sha256, text=text)
