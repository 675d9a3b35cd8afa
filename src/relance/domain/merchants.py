"""Merchants authenticate with API keys of the form `rk_<prefix>_<secret>`.

Only a SHA-256 of the whole key is stored. The secret is 256 random bits, so a fast hash is as
safe as a slow one here (nothing to brute-force), and it keeps every request cheap; the prefix
finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import schwifty
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from relance.domain.customers import (
    LOCALES,
    check_country,
    check_email,
    check_locale,
    normalise_phone,
)
from relance.domain.errors import InvalidInput, Unauthenticated

KEY_SCHEME = "rk"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# An SMS sender is a number, or an alphanumeric id of at most 11 characters (GSM rule).
_SMS_SENDER = re.compile(r"^(\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    merchant_id: str
    prefix: str
    key_hash: str
    created_at: datetime


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def compose_key(prefix: str, secret: str) -> str:
    return f"{KEY_SCHEME}_{prefix}_{secret}"


def key_prefix(key: str) -> str:
    """The lookup part of a presented key; a malformed key is refused before any query."""
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        raise Unauthenticated("The API key is malformed; it looks like rk_xxxx_yyyy.")
    return parts[1]


def key_matches(stored: ApiKey, presented: str) -> bool:
    return hmac.compare_digest(stored.key_hash, hash_key(presented))


@dataclass(frozen=True, slots=True)
class MerchantProfile:
    """How a merchant presents itself in messages and on the payment page."""

    id: str
    name: str
    sender_email: str | None = None  # From: of emails; the instance default when unset
    support_email: str | None = None
    support_phone: str | None = None
    brand_color: str = "#1f4e79"
    # What the customer keeps by paying ("votre abonnement Pro", "your Pro plan"), per locale.
    service_description: dict[str, str] = field(default_factory=dict)
    default_locale: str = "fr"
    country: str = "FR"  # ISO 3166-1 alpha-2: public holidays when a customer has none
    sms_sender: str | None = None  # alphanumeric sender id or number for SMS
    # The merchant's own account, printed on its invoices: customers may pay by transfer to it.
    iban: str | None = None  # compact, upper-case
    bic: str | None = None

    def changed(self, changes: Mapping[str, Any]) -> MerchantProfile:
        """A copy with `changes` applied, every value checked (all or nothing)."""
        values = dict(changes)
        if "name" in values and not str(values["name"] or "").strip():
            raise InvalidInput("The merchant's name cannot be empty.")
        for key in ("sender_email", "support_email"):
            if values.get(key) is not None:
                check_email(values[key])
        if values.get("brand_color") is not None and not _COLOUR.fullmatch(values["brand_color"]):
            raise InvalidInput(
                f"brand_color '{values['brand_color']}' is not a colour like #1f4e79."
            )
        if values.get("default_locale") is not None:
            check_locale(values["default_locale"])
        if values.get("country") is not None:
            values["country"] = check_country(values["country"])
        if values.get("support_phone") is not None:
            country = values.get("country") or self.country
            values["support_phone"] = normalise_phone(values["support_phone"], country)
        sender = values.get("sms_sender")
        if sender is not None and not _SMS_SENDER.fullmatch(sender):
            raise InvalidInput(
                "sms_sender is a number in +33… form or up to 11 letters and digits."
            )
        service = values.get("service_description")
        if service is not None and not all(k in LOCALES for k in service):
            raise InvalidInput(
                f"service_description takes one text per locale ({', '.join(LOCALES)})."
            )
        for key, check in (("iban", _check_iban), ("bic", _check_bic)):
            if key in values:
                text = str(values[key] or "").strip()
                values[key] = check(text) if text else None
        return replace(self, **values)

    def service_in(self, locale: str) -> str | None:
        return self.service_description.get(locale) or next(
            iter(self.service_description.values()), None
        )


# Sentences never repeat the value: an account number does not belong in logs or error pages.
_IBAN_PROBLEMS: tuple[tuple[type[SchwiftyException], str], ...] = (
    (InvalidChecksumDigits, "its check digits do not match (a character is mistyped)"),
    (InvalidCountryCode, "it does not start with a known country code, like FR or DE"),
    (InvalidLength, "it has too many or too few characters for its country"),
)


def _check_iban(text: str) -> str:
    try:
        return str(schwifty.IBAN(text).compact)
    except SchwiftyException as exc:
        why = next(
            (sentence for kind, sentence in _IBAN_PROBLEMS if isinstance(exc, kind)),
            "it is not laid out as an IBAN of its country",
        )
        raise InvalidInput(f"The IBAN is not valid: {why}.") from None


def _check_bic(text: str) -> str:
    try:
        return str(schwifty.BIC(text).compact)
    except SchwiftyException:
        raise InvalidInput(
            "The BIC is not valid: it is 8 or 11 letters and digits, like BNPAFRPP or BNPAFRPPXXX."
        ) from None
