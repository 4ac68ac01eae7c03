"""Declarative workflow definitions and the pure code that reads them.

A workflow is a TOML file: its stages, the commands allowed in each, the roles
that may issue each command, the facts a command requires, the satisfaction
scale, the reopen limit, time limits and plans.  This package loads,
validates, indexes and draws definitions.  It imports nothing from
``petitions``: the engine that carries a petition through a workflow lives
there and asks this package questions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.diagram import to_mermaid
    from workflows.loader import Problem, WorkflowInvalid, digest, load_path, load_text
    from workflows.model import (
        Label,
        Plan,
        PlanStep,
        Rating,
        ReviewRule,
        SignFor,
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


#: Where each public name lives; imported on first use (PEP 562).
_EXPORTS = {
    "to_mermaid": "workflows.diagram",
    "Problem": "workflows.loader",
    "WorkflowInvalid": "workflows.loader",
    "digest": "workflows.loader",
    "load_path": "workflows.loader",
    "load_text": "workflows.loader",
    "Label": "workflows.model",
    "Plan": "workflows.model",
    "PlanStep": "workflows.model",
    "Rating": "workflows.model",
    "ReviewRule": "workflows.model",
    "SignFor": "workflows.model",
    "Stage": "workflows.model",
    "TimeLimit": "workflows.model",
    "Workflow": "workflows.model",
    "Registry": "workflows.registry",
    "UnknownWorkflow": "workflows.registry",
    "shipped_texts": "workflows.registry",
    "COMMANDS": "workflows.vocabulary",
    "FACTS": "workflows.vocabulary",
    "GRANTABLE": "workflows.vocabulary",
    "IN_PLACE": "workflows.vocabulary",
    "LIMIT_UNITS": "workflows.vocabulary",
    "ROLES": "workflows.vocabulary",
    "STAY": "workflows.vocabulary",
}

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
    "SignFor",
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



def __getattr__(name: str) -> Any:
    """Import the module holding ``name`` on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
