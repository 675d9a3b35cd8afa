"""Messages in words: the email (subject, plain text, HTML) and the SMS of every family, in the
customer's language, from the Jinja2 templates in data/templates/messages.

Each family (pre_due, failed_payment, …) has four parts — "<family>.subject", ".txt", ".html"
and ".sms" — and a merchant may replace any of them. Everything renders in a Jinja sandbox with
StrictUndefined, because a merchant's template is untrusted input; HTML parts autoescape. An
override is rendered against sample facts when uploaded (`check`), so it does not fail at send
time. Amounts and dates are formatted here with Babel first, so templates never need it.

The default templates are written once, in English, inside {% trans %} blocks; other languages
come from the gettext catalogues in data/locale/<lang>/LC_MESSAGES/messages.po, compiled in
memory once per process (no binary .mo in the repository). After changing the wording of a
template, refresh the French catalogue, then translate what is new:

    .venv/bin/pybabel extract -F src/relance/data/babel.cfg --no-location --sort-output \\
        --project relance -o /tmp/relance-messages.pot src/relance/data
    .venv/bin/pybabel update -i /tmp/relance-messages.pot -d src/relance/data/locale \\
        -l fr --ignore-obsolete

Fill every empty msgstr, and check then remove every "fuzzy" flag (pybabel's guesses):
tests/unit/test_message_writer.py fails while a message is untranslated, fuzzy or obsolete.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from io import BytesIO, StringIO
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from relance.data import path_of, read_text
from relance.domain.errors import InvalidInput, InvalidTemplate, NotFound
from relance.domain.merchants import MerchantProfile
from relance.domain.money import Money
from relance.domain.sms_text import UCS_2, sms_length
from relance.ports import ArrangementFacts, CardLine, InvoiceLine, MessageFacts, RenderedMessage

FAMILIES = (
    "pre_due",
    "failed_payment",
    "follow_up",
    "final_notice",
    "card_expiring",
    "receipt",
    "resolved",
    "arrangement",
)
DUNNING_FAMILIES = FAMILIES[:4]  # always about at least one unpaid invoice
ARRANGEMENT_KINDS = ("plan", "promise", "transfer")  # what the customer chose on the payment page
PARTS = ("subject", "txt", "html", "sms")
TONES = ("friendly", "neutral", "firm")
LANGUAGES = ("en", "fr")  # English is the templates' source language and the fallback
MAX_SMS_SEGMENTS = 3  # an override longer than this is refused: every part is billed

_TEMPLATES = "templates/messages"
_DEFAULT_BRAND = "#1f4e79"  # MerchantProfile's default, also used when a colour is malformed
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_WHITE, _NEAR_BLACK = "#ffffff", "#111827"
_CARD_BRANDS = {"amex": "American Express", "cb": "CB", "diners": "Diners Club", "jcb": "JCB"}
# Babel writes "49,90 €" with a no-break space, which is not GSM-7: one of those would send the
# whole SMS as UCS-2 (70 characters a part instead of 160). SMS use plain spaces and quotes.
_SMS_PLAIN = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'"})


def format_money(amount: Money, locale: str) -> str:
    """An amount as people of `locale` write it, with the currency's own decimals (49,90 €)."""
    value = Decimal(amount.minor).scaleb(-get_currency_precision(amount.currency))
    return str(format_currency(value, amount.currency, locale=locale))


class TemplateMessageWriter:
    """ports.MessageWriter over the templates shipped in data/templates/messages."""

    def template_names(self) -> tuple[str, ...]:
        return tuple(f"{family}.{part}" for family in FAMILIES for part in PARTS)

    def default_source(self, name: str) -> str:
        _split(name)
        return read_text(f"{_TEMPLATES}/{name}.j2")

    def sample_facts(self, family: str, locale: str) -> MessageFacts:
        return sample_facts(family, locale)

    def check(self, name: str, locale: str, source: str) -> None:
        family, part = _split(name)
        template = _override(_language(locale), name, source)
        for facts in _check_variants(family, locale):
            _check_output(name, part, _render_override(template, name, message_variables(facts)))

    def render(
        self, facts: MessageFacts, overrides: Mapping[str, str] | None = None
    ) -> RenderedMessage:
        family = _family(facts.template)
        if family in DUNNING_FAMILIES and not facts.invoices:
            raise InvalidInput(f"A {family} message is about unpaid invoices, and has none.")
        if family == "arrangement":
            _check_arrangement(facts.arrangement)
        language = _language(facts.locale)
        variables = message_variables(facts)
        parts: dict[str, str] = {}
        for part in PARTS:
            name = f"{family}.{part}"
            source = (overrides or {}).get(name)
            if source is None:
                parts[part] = _environment(language).get_template(name).render(variables)
            else:
                template = _override(language, name, source)
                parts[part] = _render_override(template, name, variables)
        return RenderedMessage(
            subject=_one_line(parts["subject"]),
            text=_tidy_text(parts["txt"]),
            html=_tidy_html(parts["html"]),
            sms=_tidy_sms(parts["sms"]),
        )


