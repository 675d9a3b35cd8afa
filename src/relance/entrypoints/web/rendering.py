"""The payment page's HTML: Jinja2 templates in data/templates/pages, in French or English,
with amounts and dates written the customer's way by Babel before templates see them.

The templates are written once, in English, inside {% trans %} blocks; French comes from the
gettext domain "pages" (data/locale/fr/LC_MESSAGES/pages.po), separate from the messages'
catalogue, compiled in memory once per process. After changing the page's wording:

    .venv/bin/pybabel extract -F src/relance/entrypoints/web/babel.cfg --no-location \\
        --sort-output --project relance -o /tmp/relance-pages.pot src/relance/data
    .venv/bin/pybabel update -D pages -i /tmp/relance-pages.pot -d src/relance/data/locale \\
        -l fr --ignore-obsolete

then fill every empty msgstr and remove every "fuzzy" flag: tests/unit/test_payment_page_web.py
fails while a message is untranslated, fuzzy or obsolete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from io import BytesIO, StringIO
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from relance.adapters.message_writer import format_money
from relance.data import path_of, read_text
from relance.domain.money import Money
from relance.ports import CardLine

LANGUAGES = ("fr", "en")  # English is the templates' own language
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}  # each in itself, never translated
DOMAIN = "pages"
_TEMPLATES = "templates/pages"
_CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "cb": "CB",
    "diners": "Diners Club",
    "jcb": "JCB",
}


def language_of(value: str | None) -> str | None:
    """fr or en for "fr", "fr-CA", "en_GB"…; None for anything else."""
    if not value:
        return None
    language = value.replace("-", "_").partition("_")[0].lower()
    return language if language in LANGUAGES else None


def formatting_locale(customer_locale: str | None, language: str) -> str:
    """The customer's own locale for numbers and dates (fr_CA, en_GB…) when it is in the
    language of the page; the bare language otherwise (an English page for a French customer
    writes €49.90, not 49,90 €)."""
    try:
        parsed = Locale.parse((customer_locale or language).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return language
    return str(parsed) if parsed.language == language else language


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a page is better shown in UTC than not shown


def money(amount: Money, locale: str) -> str:
    return format_money(amount, locale)


def long_date(day: date, locale: str) -> str:
    return str(format_date(day, format="long", locale=locale))


def local_day(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    return long_date(moment.astimezone(tz).date(), locale)


def local_time(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    return str(format_time(moment.astimezone(tz), format="short", locale=locale))


def card_words(card: CardLine) -> dict[str, str | None]:
    """A card as it is shown: "Visa", "4242", "12/28"."""
    brand = (card.brand or "").strip()
    return {
        "brand": _CARD_BRANDS.get(brand.lower(), brand.title() if brand.islower() else brand)
        or None,
        "last4": card.last4 or None,
        "expiry": f"{card.exp_month:02d}/{card.exp_year % 100:02d}",
    }


def grouped(text: str, size: int = 4) -> str:
    """An IBAN or a reference in groups, as printed on paper: FR76 3000 6000 …"""
    compact = "".join(text.split())
    return " ".join(compact[i : i + size] for i in range(0, len(compact), size))


@cache
def asset_version(name: str) -> str:
    """A short hash of a static file, added to its URL so a new release is never served from
    a browser's cache of the old one."""
    return hashlib.sha256(read_text(f"static/{name}").encode()).hexdigest()[:10]


def render(template: str, language: str, variables: Mapping[str, Any]) -> str:
    return environment(language).get_template(template).render(variables)


@cache
def environment(language: str) -> Environment:
    """Our own templates (not a merchant's): a plain environment, autoescaped, strict about
    undefined names so that a typo fails a test instead of showing an empty line."""
    env = Environment(
        loader=FileSystemLoader(path_of(_TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True  # as in babel.cfg: msgids without line breaks
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@cache
def translations(language: str) -> NullTranslations:
    """The page catalogue of `language`, compiled in memory from its .po once per process."""
    if language == "en":
        return NullTranslations()
    catalog = read_po(StringIO(read_text(f"locale/{language}/LC_MESSAGES/{DOMAIN}.po")))
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
