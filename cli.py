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


# ---------------------------------------------------------------- privacy ---
# The ``privacy`` command group: erasure, retention and the key table.


def _privacy_actor(actor: str, role: str) -> Any:
    from petitions import Actor

    return Actor(actor, role)


@main.group()
def privacy() -> None:
    """Personal data: erase a petitioner, apply retention, inspect keys (个人信息)."""
    import logging

    root, lib = logging.getLogger(), logging.getLogger("petitions")
    if not root.handlers and not lib.handlers:
        # Notices (a new master key file) go to stderr as one line each; a
        # refusal is already reported as the command's one error line.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("petitions: %(message)s"))
        handler.addFilter(lambda r: not r.getMessage().startswith("refused:"))
        lib.addHandler(handler)


_actor_option = click.option("--actor", envvar="PETITIONS_ACTOR", required=True,
                             help="Who acts (env PETITIONS_ACTOR).")
_role_option = click.option("--role", envvar="PETITIONS_ROLE", default="administrator",
                            show_default=True, help="The role acted in (env PETITIONS_ROLE).")


@privacy.command("erase")
@click.argument("petitioner_id")
@click.option("--legal-basis", required=True,
              help="Why the data may be erased, e.g. '个人信息保护法 第四十七条: 本人请求'.")
@_actor_option
@_role_option
@click.pass_context
@_domain_errors
def privacy_erase(ctx: click.Context, petitioner_id: str, legal_basis: str, actor: str,
                  role: str) -> None:
    """Crypto-shred PETITIONER_ID's personal data (the cases stay, audited)."""
    done = _open(ctx).privacy.erase(petitioner_id, actor=_privacy_actor(actor, role),
                                    legal_basis=legal_basis)
    if ctx.obj["json"]:
        click.echo(json.dumps(done.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"已删除 erased: petitioner {done.petitioner_id} "
               f"({done.keys_destroyed} key(s) destroyed) — {done.legal_basis}")


@privacy.command("retain")
@click.option("--older-than", "older_than", required=True,
              help="Retention period: 180d, 26w, 24m, 3y.")
@click.option("--status", type=click.Choice(["closed"]), default="closed", show_default=True)
@click.option("--dry-run", is_flag=True, help="Only list what would be erased.")
@_actor_option
@_role_option
@click.pass_context
@_domain_errors
def privacy_retain(ctx: click.Context, older_than: str, status: str, dry_run: bool,
                   actor: str, role: str) -> None:
    """Erase the personal data of cases closed longer than a period."""
    from petitions.privacy import retain
    from petitions.timefmt import show

    run = retain(_open(ctx), actor=_privacy_actor(actor, role), older_than=older_than,
                 status=status, dry_run=dry_run)
    if ctx.obj["json"]:
        click.echo(json.dumps(run.to_dict(), ensure_ascii=False, indent=2))
        return
    verb = "would erase 将删除" if dry_run else "erased 已删除"
    for item in run.items:
        click.echo(f"{item.petitioner_id}  closed {show(item.last_closed_at)}  "
                   f"{len(item.petition_ids)} petition(s)")
    click.echo(f"{verb}: {len(run.items)} petitioner(s) closed before {show(run.cutoff)}; "
               f"kept: {run.kept}")


@privacy.group("keys")
def privacy_keys() -> None:
    """The key table and its master key."""


@privacy_keys.command("status")
@_actor_option
@_role_option
@click.pass_context
@_domain_errors
def privacy_keys_status(ctx: click.Context, actor: str, role: str) -> None:
    """Where the master key comes from, and how many data keys are live or erased."""
    status = _open(ctx).privacy.key_status(_privacy_actor(actor, role))
    if ctx.obj["json"]:
        click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"master key {status.master_fingerprint} ({status.master_source}); "
               f"data keys: {status.live_keys} live, {status.erased_keys} erased")


@privacy_keys.command("rotate")
@click.option("--new-key-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A file holding the new master key (base64 of 32 random bytes).")
@_actor_option
@_role_option
@click.pass_context
@_domain_errors
def privacy_keys_rotate(ctx: click.Context, new_key_file: str, actor: str, role: str) -> None:
    """Re-wrap every data key under a new master key; then configure the new key."""
    from petitions.privacy import MASTER_KEY_FILE_ENV, load_master_key

    new = load_master_key("", {MASTER_KEY_FILE_ENV: new_key_file})
    count = _open(ctx).privacy.rotate(_privacy_actor(actor, role), new)
    click.echo(f"re-wrapped {count} data key(s) under master key {new.fingerprint}; "
               f"configure PETITIONS_MASTER_KEY_FILE={new_key_file} from now on")


@privacy_keys.command("new")
def privacy_keys_new() -> None:
    """Print a fresh master key (base64) for PETITIONS_MASTER_KEY or a key file."""
    from petitions.privacy import new_master_key_text

    click.echo(new_master_key_text())

# ------------------------------------------------------------ end privacy ---


if __name__ == "__main__":
    main()