def message_variables(facts: MessageFacts) -> dict[str, Any]:
    """What templates see, documented for merchants in data/templates/messages/README.md:
    strings, booleans, lists and dicts, amounts and dates already written for the customer."""
    language, fmt, zone = _language(facts.locale), _formatting_locale(facts.locale), _zone(facts)
    brand, brand_text = brand_colors(facts.merchant.brand_color)
    total, card = facts.total_due, facts.card
    return {
        "locale": language,
        "customer_name": facts.customer_name,
        "merchant": {
            "name": facts.merchant.name,
            "support_email": facts.merchant.support_email,
            "support_phone": facts.merchant.support_phone,
            "brand_color": brand,
            "brand_text_color": brand_text,
        },
        "service": facts.merchant.service_in(language),
        "invoices": [
            {
                "number": line.number,
                "amount": format_money(line.amount_due, fmt),
                "due_date": _long_date(line.due_at, zone, fmt),
            }
            for line in facts.invoices
        ],
        "total": format_money(total, fmt) if total else None,
        "advice": facts.advice,
        "payment_link": facts.payment_link,
        "unsubscribe_link": facts.unsubscribe_link,
        "transactional": facts.transactional,
        "tone": facts.tone,
        "suspension_date": _long_date(facts.suspension_at, zone, fmt)
        if facts.suspension_at
        else None,
        "amount_paid": format_money(facts.amount_paid, fmt) if facts.amount_paid else None,
        "card": _card(card) if card else None,
        "arrangement": _arrangement(facts.arrangement, facts.merchant.name, zone, fmt)
        if facts.arrangement
        else None,
        "sender_email": facts.sender_email,
    }


def _card(card: CardLine) -> dict[str, Any]:
    return {
        "brand": _brand_name(card.brand),
        "last4": card.last4,
        "expiry": f"{card.exp_month:02d}/{card.exp_year}",
    }


def _arrangement(
    terms: ArrangementFacts, merchant_name: str, zone: ZoneInfo, locale: str
) -> dict[str, Any]:
    """The plan's schedule, the promised date or the transfer's bank details, written for the
    customer. `date` and `amount` are the first (for a promise or a transfer, the only) payment;
    for a transfer, `date` is the day reminders wait until for the money to arrive."""
    schedule = [
        {"number": n, "date": _long_date(at, zone, locale), "amount": format_money(amount, locale)}
        for n, (at, amount) in enumerate(terms.instalments, start=1)
    ]
    currencies = {amount.currency for _, amount in terms.instalments}
    total = (
        Money(sum(amount.minor for _, amount in terms.instalments), currencies.pop())
        if len(currencies) == 1
        else None
    )
    return {
        "kind": terms.kind,
        "instalments": schedule,
        "count": len(schedule),
        "date": schedule[0]["date"] if schedule else None,
        "amount": schedule[0]["amount"] if schedule else None,
        "total": format_money(total, locale) if total else None,
        "card": _card(terms.card) if terms.card else None,
        "beneficiary": (terms.beneficiary or "").strip() or merchant_name,
        "iban": _in_fours(terms.iban) if terms.iban else None,
        "bic": "".join(terms.bic.split()).upper() if terms.bic else None,
        "reference": _in_fours(terms.reference) if terms.reference else None,
    }


