"""Declarative workflow definitions and the pure code that reads them.

A workflow is a TOML file: its stages, the commands allowed in each, the roles
that may issue each command, the facts a command requires, the satisfaction
scale, the reopen limit, time limits and plans.  This package loads,
validates, indexes and draws definitions.  It imports nothing from
``petitions``: the engine that carries a petition through a workflow lives
there and asks this package questions.
"""

from workflows.diagram import to_mermaid
from workflows.loader import Problem, WorkflowInvalid, digest, load_path, load_text
from workflows.model import (
    Label,
    Plan,
    PlanStep,
    Rating,
    ReviewRule,
    Stage,
    TimeLimit,
    Workflow,
)
from workflows.registry import Registry, UnknownWorkflow, shipped_texts
from workflows.vocabulary import (
    COMMANDS,
    FACTS,
    GRANTABLE,
    IN_PLACE,
    LIMIT_UNITS,
    ROLES,
    STAY,
)

__all__ = [
    "COMMANDS",
    "FACTS",
    "GRANTABLE",
    "IN_PLACE",
    "LIMIT_UNITS",
    "ROLES",
    "STAY",
    "Label",
    "Plan",
    "PlanStep",
    "Problem",
    "Rating",
    "Registry",
    "ReviewRule",
    "Stage",
    "TimeLimit",
    "UnknownWorkflow",
    "Workflow",
    "WorkflowInvalid",
    "digest",
    "load_path",
    "load_text",
    "shipped_texts",
    "to_mermaid",
]
