"""`relance …`: the command line. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.table import Table

from relance.bootstrap import App
from relance.data import decline_catalogue
from relance.domain.errors import RelanceError
from relance.entrypoints.cli_context import application, fail, out
from relance.entrypoints.cli_messages import show_profile, templates_cli
from relance.entrypoints.worker import Worker, default_worker_name
from relance.services import declines, merchants, policies, queue

cli = typer.Typer(
    help="Relance: recovers failed and late payments.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold API keys or card tokens
)
merchants_cli = typer.Typer(help="Merchants and their API keys.", no_args_is_help=True)
policy_cli = typer.Typer(help="A merchant's dunning policy.", no_args_is_help=True)
cli.add_typer(merchants_cli, name="merchants")
declines_cli = typer.Typer(help="What decline codes mean, and what may be retried.")
cli.add_typer(policy_cli, name="policy")
cli.add_typer(declines_cli, name="declines", no_args_is_help=True)
cli.add_typer(templates_cli, name="templates")
merchants_cli.command("profile")(show_profile)


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    with application(migrate=True) as app:
        out.print(f"Database at the latest schema ({app.engine.dialect.name}).")


def _serve(app: App, host: str | None, port: int | None, worker: bool) -> None:
    from relance.entrypoints.api.app import create_app

    config = uvicorn.Config(
        create_app(app, run_worker=worker),
        host=host or app.settings.host,
        port=port or app.settings.port,
        log_level="warning",
        access_log=False,  # our middleware writes one structured line per request
        timeout_graceful_shutdown=10,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler
    # that was there before it; a no-op one lets a clean shutdown end with exit status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(config).run()


@cli.command()
def serve(
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run `relance worker` apart.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Overrides RELANCE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides RELANCE_PORT / PORT.")] = None,
) -> None:
    """Serve the API (and, unless --no-worker, a worker in the same process)."""
    with application() as app:
        _serve(app, host, port, worker=not no_worker)


@cli.command()
def up() -> None:
    """Everything for a local try: migrate, seed the demo merchant, serve API and worker."""
    with application(migrate=True) as app:
        demo = merchants.ensure_demo_merchant(app.ctx)
        url = f"http://{app.settings.host}:{app.settings.port}"
        out.print(f"[bold]Relance[/] on {url}  (API docs: {url}/docs)")
        out.print(f"Database: {app.settings.database_url}   Outbox: {app.settings.outbox_dir}/")
        out.print(f"Demo merchant {demo.id}, API key: [bold]{demo.api_key}[/]")
        _serve(app, None, None, worker=True)


@cli.command()
def worker(
    name: Annotated[
        str | None, typer.Option(help="Stable name; a restart reclaims its leases.")
    ] = None,
    exit_when_idle: Annotated[bool, typer.Option(help="Stop when nothing is due.")] = False,
    batch: Annotated[int | None, typer.Option(help="Overrides RELANCE_WORKER_BATCH.")] = None,
) -> None:
    """Run a worker alone: claim due actions and carry them out until stopped."""
    with application() as app:
        s = app.settings
        w = Worker(
            app.ctx,
            name or default_worker_name(),
            s.worker_lease_seconds,
            batch or s.worker_batch,
            s.worker_poll_seconds,
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: w.stop())
        w.recover()
        w.run(exit_when_idle=exit_when_idle)


@cli.command("queue")
def queue_status() -> None:
    """How many actions are in each state."""
    with application() as app:
        table = Table("status", "actions")
        for status, count in sorted(queue.queue_counts(app.ctx).items()):
            table.add_row(status, str(count))
        out.print(table)


@merchants_cli.command("create")
def create_merchant(
    name: Annotated[str, typer.Option(help="The merchant's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {id, api_key} as JSON.")] = False,
) -> None:
    """Create a merchant and its first API key (shown once; only a hash is kept)."""
    with application() as app:
        made = merchants.create_merchant(app.ctx, name)
    if as_json:
        typer.echo(json.dumps({"id": made.id, "name": made.name, "api_key": made.api_key}))
    else:
        out.print(f"Merchant {made.id} ({made.name})\nAPI key (shown once): {made.api_key}")


@merchants_cli.command("add-key")
def add_key(merchant_id: str) -> None:
    """Issue another API key for a merchant (e.g. to rotate)."""
    with application() as app:
        typer.echo(merchants.create_api_key(app.ctx, merchant_id))


@policy_cli.command("show")
def show_policy(merchant: Annotated[str, typer.Option(help="Merchant id.")]) -> None:
    """Print the policy in force (the default until the merchant sets one)."""
    with application() as app:
        typer.echo(policies.policy_source_for(app.ctx, merchant), nl=False)


@policy_cli.command("set")
def set_policy(
    file: Annotated[Path, typer.Argument(help="A TOML policy (see `relance policy show`).")],
    merchant: Annotated[str, typer.Option(help="Merchant id.")],
) -> None:
    """Store a new policy version; cases opened from now on follow it."""
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with application() as app:
        policy = policies.set_policy(app.ctx, merchant, source)
    out.print(f"Policy '{policy.name}' v{policy.version} is now in force for {merchant}.")


def _decline_json(e: declines.Explanation) -> dict[str, object]:
    # The same shape as GET /v1/declines/{scheme}/{code}.
    from relance.entrypoints.api.rules_schemas import DeclineOut

    return DeclineOut.of(e).model_dump(mode="json")


@declines_cli.command("explain")
def explain_decline(
    code: Annotated[str, typer.Argument(help="The raw code, e.g. insufficient_funds, 51, AM04.")],
    scheme: Annotated[
        str | None, typer.Option(help="stripe, stripe_advice, iso8583, visa, mastercard, sepa.")
    ] = None,
    locale: Annotated[str, typer.Option(help="fr or en, for the customer message.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Explain a decline code: reason, retry class, what to do, what the customer reads."""
    if locale not in ("fr", "en"):
        fail(f"locale '{locale}' is not supported; use fr or en.")
    try:
        found = declines.explain_code(decline_catalogue(), scheme, code)
    except RelanceError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([_decline_json(e) for e in found], ensure_ascii=False, indent=2))
        return
    for e in found:
        out.print(f"[bold]{e.entry.scheme} {e.entry.code}[/]: {e.entry.description}")
        out.print(f"  reason {e.entry.reason}, retry class [bold]{e.entry.retry_class.value}[/]")
        out.print(f"  {e.merchant} {e.action}")
        out.print(f"  customer ({locale}): {e.customer[locale]}")
        out.print(f"  source: {e.entry.source} (in force since {e.entry.effective})")


@declines_cli.command("unknown")
def unknown_declines(merchant: Annotated[str, typer.Option(help="Merchant id.")]) -> None:
    """Codes seen on a merchant's failures that no table knows, with how often."""
    with application() as app:
        seen = declines.unknown_codes(app.ctx, merchant)
    for code, count in seen:
        typer.echo(f"{count}\t{code}")


@declines_cli.command("list")
def list_declines(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every code Relance knows, with its class and source."""
    every = declines.all_codes(decline_catalogue())
    if as_json:
        typer.echo(json.dumps([_decline_json(e) for e in every], ensure_ascii=False, indent=2))
        return
    table = Table("scheme", "code", "reason", "class", "effective")
    for e in every:
        table.add_row(
            e.entry.scheme,
            e.entry.code,
            e.entry.reason,
            e.entry.retry_class.value,
            e.entry.effective,
        )
    out.print(table)


def main(argv: list[str] | None = None) -> Any:
    run: Callable[..., Any] = cli
    return run(args=argv if argv is not None else sys.argv[1:])
