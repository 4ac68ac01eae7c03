"""Load and validate workflow definitions written in TOML.

Loading never stops at the first mistake: every problem in a definition is
collected, each with the file and the dotted key it concerns, and reported at
once in a :class:`WorkflowInvalid` error.  A definition that loads is
consistent: every stage it names exists, every stage is reachable from the
initial one, every non-terminal stage has a way out, and every command, role
and fact belongs to :mod:`workflows.vocabulary`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workflows import tomlcache
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
from workflows.records import frozen
from workflows.vocabulary import (
    DEFAULT_REQUEST_TYPE,
    FACTS,
    LIMIT_UNITS,
    REQUEST_TYPES,
    ROLES,
    STAY,
    URGENCIES,
    commands,
    grantable,
    in_place,
)

if TYPE_CHECKING:
    from pathlib import Path


@frozen
class Problem:
    """One thing wrong with a definition, located by file and key."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class WorkflowInvalid(ValueError):
    """A workflow definition has one or more problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in workflow definition:\n{lines}")


DEFAULT_RATINGS = (
    Rating("satisfied", Label("满意", "satisfied"), True),
    Rating("basically_satisfied", Label("基本满意", "basically satisfied"), True),
    Rating("unsatisfied", Label("不满意", "unsatisfied"), False),
)


def digest(text: str) -> str:
    """The sha256 a petition pins: over the UTF-8 bytes of the definition."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_path(path: str | Path) -> Workflow:
    """Load and validate the definition in the file at ``path``."""
    from pathlib import Path

    p = Path(path)
    return load_text(p.read_text(encoding="utf-8"), source_name=str(p))


def load_text(text: str, source_name: str = "<string>") -> Workflow:
    """Load and validate a definition given as TOML text."""
    try:
        data = tomlcache.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise WorkflowInvalid([Problem(source_name, "<toml>", str(exc))]) from None
    return _Builder(source_name, data, text).build()


