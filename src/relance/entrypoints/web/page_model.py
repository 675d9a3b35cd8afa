"""What the payment page's templates see: a PageView turned into plain strings, lists and
dicts, every amount and date already written for the customer, and each form's nonce and
signed token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from relance.adapters.message_writer import brand_colors
from relance.domain.arrangements import ArrangementKind
from relance.domain.merchants import MerchantProfile
from relance.entrypoints.web import rendering
from relance.entrypoints.web.outcomes import instalment_rows
from relance.entrypoints.web.security import issue_form_token, new_nonce
from relance.services.payment_page import PageView

FORMS = ("card", "pay", "plan", "promise", "transfer")


@dataclass(frozen=True, slots=True)
class CardForm:
    """The card form as sent back after a refusal: the name and expiry stay, the number and
    CVC never come back to the browser."""

    name: str = ""
    expiry: str = ""
    problems: Mapping[str, str] = field(default_factory=dict)  # field -> problem code


@dataclass(frozen=True, slots=True)
class Notice:
    """An answer shown in #outcome without a redirect (a refusal re-renders the page):
    `problem` is a code the template words; `sentence` the service's own, when it has no
    code."""

    action: str
    problem: str
    sentence: str | None = None


@dataclass(frozen=True, slots=True)
class Extras:
    """Everything about a response that is not the PageView."""

    style_nonce: str
    secret: str
    now: datetime
    outcome: Mapping[str, Any] | None = None  # outcomes.shown(...)
    notice: Notice | None = None
    card_form: CardForm = CardForm()
    cooldown_until: datetime | None = None
    result_nonce: str | None = None  # kept in the language links


def page_path(url_token: str, **query: str | None) -> str:
    path = f"/pay/{quote(url_token, safe='')}"
    kept = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def common(
    language: str,
    url_token: str,
    merchant: MerchantProfile | None,
    style_nonce: str,
    result_nonce: str | None = None,
) -> dict[str, Any]:
    """What every page under /pay needs, the problem pages included."""
    brand, on_brand = brand_colors(merchant.brand_color if merchant else "#1f4e79")
    return {
        "lang": language,
        "style_nonce": style_nonce,
        "brand": brand,
        "on_brand": on_brand,
        "css": f"/pay-assets/pay.css?v={rendering.asset_version('pay.css')}",
        "js": f"/pay-assets/pay.js?v={rendering.asset_version('pay.js')}",
        "page_url": page_path(url_token, lang=language, r=result_nonce),
        "languages": [
            {
                "code": code,
                "name": rendering.LANGUAGE_NAMES[code],
                "href": page_path(url_token, lang=code, r=result_nonce),
                "current": code == language,
            }
            for code in rendering.LANGUAGES
        ],
        "merchant": {
            "name": merchant.name,
            "support_email": merchant.support_email,
            "support_phone": merchant.support_phone,
        }
        if merchant
        else None,
    }


def page_variables(view: PageView, language: str, url_token: str, extras: Extras) -> dict[str, Any]:
    locale = rendering.formatting_locale(view.locale, language)
    tz = rendering.zone(view.timezone)
    invoices = list(view.invoices)
    settled = not invoices
    arrangement = view.arrangement
    cooldown = extras.cooldown_until or view.card_cooldown_until
    if cooldown is not None and cooldown <= extras.now:
        cooldown = None
    return {
        **common(language, url_token, view.merchant, extras.style_nonce, extras.result_nonce),
        "customer_name": view.customer_name,
        "settled": settled,
        "invoices": [
            {
                "number": line.number,
                "due": rendering.local_day(line.due_at, tz, locale),
                "amount": rendering.money(line.amount_due, locale),
            }
            for line in invoices
        ],
        "total": rendering.money(view.total, locale) if view.total else None,
        "reason": _advice(view.advice, language) if view.failure_reason and not settled else None,
        "card": rendering.card_words(view.card) if view.card else None,
        "card_form": {
            "name": extras.card_form.name,
            "expiry": extras.card_form.expiry,
            "problems": dict(extras.card_form.problems),
        },
        "cooldown": {
            "date": rendering.local_day(cooldown, tz, locale),
            "time": rendering.local_time(cooldown, tz, locale),
        }
        if cooldown
        else None,
        "pay_now": bool(view.card) and not settled,
        "plan": {
            "refusal": view.plan.refusal or (None if view.plan.counts else "disabled"),
            "options": [
                {"count": n, "instalments": instalment_rows(view.schedules[n], locale)}
                for n in view.plan.counts
                if n in view.schedules
            ],
        },
        "promise": {
            "min": view.promise.earliest.isoformat(),
            "max": view.promise.latest.isoformat(),
            "value": view.promise.suggested.isoformat() if view.promise.suggested else "",
            "earliest": rendering.long_date(view.promise.earliest, locale),
            "latest": rendering.long_date(view.promise.latest, locale),
            "suggested": rendering.long_date(view.promise.suggested, locale)
            if view.promise.suggested
            else None,
        },
        "transfer": _transfer(view, locale) if view.transfer and not settled else None,
        "arrangement": {
            "kind": str(arrangement.kind),
            "status": str(arrangement.status),
            "instalments": instalment_rows(arrangement.instalments, locale),
            "reference": arrangement.reference,
            "card": rendering.card_words(arrangement.charged_to)
            if arrangement.charged_to
            else None,
        }
        if arrangement
        else None,
        "outcome": extras.outcome,
        "notice": {
            "action": extras.notice.action,
            "problem": extras.notice.problem,
            "sentence": extras.notice.sentence,
        }
        if extras.notice
        else None,
        "forms": _forms(url_token, language, extras),
    }


def _transfer(view: PageView, locale: str) -> dict[str, Any] | None:
    """The merchant's account; the reference exists once the customer chose this way."""
    transfer, arrangement = view.transfer, view.arrangement
    if transfer is None:
        return None
    reference = transfer.reference or (
        arrangement.reference
        if arrangement and arrangement.kind is ArrangementKind.TRANSFER
        else None
    )
    amount = transfer.amount or view.total
    return {
        "beneficiary": transfer.beneficiary,
        "iban": rendering.grouped(transfer.iban),
        "bic": transfer.bic,
        "reference": reference,
        "amount": rendering.money(amount, locale) if amount else None,
        "chosen": reference is not None,
    }


def _forms(url_token: str, language: str, extras: Extras) -> dict[str, dict[str, str]]:
    """A nonce per form: after one form is sent, another on the same page is a new request,
    not a replay of the first."""
    forms = {}
    for name in FORMS:
        nonce = new_nonce()
        forms[name] = {
            "action": f"{page_path(url_token)}/{name}?{urlencode({'lang': language})}",
            "nonce": nonce,
            "csrf": issue_form_token(extras.secret, url_token, nonce, extras.now),
        }
    return forms


def _advice(advice: Mapping[str, str], language: str) -> str | None:
    return advice.get(language) or next(iter(advice.values()), None)
