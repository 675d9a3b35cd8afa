"""Reminders in words: Jinja2 templates per locale, amounts and dates formatted by Babel.

The customer is told what to do, never why a bank suspected them: lost, stolen and fraud
declines read as a plain refusal.
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

_HINTS = {
    "fr": {
        "insufficient_funds": "Nous réessaierons automatiquement dans quelques jours : il suffit "
        "que le montant soit disponible sur votre compte.",
        "fix_data": "Votre carte semble expirée ou ses informations ont changé : merci de "
        "mettre à jour votre moyen de paiement.",
        "customer_action": "Votre banque demande que vous confirmiez ce paiement : merci de "
        "nous contacter pour le valider.",
        "never": "Votre banque a refusé ce paiement. Merci d'utiliser un autre moyen de "
        "paiement ou de contacter votre banque.",
        "default": "Nous réessaierons automatiquement. Si le problème persiste, contactez "
        "votre banque ou utilisez un autre moyen de paiement.",
    },
    "en": {
        "insufficient_funds": "We'll try again automatically in a few days: just make sure the "
        "amount is available on your account.",
        "fix_data": "Your card seems to have expired or its details changed: please update "
        "your payment method.",
        "customer_action": "Your bank asks you to confirm this payment: please get in touch so "
        "we can complete it.",
        "never": "Your bank declined this payment. Please use another payment method or "
        "contact your bank.",
        "default": "We'll try again automatically. If it keeps failing, contact your bank or "
        "use another payment method.",
    },
}


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
        hints = _HINTS[facts.locale]
        hint = hints.get(facts.reason) or hints.get(facts.retry_class) or hints["default"]
        local_due = facts.due_at.astimezone(ZoneInfo(facts.timezone)).date()
        text = self.env.get_template(f"{facts.locale}.txt.j2").render(
            tone=facts.tone,
            customer_name=facts.customer_name,
            merchant_name=facts.merchant_name,
            invoice_number=facts.invoice_number,
            amount=format_money(facts.amount_due, facts.locale),
            due_date=format_date(local_due, format="long", locale=facts.locale),
            hint=hint,
        )
        head, _, body = text.partition("\n\n")
        return head.removeprefix("Subject: ").strip(), body.strip() + "\n"