class _Builder:
    def __init__(self, file: str, data: Mapping[str, Any], text: str) -> None:
        self.file = file
        self.data = data
        self.text = text
        self.problems: list[Problem] = []

    # -- helpers -----------------------------------------------------------
    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def label(self, value: Any, key: str, default: str) -> Label:
        if value is None:
            return Label(default, default)
        if isinstance(value, str):
            return Label(value, value)
        if isinstance(value, Mapping) and isinstance(value.get("zh"), str):
            zh = value["zh"]
            en = value.get("en", zh)
            if not isinstance(en, str):
                self.problem(f"{key}.en", "must be a string")
                en = zh
            return Label(zh, en)
        self.problem(key, "must be a string or a table with 'zh' and 'en'")
        return Label(default, default)

    def str_list(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(key, "must be a string or a list of strings")
        return ()

    def targets(self, value: Any, key: str) -> tuple[str, ...]:
        targets = self.str_list(value, key)
        if not targets and isinstance(value, list):
            self.problem(key, "names no target stage")
        return targets

    # -- the definition ----------------------------------------------------
    def build(self) -> Workflow:
        d = self.data
        known_top = {
            "name", "version", "title", "description", "initial", "reopen_limit",
            "anytime", "roles", "requires", "stages", "satisfaction", "plans", "callback",
            "accept_on_filing", "extension", "review", "matter_types",
            "first_receiver_owns",
            # sign-for and return; supervision levels (docs/hotline.md)
            "sign_for", "escalation",
            "types", "urgency",
        }
        for key in d:
            if key not in known_top:
                self.problem(key, "unknown key")

        name = d.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            self.problem("name", "must be an identifier-like string")
            name = "invalid"
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem("version", "must be a positive integer")
            version = 0
        reopen_limit = d.get("reopen_limit", 0)
        if not isinstance(reopen_limit, int) or reopen_limit < 0:
            self.problem("reopen_limit", "must be a non-negative integer")
            reopen_limit = 0

        stages = self.stages(d.get("stages"))
        anytime = self.transitions(d.get("anytime", {}), "anytime")
        initial = d.get("initial")
        if not isinstance(initial, str) or initial not in stages:
            self.problem("initial", f"unknown stage {initial!r}")
            initial = next(iter(stages), "")

        self.check_targets(stages, anytime)
        self.check_graph(stages, anytime, initial)
        roles = self.roles(d.get("roles", {}))
        self.check_roles_cover(stages, anytime, roles)
        requires = self.requires(d.get("requires", {}))
        ratings = self.ratings(d.get("satisfaction"))
        plans = self.plans(d.get("plans", {}))
        accept_channels = frozenset(
            self.str_list(d.get("accept_on_filing", {}).get("channels", []),
                          "accept_on_filing.channels")
            if isinstance(d.get("accept_on_filing", {}), Mapping) else ()
        )
        ext = d.get("extension", {})
        cap = ext.get("max_total_days") if isinstance(ext, Mapping) else None
        if cap is not None and (not isinstance(cap, int) or cap < 0):
            self.problem("extension.max_total_days", "must be a non-negative integer")
            cap = None
        notify = self.extension_notify(ext)
        matter_types = (self.str_list(d["matter_types"], "matter_types")
                        if "matter_types" in d else ())
        first_receiver_owns = d.get("first_receiver_owns", False)
        if not isinstance(first_receiver_owns, bool):
            self.problem("first_receiver_owns", "must be true or false")
            first_receiver_owns = False
        review = self.review(d.get("review"))
        callback = d.get("callback", {})
        independent = callback.get("independent", False) if isinstance(callback, Mapping) \
            else False
        if not isinstance(callback, Mapping) or not isinstance(independent, bool):
            self.problem("callback.independent", "must be true or false")
            independent = False
        self.check_review_used(stages, anytime, requires, review)
        sign_for = self.sign_for(d.get("sign_for"))
        levels = self.escalation_levels(d.get("escalation"))
        self.check_sign_for_used(stages, anytime, sign_for)
        if (accept_channels and initial in stages
                and "accept" not in stages[initial].transitions):
            self.problem("accept_on_filing.channels",
                         f"the initial stage {initial!r} does not allow 'accept'")
        for stage in stages.values():
            if stage.limit is not None and stage.limit.start not in grantable():
                self.problem(f"stages.{stage.name}.limit.from",
                             f"unknown command {stage.limit.start!r}")

        types = self.types(d.get("types"), stages)
        urgency_limits = self.kind_limits(d.get("urgency"), "urgency", URGENCIES, stages,
                                          known={"limits"})

        if self.problems:
            raise WorkflowInvalid(self.problems)
        return Workflow(
            name=name,
            version=version,
            sha256=digest(self.text),
            title=self.label(d.get("title"), "title", name),
            initial=initial,
            stages=stages,
            anytime=anytime,
            roles=roles,
            requires=requires,
            reopen_limit=reopen_limit,
            ratings=ratings,
            plans=plans,
            channels_accepted_on_filing=accept_channels,
            extension_cap_days=cap,
            source=self.text,
            review=review,
            extension_notifies_petitioner=notify,
            matter_types=matter_types,
            independent_callback=independent,
            first_receiver_owns=first_receiver_owns,
            sign_for=sign_for,
            escalation_levels=levels,
            default_type=types[0],
            type_limits=types[1],
            urgency_limits=urgency_limits,
            anonymous_types=types[2],
            answer_now_types=types[3],
        )

    # -- request types and urgency ---------------------------------------------
    def types(self, raw: Any, stages: Mapping[str, Stage]) -> tuple[
            str, dict[str, dict[str, TimeLimit]], frozenset[str], frozenset[str]]:
        """``[types]``: default type, limits per type, anonymous and answer-now types."""
        if raw is None:
            return DEFAULT_REQUEST_TYPE, {}, frozenset(), frozenset()
        limits = self.kind_limits(raw, "types", REQUEST_TYPES, stages,
                                  known={"limits", "default", "anonymous", "answer_now"})
        if not isinstance(raw, Mapping):
            return DEFAULT_REQUEST_TYPE, {}, frozenset(), frozenset()
        default = raw.get("default", DEFAULT_REQUEST_TYPE)
        if default not in REQUEST_TYPES:
            self.problem("types.default", f"must be one of {', '.join(REQUEST_TYPES)}")
            default = DEFAULT_REQUEST_TYPE
        sets = []
        for key in ("anonymous", "answer_now"):
            names = self.str_list(raw.get(key, []), f"types.{key}")
            for name in names:
                if name not in REQUEST_TYPES:
                    self.problem(f"types.{key}", f"unknown request type {name!r}")
            sets.append(frozenset(names))
        return str(default), limits, sets[0], sets[1]

    def kind_limits(self, raw: Any, table: str, codes: tuple[str, ...],
                    stages: Mapping[str, Stage],
                    known: set[str]) -> dict[str, dict[str, TimeLimit]]:
        """``[<table>.limits.<code>]``: stage = limit, replacing the stage's own
        limit for that code; ``from``, ``warn_at`` and ``escalate_on_breach``
        default to the stage's."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(table, "must be a table")
            return {}
        for k in raw:
            if k not in known:
                self.problem(f"{table}.{k}", "unknown key")
        by_code = raw.get("limits", {})
        if not isinstance(by_code, Mapping):
            self.problem(f"{table}.limits", "must be a table of code = {stage = limit}")
            return {}
        out: dict[str, dict[str, TimeLimit]] = {}
        for code, per_stage in by_code.items():
            key = f"{table}.limits.{code}"
            if code not in codes:
                self.problem(key, f"unknown code {code!r}; known: {', '.join(codes)}")
                continue
            if not isinstance(per_stage, Mapping):
                self.problem(key, "must be a table of stage = limit")
                continue
            for stage_name, body in per_stage.items():
                skey = f"{key}.{stage_name}"
                stage = stages.get(stage_name)
                if stage is None or stage.terminal:
                    self.problem(skey, f"unknown or terminal stage {stage_name!r}")
                    continue
                if not isinstance(body, Mapping):
                    self.problem(skey, "must be a table")
                    continue
                base = stage.limit
                merged = dict(body)
                if base is not None:
                    merged.setdefault("from", base.start)
                    merged.setdefault("warn_at", base.warn_at)
                    merged.setdefault("escalate_on_breach", base.escalate_on_breach)
                found = self.limit(merged, skey)
                if found is not None and found.start not in grantable():
                    self.problem(f"{skey}.from", f"unknown command {found.start!r}")
                elif found is not None:
                    out.setdefault(code, {})[stage_name] = found
        return out

    def stages(self, raw: Any) -> dict[str, Stage]:
        if not isinstance(raw, Mapping) or not raw:
            self.problem("stages", "must be a table with at least one stage")
            return {}
        stages: dict[str, Stage] = {}
        for name, body in raw.items():
            key = f"stages.{name}"
            if not isinstance(body, Mapping):
                self.problem(key, "must be a table")
                continue
            for k in body:
                if k not in {"label", "terminal", "commands", "limit"}:
                    self.problem(f"{key}.{k}", "unknown key")
            terminal = body.get("terminal", False)
            if not isinstance(terminal, bool):
                self.problem(f"{key}.terminal", "must be true or false")
                terminal = False
            transitions = self.transitions(body.get("commands", {}), f"{key}.commands")
            if terminal and transitions:
                self.problem(f"{key}.commands", "a terminal stage allows no command")
            stages[name] = Stage(
                name=name,
                label=self.label(body.get("label"), f"{key}.label", name),
                terminal=terminal,
                transitions=transitions,
                limit=self.limit(body.get("limit"), f"{key}.limit"),
            )
        return stages

    def transitions(self, raw: Any, key: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(raw, Mapping):
            self.problem(key, "must be a table of command = target stage(s)")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for command, target in raw.items():
            if command not in commands():
                self.problem(f"{key}.{command}", f"unknown command {command!r}")
                continue
            out[command] = self.targets(target, f"{key}.{command}")
        return out

    def limit(self, raw: Any, key: str) -> TimeLimit | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem(key, "must be a table")
            return None
        amount = raw.get("amount")
        unit = raw.get("unit")
        start = raw.get("from")
        warn_at = raw.get("warn_at", 0.8)
        escalate = raw.get("escalate_on_breach", False)
        ok = True
        if not isinstance(amount, int) or amount <= 0:
            self.problem(f"{key}.amount", "must be a positive integer")
            ok = False
        if unit not in LIMIT_UNITS:
            self.problem(f"{key}.unit", f"must be one of {sorted(LIMIT_UNITS)}")
            ok = False
        if not isinstance(start, str):
            self.problem(f"{key}.from", "must name the command that starts the clock")
            ok = False
        if not isinstance(warn_at, (int, float)) or not 0 < warn_at < 1:
            self.problem(f"{key}.warn_at", "must be a fraction between 0 and 1")
            ok = False
        if not isinstance(escalate, bool):
            self.problem(f"{key}.escalate_on_breach", "must be true or false")
            ok = False
        if not ok:
            return None
        assert isinstance(amount, int) and isinstance(unit, str) and isinstance(start, str)
        return TimeLimit(amount, unit, start, float(warn_at), bool(escalate))

    def check_targets(self, stages: Mapping[str, Stage],
                      anytime: Mapping[str, tuple[str, ...]]) -> None:
        tables = [(f"stages.{s.name}.commands", s.transitions) for s in stages.values()]
        tables.append(("anytime", anytime))
        for key, table in tables:
            for command, targets in table.items():
                for target in targets:
                    if target != STAY and target not in stages:
                        self.problem(f"{key}.{command}", f"unknown stage {target!r}")
                    elif (command in in_place() and target != STAY
                          and not key.endswith(f"stages.{target}.commands")):
                        self.problem(f"{key}.{command}",
                                     f"{command!r} records something in place; "
                                     "its target must be 'stay'")

    def check_graph(self, stages: Mapping[str, Stage],
                    anytime: Mapping[str, tuple[str, ...]], initial: str) -> None:
        if initial not in stages:
            return

        def successors(stage: Stage) -> set[str]:
            if stage.terminal:
                return set()
            out = {t for ts in stage.transitions.values() for t in ts}
            out |= {t for ts in anytime.values() for t in ts}
            return {t for t in out if t in stages and t != stage.name}

        seen = {initial}
        queue = deque([initial])
        while queue:
            for nxt in successors(stages[queue.popleft()]):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for name, stage in stages.items():
            if name not in seen:
                self.problem(f"stages.{name}", f"unreachable from the initial stage {initial!r}")
            if not stage.terminal and not successors(stage):
                self.problem(f"stages.{name}",
                             "has no way out and is not marked terminal = true")
        if not any(s.terminal for s in stages.values()):
            self.problem("stages", "no stage is terminal")

    def roles(self, raw: Any) -> dict[str, frozenset[str]]:
        if not isinstance(raw, Mapping):
            self.problem("roles", "must be a table of command = [roles]")
            return {}
        out: dict[str, frozenset[str]] = {}
        for command, roles in raw.items():
            key = f"roles.{command}"
            if command not in grantable():
                self.problem(key, f"unknown command {command!r}")
                continue
            names = self.str_list(roles, key)
            for role in names:
                if role not in ROLES:
                    self.problem(key, f"unknown role {role!r}")
            out[command] = frozenset(names)
        return out

    def check_roles_cover(self, stages: Mapping[str, Stage],
                          anytime: Mapping[str, tuple[str, ...]],
                          roles: Mapping[str, frozenset[str]]) -> None:
        used = set(anytime)
        for stage in stages.values():
            used |= set(stage.transitions)
        for command in sorted(used - set(roles)):
            self.problem(f"roles.{command}", "command is used by a stage but no role may issue it")
        if "file" not in roles:
            self.problem("roles.file", "no role may file a petition under this workflow")

    def requires(self, raw: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(raw, Mapping):
            self.problem("requires", "must be a table of command = [facts]")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for command, facts in raw.items():
            key = f"requires.{command}"
            if command not in commands():
                self.problem(key, f"unknown command {command!r}")
                continue
            names = self.str_list(facts, key)
            for fact in names:
                if fact not in FACTS:
                    self.problem(key, f"unknown fact {fact!r}")
            out[command] = names
        return out

    def ratings(self, raw: Any) -> tuple[Rating, ...]:
        if raw is None:
            return DEFAULT_RATINGS
        if not isinstance(raw, Mapping) or not isinstance(raw.get("scale"), list):
            self.problem("satisfaction", "must be a table with a 'scale' list")
            return DEFAULT_RATINGS
        unsatisfied = set(self.str_list(raw.get("unsatisfied", []), "satisfaction.unsatisfied"))
        labels = raw.get("labels", {})
        out = []
        for i, item in enumerate(raw["scale"]):
            if not isinstance(item, str):
                self.problem(f"satisfaction.scale[{i}]", "must be a rating code")
                continue
            label = self.label(labels.get(item) if isinstance(labels, Mapping) else None,
                               f"satisfaction.labels.{item}", item)
            out.append(Rating(item, label, item not in unsatisfied))
        for code in unsatisfied - {r.code for r in out}:
            self.problem("satisfaction.unsatisfied", f"{code!r} is not on the scale")
        if not out:
            self.problem("satisfaction.scale", "must list at least one rating")
        return tuple(out)

    def plans(self, raw: Any) -> dict[str, Plan]:
        if not isinstance(raw, Mapping):
            self.problem("plans", "must be a table of plans")
            return {}
        out: dict[str, Plan] = {}
        for name, body in raw.items():
            key = f"plans.{name}"
            if not isinstance(body, Mapping) or not isinstance(body.get("steps"), list):
                self.problem(key, "must be a table with a 'steps' list")
                continue
            steps = []
            codes: set[str] = set()
            for i, step in enumerate(body["steps"]):
                skey = f"{key}.steps[{i}]"
                if not isinstance(step, Mapping) or not isinstance(step.get("code"), str):
                    self.problem(skey, "must be a table with a 'code'")
                    continue
                if step["code"] in codes:
                    self.problem(skey, f"duplicate step {step['code']!r}")
                codes.add(step["code"])
                steps.append(PlanStep(step["code"], self.label(step.get("label"),
                                                                f"{skey}.label", step["code"])))
            if not steps:
                self.problem(f"{key}.steps", "must list at least one step")
            out[name] = Plan(name, self.label(body.get("label"), f"{key}.label", name),
                             tuple(steps))
        return out

    def extension_notify(self, ext: Any) -> bool:
        if not isinstance(ext, Mapping):
            self.problem("extension", "must be a table")
            return False
        for k in ext:
            if k not in {"max_total_days", "notify_petitioner"}:
                self.problem(f"extension.{k}", "unknown key")
        notify = ext.get("notify_petitioner", False)
        if not isinstance(notify, bool):
            self.problem("extension.notify_petitioner", "must be true or false")
            return False
        return notify

    def review(self, raw: Any) -> ReviewRule | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem("review", "must be a table")
            return None
        known = {"request_within_days", "rereview_request_within_days",
                 "refuse_repeat_after_rereview", "matter_types", "reviewer_above_lead_unit"}
        for k in raw:
            if k not in known:
                self.problem(f"review.{k}", "unknown key")
        days: list[int] = []
        for k in ("request_within_days", "rereview_request_within_days"):
            value = raw.get(k)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                self.problem(f"review.{k}", "must be a positive whole number of days")
                value = 0
            days.append(value)
        refuse = raw.get("refuse_repeat_after_rereview", True)
        if not isinstance(refuse, bool):
            self.problem("review.refuse_repeat_after_rereview", "must be true or false")
            refuse = True
        matter_types = (tuple(self.str_list(raw["matter_types"], "review.matter_types"))
                        if "matter_types" in raw else ())
        above = raw.get("reviewer_above_lead_unit", False)
        if not isinstance(above, bool):
            self.problem("review.reviewer_above_lead_unit", "must be true or false")
            above = False
        if 0 in days:
            return None
        return ReviewRule(days[0], days[1], refuse, matter_types, above)

    def sign_for(self, raw: Any) -> SignFor | None:
        """``[sign_for]``: the limits of signing for, returning and first
        contact (each ``{ amount, unit }``, counted from the dispatch) and
        ``return_limit``."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem("sign_for", "must be a table")
            return None
        known = {*SignFor.LIMITS, "return_limit", "urgency", "transfer_signs_anew"}
        for k in raw:
            if k not in known:
                self.problem(f"sign_for.{k}", "unknown key")

        def limits_of(table: Mapping[str, Any], where: str) -> dict[str, TimeLimit | None]:
            out: dict[str, TimeLimit | None] = {}
            for k in SignFor.LIMITS:
                value = table.get(k)
                if value is None:
                    out[k] = None
                    continue
                if not isinstance(value, Mapping):
                    self.problem(f"{where}.{k}", "must be a table { amount, unit }")
                    out[k] = None
                    continue
                out[k] = self.limit({**value, "from": "assign"}, f"{where}.{k}")
            return out

        limits = limits_of(raw, "sign_for")
        by_urgency: dict[str, dict[str, TimeLimit]] = {}
        urgency = raw.get("urgency", {})
        if not isinstance(urgency, Mapping):
            self.problem("sign_for.urgency", "must be a table of urgencies")
            urgency = {}
        for code, table in urgency.items():
            where = f"sign_for.urgency.{code}"
            if code not in URGENCIES:
                self.problem(where, f"unknown urgency (known: {', '.join(URGENCIES)})")
                continue
            if not isinstance(table, Mapping):
                self.problem(where, "must be a table of limits")
                continue
            for k in table:
                if k not in SignFor.LIMITS:
                    self.problem(f"{where}.{k}", "unknown key")
            by_urgency[code] = {k: v for k, v in limits_of(table, where).items()
                                if v is not None}
        return_limit = raw.get("return_limit", 2)
        if (not isinstance(return_limit, int) or isinstance(return_limit, bool)
                or return_limit < 0):
            self.problem("sign_for.return_limit", "must be a non-negative integer")
            return_limit = 2
        anew = raw.get("transfer_signs_anew", False)
        if not isinstance(anew, bool):
            self.problem("sign_for.transfer_signs_anew", "must be true or false")
            anew = False
        return SignFor(sign_within=limits["sign_within"], return_within=limits["return_within"],
                       contact_within=limits["contact_within"], return_limit=return_limit,
                       urgency_limits=by_urgency, transfer_signs_anew=anew)

    def escalation_levels(self, raw: Any) -> dict[str, Label]:
        """``[escalation.levels]``: code = label, in order (e.g. yellow, red)."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem("escalation", "must be a table")
            return {}
        for k in raw:
            if k != "levels":
                self.problem(f"escalation.{k}", "unknown key")
        levels = raw.get("levels", {})
        if not isinstance(levels, Mapping):
            self.problem("escalation.levels", "must be a table of code = label")
            return {}
        out: dict[str, Label] = {}
        for code, label in levels.items():
            if not code.isidentifier():
                self.problem(f"escalation.levels.{code}", "must be an identifier-like code")
                continue
            out[code] = self.label(label, f"escalation.levels.{code}", code)
        return out

    def check_sign_for_used(self, stages: Mapping[str, Stage],
                            anytime: Mapping[str, tuple[str, ...]],
                            sign_for: SignFor | None) -> None:
        """``sign``, ``return`` and ``contact`` need the ``[sign_for]`` table."""
        if sign_for is not None or "sign_for" in self.data:
            return
        tables = [(f"stages.{s.name}.commands", s.transitions) for s in stages.values()]
        tables.append(("anytime", anytime))
        for key, table in tables:
            for command in sorted({"sign", "return", "contact"} & set(table)):
                self.problem(f"{key}.{command}", "needs a [sign_for] table with its limits")

    def check_review_used(self, stages: Mapping[str, Stage],
                          anytime: Mapping[str, tuple[str, ...]],
                          requires: Mapping[str, tuple[str, ...]],
                          review: ReviewRule | None) -> None:
        """Review commands and facts need the ``[review]`` windows."""
        if review is not None or "review" in self.data:
            return
        review_commands = {"request_review", "answer_review", "request_rereview",
                           "answer_rereview"}
        tables = [(f"stages.{s.name}.commands", s.transitions) for s in stages.values()]
        tables.append(("anytime", anytime))
        for key, table in tables:
            for command in sorted(review_commands & set(table)):
                self.problem(f"{key}.{command}",
                             "needs a [review] table with the request windows")
        for command, facts in requires.items():
            for fact in facts:
                if fact in ("review_window_passed", "reply_within_review_window"):
                    self.problem(f"requires.{command}",
                                 f"fact {fact!r} needs a [review] table with the request windows")
