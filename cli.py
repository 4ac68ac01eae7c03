"""The ``petitions`` command line: parse, call the public API, render.

No domain logic lives here.  Heavy imports happen inside commands so that
``petitions --help`` starts fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from petitions import PetitionService

F = TypeVar("F", bound=Callable[..., Any])


def _open(ctx: click.Context) -> PetitionService:
    from petitions import PetitionService

    svc: PetitionService | None = ctx.meta.get("petitions.service")
    if svc is None:
        svc = PetitionService.open(ctx.obj["db"])
        ctx.meta["petitions.service"] = svc
        ctx.call_on_close(svc.close)
    return svc


def _fail(message: str) -> None:
    click.echo(f"petitions: {message}", err=True)
    sys.exit(1)


def _domain_errors(fn: F) -> F:
    """Turn domain errors into one line on stderr and a non-zero exit."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from petitions import PetitionError

        try:
            return fn(*args, **kwargs)
        except PetitionError as exc:
            _fail(str(exc))

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("--db", envvar="PETITIONS_DB", default="petitions.sqlite", show_default=True,
              help="SQLite path, :memory: or postgresql:// DSN (env PETITIONS_DB).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def main(ctx: click.Context, db: str, as_json: bool) -> None:
    """Handle residents' and enterprises' appeals (诉求), from intake to satisfaction review."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    ctx.obj["json"] = as_json


@main.command()
@click.pass_context
@_domain_errors
def demo(ctx: click.Context) -> None:
    """Load a seed case (西南证券, Jiangbei) and print its history."""
    from petitions.demo import run_case_3

    svc = _open(ctx)
    pid, new = run_case_3(svc)
    history = svc.history(pid)
    if ctx.obj["json"]:
        click.echo(json.dumps({"id": str(pid), "new": new,
                               "history": [e.to_dict() for e in history]},
                              ensure_ascii=False, indent=2))
        return
    from petitions.timefmt import show

    view = svc.get(pid)
    click.echo(f"{view.title}  [{view.stage}/{view.status}]  {pid}"
               + ("" if new else "  (already loaded)"))
    for e in history:
        click.echo(f"  v{e.version:<3} {show(e.occurred_at)}  {e.type:<18} "
                   f"{e.actor} ({e.role})")


if __name__ == "__main__":
    main()
