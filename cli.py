"""The ``petitions`` command line: parse, call the public API, render.

No domain logic lives here.  Heavy imports (the library, eventsourcing, rich)
happen inside commands so that ``petitions --help`` starts fast, and a
command's Click objects are built when it is first asked for: declare one
with ``@later(group, …)`` and its parameters with ``@option``/``@argument``
(``click.option``/``click.argument`` held back until then).  Messages and
labels are translated through gettext catalogs (:mod:`petitions.i18n`), and so
are help texts: give them as ``help=_h("...")`` (never as docstrings), they are
translated when a help page is shown.  ``--json`` output is UTF-8 JSON whose
keys are a contract for portals' scripts.
"""

from __future__ import annotations

import functools
import gettext
import inspect
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from petitions import PetitionService, PetitionView
    from petitions.demo import CaseResult
    from petitions.i18n import Messages
    from petitions.readmodels import CaseSummary

F = TypeVar("F", bound=Callable[..., Any])



# --------------------------------------------------------------------- state
class State:
    """Global options, and the service opened on first use."""

    def __init__(self, db: str | None, actor: str | None, role: str | None,
                 lang: str | None, as_json: bool) -> None:
        self.db = db
        self.actor_id = actor
        self.role = role
        self.lang_option = lang
        self.as_json = as_json
        self._svc: PetitionService | None = None
        self._m: Messages | None = None

    @property
    def lang(self) -> str:
        from petitions.i18n import resolve_lang

        return resolve_lang(self.lang_option)

    @property
    def m(self) -> Messages:
        if self._m is None:
            from petitions.i18n import Messages

            self._m = Messages(self.lang)
        return self._m

    def service(self) -> PetitionService:
        if self._svc is None:
            from petitions import PetitionService

            self._svc = PetitionService.open(self.db)
            click.get_current_context().call_on_close(self._svc.shutdown)
        return self._svc


def _state() -> State:
    state = click.get_current_context().find_object(State)
    assert state is not None
    return state


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"petitions: {message}", err=True)
    sys.exit(code)


def _handled(fn: F) -> F:
    """Domain errors and bad input: one translated line on stderr, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from eventsourcing.persistence import PersistenceError

        from petitions import PetitionError
        from petitions.i18n import error_text
        from workflows.loader import WorkflowInvalid

        try:
            return fn(*args, **kwargs)
        except PetitionError as exc:
            _fail(error_text(exc, _state().lang))
        except WorkflowInvalid as exc:  # an office's own definition, checked on first use
            for problem in exc.problems[:-1]:
                click.echo(f"petitions: {problem}", err=True)
            _fail(str(exc.problems[-1]))
        except OverflowError:  # a date or number beyond what can be counted
            _fail(_state().m("a value is out of range: {detail}", detail=" ".join(
                str(sys.exc_info()[1]).split())))
        except (PersistenceError, OSError) as exc:
            from petitions.persistence import describe, is_read_only_error

            if is_read_only_error(exc):
                _fail(_state().m("the store {store} is read-only: nothing was written",
                                 store=describe(_state().db)))
            detail = " ".join(str(exc).split())
            _fail(_state().m("cannot use the store {store}: {detail}",
                             store=describe(_state().db), detail=detail))

    return wrapper  # type: ignore[return-value]


def _actor(actor_id: str | None = None, role: str | None = None,
           default_role: str | None = None) -> Any:
    """Who is acting: a command's own --actor/--role, else the global ones (or
    PETITIONS_ACTOR/PETITIONS_ROLE), else ``default_role``; refuse when unknown."""
    from petitions import Actor

    state = _state()
    actor_id = actor_id or state.actor_id
    role = role or state.role or default_role
    if not actor_id or not role:
        _fail(state.m("who is doing this? give --actor and --role "
                      "(or PETITIONS_ACTOR and PETITIONS_ROLE)"))
    return Actor(actor_id, role)


# ------------------------------------------------------------------- output
def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _local_iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    from petitions.timefmt import local

    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return local(dt).isoformat()


def _show(value: datetime | str | None) -> str:
    if value is None:
        return ""
    from petitions.timefmt import show

    return show(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(file=stream, highlight=False, width=width, soft_wrap=False)


def _terminal_columns() -> int:
    """The terminal's width (``COLUMNS`` wins), as :func:`shutil.get_terminal_size`
    says it, without importing shutil (and the compression modules it loads)."""
    try:
        return int(os.environ.get("COLUMNS") or os.get_terminal_size(sys.stdout.fileno()).columns)
    except (ValueError, OSError):
        return 0


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
           title: str | None = None) -> None:
    """Print a table: a header, a rule, the rows, columns aligned by the
    terminal columns their text takes (a Chinese character takes two).  On a
    terminal too narrow for it the widest column is wrapped; piped output is
    never wrapped, so that scripts see one line per row.  (Plain code rather
    than rich, which would add a fifth to the start-up of ``show``.)"""
    cells = [[" ".join(("" if v is None else str(v)).split()) for v in row] for row in rows]
    widths = [max([_columns(h), *(_columns(row[i]) for row in cells)])
              for i, h in enumerate(headers)]
    space = _terminal_columns() if sys.stdout.isatty() else 0
    wide = max(range(len(widths)), key=widths.__getitem__) if widths else 0
    excess = sum(widths) + 2 * len(widths) + 1 - space
    if space and widths and excess > 0:
        widths[wide] = max(widths[wide] - excess, 10)

    def line(values: Sequence[str]) -> list[str]:
        parts = [_wrap_wide(v, widths[i]) if i == wide and _columns(v) > widths[i] else [v]
                 for i, v in enumerate(values)]
        out = []
        for n in range(max(len(p) for p in parts)):
            texts = [p[n] if n < len(p) else "" for p in parts]
            out.append(" " + "".join(
                f" {t}{' ' * (widths[i] - _columns(t))} " for i, t in enumerate(texts)).rstrip())
        return out

    text = [title] if title else []
    text += line(list(headers))
    text.append(" " + "─" * (sum(widths) + 2 * len(widths)))
    for row in cells:
        text += line(row)
    click.echo("\n".join(text))


def _word(value: str | None) -> str:
    return _state().m(value) if value else ""


def _term(kind: str, code: str) -> str:
    from petitions.taxonomy import taxonomy

    found = getattr(taxonomy(), kind).get(code)
    return found.in_lang(_state().lang) if found else code


def _label(label: Any) -> str:
    """A label that came with a view (both languages), in the chosen one."""
    return str(label.in_lang(_state().lang)) if label is not None else ""


def _view_dict(view: PetitionView) -> dict[str, Any]:
    out = view.to_dict()
    out["workflow"] = view.workflow.name
    out["workflow_version"] = view.workflow.version
    out["workflow_sha256"] = view.workflow.sha256
    for key in ("filed_at", "updated_at", "recorded_at", "deadline"):
        out[key] = _local_iso(getattr(view, key))
    return out


def _summary_dict(case: CaseSummary) -> dict[str, Any]:
    out = case.to_dict()
    out["filed_at"] = _local_iso(case.filed_at)
    out["updated_at"] = _local_iso(case.updated_at)
    out["deadline"] = _local_iso(case.deadline)
    return out


def _print_view(view: PetitionView) -> None:
    if _state().as_json:
        _dump(_view_dict(view))
        return
    m = _state().m
    click.echo(m("{id}: stage {stage} ({status}), version {version}", id=view.id,
                 stage=_label(view.stage_label),
                 status=_word(view.outcome or view.status), version=view.version))


# ------------------------------------------------------------- param types
class LibraryChoice(click.Choice[str]):
    """A choice among values the library defines (``module:NAME``, or
    ``module:Class.NAME``), read when the option is first used or shown, so
    that cli.py keeps no copy of them."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._loaded: tuple[str, ...] | None = None
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        if self._loaded is None:
            from importlib import import_module

            module, _, name = self._source.partition(":")
            found: Any = import_module(module)
            for part in name.split("."):
                found = getattr(found, part)
            self._loaded = tuple(found)
        return self._loaded

    @choices.setter
    def choices(self, value: Any) -> None:
        pass  # Click's own __init__ sets them; they come from the library


class Time(click.ParamType):  # type: ignore[type-arg]
    """ISO 8601; without an offset it is Asia/Shanghai local time."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from petitions.timefmt import parse

        try:
            return parse(str(value))
        except ValueError as exc:
            if "between" in str(exc):
                from petitions.i18n import Messages

                self.fail(Messages(_help_lang(ctx))(
                    "a date between the years {first} and {last}", first=1900, last=2999),
                    param, ctx)
            self.fail(f"{value!r} is not an ISO 8601 time, e.g. 2022-06-06T09:30", param, ctx)


TIME = Time()


class Duration(click.ParamType):  # type: ignore[type-arg]
    """A duration: 2d, 12h, 30m, 1w, 1d6h."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from petitions.deadlines.clock import parse_duration

        try:
            return parse_duration(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a duration, e.g. 2d, 12h, 30m, 1d6h", param, ctx)


DURATION = Duration()


def _span(delta: timedelta) -> str:
    """``1d 3h`` / ``1天3小时``: days and hours, or hours, or minutes."""
    m = _state().m
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days and hours:
        return m("{days}d {hours}h", days=days, hours=hours)
    if days:
        return m("{n}d", n=days)
    if hours:
        return m("{n}h", n=hours)
    return m("{n}min", n=mins)


def _time_left(deadline: datetime | None, deadline_state: str | None,
               at: datetime | None = None) -> str:
    """Time left to ``deadline`` (or overdue by) at ``at``, default now."""
    if deadline is None:
        return ""
    m = _state().m
    if deadline_state == "paused":
        return _word("paused")
    from datetime import UTC

    left = deadline - (at or _state().service().clock()).astimezone(UTC)
    if left < timedelta(0):
        return m("overdue by {time}", time=_span(-left))
    return m("{time} left", time=_span(left))


def _show_deadline(value: datetime | None) -> str:
    from petitions.timefmt import show_deadline

    return show_deadline(value)


def _deadline_text(deadline: datetime | None, deadline_state: str | None) -> str:
    if deadline is None:
        return ""
    return f"{_show_deadline(deadline)} ({_word(deadline_state)})"


def _deadline_cell(deadline: datetime | None, deadline_state: str | None) -> str:
    if deadline is None:
        return ""
    return f"{_show_deadline(deadline)} · {_time_left(deadline, deadline_state)}"


# -------------------------------------------------------------- help pages
# Help texts are English in the code, marked with ``_h`` for the catalogs, and
# translated when a help page is shown, in the language chosen for messages.

def _h(text: str) -> str:
    """Mark help text for the catalogs; it is translated when help is shown."""
    return text


#: Click's own words on help pages, translated the same way.
CLICK_WORDS = (
    _h("Usage:"), _h("Options:"), _h("Commands:"), _h("Positional arguments:"), _h("required"),
    _h("default: {default}"), _h("env var: {var}"), _h("Show this message and exit."),
    _h("Show the version and exit."),
)


def _help_lang(ctx: click.Context | None = None) -> str:
    """``zh`` or ``en``: --lang (given before the subcommand), else PETITIONS_LANG,
    else the locale -- as :func:`petitions.i18n.resolve_lang` decides, without
    importing the library (which would slow ``--help`` down)."""
    ctx = ctx or click.get_current_context(silent=True)
    chosen: str | None = None
    if ctx is not None:
        state = ctx.find_object(State)
        chosen = state.lang_option if state is not None else ctx.find_root().params.get("lang")
    value = chosen or os.environ.get("PETITIONS_LANG") or next(
        (os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
         if os.environ.get(v)), "")
    return "zh" if value.lower().startswith("zh") else "en"


@functools.lru_cache(maxsize=2)
def _help_catalog(lang: str) -> gettext.NullTranslations:
    """The package's catalog (as :func:`petitions.i18n.translation` loads it),
    found without importing the package."""
    if lang != "zh":
        return gettext.NullTranslations()
    spec = find_spec("petitions")
    assert spec is not None and spec.submodule_search_locations is not None
    locale = os.path.join(next(iter(spec.submodule_search_locations)), "locale")
    return gettext.translation("petitions", locale, languages=["zh_CN"])


def _help_text(text: str) -> str:
    return _help_catalog(_help_lang()).gettext(text)


#: Punctuation that must not begin a line of Chinese text.
_NO_LINE_START = frozenset("，。、；：？！）》」』%")


def _columns(text: str) -> int:
    """The terminal columns ``text`` takes (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap_wide(text: str, width: int) -> list[str]:
    """``text`` in lines at most ``width`` columns wide, breaking at spaces and
    between Chinese characters, never before closing punctuation."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace() or unicodedata.east_asian_width(char) in "WF":
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" " if char.isspace() else char)
        else:
            word += char
    if word:
        tokens.append(word)
    lines: list[str] = []
    line: list[str] = []
    for token in tokens:
        if token == " ":
            if line:
                line.append(token)
            continue
        if line and _columns("".join(line) + token) > width:
            carry: list[str] = []
            if token in _NO_LINE_START:
                # Take the character before (and its punctuation) along.
                while line and line[-1] != " " and (not carry or carry[0] in _NO_LINE_START):
                    carry.insert(0, line.pop())
            if "".join(line).strip():
                lines.append("".join(line).rstrip())
                line = carry
            else:  # nothing to break before: let the line run over
                line += carry
        line.append(token)
    if line:
        lines.append("".join(line).rstrip())
    return lines


