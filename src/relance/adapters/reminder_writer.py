"""Reminders in words: Jinja2 templates per locale, amounts and dates formatted by Babel.

What happened and what to do comes from the decline tables (`ReminderFacts.advice`), which
never tell a customer that a bank suspected fraud.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from relance.data import path_of
from relance.domain.money import Money
from relance.ports import ReminderFacts


def format_money(amount: Money, locale: str) -> str:
    value = Decimal(amount.minor).scaleb(-get_currency_precision(amount.currency))
    return str(format_currency(value, amount.currency, locale=locale))


class TemplateReminderWriter:
    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(path_of("templates/reminders")),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # plain-text email, never HTML
        )

    def write(self, facts: ReminderFacts) -> tuple[str, str]:
        local_due = facts.due_at.astimezone(ZoneInfo(facts.timezone)).date()
        text = self.env.get_template(f"{facts.locale}.txt.j2").render(
            tone=facts.tone,
            customer_name=facts.customer_name,
            merchant_name=facts.merchant_name,
            invoice_number=facts.invoice_number,
            amount=format_money(facts.amount_due, facts.locale),
            due_date=format_date(local_due, format="long", locale=facts.locale),
            hint=facts.advice,
        )
        head, _, body = text.partition("\n\n")
        return head.removeprefix("Subject: ").strip(), body.strip() + "\n"
