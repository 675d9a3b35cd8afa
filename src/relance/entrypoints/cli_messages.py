"""`relance templates …` and `relance merchants profile`: what customers are sent, and in whose
name, seen from a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from relance.bootstrap import App
from relance.domain.merchants import MerchantProfile
from relance.entrypoints.cli_context import application, fail, out
from relance.services import merchants, templates
from relance.services.merchants import DEMO_MERCHANT_ID

templates_cli = typer.Typer(
    help="The wording of messages: defaults, a merchant's own versions, previews.",
    no_args_is_help=True,
)

MerchantOption = Annotated[
    str, typer.Option("--merchant", help="Merchant id (default: the demo merchant).")
]


def _profile(app: App, merchant_id: str) -> MerchantProfile:
    """The merchant's profile; an unknown id is a one-line error (NotFound, via application())."""
    return merchants.get_profile(app.ctx, merchant_id)


@templates_cli.command("list")
def list_templates(merchant: MerchantOption = DEMO_MERCHANT_ID) -> None:
    """Every template part, and the locales where the merchant has its own version."""
    with application() as app:
        _profile(app, merchant)
        found = templates.list_templates(app.ctx, merchant)
    table = Table("template", "own version in")
    for t in found:
        table.add_row(t.name, ", ".join(t.overridden_in) or "-")
    out.print(table)


@templates_cli.command("preview")
def preview(
    step: Annotated[str, typer.Argument(help="The step's template, e.g. failed_payment.")],
    locale: Annotated[
        str | None, typer.Option(help="fr or en (default: the merchant's locale).")
    ] = None,
    customer: Annotated[
        str | None, typer.Option(help="A customer id: their name and open invoices.")
    ] = None,
    tone: Annotated[str, typer.Option(help="friendly, neutral or firm.")] = "friendly",
    merchant: MerchantOption = DEMO_MERCHANT_ID,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML part to this file.")
    ] = None,
) -> None:
    """Show a step as the customer would get it; nothing is sent."""
    with application() as app:
        locale = locale or _profile(app, merchant).default_locale
        rendered = templates.preview(app.ctx, merchant, step, locale, customer, tone)
    out.print(f"[bold]Subject:[/] {_plain(rendered.subject)}")
    if html is not None:
        try:
            html.write_text(rendered.html, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {html}: {exc.strerror}")
        out.print(f"HTML part written to {html}.", markup=False, highlight=False)
        return
    out.rule("Email, text part")
    out.print(rendered.text, markup=False, highlight=False)
    out.rule(f"SMS ({len(rendered.sms)} characters)")
    out.print(rendered.sms, markup=False, highlight=False)


def _plain(text: str) -> str:
    """Customer text printed next to markup: its brackets are not Rich markup."""
    return text.replace("[", r"\[")


@templates_cli.command("set")
def set_template(
    name: Annotated[str, typer.Argument(help="e.g. failed_payment.html (see `templates list`).")],
    locale: Annotated[str, typer.Argument(help="fr or en.")],
    file: Annotated[Path, typer.Argument(help="The new source (Jinja2).")],
    merchant: MerchantOption = DEMO_MERCHANT_ID,
) -> None:
    """Use the merchant's own version; refused, with the line, if it does not render."""
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with application() as app:
        _profile(app, merchant)
        templates.set_template(app.ctx, merchant, name, locale, source)
    out.print(f"{name} ({locale}) now uses {merchant}'s version.", markup=False, highlight=False)


@templates_cli.command("reset")
def reset_template(
    name: Annotated[str, typer.Argument(help="e.g. failed_payment.html.")],
    locale: Annotated[str, typer.Argument(help="fr or en.")],
    merchant: MerchantOption = DEMO_MERCHANT_ID,
) -> None:
    """Go back to Relance's default wording."""
    with application() as app:
        _profile(app, merchant)
        templates.reset_template(app.ctx, merchant, name, locale)
    out.print(f"{name} ({locale}) is back to the default.", markup=False, highlight=False)


def show_profile(
    merchant: MerchantOption = DEMO_MERCHANT_ID,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How the merchant appears in messages (change it with PATCH /v1/merchant)."""
    from relance.entrypoints.api.communication_schemas import MerchantOut

    with application() as app:
        shown = MerchantOut.of(_profile(app, merchant)).model_dump(mode="json", exclude={"object"})
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    table = Table("field", "value")
    for field, value in shown.items():
        text = (
            ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value
        )
        table.add_row(field, Text("-" if text in (None, "") else str(text)))  # never markup
    out.print(table)
