"""A merchant's own wording: template overrides, checked when uploaded (so they can never fail
at send time), and previews of any step for a real customer or sample data."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from relance.domain.customers import check_locale
from relance.domain.errors import InvalidInput, NotFound
from relance.ports import RenderedMessage
from relance.services.context import Context
from relance.services.messaging import invoice_lines

TONES = ("friendly", "neutral", "firm")


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    name: str
    overridden_in: tuple[str, ...]  # locales with a merchant override


@dataclass(frozen=True, slots=True)
class TemplateSource:
    name: str
    locale: str
    source: str
    overridden: bool
    updated_at: datetime | None


def _check_name(ctx: Context, name: str) -> None:
    if name not in ctx.writer.template_names():
        raise NotFound(
            f"No template is called '{name}'; names look like 'failed_payment.html' "
            "(see GET /v1/templates)."
        )


def list_templates(ctx: Context, merchant_id: str) -> list[TemplateInfo]:
    with ctx.uow() as store:
        overrides = store.list_template_overrides(merchant_id)
    return [
        TemplateInfo(name, tuple(loc for n, loc, _ in overrides if n == name))
        for name in ctx.writer.template_names()
    ]


def get_template(ctx: Context, merchant_id: str, name: str, locale: str) -> TemplateSource:
    _check_name(ctx, name)
    check_locale(locale)
    with ctx.uow() as store:
        mine = store.template_overrides(merchant_id, locale).get(name)
        when = next(
            (at for n, loc, at in store.list_template_overrides(merchant_id)
             if n == name and loc == locale),
            None,
        )  # fmt: skip
    if mine is not None:
        return TemplateSource(name, locale, mine, True, when)
    return TemplateSource(name, locale, ctx.writer.default_source(name), False, None)


def set_template(
    ctx: Context, merchant_id: str, name: str, locale: str, source: str
) -> TemplateSource:
    """Rejected with the line and the error if it does not render with sample data."""
    _check_name(ctx, name)
    check_locale(locale)
    ctx.writer.check(name, locale, source)
    now = ctx.clock.now()
    with ctx.uow() as store:
        store.save_template_override(merchant_id, name, locale, source, now)
    return TemplateSource(name, locale, source, True, now)


def reset_template(ctx: Context, merchant_id: str, name: str, locale: str) -> TemplateSource:
    _check_name(ctx, name)
    check_locale(locale)
    with ctx.uow() as store:
        store.delete_template_override(merchant_id, name, locale)
    return TemplateSource(name, locale, ctx.writer.default_source(name), False, None)


def preview(
    ctx: Context,
    merchant_id: str,
    family: str,
    locale: str,
    customer_id: str | None = None,
    tone: str = "friendly",
) -> RenderedMessage:
    """What the step would look like: for a real customer (their name, zone and open
    invoices), or with sample data. Nothing is sent or recorded."""
    if f"{family}.subject" not in ctx.writer.template_names():
        families = sorted({n.split(".")[0] for n in ctx.writer.template_names()})
        raise NotFound(f"No step template '{family}'; use one of {', '.join(families)}.")
    check_locale(locale)
    if tone not in TONES:
        raise InvalidInput(f"Tone '{tone}' is not one of {', '.join(TONES)}.")
    facts = ctx.writer.sample_facts(family, locale)
    with ctx.uow() as store:
        merchant = store.merchant_profile(merchant_id)
        assert merchant is not None  # the caller is authenticated as this merchant
        facts = replace(facts, merchant=merchant, tone=tone)
        if customer_id is not None:
            customer = store.get_customer(merchant_id, customer_id)
            if customer is None:
                raise NotFound(f"No customer has the id '{customer_id}'.")
            invoices = store.open_invoices_of_customer(merchant_id, customer.id)
            lines = invoice_lines(invoices)
            facts = replace(
                facts,
                customer_name=customer.name,
                timezone=customer.timezone,
                invoices=lines or facts.invoices,
            )
        overrides = store.template_overrides(merchant_id, locale)
    return ctx.writer.render(facts, overrides)
