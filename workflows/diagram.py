"""Draw a workflow as a Mermaid state diagram."""

from __future__ import annotations

from workflows.model import Label, TimeLimit, Workflow
from workflows.vocabulary import STAY

_UNITS = {
    "minutes": Label("分钟", "min"),
    "hours": Label("小时", "h"),
    "days": Label("天", "days"),
    "working_days": Label("个工作日", "working days"),
}


def _limit(limit: TimeLimit | None, lang: str) -> str:
    if limit is None:
        return ""
    unit = _UNITS[limit.unit].in_lang(lang)
    sep = "" if lang.startswith("zh") else " "
    return f" (≤ {limit.amount}{sep}{unit})"


def _clean(text: str) -> str:
    """Text safe inside a Mermaid label (no line breaks, colons or semicolons)."""
    return " ".join(text.replace(":", "：").replace(";", "，").split())


def to_mermaid(wf: Workflow, lang: str = "zh") -> str:
    """A ``stateDiagram-v2`` of ``wf``: stages (with time limits) and commands.

    Several commands leading from one stage to the same stage are drawn as one
    edge labelled with all of them.  Commands allowed in every open stage
    (``[anytime]``) that keep the petition where it is are listed once in a
    note; those that lead elsewhere (e.g. ``withdraw``) are drawn from every
    open stage.  Plans, channels accepted on filing and review windows are
    shown as notes.
    """
    lines = ["stateDiagram-v2"]
    for stage in wf.stages.values():
        label = _clean(stage.label.in_lang(lang) + _limit(stage.limit, lang))
        lines.append(f"    {stage.name}: {label}")
    lines.append(f"    [*] --> {wf.initial}")
    for stage in wf.stages.values():
        if stage.terminal:
            lines.append(f"    {stage.name} --> [*]")
            continue
        edges: dict[str, list[str]] = {}
        for command, targets in stage.transitions.items():
            for target in targets:
                edges.setdefault(stage.name if target == STAY else target, []).append(command)
        for command, targets in wf.anytime.items():
            if command in stage.transitions:
                continue
            for target in targets:
                if target != STAY:
                    edges.setdefault(target, []).append(command)
        for dest, commands in edges.items():
            lines.append(f"    {stage.name} --> {dest}: {' / '.join(commands)}")
    first_open = next((s.name for s in wf.stages.values() if not s.terminal), None)
    staying = [c for c, ts in wf.anytime.items() if all(t == STAY for t in ts)]
    zh = lang.startswith("zh")
    if first_open is not None and staying:
        head = "任何未办结阶段" if zh else "any open stage"
        lines.append(f"    note right of {first_open}: {head}: {', '.join(staying)}")
    if wf.channels_accepted_on_filing:
        head = "以下渠道提交即受理" if zh else "accepted on filing from"
        channels = ", ".join(sorted(wf.channels_accepted_on_filing))
        lines.append(f"    note left of {wf.initial}: {head}: {channels}")
    for plan in wf.plans.values():
        where = next((s.name for s in wf.stages.values() if "plan_step" in s.transitions),
                     None)
        if where is None:
            continue
        steps = " → ".join(step.label.in_lang(lang) for step in plan.steps)
        lines.append(f"    note right of {where}: {_clean(plan.label.in_lang(lang))}: "
                     f"{_clean(steps)}")
    if wf.review is not None:
        where = next((s.name for s in wf.stages.values()
                      if "request_review" in s.transitions), wf.initial)
        r = wf.review
        text = (f"答复后{r.request_within_days}天内可申请复查，复查意见后"
                f"{r.rereview_request_within_days}天内可申请复核" if zh else
                f"review within {r.request_within_days} days of the reply, re-review "
                f"within {r.rereview_request_within_days} days of the review")
        lines.append(f"    note right of {where}: {text}")
    return "\n".join(lines) + "\n"
