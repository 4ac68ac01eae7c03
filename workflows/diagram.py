"""Draw a workflow as a Mermaid state diagram."""

from __future__ import annotations

from workflows.model import Workflow


def to_mermaid(wf: Workflow, lang: str = "zh") -> str:
    """A ``stateDiagram-v2`` of ``wf``: stages, and commands as edge labels.

    Commands allowed in every open stage (``[anytime]``) are drawn once, as a
    note, unless they lead to another stage (e.g. ``withdraw``), in which case
    an edge is drawn from every open stage.
    """
    lines = ["stateDiagram-v2"]
    for stage in wf.stages.values():
        lines.append(f"    {stage.name}: {stage.label.in_lang(lang)}")
    lines.append(f"    [*] --> {wf.initial}")
    for stage in wf.stages.values():
        for command, targets in stage.transitions.items():
            for target in targets:
                dest = stage.name if target == "stay" else target
                lines.append(f"    {stage.name} --> {dest}: {command}")
        if not stage.terminal:
            for command, targets in wf.anytime.items():
                for target in targets:
                    if target != "stay":
                        lines.append(f"    {stage.name} --> {target}: {command}")
        else:
            lines.append(f"    {stage.name} --> [*]")
    staying = [c for c, ts in wf.anytime.items() if all(t == "stay" for t in ts)]
    if staying:
        first = next(s.name for s in wf.stages.values() if not s.terminal)
        lines.append(f"    note right of {first}: any open stage: {', '.join(staying)}")
    return "\n".join(lines) + "\n"
