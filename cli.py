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

# --------------------------------------------------------------------------
# Storage, import and feed: db init, db info, import, feed.
# (One block; commands stay thin: the logic lives in petitions.persistence,
# petitions.importer and petitions.feed.)
# --------------------------------------------------------------------------


def _store_errors(fn: F) -> F:
    """Turn an unreachable or broken store into one line on stderr."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from eventsourcing.persistence import PersistenceError

        try:
            return fn(*args, **kwargs)
        except PersistenceError as exc:
            from petitions.persistence import describe

            ctx = click.get_current_context()
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _fail(f"cannot use the store 无法访问存储 {describe(ctx.obj['db'])}: {detail}")

    return wrapper  # type: ignore[return-value]


@main.group()
def db() -> None:
    """Create or inspect the store (SQLite file or PostgreSQL)."""


@db.command("init")
@click.pass_context
@_domain_errors
@_store_errors
def db_init(ctx: click.Context) -> None:
    """Create the schema and tables now (they are also created on first use)."""
    from petitions.persistence import store_info

    info = store_info(_open(ctx), ctx.obj["db"])
    if ctx.obj["json"]:
        click.echo(json.dumps({"initialised": True, **info.to_dict()}, ensure_ascii=False))
    else:
        click.echo(f"store ready 存储已就绪: {info.location}")


@db.command("info")
@click.pass_context
@_domain_errors
@_store_errors
def db_info(ctx: click.Context) -> None:
    """Show the backend, the current position and the counts."""
    from petitions.persistence import store_info

    info = store_info(_open(ctx), ctx.obj["db"])
    if ctx.obj["json"]:
        click.echo(json.dumps(info.to_dict(), ensure_ascii=False))
        return
    click.echo(f"backend 后端:               {info.backend}  {info.location}")
    click.echo(f"position 位置:              {info.position}")
    click.echo(f"petitions 诉求:             {info.petitions}")
    click.echo(f"petition events 诉求事件:   {info.petition_events}")
    click.echo(f"workflow definitions 流程:  {info.workflow_definitions}")
    click.echo(f"other events 其他事件:      {info.other_events}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--on-error", type=click.Choice(["skip", "stop"]), default="stop",
              show_default=True,
              help="Malformed lines: skip them (reported), or stop and write nothing.")
@click.pass_context
@_domain_errors
@_store_errors
def import_(ctx: click.Context, file: str, on_error: str) -> None:
    """Import filings from a JSON Lines FILE (one filing with an idempotency key per line).

    Safe to run again after an interruption: filings already present are not
    filed twice.
    """
    from petitions.importer import ImportRefused, import_filings

    svc = _open(ctx)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="importing 导入", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        report = import_filings(svc, file, on_error=on_error, progress=progress)
    except ImportRefused as exc:
        for err in exc.report.errors:
            click.echo(f"petitions: {err}", err=True)
        _fail(str(exc))
        return
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for err in report.errors:
        click.echo(f"petitions: {err}" + ("" if report.stopped else " (skipped 已跳过)"),
                   err=True)
    if ctx.obj["json"]:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"imported 新导入 {report.imported}, already present 已存在 "
                   f"{report.existing}, skipped 跳过 {report.skipped} "
                   f"(of {report.lines} lines)")
    if report.stopped:
        _fail(f"stopped at {report.errors[-1]}; lines before it are imported, "
              "run again after fixing it")


@main.command()
@click.option("--after", type=click.IntRange(min=0), default=0, show_default=True,
              help="Print events after this position (the last one you handled).")
@click.option("--follow", is_flag=True, help="Keep waiting for new events.")
@click.pass_context
@_domain_errors
@_store_errors
def feed(ctx: click.Context, after: int, follow: bool) -> None:
    """Print petition events in store order, each with its position (for portals)."""
    svc = _open(ctx)
    as_json = ctx.obj["json"]
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