class HelpFormatter(click.HelpFormatter):
    """Click's formatter, with its own words translated and Chinese text
    wrapped by the columns it takes."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _help_text("Usage:") + " " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_help_text(heading + ':')}\n")

    def write_text(self, text: str) -> None:
        if _help_lang() == "en":
            super().write_text(text)
            return
        indent = " " * self.current_indent
        width = max(self.width - self.current_indent, 11)
        self.write("\n\n".join("\n".join(indent + line for line in _wrap_wide(part, width))
                               for part in text.split("\n\n")))
        self.write("\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:
        if _help_lang() == "en":
            super().write_dl(rows, col_max, col_spacing)
            return
        rows = list(rows)
        first_col = min(max((_columns(first) for first, _ in rows), default=0),
                        col_max) + col_spacing
        hang = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if _columns(first) <= first_col - col_spacing:
                self.write(" " * (first_col - _columns(first)))
            else:
                self.write("\n" + hang)
            lines = _wrap_wide(second, max(self.width - first_col - 2, 10)) or [""]
            self.write(lines[0] + "\n" + "".join(f"{hang}{line}\n" for line in lines[1:]))


class HelpContext(click.Context):
    formatter_class = HelpFormatter


def _param_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """Click's help line for an option or argument, in the chosen language."""
    record = param.get_help_record(ctx)
    if record is None:
        return None
    text = _help_text(param.help) if param.help else ""
    if isinstance(param, click.Option):
        extra = param.get_help_extra(ctx)
        items = []
        if "envvars" in extra:
            items.append(_help_text("env var: {var}").format(var=", ".join(extra["envvars"])))
        if "default" in extra:
            items.append(_help_text("default: {default}").format(default=extra["default"]))
        if "range" in extra:
            items.append(extra["range"])
        if "required" in extra:
            items.append(_help_text(extra["required"]))
        if param.metavar == _CHOICE_METAVAR:
            items.append(_help_text(_CHOICE_HELP))
        if items:
            more = "; ".join(items)
            text = f"{text}  [{more}]" if text else f"[{more}]"
    return record[0], text


#: The longest text a command-line argument may hold: the longest free text
#: the library takes (a description, a note) is 10,000 characters.
MAX_ARGUMENT = 10_000


def _checked_arguments(command: click.Command, ctx: click.Context) -> None:
    """Refuse, as a usage error naming the parameter, text that is not valid
    UTF-8 (bytes the terminal could not decode reach Python as lone surrogates)
    or longer than :data:`MAX_ARGUMENT` — before anything is read or written."""
    for param in command.params:
        value = ctx.params.get(param.name or "")
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, datetime) and not 1900 <= item.year <= 2999:
                from petitions.i18n import Messages

                raise click.BadParameter(Messages(_help_lang(ctx))(
                    "a date between the years {first} and {last}", first=1900, last=2999),
                    ctx, param)
            if not isinstance(item, str):
                continue
            too_long = len(item) > MAX_ARGUMENT
            undecodable = False
            if not isinstance(param.type, click.Path):  # a file name may be any bytes
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    undecodable = True
            if too_long or undecodable:  # (dates: below)
                from petitions.i18n import Messages

                m = Messages(_help_lang(ctx))
                raise click.BadParameter(
                    m("longer than {max} characters", max=MAX_ARGUMENT) if too_long
                    else m("not valid UTF-8 text"), ctx, param)


class HelpCommand(click.Command):
    """A command whose help page is in the chosen language."""

    context_class = HelpContext

    def invoke(self, ctx: click.Context) -> Any:
        _checked_arguments(self, ctx)
        return super().invoke(ctx)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help:
            text = inspect.cleandoc(_help_text(self.help)).partition("\f")[0]
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help or not self.help or _help_lang() == "en":
            return super().get_short_help_str(limit)
        # Chinese: the first sentence, which is written short.
        text = " ".join(_help_text(self.help).partition("\n\n")[0].split())
        return text.partition("。")[0]

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        args = [p for p in self.get_params(ctx) if isinstance(p, click.Argument)]
        if any(arg.help is not None for arg in args):
            with formatter.section("Positional arguments"):
                formatter.write_dl([r for a in args if (r := _param_record(a, ctx))])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [r for p in self.get_params(ctx)
                if not isinstance(p, click.Argument) and (r := _param_record(p, ctx))]
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)


class HelpGroup(HelpCommand, click.Group):
    """A group whose help page, and whose commands' and subgroups', are in the
    chosen language."""

    command_class = HelpCommand
    group_class = type

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        HelpCommand.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


# ------------------------------------------------- the handling commands
# Generated from the command table (petitions.domain.commands.COMMANDS): one
# command per class, at the path its ``cli`` names, its options from the
# class's fields and their metadata, its help from the same catalogs.  A group
# builds them when one is asked for, so that a command that handles nothing
# (show, list, --version …) does not import the table.

_AT_HELP = _h("When it happened (ISO 8601, local Asia/Shanghai time unless an offset is "
              "given); default now.")
_EXPECTED_VERSION_HELP = _h("Refuse if the petition's version is not this one.")
_CHOICE_METAVAR = "CODE"
_CHOICE_HELP = _h("codes from the petition's workflow; - and _ alike")


def _command_table() -> Any:
    from petitions.domain import commands

    return commands


def _option_spelling(field: Any) -> str:
    return str(field.metadata.get("option") or "--" + field.name.replace("_", "-"))


def _field_option(field: Any) -> click.Option:
    """The Click option of one field of a command class."""
    from workflows.records import made_by_factory
    from workflows.records import required as is_required

    meta = field.metadata
    kind = meta.get("kind", "text")
    required = is_required(field)
    has_factory = made_by_factory(field)
    default = None if required or has_factory else field.default
    extra: dict[str, Any] = {"required": True} if required else {"default": default}
    if kind == "bool":
        return click.Option([meta["flag"], field.name], help=meta.get("help"), **extra)
    decls = [_option_spelling(field), field.name]
    if kind == "texts":
        return click.Option(decls, multiple=True, required=required, help=meta.get("help"))
    param_type: Any = {"time": TIME, "int": int}.get(kind, str)
    metavar = "ID" if kind == "id" else _CHOICE_METAVAR if meta.get("choices") else None
    return click.Option(decls, type=param_type, metavar=metavar, help=meta.get("help"),
                        **extra)


def _any_workflow_choices(svc: PetitionService, kind: str) -> list[Any]:
    """The values of ``kind`` in any workflow known (for a petition that cannot
    be read: its own error is then the command's to report)."""
    table = _command_table()
    found: list[Any] = []
    for wf in svc.workflows.all():
        found += table.choices(wf, wf.initial, kind)
    return found


def _choose(svc: PetitionService, petition_id: str, kind: str, value: str,
            option: str) -> str:
    """``value`` as the code the petition's pinned workflow spells it (``-`` and
    ``_`` alike), or a usage error that lists the valid ones."""
    from petitions import PetitionError

    try:
        valid = list(svc.choices(petition_id, kind))
    except PetitionError:
        valid = _any_workflow_choices(svc, kind)
    if not valid:  # nothing to choose from here: the library says why
        return value
    wanted = value.replace("-", "_")
    for choice in valid:
        if choice.code.replace("-", "_") == wanted:
            return str(choice.code)
    state = _state()
    listed = ", ".join(f"{c.code} ({c.in_lang(state.lang)})" for c in valid)
    raise click.UsageError(state.m("{option}: {value} is not a choice here; the petition's "
                                   "workflow allows: {valid}", option=option, value=value,
                                   valid=listed), click.get_current_context())


def _execute(cls: Any, petition_id: str, at: datetime | None, expected_version: int | None,
             values: dict[str, Any]) -> None:
    from workflows.records import fields as fields_of
    from workflows.records import required

    actor = _actor()
    svc = _state().service()
    fields = {f.name: f for f in fields_of(cls)}
    for name, value in list(values.items()):
        field = fields[name]
        if value is None and not required(field):
            del values[name]  # the class's own default
        elif value is not None and field.metadata.get("choices"):
            values[name] = _choose(svc, petition_id, field.metadata["choices"], value,
                                   _option_spelling(field))
    view = svc.execute(petition_id, cls(**values), actor=actor, at=at,
                       expected_version=expected_version)
    _print_view(view)


def _table_command(cls: Any) -> click.Command:
    """The command line of the handling command ``cls``."""
    from workflows.records import fields

    params: list[click.Parameter] = [
        click.Argument(["petition_id"], metavar="ID"),
        click.Option(["--at"], type=TIME, default=None, help=_AT_HELP),
        click.Option(["--expected-version"], type=click.IntRange(min=1), default=None,
                     help=_EXPECTED_VERSION_HELP),
        *(_field_option(f) for f in fields(cls)),
    ]

    @_handled
    def run(petition_id: str, at: datetime | None, expected_version: int | None,
            **values: Any) -> None:
        _execute(cls, petition_id, at, expected_version, values)

    return HelpCommand(cls.cli[-1], params=params, callback=run, help=cls.help)


def _usage_expected(param: click.Parameter, m: Messages) -> str | None:
    """What a parameter of ``param``'s type takes, said in ``m``'s language
    (Click's own messages are English)."""
    kind = param.type
    if isinstance(kind, click.IntRange):
        return m("a whole number, {range}", range=kind._describe_range())
    if isinstance(kind, click.types.IntParamType):
        return m("a whole number")
    if isinstance(kind, click.types.FloatParamType):
        return m("a number")
    if isinstance(kind, click.Choice):
        return m("one of {choices}", choices=", ".join(map(str, kind.choices)))
    if isinstance(kind, click.DateTime):
        return m("a date, e.g. 2026-01-05")
    if isinstance(kind, Time):
        return m("an ISO 8601 time, e.g. 2022-06-06T09:30")
    if isinstance(kind, Duration):
        return m("a duration, e.g. 2d, 12h, 30m, 1d6h")
    if isinstance(kind, click.Path):
        return m("a file or folder that exists and can be used")
    if isinstance(kind, click.types.BoolParamType):
        return m("yes or no")
    return None


def _usage_problem(exc: click.UsageError, m: Messages) -> str:
    """What is wrong with the command line, on one line, in ``m``'s language."""
    import re

    def hint(param: click.Parameter | None) -> str:
        if param is None:
            return ""
        if isinstance(param, click.Argument):
            return str(param.make_metavar(exc.ctx)) if exc.ctx else str(param.name).upper()
        return max(param.opts, key=len)

    def maybe(found: Sequence[str] | None) -> str:
        return m(" (did you mean {names}?)", names=", ".join(found)) if found else ""

    if isinstance(exc, click.exceptions.NoSuchCommand):
        return m("no such command: {name}", name=exc.command_name) + maybe(exc.possibilities)
    if isinstance(exc, click.NoSuchOption):
        return m("no such option: {name}", name=exc.option_name) + maybe(exc.possibilities)
    if isinstance(exc, click.MissingParameter):
        return m("missing {param}", param=hint(exc.param) or str(exc.param_hint or ""))
    if isinstance(exc, click.BadParameter):
        detail = " ".join(exc.message.split())
        if exc.param is not None and (m.lang != "en" and detail.isascii()):
            detail = _usage_expected(exc.param, m) or detail
        name = hint(exc.param) if exc.param is not None else str(exc.param_hint or "")
        if not name:
            return m("invalid value: {detail}", detail=detail)
        return m("invalid value for {param}: {detail}", param=name, detail=detail)
    message = " ".join(exc.message.split())
    if isinstance(exc, click.BadOptionUsage):
        if "requires" in message:
            return m("{option} needs a value", option=exc.option_name)
        if "does not take" in message:
            return m("{option} takes no value", option=exc.option_name)
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", message, re.S)
    if extra:
        return m("unexpected extra arguments: {args}", args=extra.group(1))
    if message == "Missing command.":
        return m("missing command")
    return message