def _in_fours(code: str) -> str:
    """An IBAN or an RF reference in its printed form (FR76 3000 6000 …), whatever spacing it
    came with: groups of four are how banks print them and how people copy them without error."""
    compact = "".join(code.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _check_arrangement(terms: ArrangementFacts | None) -> None:
    """A confirmation must state what was agreed; one without its terms would mislead."""
    if terms is None:
        raise InvalidInput("An arrangement message confirms a plan, a promise or a transfer.")
    if terms.kind not in ARRANGEMENT_KINDS:
        raise InvalidInput(
            f"'{terms.kind}' is not an arrangement; there are {', '.join(ARRANGEMENT_KINDS)}."
        )
    if not terms.instalments:
        raise InvalidInput(f"A {terms.kind} confirmation needs at least one date and amount.")
    if terms.kind == "transfer" and not (terms.iban and terms.reference):
        raise InvalidInput("A transfer confirmation needs the merchant's IBAN and a reference.")


def brand_colors(color: str) -> tuple[str, str]:
    """The merchant's colour as #rrggbb (the default when malformed: it lands in a style
    attribute), and the text colour that contrasts more with it, white or near-black."""
    if not _HEX_COLOR.fullmatch(color):
        color = _DEFAULT_BRAND
    if len(color) == 4:
        color = "#" + "".join(c * 2 for c in color[1:])
    background = _luminance(color)
    on_white = 1.05 / (background + 0.05)
    on_dark = (background + 0.05) / (_luminance(_NEAR_BLACK) + 0.05)
    return color.lower(), _WHITE if on_white >= on_dark else _NEAR_BLACK


def sample_facts(family: str, locale: str) -> MessageFacts:
    """Realistic facts for `family` in `locale`: what overrides are checked against, and what a
    preview shows a merchant before any real customer exists."""
    family = _family(family)
    due = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    transactional = family in ("card_expiring", "receipt", "resolved", "arrangement")
    return MessageFacts(
        template=family,
        locale=locale,
        tone="friendly",
        timezone="Europe/Paris",
        merchant=MerchantProfile(
            id="mer_sample",
            name="Atelier Lumière",
            sender_email="factures@atelier-lumiere.example",
            support_email="aide@atelier-lumiere.example",
            support_phone="+33 1 99 00 12 34",  # a range reserved for fiction
            service_description={"fr": "votre abonnement Pro", "en": "your Pro plan"},
        ),
        sender_email="factures@atelier-lumiere.example",
        customer_name="Camille Martin",
        invoices=()
        if family in ("card_expiring", "receipt")
        else (InvoiceLine("F-2026-0042", Money(4990, "EUR"), due),),
        advice=_SAMPLE_ADVICE[_language(locale)] if family in DUNNING_FAMILIES[1:] else "",
        payment_link="https://pay.relance.example/p/4f9c2a7d",
        unsubscribe_link=None if transactional else "https://pay.relance.example/u/4f9c2a7d",
        transactional=transactional,
        suspension_at=due + timedelta(days=14) if family == "final_notice" else None,
        amount_paid=Money(4990, "EUR") if family in ("receipt", "resolved") else None,
        card=CardLine("visa", "4242", 12, 2026) if family == "card_expiring" else None,
        arrangement=sample_arrangement("plan") if family == "arrangement" else None,
    )


def sample_arrangement(kind: str) -> ArrangementFacts:
    """What Camille could choose for the sample invoice (49,90 €) on the payment page: three
    monthly instalments or a promise on a later date, both charged to her Visa, or a transfer
    that reminders wait five days for."""
    if kind not in ARRANGEMENT_KINDS:
        raise NotFound(
            f"There is no arrangement '{kind}'; there are {', '.join(ARRANGEMENT_KINDS)}."
        )
    card = CardLine("visa", "4242", 12, 2028)
    if kind == "plan":
        # monthly on the 28th; the cent that does not split evenly goes on the first
        monthly = ((2026, 11, 1664), (2026, 12, 1663), (2027, 1, 1663))
        schedule = tuple(
            (datetime(year, month, 28, 9, tzinfo=UTC), Money(cents, "EUR"))
            for year, month, cents in monthly
        )
        return ArrangementFacts("plan", schedule, card)
    if kind == "promise":
        return ArrangementFacts(
            "promise", ((datetime(2026, 12, 4, 9, tzinfo=UTC), _BALANCE),), card
        )
    return ArrangementFacts(
        "transfer",
        ((datetime(2026, 11, 26, 9, tzinfo=UTC), _BALANCE),),
        None,
        iban="FR76 3000 6000 0112 3456 7890 189",  # the example IBAN French banks publish
        bic="AGRIFRPP",
        beneficiary="Atelier Lumière SAS",
        reference="RF18 5390 0754 7034",  # ISO 11649's own example
    )


_BALANCE = Money(4990, "EUR")


_SAMPLE_ADVICE = {  # as the decline tables word insufficient funds
    "en": "There wasn't enough money available on your account when we tried to take the "
    "payment. Please make sure the amount is available: we'll try again in a few days. You can "
    "also pay right away with another payment method.",
    "fr": "Le solde disponible sur votre compte ne suffisait pas au moment du paiement. Merci de "
    "vérifier que le montant est bien disponible : nous tenterons à nouveau le paiement dans "
    "quelques jours. Vous pouvez aussi régler dès maintenant avec un autre moyen de paiement.",
}


def _check_variants(family: str, locale: str) -> list[MessageFacts]:
    """The sample in every tone, with two invoices, and with everything optional missing: a
    branch a template takes for some customers only is exercised before it is accepted."""
    base = sample_facts(family, locale)
    first = InvoiceLine("F-2026-0042", Money(4990, "EUR"), datetime(2026, 11, 21, tzinfo=UTC))
    second = InvoiceLine("F-2026-0043", Money(1900, "EUR"), datetime(2026, 12, 21, tzinfo=UTC))
    foreign = InvoiceLine("F-2026-0044", Money(2500, "USD"), datetime(2026, 12, 21, tzinfo=UTC))
    bare = replace(
        base,
        merchant=MerchantProfile(id=base.merchant.id, name=base.merchant.name),
        customer_name="",
        advice="",
        unsubscribe_link=None,
        transactional=not base.transactional,
        suspension_at=None,
        amount_paid=None,
        card=CardLine(None, None, 1, 2027) if base.card else None,
    )
    variants = [replace(base, tone=tone) for tone in TONES]
    variants += [replace(base, invoices=(first, second)), replace(bare, invoices=(first, foreign))]
    if family not in DUNNING_FAMILIES:
        variants.append(replace(bare, invoices=(), card=None))
    if family == "arrangement":
        variants += _arrangement_variants(base, bare)
    return variants


def _arrangement_variants(base: MessageFacts, bare: MessageFacts) -> list[MessageFacts]:
    """Each kind, and for a plan or a promise every way it may be paid: a card named as fully
    as the gateway told us, the payment page, or a transfer; a transfer without BIC or name."""
    transfer = sample_arrangement("transfer")
    variants = [
        replace(base, arrangement=transfer),
        replace(bare, invoices=(), arrangement=replace(transfer, bic=None, beneficiary=None)),
    ]
    for kind in ("plan", "promise"):
        terms = sample_arrangement(kind)
        variants += [
            replace(base, arrangement=terms),
            replace(base, arrangement=replace(terms, card=CardLine(None, "4242", 1, 2027))),
            replace(bare, arrangement=replace(terms, card=CardLine(None, None, 1, 2027))),
            replace(bare, invoices=(), arrangement=replace(terms, card=None)),
            replace(
                base,
                arrangement=replace(
                    terms,
                    card=None,
                    iban=transfer.iban,
                    bic=transfer.bic,
                    reference=transfer.reference,
                ),
            ),
        ]
    return variants


class _DefaultTemplates(FileSystemLoader):
    """Templates are named like the parts ('failed_payment.html'); files add '.j2'."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        return super().get_source(environment, f"{template}.j2")


@cache
def _environment(language: str) -> SandboxedEnvironment:
    """The sandbox every template runs in; immutable, so that a part cannot alter the lists and
    dicts the other parts of the same message are rendered from."""
    env = ImmutableSandboxedEnvironment(
        loader=_DefaultTemplates(path_of(_TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=lambda name: name is not None and name.endswith(".html"),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True  # as in babel.cfg: msgids without line breaks
    env.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@cache
def _translations(language: str) -> NullTranslations:
    """The catalogue of `language`, compiled in memory from its .po once per process."""
    if language == "en":
        return NullTranslations()
    catalog = read_po(StringIO(read_text(f"locale/{language}/LC_MESSAGES/messages.po")))
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@lru_cache(maxsize=256)
def _override(language: str, name: str, source: str) -> Template:
    """A merchant's source compiled under the part's own name, so errors point at its lines."""
    env = _environment(language)
    try:
        code = env.compile(source, name=name, filename=name)
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(f"{name} line {exc.lineno}: {exc.message}", exc.lineno) from None
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _render_override(template: Template, name: str, variables: Mapping[str, Any]) -> str:
    try:
        return template.render(variables)
    except Exception as exc:  # untrusted code: anything it raises is the template's error
        frames = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == name]
        line = frames[-1] if frames else None
        where = f"{name} line {line}" if line else name
        if isinstance(exc, TemplateNotFound):
            detail = f"there is no template called '{exc.name}'"
        else:
            detail = (exc.message if isinstance(exc, TemplateError) else str(exc)) or repr(exc)
        raise InvalidTemplate(f"{where}: {detail}", line) from None


def _check_output(name: str, part: str, output: str) -> None:
    if part == "subject" and not _one_line(output):
        raise InvalidTemplate(f"{name}: the subject is empty once rendered; it needs a few words.")
    if part != "sms":
        return
    length = sms_length(_tidy_sms(output))
    if length.segments == 0:
        raise InvalidTemplate(f"{name}: the SMS is empty once rendered.")
    if length.segments > MAX_SMS_SEGMENTS:
        ucs_2 = " (one character outside the GSM alphabet, like ê or ç, cuts 160 to 70 a message)"
        raise InvalidTemplate(
            f"{name}: the SMS is {length.units} characters long, which is sent as "
            f"{length.segments} messages{ucs_2 if length.encoding == UCS_2 else ''}; "
            f"keep it within {MAX_SMS_SEGMENTS}."
        )


def _split(name: str) -> tuple[str, str]:
    family, _, part = name.rpartition(".")
    if family not in FAMILIES or part not in PARTS:
        raise NotFound(f"There is no message template called '{name}' (e.g. failed_payment.html).")
    return family, part


def _family(template: str) -> str:
    if template not in FAMILIES:
        raise NotFound(f"There is no message family '{template}'; there are {', '.join(FAMILIES)}.")
    return template


def _language(locale: str) -> str:
    language = locale.replace("-", "_").partition("_")[0].lower()
    return language if language in LANGUAGES else "en"


def _formatting_locale(locale: str) -> str:
    """The customer's own locale for numbers and dates (fr_CA, en_GB…) when it is in the
    language of the words; the bare language otherwise."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return _language(locale)
    return str(parsed) if parsed.language == _language(locale) else _language(locale)


def _zone(facts: MessageFacts) -> ZoneInfo:
    try:
        return ZoneInfo(facts.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{facts.timezone}' is not an IANA time zone (Europe/Paris).") from None


def _long_date(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    """The customer's own calendar day: 21 novembre 2026 / November 21, 2026."""
    if moment.tzinfo is None:
        raise InvalidInput("A date in a message has no time zone; Relance keeps them in UTC.")
    return str(format_date(moment.astimezone(zone).date(), format="long", locale=locale))


def _brand_name(brand: str | None) -> str | None:
    if not brand or not brand.strip():
        return None
    brand = brand.strip()
    return _CARD_BRANDS.get(brand.lower(), brand.title() if brand.islower() else brand)


def _luminance(color: str) -> float:
    """WCAG relative luminance of #rrggbb."""

    def linear(pair: str) -> float:
        c = int(pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy_text(text: str) -> str:
    """No trailing spaces, never two blank lines in a row, one final newline."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines) + "\n"


def _tidy_html(html: str) -> str:
    """Without the empty lines template logic leaves behind (no <pre> in an email)."""
    return "\n".join(line.rstrip() for line in html.splitlines() if line.strip()) + "\n"


def _tidy_sms(text: str) -> str:
    """One line. "aout" is the 1990 spelling of "août": û would switch the SMS to UCS-2."""
    return _one_line(text.translate(_SMS_PLAIN)).replace("août", "aout")
