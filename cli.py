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


# ============================================================================ audit
# `petitions audit …`: thin wrappers over petitions.audit (see docs/audit.md).


def _audit_ctx(ctx: click.Context) -> tuple[PetitionService, bool]:
    from petitions import PetitionService

    root = ctx.find_root()
    obj = root.obj or {}
    svc: PetitionService | None = root.meta.get("petitions.audit.service")
    if svc is None:
        svc = PetitionService.open(obj.get("db"))
        root.meta["petitions.audit.service"] = svc
        root.call_on_close(svc.close)
    return svc, bool(obj.get("json"))


def _audit_errors(fn: F) -> F:
    """Audit and domain errors: one line on stderr, exit status 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from petitions import PetitionError

        try:
            return fn(*args, **kwargs)
        except PetitionError as exc:
            click.echo(f"petitions: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@main.group()
def audit() -> None:
    """Check the record: hash chains, signed seals, export and import (docs/audit.md)."""


@audit.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing key pair.")
@_audit_errors
def audit_keygen(path: str, force: bool) -> None:
    """Write an Ed25519 key pair: PATH (private, mode 0600) and PATH.pub."""
    from petitions.audit import keygen

    private, public = keygen(path, overwrite=force)
    click.echo(f"private key: {private}\npublic key:  {public}")


@audit.command("seal")
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False),
              help="Ed25519 private key (from `audit keygen`).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Seal file to write.")
@click.pass_context
@_audit_errors
def audit_seal(ctx: click.Context, key: str, out: str) -> None:
    """Verify the store, then write a signed checkpoint (seal) of it."""
    from petitions.audit import make_seal, write_seal

    svc, as_json = _audit_ctx(ctx)
    seal = make_seal(svc, key)
    write_seal(seal, out)
    if as_json:
        click.echo(json.dumps(seal.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"sealed {seal.events} events in {seal.chains} chains up to position "
               f"{seal.position}; Merkle root {seal.merkle_root} → {out}")


@audit.command("verify")
@click.option("--seal", "seal_path", type=click.Path(dir_okay=False),
              help="Also check the store against this seal.")
@click.option("--public-key", "public_key", type=click.Path(dir_okay=False),
              help="The public key the seal was signed with.")
@click.pass_context
@_audit_errors
def audit_verify(ctx: click.Context, seal_path: str | None, public_key: str | None) -> None:
    """Check every hash chain and the notification log (and a seal); name the first break."""
    from petitions.audit import read_seal, verify_store

    svc, as_json = _audit_ctx(ctx)
    seal = read_seal(seal_path) if seal_path else None
    if public_key and seal is None:
        raise click.UsageError("--public-key goes with --seal")
    report = verify_store(svc, seal=seal, public_key=public_key)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        if not report.ok:
            sys.exit(1)
        return
    if not report.ok:
        more = report.problem_count - 1
        click.echo(f"petitions: history check failed: {report.first_problem}"
                   + (f" (and {more} more)" if more else ""), err=True)
        sys.exit(1)
    click.echo(f"ok: {report.events} events in {report.chains} chains, last position "
               f"{report.last_position}, Merkle root {report.merkle_root}"
               + (f"; matches the seal of {seal.sealed_at} (position {seal.position})"
                  if seal else ""))


@audit.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
@_audit_errors
def audit_export(ctx: click.Context, file: str) -> None:
    """Write the whole event log as JSON Lines (after checking it)."""
    from petitions.audit import export_log

    svc, as_json = _audit_ctx(ctx)
    report = export_log(svc, file)
    if as_json:
        click.echo(json.dumps({"file": file, **report.to_dict()}, ensure_ascii=False))
        return
    click.echo(f"exported {report.events} events in {report.chains} chains to {file}")


@audit.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", "actor_id", envvar="PETITIONS_ACTOR", required=True,
              help="Who imports (env PETITIONS_ACTOR).")
@click.option("--role", envvar="PETITIONS_ROLE", required=True,
              help="Role used; must be administrator (env PETITIONS_ROLE).")
@click.option("--seal", "seal_path", type=click.Path(dir_okay=False),
              help="Also check the file against this seal.")
@click.option("--public-key", "public_key", type=click.Path(dir_okay=False),
              help="The public key the seal was signed with.")
@click.pass_context
@_audit_errors
def audit_import(ctx: click.Context, file: str, actor_id: str, role: str,
                 seal_path: str | None, public_key: str | None) -> None:
    """Import an export FILE into an empty database (administrators only)."""
    from petitions import Actor
    from petitions.audit import import_log, read_seal

    svc, as_json = _audit_ctx(ctx)
    seal = read_seal(seal_path) if seal_path else None
    report = import_log(svc, file, actor=Actor(actor_id, role), seal=seal,
                        public_key=public_key)
    if as_json:
        click.echo(json.dumps({"file": file, **report.to_dict()}, ensure_ascii=False))
        return
    click.echo(f"imported {report.events} events in {report.chains} chains; Merkle root "
               f"{report.merkle_root}")

# ======================================================================== end audit


if __name__ == "__main__":
    main()