class _UsageLine(click.ClickException):
    """A usage error, shown as one line on stderr (exit 2): what is wrong, and
    where the help is."""

    exit_code = 2

    def __init__(self, error: click.UsageError, command: str | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.command = command

    def show(self, file: Any = None) -> None:
        from petitions.i18n import Messages

        ctx = self.error.ctx
        m = Messages(_help_lang(ctx))
        command = ctx.command_path if ctx is not None else self.command or "petitions"
        line = m("{problem} (try '{command} --help')", problem=_usage_problem(self.error, m),
                 command=command)
        click.echo("petitions: " + " ".join(line.split()), err=True)


class TableGroup(HelpGroup):
    """A group whose handling commands (and their subgroups) come from the
    command table, built when first asked for (and dropped when a command is
    taken out of the table, as a test or a plugin may do)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._own: dict[str, click.Command] = {}
        #: Commands declared with :func:`later`, not built yet: name → (function, settings).
        self._later: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}
        #: Commands built from the table: name → (their class or group path, command).
        self._built: dict[str, tuple[Any, click.Command]] = {}
        super().__init__(*args, **kwargs)
        #: The CLI path of this group in the command table (the root's is empty).
        self.table_path: tuple[str, ...] = (self.name,) if self.name else ()

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Whether only a help page is asked for (it runs no library code).
        ctx.meta["petitions.help_only"] = any(a in ("--help", "-h") for a in args)
        return super().parse_args(ctx, args)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        """Every command, the generated ones built (for introspection)."""
        for name in list(self._later):
            self._build_later(name)
        built = {name: found for name in sorted(self._table_names())
                 if name not in self._own and (found := self._build(name)) is not None}
        return {**self._own, **built}

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._own = dict(value)

    def _table_names(self) -> set[str]:
        depth = len(self.table_path)
        return {cls.cli[depth] for cls in _command_table().COMMANDS.values()
                if cls.cli[:depth] == self.table_path and len(cls.cli) > depth}

    def _build(self, name: str) -> click.Command | None:
        table = _command_table()
        path = (*self.table_path, name)
        cached = self._built.get(name)
        if cached is not None:
            source, found = cached
            still = (source in table.COMMANDS.values() if isinstance(source, type)
                     else any(cls.cli[:len(path)] == path for cls in table.COMMANDS.values()))
            if still:
                return found
            del self._built[name]
        for cls in table.COMMANDS.values():
            if cls.cli == path:
                self._built[name] = (cls, _table_command(cls))
                return self._built[name][1]
        if not any(cls.cli[:len(path)] == path for cls in table.COMMANDS.values()):
            return None
        group = TableGroup(name, help=table.GROUPS.get(name))
        group.table_path = path
        self._built[name] = (path, group)
        return group

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        assert name is not None
        self._own[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._later:
            return self._build_later(cmd_name)
        return self._own.get(cmd_name) or self._build(cmd_name)

    def _build_later(self, name: str) -> click.Command:
        """Build the command declared with :func:`later` as ``name``: its
        parameters, then the command, as ``@group.command`` would have."""
        fn, settings = self._later.pop(name)
        held: list[tuple[Callable[..., Callable[[Any], Any]], tuple[str, ...], dict[str, Any]]]
        held = fn.__dict__.get(_LATER_PARAMS, [])
        for make, decls, attrs in held:
            made = {k: v() if isinstance(v, _Made) else v for k, v in attrs.items()}
            fn = make(*decls, **made)(fn)
        settings = dict(settings)
        cls = settings.pop("cls", None) or self.command_class
        command: click.Command = click.command(name, cls=cls, **settings)(fn)
        self._own[name] = command
        return command

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # one line, not Click's usage block
            path = f"{parent.command_path} {info_name}" if parent is not None else info_name
            raise _UsageLine(exc, path) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # a subcommand's, or a command's own
            raise _UsageLine(exc) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._own, *self._later, *self._table_names()})


# ------------------------------------------------ commands built on first use
# The hand-written commands are declared with ``@later(group, …)`` and their
# parameters with ``@option``/``@argument`` (``click.option``/``click.argument``
# held back): their Click objects are made when the command is first asked for
# (to run it, for its help page, or to list the group), so that ``petitions
# show`` builds ``show`` and not the other sixty (issue 12, point 6).  Their
# names, options and help pages are what ``@group.command`` makes of them.

_LATER_PARAMS = "__petitions_later_params__"


def _held(make: Callable[..., Any], decls: tuple[str, ...],
          attrs: dict[str, Any]) -> Callable[[F], F]:
    def decorator(fn: F) -> F:
        fn.__dict__.setdefault(_LATER_PARAMS, []).append((make, decls, attrs))
        return fn

    return decorator


class _Made:
    """A parameter setting made when its command is built (see :func:`path_type`)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def __call__(self) -> Any:
        return self.make()


def path_type(**settings: Any) -> Any:
    """``click.Path(**settings)``, made when the command is built (Click looks
    its name up in gettext's catalogs when one is made)."""
    return _Made(lambda: click.Path(**settings))


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.option(*decls, **attrs)``, applied when the command is built."""
    return _held(click.option, decls, attrs)


def argument(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.argument(*decls, **attrs)``, applied when the command is built."""
    return _held(click.argument, decls, attrs)


def later(group: click.Group, name: str | None = None, **settings: Any) -> Callable[[F], F]:
    """``@group.command(name, **settings)``, built when first asked for; the
    name is the function's as Click makes it (``db_init`` → ``db-init``)."""
    assert isinstance(group, TableGroup)

    def decorator(fn: F) -> F:
        found = name
        if found is None:
            found = fn.__name__.lower().replace("_", "-")
            left, sep, suffix = found.rpartition("-")
            if sep and suffix in {"command", "cmd", "group", "grp"}:
                found = left
        group._later[found] = (fn, settings)
        return fn

    return decorator


# ------------------------------------------------------------------- group
@click.group(cls=TableGroup, context_settings={"help_option_names": ["-h", "--help"]},
             help=_h("Handle residents' and enterprises' appeals (诉求), from intake to "
                     "satisfaction review (回访)."))
@click.option("--db", envvar="PETITIONS_DB", default=None, metavar="URL",
              help=_h("SQLite path, :memory: or postgresql:// DSN (env PETITIONS_DB; "
                      "default ./petitions.sqlite)."))
@click.option("--actor", envvar="PETITIONS_ACTOR", default=None,
              help=_h("Who is acting: a person's id (env PETITIONS_ACTOR)."))
@click.option("--role", envvar="PETITIONS_ROLE", default=None,
              help=_h("The role they act in, e.g. caseworker (env PETITIONS_ROLE)."))
@click.option("--lang", envvar="PETITIONS_LANG", type=click.Choice(["zh", "en"]),
              default=None, is_eager=True,  # so that it also applies to --help
              help=_h("Language of messages (env PETITIONS_LANG; default from the locale)."))
@click.option("--json", "as_json", is_flag=True, help=_h("Print JSON instead of text."))
@click.version_option("0.1.0", prog_name="petitions")
@click.pass_context
def main(ctx: click.Context, db: str | None, actor: str | None, role: str | None,
         lang: str | None, as_json: bool) -> None:
    ctx.obj = State(db, actor, role, lang, as_json)
    if ctx.meta.get("petitions.help_only") or ctx.resilient_parsing:
        return  # a help page runs no library code: nothing will be logged
    from petitions.logs import when_logging

    # Set up when the library first logs (``logging`` is not imported before).
    when_logging(_quiet_logging)


def _reports_poisoned(fn: F) -> F:
    """After a query of the read models: one line on stderr per stored event the
    views had to skip because it cannot be read (the rest is shown as usual)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        from petitions.i18n import error_text

        state = _state()
        for exc in state.service().read_models.poisoned():
            click.echo("petitions: " + state.m("warning: {text}",
                                               text=error_text(exc, state.lang)), err=True)
        return result

    return wrapper  # type: ignore[return-value]


_TO_STDERR = "petitions-cli-stderr"


def _quiet_logging() -> None:
    """The library logs refusals for auditors; on the command line the one-line
    error says it all (no logging set-up means no stray stderr lines) — except
    where a master key file was created: said once, on stderr, as
    ``petitions: …``."""
    import logging

    class ToStderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            click.echo("petitions: " + record.getMessage(), err=True)

    lib = logging.getLogger("petitions")
    if not any(isinstance(h, logging.NullHandler) for h in lib.handlers):
        lib.addHandler(logging.NullHandler())
    created = logging.getLogger("petitions.keyfile")
    if not any(h.name == _TO_STDERR for h in created.handlers):
        handler = ToStderr()
        handler.set_name(_TO_STDERR)
        created.addHandler(handler)


main.table_path = ()  # the root of the command table's CLI paths


# ----------------------------------------------------------------- filing
@later(main, "file", help=_h("File a petition; print its id."))
@option("--workflow", default="standard", show_default=True, help=_h("The workflow name."))
@option("--kind", type=LibraryChoice("petitions.domain.values:PETITIONER_KINDS"),
        required=True, help=_h("Who raises the appeal."))
@option("--name", default="",
        help=_h("The petitioner's name (required unless --anonymous)."))
@option("--phone", default="", help=_h("The petitioner's phone number (stored encrypted)."))
@option("--email", default="",
        help=_h("The petitioner's e-mail address (stored encrypted)."))
@option("--title", required=True, help=_h("A short title."))
@option("--description", required=True,
        help=_h("What the appeal is about, in the petitioner's words."))
@option("--category", required=True, help=_h("A taxonomy code, e.g. traffic."))
@option("--channel", required=True, help=_h("A taxonomy code, e.g. hotline."))
@option("--street", default="", help=_h("Street office or town (街道/镇)."))
@option("--community", default="", help=_h("Community (社区)."))
@option("--grid", default="", help=_h("Grid (网格)."))
@option("--address", default="",
        help=_h("The petitioner's address (stored encrypted with their other personal "
                "data)."))
@option("--place", default="",
        help=_h("Where the matter is, if not personal: a compound, building or wharf "
                "(not a home address)."))
@option("--idempotency-key", default=None,
        help=_h("Filing again with the same key returns the same id."))
@option("--petitioner-id", default="",
        help=_h("The petitioner's id in your portal (default: a new one)."))
@option("--id-number", default="", help=_h("The petitioner's ID number."))
@option("--matter-type", default=None,
        help=_h("suggestion (建议意见), report (检举控告) or claim (申诉求决); default: "
                "what --type implies (a report 检举控告, a suggestion 建议意见, else "
                "申诉求决)."))
@option("--type", "request_type",
        type=LibraryChoice("workflows.vocabulary:REQUEST_TYPES"), default=None,
        help=_h("The request type: consultation (咨询), help (求助), complaint (投诉), "
                "report (举报), suggestion (建议) or praise (表扬); default: complaint. "
                "The workflow sets time limits per type."))
@option("--urgency", type=LibraryChoice("workflows.vocabulary:URGENCIES"),
        default="normal", show_default=True,
        help=_h("normal, urgent or emergency; the workflow sets time limits per urgency."))
@option("--anonymous", is_flag=True,
        help=_h("File without name, phone, ID number or address (for the types the "
                "workflow allows; its call-back is then impossible)."))
@option("--campaign", default=None, help=_h("The campaign (进家入户) that collected it."))
@option("--at", type=TIME, default=None, help=_h("When it was filed; default now."))
@_handled
def file_(workflow: str, kind: str, name: str, phone: str, email: str, title: str,
          description: str,
          category: str, channel: str, street: str, community: str, grid: str,
          address: str, place: str, idempotency_key: str | None, petitioner_id: str, id_number: str,
          matter_type: str | None, request_type: str | None, urgency: str, anonymous: bool,
          campaign: str | None, at: datetime | None) -> None:
    from uuid import UUID

    from petitions import InvalidInput, Location, Petitioner

    actor = _actor()
    try:
        campaign_id = UUID(campaign) if campaign else None
    except ValueError:
        raise InvalidInput("campaign", f"{campaign!r} is not a campaign id",
                           kind="bad_id") from None
    pid = _state().service().file(
        actor=actor, petitioner=Petitioner(id=petitioner_id, kind=kind, name=name,
                                           phone=phone, id_number=id_number,
                                           address=address, email=email),
        title=title, description=description, category=category, channel=channel,
        location=Location(street=street, community=community, grid=grid, place=place),
        workflow=workflow, matter_type=matter_type, idempotency_key=idempotency_key,
        campaign_id=campaign_id, at=at, request_type=request_type, urgency=urgency,
        anonymous=anonymous)
    similar = [e for e in _state().service().petition_events(pid)
               if type(e).__name__ == "SimilarToConcluded"]
    if similar:
        click.echo("petitions: " + _state().m(
            "warning: similar to a matter concluded by re-review ({ids}); the same matter "
            "would be refused",
            ids=", ".join(str(i) for i in getattr(similar[0], "petition_ids", ()))),
            err=True)
    if _state().as_json:
        _dump({"id": str(pid)})
    else:
        click.echo(str(pid))


# --------------------------------------------------------------- campaigns
@main.group(help=_h("Door-to-door campaigns (进家入户): open one, see its progress."))
def campaign() -> None:
    pass


@later(campaign, "open", help=_h("Open a campaign; print its id (file its suggestions with "
                                 "--campaign ID)."))
@option("--name", required=True, help=_h("The name."))
@option("--street", default="", help=_h("Street office or town (街道/镇)."))
@option("--community", default="", help=_h("Community (社区)."))
@option("--description", default="",
        help=_h("What the appeal is about, in the petitioner's words."))
@option("--at", type=TIME, default=None, help=_h("When it started; default now."))
@_handled
def campaign_open(name: str, street: str, community: str, description: str,
                  at: datetime | None) -> None:
    from petitions import Location

    cid = _state().service().open_campaign(
        actor=_actor(), name=name, location=Location(street=street, community=community),
        description=description, at=at)
    if _state().as_json:
        _dump({"id": str(cid)})
    else:
        click.echo(str(cid))


@later(campaign, "show", help=_h("How many suggestions the campaign collected, and how many "
                                 "are resolved."))
@argument("campaign_id", metavar="ID")
@_handled
def campaign_show(campaign_id: str) -> None:
    state = _state()
    progress = state.service().campaign_progress(campaign_id)
    if state.as_json:
        out = progress.to_dict()
        out["opened_at"] = _local_iso(progress.opened_at)
        _dump(out)
        return
    m = state.m
    _table((m("Field"), m("Value")), [
        (m("Title"), progress.name),
        (m("Street"), progress.location.street),
        (m("Filed"), _show(progress.opened_at)),
        (m("Collected"), str(progress.collected)),
        (m("Resolved"), str(progress.resolved)),
        (m("Closed otherwise"), str(progress.closed_other)),
        (m("Open"), str(progress.open)),
        (m("Awaiting the call-back"), str(progress.awaiting_callback)),
    ])


# ---------------------------------------------------------------- queries
def _viewer() -> Any:
    """Who is looking: the global --actor/--role when given (else anonymous)."""
    from petitions import Actor

    state = _state()
    if state.actor_id and state.role:
        return Actor(state.actor_id, state.role)
    return None


@later(main, help=_h("Show a petition (as it stands, or stood at --version or --as-of)."))
@argument("petition_id", metavar="ID")
@option("--version", type=click.IntRange(min=1), default=None,
        help=_h("As it stood at this version."))
@option("--as-of", "as_of", type=TIME, default=None,
        help=_h("As the record stood at this time (ISO 8601, local time unless an "
                "offset is given)."))
@option("--reveal", is_flag=True,
        help=_h("Show phone and ID numbers and e-mail addresses unmasked (roles that may; "
                "recorded)."))
@option("--unit", default=None,
        help=_h("The unit you work in (a supervisor of the lead unit sees "
                "a whistle-blower)."))
@_handled
def show(petition_id: str, version: int | None, as_of: datetime | None, reveal: bool,
         unit: str | None) -> None:
    state = _state()
    viewer = _actor() if reveal else _viewer()
    view = state.service().get(petition_id, version=version, as_of=as_of, viewer=viewer,
                               unit=unit, reveal=reveal)
    if state.as_json:
        _dump(_view_dict(view))
        return
    m = state.m
    loc = view.location
    who = view.petitioner
    rows = [
        (m("ID"), str(view.id)),
        (m("Work-order number"), view.number or ""),
        (m("Title"), view.title),
        (m("Description"), view.description),
        (m("Workflow"), _workflow_title(view.workflow_title, view.workflow.version)),
        (m("Stage"), _label(view.stage_label)),
        (m("Status"), _word(view.status)),
        (m("Outcome"), _word(view.outcome)),
        (m("Category"), _term("categories", view.category)),
        (m("Channel"), _term("channels", view.channel)),
        (m("Request type"), f"{_label(view.type_label)} / {_label(view.urgency_label)}"),
        (m("Petitioner"), m("anonymous") if view.anonymous
         else f"{who.text(who.name)} ({_word(who.kind)})"),
        # An anonymous petitioner has none of these: nothing is withheld.
        (m("Phone"), who.text(who.phone) if who.phone != "" and not view.anonymous else ""),
        (m("ID number"), who.text(who.id_number)
         if who.id_number != "" and not view.anonymous else ""),
        (m("E-mail"), who.text(who.email) if who.email != "" and not view.anonymous else ""),
        (m("Address"), who.text(who.address)
         if who.address != "" and not view.anonymous else ""),
        (m("Place"), " / ".join(p for p in (loc.street, loc.community, loc.grid,
                                           loc.place) if p)),
        (m("Lead unit"), view.lead_unit or ""),
        (m("Co-handling units"), "、".join(view.co_units)),
        (m("Assignee"), view.assignee or ""),
        (m("Mediator"), view.mediator or ""),
        (m("Agreement"), view.agreement or ""),
        (m("Reply outcome"), _label(view.reply_outcome_label)),
        (m("Reply"), view.reply_text or ""),
        (m("Reopened"), str(view.reopen_count)),
        (m("Last rating"), _label(view.rating_label)),
        (m("Filed"), _show(view.filed_at)),
        (m("Updated"), _show(view.updated_at)),
        (m("Version"), str(view.version)),
        (m("Allowed now"), _command_list(view.allowed_commands)),
        (m("Deadline"), _deadline_text(view.deadline, view.deadline_state)
         + (" " + m("(provisional)") if view.deadline_provisional else "")),
        (m("Time left"), _time_left(view.deadline, view.deadline_state, view.state_at)),
    ]
    if view.plan_label is not None:
        rows.append((m("Plan"), " → ".join([_label(view.plan_label),
                                            *map(_label, view.plan_step_labels)])))
    if view.calendar_note:
        rows.append((m("Calendar"), _calendar_note(view.calendar_note)))
    if view.callback_impossible:
        rows.append((m("Call-back"), m("No call-back (anonymous)")))
    if view.related:
        rows.append((m("Same caller's open cases"),
                     ", ".join(f"{r.number or r.id} ({_label(r.stage_label) or r.stage})"
                               for r in view.related)))
    _table((m("Field"), m("Value")), rows)


def _workflow_title(title: Any, version: int) -> str:
    """A workflow by its title and version (``信访事项（第2版）``), never its code."""
    return _state().m("{title} (version {version})", title=_label(title), version=version)


def _command_list(commands: Sequence[str]) -> str:
    from petitions.labels import command_label

    lang = _state().lang
    sep = "、" if lang.startswith("zh") else ", "
    return sep.join(command_label(c, lang) for c in commands)


@later(main, "list", help=_h("List petitions (a queue), newest first."))
@option("--status", type=LibraryChoice("petitions.readmodels.queries:STATUSES"),
        default=None,
        help=_h("open or closed."))
@option("--stage", default=None, help=_h("The stage."))
@option("--workflow", default=None, help=_h("The workflow name."))
@option("--street", default=None, help=_h("Street office or town (街道/镇)."))
@option("--community", default=None, help=_h("Community (社区)."))
@option("--grid", default=None, help=_h("Grid (网格)."))
@option("--unit", default=None, help=_h("Lead unit."))
@option("--assignee", default=None, help=_h("The responsible person."))
@option("--mediator", default=None, help=_h("The mediator."))
@option("--category", default=None, help=_h("A category code."))
@option("--channel", default=None, help=_h("A channel code."))
@option("--type", "type", type=LibraryChoice("workflows.vocabulary:REQUEST_TYPES"),
        default=None, help=_h("The request type (consultation, help, complaint, report, "
                              "suggestion, praise)."))
@option("--urgency", type=LibraryChoice("workflows.vocabulary:URGENCIES"), default=None,
        help=_h("normal, urgent or emergency."))
@option("--campaign", default=None, help=_h("A campaign id."))
@option("--text", default=None, help=_h(
    "Words in the title or description: the most recently recorded matches first; more "
    "than 1,000 matches are counted as 1000+."))
@option("--phone", default=None,
        help=_h("Every case of the caller with this phone number (blind index)."))
@option("--id-number", "id_number", default=None,
        help=_h("Every case of the caller with this ID number (blind index)."))
@option("--overdue", is_flag=True,
        help=_h("Only petitions whose running deadline has passed (soonest first)."))
@option("--due-within", "due_within", type=DURATION, default=None, metavar="DURATION",
        help=_h("Only petitions whose deadline falls within this time, e.g. 2d, 12h, "
                "1d6h (with --overdue: either)."))
@option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
        help=_h("How many at most."))
@option("--offset", type=click.IntRange(min=0), default=0, help=_h("How many to skip."))
@_handled
@_reports_poisoned
def list_(text: str | None, limit: int, offset: int, overdue: bool,
          due_within: timedelta | None, phone: str | None, id_number: str | None,
          **filters: str | None) -> None:
    state = _state()
    svc = state.service()
    if filters.get("category"):
        from petitions.taxonomy import taxonomy

        taxonomy().check("categories", str(filters["category"]))
    if filters.get("channel"):
        from petitions.taxonomy import taxonomy

        taxonomy().check("channels", str(filters["channel"]))
    caller = phone is not None or id_number is not None
    if caller and (overdue or due_within is not None):
        _fail(state.m("give --phone/--id-number or --overdue/--due-within, not both"), 2)
    cases = svc.list_petitions(text=text, limit=limit, offset=offset, overdue=overdue,
                               due_within=due_within, phone=phone, id_number=id_number,
                               **filters)
    if state.as_json:
        _dump([_summary_dict(c) for c in cases])
        return
    m = state.m
    _table((m("Number"), m("ID"), m("Title"), m("Stage"), m("Status"), m("Street"),
            m("Community"), m("Grid"), m("Assignee"), m("Filed"), m("Deadline")),
           [(c.number or "", c.id, c.title, _label(c.stage_label) or c.stage,
             _word(c.outcome or c.status),
             c.street, c.community, c.grid, c.assignee, _show(c.filed_at),
             _deadline_cell(c.deadline, c.deadline_state)) for c in cases])
    # A text search counts its hits up to a cap, as search pages do ("1000+").
    from petitions.readmodels.queries import SEARCH_COUNT_CAP

    cap = SEARCH_COUNT_CAP if text else None
    total: int | str
    if caller:
        ids = [str(i) for i in svc.caller_petitions(phone=phone, id_number=id_number)]
        total = svc.read_models.count(text=text, ids=ids, cap=cap, **filters)
    elif overdue or due_within is not None:
        total = svc.read_models.count_by_deadline(overdue=overdue, due_within=due_within,
                                            now=svc.clock(), text=text, **filters)
    else:
        total = svc.read_models.count(text=text, cap=cap, **filters)
    if cap is not None and isinstance(total, int) and total > cap:
        total = f"{cap}+"
    click.echo(m("{shown} of {total} shown", shown=len(cases), total=total))


@main.group(help=_h("Export cases for spreadsheets and other systems."))
def export() -> None:
    pass


@later(export, "cases", help=_h(
   "Write one row per case to FILE: CSV that Excel opens (UTF-8 with BOM by default; "
   "header and values in the chosen --lang) or JSON Lines (--format jsonl). Personal data "
   "is masked unless --reveal (roles that may; each reveal recorded). Takes the list "
   "filters."))
@argument("file", type=path_type(dir_okay=False, writable=True))
@option("--format", "fmt", type=LibraryChoice("petitions.export:FORMATS"), default="csv",
        show_default=True, help=_h("csv or jsonl."))
@option("--encoding", type=LibraryChoice("petitions.export:ENCODINGS"), default=None,
        help=_h("CSV encoding: utf-8-sig (default: UTF-8 with BOM, for Excel), utf-8, "
                "gbk or gb18030. JSON Lines is always UTF-8."))
@option("--reveal", is_flag=True,
        help=_h("Show phone and ID numbers and e-mail addresses unmasked (roles that may; "
                "recorded)."))
@option("--my-unit", "my_unit", default=None,
        help=_h("The unit you work in (confidential petitioners of its cases)."))
@option("--status", type=LibraryChoice("petitions.readmodels.queries:STATUSES"),
        default=None, help=_h("open or closed."))
@option("--stage", default=None, help=_h("The stage."))
@option("--workflow", default=None, help=_h("The workflow name."))
@option("--street", default=None, help=_h("Street office or town (街道/镇)."))
@option("--community", default=None, help=_h("Community (社区)."))
@option("--grid", default=None, help=_h("Grid (网格)."))
@option("--unit", default=None, help=_h("Lead unit."))
@option("--assignee", default=None, help=_h("The responsible person."))
@option("--mediator", default=None, help=_h("The mediator."))
@option("--category", default=None, help=_h("A category code."))
@option("--channel", default=None, help=_h("A channel code."))
@option("--campaign", default=None, help=_h("A campaign id."))
@option("--text", default=None, help=_h("Words in the title or description."))
@option("--phone", default=None,
        help=_h("Every case of the caller with this phone number (blind index)."))
@option("--id-number", "id_number", default=None,
        help=_h("Every case of the caller with this ID number (blind index)."))
@option("--overdue", is_flag=True,
        help=_h("Only petitions whose running deadline has passed (soonest first)."))
@option("--due-within", "due_within", type=DURATION, default=None, metavar="DURATION",
        help=_h("Only petitions whose deadline falls within this time, e.g. 2d, 12h, "
                "1d6h (with --overdue: either)."))
@_handled
def export_cases(file: str, fmt: str, encoding: str | None, reveal: bool, my_unit: str | None,
                 text: str | None, phone: str | None, id_number: str | None, overdue: bool,
                 due_within: timedelta | None, **filters: str | None) -> None:
    import contextlib

    from petitions import export as ex
    from petitions.taxonomy import taxonomy

    state = _state()
    m = state.m
    if fmt == "jsonl" and encoding not in (None, "utf-8"):
        _fail(m("JSON Lines is always UTF-8: leave out --encoding"), 2)
    if (phone is not None or id_number is not None) and (overdue or due_within is not None):
        _fail(m("give --phone/--id-number or --overdue/--due-within, not both"), 2)
    for kind, key in (("categories", "category"), ("channels", "channel")):
        if filters.get(key):
            taxonomy().check(kind, str(filters[key]))
    svc = state.service()
    viewer = _actor() if reveal else _viewer()
    rows = svc.export_cases(viewer=viewer, reveal=reveal, viewer_unit=my_unit, text=text,
                            overdue=overdue, due_within=due_within, phone=phone,
                            id_number=id_number, **filters)
    labels: dict[tuple[str, str, str], str] = {}

    def label(kind: str, code: str, workflow: str) -> str:
        key = (kind, code, workflow)
        if key not in labels:
            if kind in ("categories", "channels", "matter_types"):
                labels[key] = _term(kind, code)
            else:
                labels[key] = _word(code)
        return labels[key]

    part = f"{file}.part"
    try:
        with (ex.open_for(part, encoding or "utf-8-sig") if fmt == "csv"
              else open(part, "w", encoding="utf-8", newline="\n")) as out:
            if fmt == "csv":
                count = ex.write_csv(rows, out, (m(h) for _, h in ex.COLUMNS), label,
                                     state.lang)
            else:
                count = ex.write_jsonl(rows, out)
        os.replace(part, file)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(part)
        _fail(m("cannot write {file}: {detail}", file=file,
                detail=exc.strerror or type(exc).__name__))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise
    lost = ex.replaced() if fmt == "csv" else 0
    if lost:
        click.echo("petitions: " + m("{n} characters cannot be written in {encoding} and were "
                                     "written as ?", n=lost, encoding=encoding), err=True)
    if state.as_json:
        _dump({"file": file, "rows": count, "format": fmt,
               "encoding": "utf-8" if fmt == "jsonl" else (encoding or "utf-8-sig"),
               "revealed": reveal, "replaced": lost})
        return
    click.echo(m("{count} cases written to {file}", count=count, file=file))


@later(main, help=_h("Every event of a petition: who did what, when, why, and what it "
                     "changed."))
@argument("petition_id", metavar="ID")
@option("--reveal", is_flag=True,
        help=_h("Show phone and ID numbers and e-mail addresses unmasked (roles that may; "
                "recorded)."))
@option("--unit", default=None, help=_h("The unit you work in."))
@_handled
def history(petition_id: str, reveal: bool, unit: str | None) -> None:
    from petitions.audit.replay import field_label, render_field

    state = _state()
    viewer = _actor() if reveal else _viewer()
    events = state.service().history(petition_id, viewer=viewer, unit=unit, reveal=reveal)
    if state.as_json:
        out = []
        for e in events:
            d = e.to_dict()
            d["occurred_at"] = _local_iso(e.occurred_at)
            d["recorded_at"] = _local_iso(e.recorded_at)
            d["text"] = {"zh": d.pop("text_zh"), "en": d.pop("text_en")}
            out.append(d)
        _dump(out)
        return
    m = state.m
    lang = "en" if state.lang.startswith("en") else "zh"
    wf: Any = None
    if events and isinstance(events[0].data.get("workflow"), dict):
        ref = events[0].data["workflow"]
        try:
            wf = state.service().workflow(ref["name"], ref["version"])
        except Exception:
            wf = None

    def changed(e: Any) -> str:
        if e.version == 1:
            return ""  # the filing itself: told in words
        return "; ".join(
            f"{field_label(c['field'], lang)}: {render_field(c['field'], c['before'], lang, wf)}"
            f" → {render_field(c['field'], c['after'], lang, wf)}"
            for c in e.changes if c["field"] not in ("petitioner",))

    _table((m("Version"), m("When"), m("Actor"), m("What happened"), m("What it changed")),
           [(e.version, _show(e.occurred_at), f"{e.actor} ({_word(e.role)})", e.text(lang),
             changed(e)) for e in events])

@later(main, help=_h("Response, resolution and satisfaction rates over valid call-backs."))
@option("--by", type=LibraryChoice("petitions.readmodels.rates:GROUPINGS"),
        default="street", show_default=True, help=_h("Group by."))
@option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("First call-back day (local), YYYY-MM-DD."))
@option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("Last call-back day (local), YYYY-MM-DD."))
@_handled
@_reports_poisoned
def stats(by: str, date_from: datetime | None, date_to: datetime | None) -> None:
    state = _state()
    groups = state.service().stats(
        by, date_from=date_from.strftime("%Y-%m-%d") if date_from else None,
        date_to=date_to.strftime("%Y-%m-%d") if date_to else None)
    if state.as_json:
        _dump([g.to_dict() for g in groups])
        return
    m = state.m

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    def label(group: str) -> str:
        if not group:
            return "—"
        return _term("categories", group) if by == "category" else group

    # Call-backs impossible (anonymous petitioners) are in no rate: shown apart.
    apart = any(g.impossible for g in groups)
    levels = state.service().escalation_level_labels() if any(
        g.escalation_levels for g in groups) else {}

    def escalations(g: Any) -> str:
        counts = g.escalation_levels  # in the levels' rising order, then any other
        order = [*(c for c in levels if c in counts), *(c for c in counts if c not in levels)]
        by_level = ", ".join(f"{_label(levels.get(code)) or code} {counts[code]}"
                             for code in order if counts[code])
        return f"{g.escalations} ({by_level})" if by_level else str(g.escalations)

    _table((m(by.capitalize()), m("Valid"), m("Response rate"), m("Resolution rate"),
            m("Satisfaction rate"), m("Signed for in time"), m("Contacted in time"),
            m("Returns"), m("Reminders"), m("Escalations"),
            *((m("No call-back (anonymous)"),) if apart else ())),
           [(label(g.group), g.valid, pct(g.response_rate), pct(g.resolution_rate),
             pct(g.satisfaction_rate), g.signed_in_time, g.contacted_in_time, g.returns,
             g.reminders, escalations(g), *((g.impossible,) if apart else ()))
            for g in groups])


@later(main, help=_h("Write a report people look at: one self-contained HTML file with the "
                     "three rates, monthly trends, backlog, overdue work, hot spots and the "
                     "unit ranking as charts, each beside its numbers."))
@option("--out", "out", required=True, type=path_type(dir_okay=False, writable=True),
        metavar="FILE.html", help=_h("The HTML file to write."))
@option("--by", type=LibraryChoice("petitions.reports.data:REPORT_BY"),
        default="street", show_default=True, help=_h("Group the rates by."))
@option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("First day (local), YYYY-MM-DD."))
@option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("Last day (local), YYYY-MM-DD."))
@option("--png-dir", "png_dir", type=path_type(file_okay=False), default=None,
        metavar="DIR", help=_h("Also write each chart as a PNG file in DIR."))
@_handled
@_reports_poisoned
def report(out: str, by: str, date_from: datetime | None, date_to: datetime | None,
           png_dir: str | None) -> None:
    from petitions.reports.charts import require_plotting

    state = _state()
    require_plotting()  # before any work: one line saying how to install it
    from petitions.reports import build_report, write_report
    from petitions.reports.data import PROGRESS_OVER

    svc = state.service()
    shown = svc.read_models.count() >= PROGRESS_OVER

    def progress(step: int, steps: int, what: str) -> None:
        if shown:
            click.echo(state.m("report: step {step} of {steps}: {what}", step=step,
                               steps=steps, what=state.m(what)), err=True)

    data = build_report(svc, by, date_from=date_from.strftime("%Y-%m-%d") if date_from
                        else None, date_to=date_to.strftime("%Y-%m-%d") if date_to else None,
                        lang=state.lang, progress=progress)
    if shown:
        click.echo(state.m("report: drawing the charts"), err=True)
    try:
        pngs = write_report(data, out, state.lang, png_dir)
    except OSError as exc:  # not the store: the file or folder to write
        where = png_dir if png_dir and not os.path.isdir(png_dir) else out
        _fail(state.m("cannot write {path}: {detail}", path=where,
                      detail=exc.strerror or str(exc)))
    if state.as_json:
        _dump({"out": out, "png": [str(p) for p in pngs], **data.to_dict()})
        return
    click.echo(state.m("report written to {out}", out=out))
    for path in pngs:
        click.echo(str(path))


@later(main, help=_h("Open and closed petitions per assignee, mediator or lead unit."))
@option("--role", type=LibraryChoice("petitions.readmodels.queries:CASELOAD_VIEWS"),
        default="assignee", show_default=True,
        help=_h("Whose desks: assignees, mediators, or lead units (rolled up the unit "
                "register: a street counts its communities and grids)."))
@_handled
@_reports_poisoned
def caseload(role: str) -> None:
    state = _state()
    if role == "unit":
        svc = state.service()
        rows = svc.unit_caseload()
        counts = svc.supervision_counts()
        if state.as_json:
            _dump([{"unit": u, "open": o, "closed": c,
                    "reminders": counts.get(u, (0, 0))[0],
                    "escalations": counts.get(u, (0, 0))[1]} for u, o, c in rows])
        else:
            _table((state.m("Unit"), state.m("Open"), state.m("Closed"), state.m("Reminders"),
                    state.m("Escalations")),
                   [(u, o, c, *counts.get(u, (0, 0))) for u, o, c in rows])
        return
    loads = state.service().read_models.caseload(role)
    if state.as_json:
        _dump([{"person": c.person, "open": c.open, "closed": c.closed} for c in loads])
        return
    m = state.m
    _table((m(role.capitalize()), m("Open"), m("Closed")),
           [(c.person, c.open, c.closed) for c in loads])


# -------------------------------------------------------------- workflows
@main.group(help=_h("Workflow definitions: list, show, validate."))
def workflows() -> None:
    pass


def _registry() -> Any:
    import os
    from pathlib import Path

    from workflows import Registry

    extra = os.environ.get("PETITIONS_WORKFLOWS", "")
    return Registry.shipped([Path(p) for p in extra.split(os.pathsep) if p])


@later(workflows, "list", help=_h("The workflow definitions known (shipped and "
                                  "PETITIONS_WORKFLOWS)."))
@_handled
def workflows_list() -> None:
    state = _state()
    found = _registry().all()
    if state.as_json:
        _dump([{"name": wf.name, "version": wf.version, "sha256": wf.sha256,
                "title": wf.title.in_lang(state.lang)} for wf in found])
        return
    m = state.m
    _table((m("Name"), m("Version"), m("Title"), "sha256"),
           [(wf.name, wf.version, wf.title.in_lang(state.lang), wf.sha256[:12])
            for wf in found])


@later(workflows, "show", help=_h("Show a workflow's stages, commands and roles."))
@argument("name")
@option("--version", type=int, default=None, help=_h("The version."))
@option("--mermaid", is_flag=True, help=_h("Print a Mermaid state diagram."))
@_handled
def workflows_show(name: str, version: int | None, mermaid: bool) -> None:
    from workflows import UnknownWorkflow, to_mermaid

    state = _state()
    try:
        wf = _registry().get(name, version)
    except UnknownWorkflow:
        _fail(state.m("unknown workflow {workflow}; known: {known}", workflow=name,
                      known=", ".join(_registry().names())))
    if mermaid:
        click.echo(to_mermaid(wf, state.lang))
        return
    if state.as_json:
        _dump({"name": wf.name, "version": wf.version, "sha256": wf.sha256,
               "initial": wf.initial,
               "stages": {s.name: {"label": s.label.in_lang(state.lang),
                                   "terminal": s.terminal,
                                   "commands": {c: list(t) for c, t in s.transitions.items()}}
                          for s in wf.stages.values()},
               "anytime": {c: list(t) for c, t in wf.anytime.items()},
               "roles": {c: sorted(r) for c, r in wf.roles.items()}})
        return
    m = state.m
    _table((m("Stage"), m("Label"), m("Commands")),
           [(s.name, s.label.in_lang(state.lang),
             ", ".join(f"{c} → {'/'.join(t)}" for c, t in s.transitions.items()))
            for s in wf.stages.values()],
           title=f"{wf.title.in_lang(state.lang)} ({wf.name} v{wf.version})")


@later(workflows, "validate", help=_h("Check workflow definition files; print their "
                                      "problems."))
@argument("paths", nargs=-1, required=True,
          type=path_type(exists=True, dir_okay=False))
@_handled
def workflows_validate(paths: tuple[str, ...]) -> None:
    from workflows import WorkflowInvalid, load_path

    state = _state()
    bad = 0
    for path in paths:
        try:
            wf = load_path(path)
        except WorkflowInvalid as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(state.m("{path}: valid ({name} v{version})", path=path, name=wf.name,
                               version=wf.version))
    if bad:
        sys.exit(1)


# ------------------------------------------------------------- read models
@main.group(help=_h("The read models behind list, search and stats."))
def views() -> None:
    pass


@later(views, "rebuild", help=_h("Empty the views and rebuild them from the whole history."))
@_handled
def views_rebuild() -> None:
    from rich.progress import Progress

    from petitions.operations import check

    state = _state()
    actor = _actor()
    check(actor, "views_rebuild")
    svc = state.service()
    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(state.m("Rebuilding views"), total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        count = svc.read_models.rebuild(progress, actor=actor)
    if state.as_json:
        _dump({"events": count})
    else:
        click.echo(state.m("{count} events applied", count=count))


@later(views, "run", help=_h("Keep the views up to date as a separate process (PostgreSQL "
                             "only)."))
@option("--timeout", type=float, default=None, help=_h("Stop after this many seconds."))
@_handled
def views_run(timeout: float | None) -> None:
    from petitions import persistence
    from petitions.readmodels.runner import run

    state = _state()
    url = state.db or persistence.default_url()
    if not persistence.is_postgres(url):
        _fail(state.m("the projection runner needs PostgreSQL; SQLite views catch up "
                      "in-process"))
    run(url, timeout)


# ------------------------------------------------------------------- demo
@later(main, help=_h("Load the seed's Jiangbei cases 1–9 and print a summary."))
@_handled
def demo() -> None:
    from rich.progress import Progress

    from petitions.demo import load_all, petition_total
    from petitions.operations import check

    state = _state()
    operator = _actor()
    check(operator, "demo")
    svc = state.service()
    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(state.m("Loading the Jiangbei cases"), total=petition_total())
        results = load_all(svc, progress=lambda: bar.advance(task), operator=operator)
    if state.as_json:
        _dump([{**_view_dict(r.view), **r.to_dict()} for r in results])
        return
    m = state.m

    def outcome(r: CaseResult) -> str:
        text = _word(r.view.outcome or r.view.status)
        if r.campaign is not None:
            text += " · " + m("suggestions {resolved}/{collected} closed as resolved",
                              resolved=r.campaign.resolved, collected=r.campaign.collected)
            if r.campaign.awaiting_callback:
                text += " · " + m("{n} awaiting the call-back",
                                  n=r.campaign.awaiting_callback)
        return text

    _table((m("Case"), m("Name"), m("Street"), m("Workflow"), m("Stage"), m("Outcome"),
            m("Events"), m("Loaded")),
           [(r.case.number, r.case.name, r.view.location.street,
             _workflow_title(r.view.workflow_title, r.view.workflow.version),
             _label(r.view.stage_label), outcome(r), r.events,
             m("new") if r.new else m("already loaded"))
            for r in results],
           title=m("Jiangbei seed cases"))


# --------------------------------------------------------------------------
# Storage, import and feed: db init, db info, import, feed.
# (One block; commands stay thin: the logic lives in petitions.persistence,
# petitions.importer and petitions.feed.)
# --------------------------------------------------------------------------


@main.group(help=_h("Create or inspect the store (SQLite file or PostgreSQL)."))
def db() -> None:
    pass


@later(db, "init", help=_h("Create the schema and tables now (they are also created on first "
                           "use)."))
@_handled
def db_init() -> None:
    from petitions.operations import check
    from petitions.persistence import store_info

    check(_actor(), "db_init")
    info = store_info(_state().service(), _state().db)
    if _state().as_json:
        click.echo(json.dumps({"initialised": True, **info.to_dict()}, ensure_ascii=False))
    else:
        click.echo(_state().m("store ready: {location}", location=info.location))


@later(db, "info", help=_h("Show the backend, the current position and the counts."))
@_handled
def db_info() -> None:
    from petitions.persistence import store_info

    info = store_info(_state().service(), _state().db)
    if _state().as_json:
        click.echo(json.dumps(info.to_dict(), ensure_ascii=False))
        return
    m = _state().m
    _table((m("Field"), m("Value")), [
        (m("Backend"), f"{info.backend}  {info.location}"),
        (m("Position"), str(info.position)),
        (m("Petitions"), str(info.petitions)),
        (m("Petition events"), str(info.petition_events)),
        (m("Workflow definitions"), str(info.workflow_definitions)),
        (m("Other events"), str(info.other_events)),
    ])


@later(main, "import", help=_h("Import filings from a JSON Lines FILE (one filing with an "
                               "idempotency key per line), or a CSV FILE (.csv; one per "
                               "row).\n\nSafe to run again after an "
                               "interruption: filings already present are not filed twice."))
@argument("file", type=path_type(exists=True, dir_okay=False))
@option("--on-error", type=click.Choice(["skip", "stop"]), default="stop",
        show_default=True,
        help=_h("Malformed lines: skip them (reported), or stop and write nothing."))
@option("--encoding", default=None,
        help=_h("The file's encoding, e.g. gb18030 or gbk (default UTF-8, with or "
                "without BOM)."))
@option("--mapping", type=path_type(exists=True, dir_okay=False), default=None,
        help=_h("A TOML file naming the CSV columns of another system's export."))
@_handled
def import_(file: str, on_error: str, encoding: str | None, mapping: str | None) -> None:
    from petitions.importer import (
        ImportRefused,
        check_before_creating,
        check_encoding,
        import_filings,
    )

    actor = _actor()
    run: Callable[..., Any] = import_filings
    if file.lower().endswith(".csv"):
        from petitions.importer_csv import ColumnMapping, import_csv

        columns = ColumnMapping.load(mapping) if mapping else ColumnMapping()

        def run_csv(svc: Any, path: str, **kw: Any) -> Any:
            kw.pop("encoding", None)
            return import_csv(svc, path, encoding=encoding or "utf-8-sig", mapping=columns,
                              **kw)

        run = run_csv
    elif mapping:
        _fail(_state().m("--mapping is for CSV files (.csv)"), 2)
    else:
        check_encoding(encoding)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not sys.stderr.isatty():
            return  # a bar is for people watching; logs and scripts get one line
        if bar is None:
            bar = click.progressbar(length=total, label=_state().m("importing"), file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        from petitions import PetitionService

        report = check_before_creating(_state().db, PetitionService.open, run, file,
                                       actor=actor, on_error=on_error, encoding=encoding)
        if report is None:
            report = run(_state().service(), file, actor=actor, on_error=on_error,
                         progress=progress, encoding=encoding)
    except ImportRefused as exc:
        if len(exc.report.errors) > 1:  # (the one error is in the last line)
            for err in exc.report.errors:
                click.echo(f"petitions: {err}", err=True)
        _fail(str(exc))
        return
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for err in report.errors:
        click.echo(f"petitions: {err}" + ("" if report.stopped else
                                           " (" + _state().m("skipped") + ")"), err=True)
    if _state().as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(_state().m("imported {imported}, already present {existing}, "
                              "skipped {skipped} (of {lines} lines)",
                              imported=report.imported, existing=report.existing,
                              skipped=report.skipped, lines=report.lines))
    if report.stopped:
        _fail(_state().m("stopped at {error}; lines before it are imported, "
                         "run again after fixing it", error=report.errors[-1]))
    if report.errors:
        sys.exit(1)  # some lines were not imported: the counts above say how many


@later(main, help=_h("Print petition events in store order, each with its position (for "
                     "portals)."))
@option("--after", type=click.IntRange(min=0), default=0, show_default=True,
        help=_h("Print events after this position (the last one you handled)."))
@option("--follow", is_flag=True, help=_h("Keep waiting for new events."))
@_handled
def feed(after: int, follow: bool) -> None:
    svc = _state().service()
    as_json = _state().as_json
    try:
        for change in svc.changes(after=after, follow=follow):
            if as_json:
                line = json.dumps(change.to_dict(), ensure_ascii=False)
            else:
                from petitions.timefmt import show

                line = (f"{change.position:>8}  {show(change.occurred_at, seconds=True)}  "
                        f"{change.petition_id}  v{change.version:<3} {change.type:<24} "
                        f"{change.actor} ({change.role})")
            click.echo(line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): stop quietly

# ------------------------------------------------ end of db / import / feed


# ------------------------------------------------------------ time limits
@later(main, help=_h("Record the warnings and breaches that are due (and their escalations, "
                     "督办)."))
@option("--now", type=TIME, default=None,
        help=_h("Sweep as of this moment (ISO 8601, local time unless an offset is "
                "given); default now."))
@_handled
def sweep(now: datetime | None) -> None:
    from petitions.operations import check_writer

    state = _state()
    check_writer(_actor(), "sweep")  # recorded as the system sweeper; never an auditor's
    report = state.service().sweep(now)
    if state.as_json:
        out = report.to_dict()
        out["now"] = _local_iso(report.now)
        _dump(out)
        return
    click.echo(state.m("swept at {now}: {due} due, {warned} warned, {breached} breached, "
                       "{escalated} escalated", now=_show(report.now), due=report.due,
                       warned=len(report.warned), breached=len(report.breached),
                       escalated=len(report.escalated)))


@main.group("calendar", help=_h("Working days on the official calendar: public holidays and "
                                "adjusted workdays (调休)."))
def calendar_() -> None:
    pass


def _uncovered_text(years: Sequence[int]) -> str:
    return _state().m("the official holiday calendar does not cover {years}: counted on the "
                      "statutory public holidays and weekends; adjusted workdays (调休) are "
                      "not yet known, so the result is provisional",
                      years=", ".join(str(y) for y in sorted(set(years))))


def _calendar_note(note: str) -> str:
    """A calendar note recorded in a clock event, in the chosen language."""
    from petitions.deadlines.calendar import (
        legacy_uncovered_warning,
        note_years,
        uncovered_warning,
    )

    years = note_years(note)
    if years and note == uncovered_warning(years):
        return _uncovered_text(years)
    if years and note == legacy_uncovered_warning(years):
        return _state().m("the official holiday calendar does not cover {years}: counted "
                          "Monday to Friday (no public holidays, no adjusted workdays)",
                          years=", ".join(str(y) for y in years))
    return note


def _calendar_warning(years: Sequence[int]) -> None:
    if years:
        click.echo("petitions: " + _state().m("warning: {text}", text=_uncovered_text(years)),
                   err=True)


@later(calendar_, "workdays", help=_h("Print the date N working days after DATE (DATE itself "
                                      "not counted)."))
@argument("day", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]))
@argument("n", type=click.IntRange(min=0))
@_handled
def calendar_workdays(day: datetime, n: int) -> None:
    from petitions.deadlines.calendar import uncovered_warning, work_calendar

    found, uncovered = work_calendar().add_working_days(day.date(), n)
    if _state().as_json:
        _dump({"date": day.date().isoformat(), "n": n, "result": found.isoformat(),
               "warning": uncovered_warning(uncovered) if uncovered else None})
        return
    _calendar_warning(uncovered)
    click.echo(found.isoformat())


@later(calendar_, "is-workday", help=_h("Answer yes or no, with the holiday or "
                                        "adjusted-workday name."))
@argument("day", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]))
@_handled
def calendar_is_workday(day: datetime) -> None:
    from petitions.deadlines.calendar import uncovered_warning, work_calendar

    state = _state()
    found = work_calendar().day(day.date())
    if state.as_json:
        out = found.to_dict()
        out["warning"] = None if found.covered else uncovered_warning([found.day.year])
        _dump(out)
        return
    if not found.covered:
        _calendar_warning([found.day.year])
    click.echo(_day_answer(found))


@later(calendar_, "recheck", help=_h("Count provisional deadlines (counted in a year the "
                                     "official calendar did not cover) again on the "
                                     "calendar now installed; records an event only where "
                                     "a deadline moves."))
@_handled
def calendar_recheck() -> None:
    from petitions.operations import check_writer

    state = _state()
    check_writer(_actor(), "sweep")  # recorded as the system; never an auditor's
    report = state.service().recheck_calendar()
    if state.as_json:
        out = report.to_dict()
        out["now"] = _local_iso(report.now)
        _dump(out)
        return
    click.echo(state.m("calendar rechecked at {now}: {checked} running deadlines, "
                       "{provisional} provisional, {changed} moved, {still} still provisional",
                       now=_show(report.now), checked=report.checked,
                       provisional=report.provisional, changed=len(report.changed),
                       still=len(report.still_provisional)))
    for pid in report.changed:
        click.echo(pid)


def _day_answer(found: Any) -> str:
    m = _state().m
    answer = _word("yes") if found.workday else _word("no")
    name = found.name(_state().lang)
    if found.kind == "adjusted_workday":
        why = m("adjusted workday for {holiday}", holiday=name) if name else m(
            "adjusted workday")
    elif found.kind == "holiday":
        why = m("public holiday: {holiday}", holiday=name)
    elif found.kind == "weekend":
        why = m("weekend")
    else:
        why = m("working day")
    return m("{answer} ({why})", answer=answer, why=why)


# ============================================================================ audit
# `petitions audit …`: thin wrappers over petitions.audit (see docs/audit.md).


@main.group(help=_h("Check the record: hash chains, signed seals, export and import "
                    "(docs/audit.md)."))
def audit() -> None:
    pass


@later(audit, "keygen", help=_h("Write an Ed25519 key pair: PATH (private, mode 0600) and "
                                "PATH.pub."))
@argument("path", type=path_type(dir_okay=False))
@option("--force", is_flag=True, help=_h("Overwrite an existing key pair."))
@_handled
def audit_keygen(path: str, force: bool) -> None:
    from petitions.audit import keygen

    private, public = keygen(path, overwrite=force)
    m = _state().m
    click.echo(m("private key: {path}", path=private))
    click.echo(m("public key: {path}", path=public))


@later(audit, "seal", help=_h("Verify the store, then write a signed checkpoint (seal) of "
                              "it."))
@option("--key", "key", required=True, type=path_type(dir_okay=False),
        help=_h("Ed25519 private key (from `audit keygen`)."))
@option("--out", "out", required=True, type=path_type(dir_okay=False),
        help=_h("Seal file to write."))
@_handled
def audit_seal(key: str, out: str) -> None:
    from petitions.audit import make_seal, write_seal

    svc, as_json = _state().service(), _state().as_json
    seal = make_seal(svc, key)
    write_seal(seal, out)
    if as_json:
        click.echo(json.dumps(seal.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_state().m("sealed {events} events in {chains} chains up to position "
                          "{position}; Merkle root {root} → {out}", events=seal.events,
                          chains=seal.chains, position=seal.position,
                          root=seal.merkle_root, out=out))


@later(audit, "verify", help=_h("Check every hash chain and the notification log (and a "
                                "seal); name the first break."))
@option("--seal", "seal_path", type=path_type(dir_okay=False),
        help=_h("Also check the store against this seal."))
@option("--public-key", "public_key", type=path_type(dir_okay=False),
        help=_h("The public key the seal was signed with."))
@option("--views", "views", is_flag=True,
        help=_h("Also compare the read models with a rebuild from the events."))
@_handled
def audit_verify(seal_path: str | None, public_key: str | None, views: bool) -> None:
    from petitions.audit import read_seal, verify_store

    svc, as_json = _state().service(), _state().as_json
    seal = read_seal(seal_path) if seal_path else None
    if public_key and seal is None:
        raise click.UsageError(_state().m("--public-key goes with --seal"))
    report = verify_store(svc, seal=seal, public_key=public_key, views=views)
    _warn_legacy_clear_text(report.legacy_clear_text)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        if not report.ok:
            sys.exit(1)
        return
    if not report.ok:
        more = report.problem_count - 1
        m = _state().m
        click.echo("petitions: " + m("history check failed: {problem}",
                                     problem=report.first_problem)
                   + (" " + m("(and {more} more)", more=more) if more else ""), err=True)
        sys.exit(1)
    m = _state().m
    click.echo(m("ok: {events} events in {chains} chains, last position {position}, "
                 "Merkle root {root}", events=report.events, chains=report.chains,
                 position=report.last_position, root=report.merkle_root)
               + ("; " + m("matches the seal of {sealed_at} (position {position})",
                           sealed_at=seal.sealed_at, position=seal.position)
                  if seal else ""))
    _side_tables_summary(report.side_tables)


def _side_tables_summary(sides: dict[str, Any] | None) -> None:
    """What ``audit verify`` checked of the tables beside the events, and (on
    stderr) what it could not: without keys, or rows of an older release."""
    if sides is None:
        return
    m = _state().m
    click.echo(m("side tables: {orders} work-order numbers, {counters} counters and {callers} "
                 "caller-index entries checked against the events; {authenticated} "
                 "side-table rows authenticated", orders=sides["work_orders"],
                 counters=sides["work_order_counters"], callers=sides["caller_index"],
                 authenticated=sides["authenticated"]))
    for what in sides["not_checkable"]:
        click.echo("petitions: " + m("note: not checked: {what}", what=what), err=True)
    if sides["unauthenticated_count"]:
        click.echo("petitions: " + m(
            "note: {count} side-table rows written by an older release carry no "
            "authentication code; they were checked against the events only",
            count=sides["unauthenticated_count"]), err=True)


def _warn_legacy_clear_text(found: Sequence[Any]) -> None:
    """One line on stderr when stored events of older releases hold personal
    data in clear (reads withhold it; erasure cannot remove it)."""
    if not found:
        return
    first = found[0]
    click.echo("petitions: " + _state().m(
        "warning: {count} stored events or snapshots written by an older release hold a "
        "location address in clear text (first: petition {petition} version {version}, "
        "position {position}); reads withhold it, but erasure cannot remove it: see "
        "docs/security.md, \"Stores written by older releases\"", count=len(found),
        petition=first.petition_id, version=first.version, position=first.position), err=True)


@later(audit, "export", help=_h("Write the whole event log as JSON Lines (after checking "
                                "it)."))
@argument("file", type=path_type(dir_okay=False))
@_handled
def audit_export(file: str) -> None:
    from petitions.audit import export_log

    svc, as_json = _state().service(), _state().as_json
    report = export_log(svc, file)
    if as_json:
        click.echo(json.dumps({"file": file, **report.to_dict()}, ensure_ascii=False))
        return
    click.echo(_state().m("exported {events} events in {chains} chains to {file}",
                          events=report.events, chains=report.chains, file=file))


@later(audit, "import", help=_h("Import an export FILE into an empty database "
                                "(administrators only)."))
@argument("file", type=path_type(dir_okay=False))
@option("--actor", "actor_id", default=None,
        help=_h("Who imports (default: the global --actor / PETITIONS_ACTOR)."))
@option("--role", default=None,
        help=_h("Role used; must be administrator (default: the global --role)."))
@option("--seal", "seal_path", type=path_type(dir_okay=False),
        help=_h("Also check the file against this seal."))
@option("--public-key", "public_key", type=path_type(dir_okay=False),
        help=_h("The public key the seal was signed with."))
@option("--keys", "keys_file", type=path_type(exists=True, dir_okay=False),
        help=_h("Also import the data keys written by `privacy keys export` for this "
                "store's master key (checked before anything is written)."))
@_handled
def audit_import(file: str, actor_id: str | None, role: str | None,
                 seal_path: str | None, public_key: str | None,
                 keys_file: str | None) -> None:
    from petitions.audit import import_log, read_seal

    svc, as_json = _state().service(), _state().as_json
    seal = read_seal(seal_path) if seal_path else None
    actor = _actor(actor_id, role)
    if keys_file:
        svc.privacy.check_key_file(actor, keys_file)
    report = import_log(svc, file, actor=actor, seal=seal, public_key=public_key)
    keys = svc.privacy.import_keys(actor, keys_file) if keys_file else None
    if as_json:
        click.echo(json.dumps({"file": file, **report.to_dict(), "keys": keys},
                              ensure_ascii=False))
        return
    click.echo(_state().m("imported {events} events in {chains} chains; Merkle root {root}",
                          events=report.events, chains=report.chains,
                          root=report.merkle_root))
    if keys is not None:
        click.echo(_state().m("imported {count} data key row(s)", count=keys))

# ======================================================================== end audit


# ---------------------------------------------------------------- privacy ---
# The ``privacy`` command group: erasure, retention and the key table.


@main.group(help=_h("Personal data: erase a petitioner, apply retention, inspect keys (个人信息)."))
def privacy() -> None:
    # Notices (a new master key file) go to stderr as one line each, as for
    # every command (see _quiet_logging); a refusal is the command's one error line.
    pass


_actor_option = option("--actor", default=None,
                 help=_h("Who acts (default: the global --actor / PETITIONS_ACTOR)."))
_role_option = option("--role", default=None,
                help=_h("The role acted in (default: the global --role / "
                        "PETITIONS_ROLE, else administrator)."))


@later(privacy, "erase", help=_h("Crypto-shred PETITIONER_ID's personal data (the cases "
                                 "stay, audited)."))
@argument("petitioner_id")
@option("--legal-basis", required=True,
        help=_h("Why the data may be erased, e.g. '个人信息保护法 第四十七条: 本人请求'."))
@_actor_option
@_role_option
@_handled
def privacy_erase(petitioner_id: str, legal_basis: str, actor: str | None,
                  role: str | None) -> None:
    admin = _actor(actor, role)
    done = _state().service().privacy.erase(petitioner_id, actor=admin,
                                            legal_basis=legal_basis)
    if _state().as_json:
        click.echo(json.dumps(done.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_state().m("erased: petitioner {id} ({keys} key(s) destroyed) — {basis}",
                          id=done.petitioner_id, keys=done.keys_destroyed,
                          basis=done.legal_basis))


@later(privacy, "retain", help=_h("Erase the personal data of cases closed longer than a "
                                  "period."))
@option("--older-than", "older_than", required=True,
        help=_h("Retention period: 180d, 26w, 24m, 3y."))
@option("--status", type=LibraryChoice("petitions.privacy.retention:RETAINED_STATUSES"),
        default="closed", show_default=True,
        help=_h("open or closed."))
@option("--dry-run", is_flag=True, help=_h("Only list what would be erased."))
@_actor_option
@_role_option
@_handled
def privacy_retain(older_than: str, status: str, dry_run: bool,
                   actor: str | None, role: str | None) -> None:
    from petitions.privacy import retain
    from petitions.timefmt import show

    admin = _actor(actor, role)
    run = retain(_state().service(), actor=admin, older_than=older_than,
                 status=status, dry_run=dry_run)
    if _state().as_json:
        click.echo(json.dumps(run.to_dict(), ensure_ascii=False, indent=2))
        return
    m = _state().m
    for item in run.items:
        click.echo(m("{id}  closed {closed}  {count} petition(s)", id=item.petitioner_id,
                     closed=show(item.last_closed_at), count=len(item.petition_ids)))
    summary = (m("would erase: {count} petitioner(s) closed before {cutoff}; kept: {kept}",
                 count=len(run.items), cutoff=show(run.cutoff), kept=run.kept) if dry_run
               else m("erased: {count} petitioner(s) closed before {cutoff}; kept: {kept}",
                      count=len(run.items), cutoff=show(run.cutoff), kept=run.kept))
    click.echo(summary)


@privacy.group("keys", help=_h("The key table and its master key."))
def privacy_keys() -> None:
    pass


@later(privacy_keys, "status", help=_h("Where the master key comes from, and how many data "
                                       "keys are live or erased."))
@_actor_option
@_role_option
@_handled
def privacy_keys_status(actor: str | None, role: str | None) -> None:
    admin = _actor(actor, role)
    status = _state().service().privacy.key_status(admin)
    if _state().as_json:
        click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_state().m("master key {fingerprint} ({source}); data keys: {live} live, "
                          "{erased} erased", fingerprint=status.master_fingerprint,
                          source=status.master_source, live=status.live_keys,
                          erased=status.erased_keys))
    if status.warning:
        click.echo("petitions: " + _state().m("warning: {text}", text=status.warning),
                   err=True)


@later(privacy_keys, "rotate", help=_h("Re-wrap every data key under a new master key; then "
                                       "configure the new key."))
@option("--new-key-file", required=True, type=path_type(exists=True, dir_okay=False),
        help=_h("A file holding the new master key (base64 of 32 random bytes)."))
@_actor_option
@_role_option
@_handled
def privacy_keys_rotate(new_key_file: str, actor: str | None,
                        role: str | None) -> None:
    from petitions.privacy import MASTER_KEY_FILE_ENV, load_master_key

    new = load_master_key("", {MASTER_KEY_FILE_ENV: new_key_file})
    admin = _actor(actor, role)
    count = _state().service().privacy.rotate(admin, new)
    click.echo(_state().m("re-wrapped {count} data key(s) under master key {fingerprint}; "
                          "configure PETITIONS_MASTER_KEY_FILE={file} from now on",
                          count=count, fingerprint=new.fingerprint, file=new_key_file))


@later(privacy_keys, "export", help=_h("Write the data keys, re-wrapped for another store's "
                                       "master key (with audit export)."))
@argument("file", type=path_type(dir_okay=False))
@option("--for-key-file", required=True, type=path_type(exists=True, dir_okay=False),
        help=_h("The master key file of the store the keys are for."))
@_actor_option
@_role_option
@_handled
def privacy_keys_export(file: str, for_key_file: str, actor: str | None,
                        role: str | None) -> None:
    from petitions.privacy import MASTER_KEY_FILE_ENV, load_master_key

    target = load_master_key("", {MASTER_KEY_FILE_ENV: for_key_file})
    admin = _actor(actor, role)
    count = _state().service().privacy.export_keys(admin, file, target)
    click.echo(_state().m("exported {count} data key row(s) for master key {fingerprint} "
                          "to {file}", count=count, fingerprint=target.fingerprint,
                          file=file))


@later(privacy_keys, "import", help=_h("Add data keys written by `privacy keys export` "
                                       "(after audit import)."))
@argument("file", type=path_type(exists=True, dir_okay=False))
@_actor_option
@_role_option
@_handled
def privacy_keys_import(file: str, actor: str | None, role: str | None) -> None:
    admin = _actor(actor, role)
    count = _state().service().privacy.import_keys(admin, file)
    click.echo(_state().m("imported {count} data key row(s)", count=count))


@later(privacy_keys, "new", help=_h("Print a fresh master key (base64) for "
                                    "PETITIONS_MASTER_KEY or a key file."))
def privacy_keys_new() -> None:
    from petitions.privacy import new_master_key_text

    click.echo(new_master_key_text())

# ------------------------------------------------------------ end privacy ---

# ===================================================================== http
# The HTTP server and the keys portals use with it (petitions/http/).


@later(main, help=_h("Serve Open311 GeoReport v2 and the JSON API over HTTP (uvicorn)."))
@option("--host", default="127.0.0.1", show_default=True,
        help=_h("The address to listen on."))
@option("--port", type=click.IntRange(1, 65535), default=8311, show_default=True,
        help=_h("The port to listen on."))
@option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
        help=_h("Server processes (several share one PostgreSQL store)."))
@_handled
def serve(host: str, port: int, workers: int) -> None:
    from petitions.http import available

    if not available():
        _fail(_state().m("the HTTP server needs the http extra: pip install "
                         "'petitions[http]'"))
    import uvicorn

    from petitions import persistence

    url = _state().db or persistence.default_url()
    os.environ["PETITIONS_DB"] = url
    click.echo(_state().m("serving {store} on http://{host}:{port}/ (Open311: /open311/v2/, "
                          "JSON API: /api/v1/)", store=persistence.describe(url), host=host,
                          port=port), err=True)
    uvicorn.run("petitions.http.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="warning")


def _key_store() -> Any:
    """The store core of the configured database (where the API keys are)."""
    from petitions.core import Store

    store = Store(url=_state().service().url)
    click.get_current_context().call_on_close(store.close)
    return store


@main.group("api-key", help=_h("API keys for portals: each bound to a name, a role and "
                               "optionally a unit."))
def api_key() -> None:
    pass


@later(api_key, "create", help=_h("Create a key and print it (only now: the store keeps "
                                  "its hash)."))
@option("--name", required=True, help=_h("The key's name (the actor of what it does)."))
@option("--role", "key_role", required=True,
        help=_h("The role the key acts in (never more)."))
@option("--unit", default="", help=_h("The unit the key works for."))
@option("--json", "as_json", is_flag=True,
        help=_h("Print {\"name\": …, \"key\": …} as JSON."))
@_actor_option
@_handled
def api_key_create(name: str, key_role: str, unit: str, as_json: bool,
                   actor: str | None) -> None:
    from petitions.http.keys import create_key

    # The key's --role is the role it acts in; who creates it acts in the global
    # --role (PETITIONS_ROLE), given explicitly: there is no default role.
    admin = _actor(actor, None)
    key = create_key(_key_store(), actor=admin, name=name, role=key_role, unit=unit)
    if as_json or _state().as_json:
        click.echo(json.dumps({"name": name, "key": key}, ensure_ascii=False))
    else:
        click.echo(key)


@later(api_key, "list", help=_h("The keys: name, role, unit, created, revoked."))
@_handled
def api_key_list() -> None:
    from petitions.http.keys import list_keys

    keys = list_keys(_key_store())
    if _state().as_json:
        _dump([k.to_dict() for k in keys])
        return
    m = _state().m
    _table([m("name"), m("role"), m("unit"), m("created"), m("revoked")],
           [(k.name, k.role, k.unit, _show(k.created_at), _show(k.revoked_at))
            for k in keys])


@later(api_key, "revoke", help=_h("Revoke a key: from now on it is refused, reads "
                                  "included."))
@argument("name")
@_actor_option
@_role_option
@_handled
def api_key_revoke(name: str, actor: str | None, role: str | None) -> None:
    from petitions.http.keys import revoke_key

    admin = _actor(actor, role)
    revoke_key(_key_store(), actor=admin, name=name)
    click.echo(_state().m("revoked key {name}", name=name))

# ================================================================= end http


# --------------------------------------------------------------------------
# Hotline practice (issue 14): the unit register (org), ranking, re-indexing.
# --------------------------------------------------------------------------
@main.group(help=_h("The unit register: units, people and liaison assignments (组织架构, 包联)."))
def org() -> None:
    pass


@later(org, "load", help=_h("Load the unit register from a TOML or CSV FILE (recorded; "
                            "loading the same register again records nothing)."))
@argument("file", type=path_type(dir_okay=False))
@_actor_option
@_role_option
@_handled
def org_load(file: str, actor: str | None, role: str | None) -> None:
    who = _actor(actor, role)
    state = _state()
    register, changed = state.service().load_register(file, actor=who)
    if state.as_json:
        _dump({"units": len(register.units), "people": len(register.people),
               "liaisons": len(register.liaisons), "changed": changed})
        return
    text = state.m("loaded {units} units, {people} people, {liaisons} liaison assignments",
                   units=len(register.units), people=len(register.people),
                   liaisons=len(register.liaisons))
    if not changed:
        text += state.m(" (unchanged)")
    click.echo(text)


@later(org, "show", help=_h("List the units of the register (or one unit: its people, "
                            "liaison assignments and the units below it)."))
@argument("code", required=False)
@_handled
def org_show(code: str | None) -> None:
    state = _state()
    m = state.m
    register = state.service().register()
    if register is None:
        _fail(m("no unit register is loaded (petitions org load FILE)"))
    units = list(register.units) if code is None else [register.resolve(code)]
    if state.as_json:
        _dump([register.unit_dict(u) for u in units])
        return
    lang = state.lang
    _table((m("Code"), m("Name"), m("Level"), m("Parent"), m("People"), m("Liaisons")),
           [(u.code, u.name(lang), _word(u.level), u.parent, len(register.people_of(u.code)),
             len(register.liaisons_of(u.code))) for u in units])
    if code is not None:
        unit = units[0]
        people = register.people_of(unit.code)
        if people:
            _table((m("Person"), m("Name"), m("Roles")),
                   [(p.id, p.name, ", ".join(_word(r) for r in p.roles)) for p in people])
        liaisons = register.liaisons_of(unit.code)
        if liaisons:
            _table((m("Liaison"), m("Target"), m("Unit"), m("Person")),
                   [(_word(li.kind), li.target, li.unit, li.person) for li in liaisons])


@later(main, help=_h("Rank units or streets by a composite score of their response, "
                     "resolution and satisfaction rates (weights in the rates data)."))
@option("--by", type=LibraryChoice("petitions.service:PetitionService.RANK_BY"),
        default="unit", show_default=True, help=_h("Rank lead units or streets."))
@option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("First call-back day (local), YYYY-MM-DD."))
@option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help=_h("Last call-back day (local), YYYY-MM-DD."))
@_handled
def rank(by: str, date_from: datetime | None, date_to: datetime | None) -> None:
    state = _state()
    rows = state.service().rank(
        by, date_from=date_from.strftime("%Y-%m-%d") if date_from else None,
        date_to=date_to.strftime("%Y-%m-%d") if date_to else None)
    if state.as_json:
        _dump([r.to_dict() for r in rows])
        return
    m = state.m

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    _table((m("Rank"), m(by.capitalize()), m("Valid"), m("Response rate"),
            m("Resolution rate"), m("Satisfaction rate"), m("Score")),
           [(r.rank, r.group, r.valid, pct(r.response_rate), pct(r.resolution_rate),
             pct(r.satisfaction_rate), f"{r.score * 100:.2f}") for r in rows])


@later(db, "reindex", help=_h("Number petitions that have no work-order number and index "
                              "callers not yet indexed (after an import or a key rotation)."))
@option("--callers-afresh", is_flag=True,
        help=_h("Make every caller-index entry again (after a master-key rotation)."))
@_handled
def db_reindex(callers_afresh: bool) -> None:
    from petitions.operations import check

    check(_actor(), "db_init")  # side tables of the store: as its set-up, never an auditor's
    state = _state()
    numbered, indexed = state.service().reindex(callers_afresh=callers_afresh)
    if state.as_json:
        _dump({"numbered": numbered, "indexed": indexed})
        return
    click.echo(state.m("{numbered} petitions numbered, {indexed} callers indexed",
                       numbered=numbered, indexed=indexed))


if __name__ == "__main__":
    main()
