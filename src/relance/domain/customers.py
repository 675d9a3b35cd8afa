"""Customers and the payment methods on file for them (gateway tokens, never card numbers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from relance.domain.errors import InvalidInput

LOCALES = ("fr", "en")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEGMENT = re.compile(r"^[a-z0-9_-]{1,40}$")
_PAN = re.compile(r"\d{12,19}")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    external_id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str
    country: str | None = None  # ISO 3166-1 alpha-2; public holidays, phone numbers
    segment: str | None = None  # picks the policy's message sequence
    email_undeliverable_at: datetime | None = None  # the mail server refused it for good

    @classmethod
    def register(
        cls,
        *,
        id: str,
        external_id: str,
        name: str,
        email: str | None,
        phone: str | None,
        locale: str,
        timezone: str,
        country: str | None = None,
        segment: str | None = None,
    ) -> Customer:
        if not external_id.strip():
            raise InvalidInput("A customer needs an external_id (your own reference for them).")
        if email is not None:
            check_email(email)
        if country is not None:
            country = check_country(country)
        if phone is not None:
            phone = normalise_phone(phone, country)
        if segment is not None and not _SEGMENT.fullmatch(segment):
            raise InvalidInput("A segment is 1 to 40 of a-z, 0-9, '_' or '-'.")
        check_locale(locale)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"'{timezone}' is not an IANA time zone (e.g. Europe/Paris)."
            ) from None
        return cls(
            id, external_id.strip(), name.strip(), email, phone, locale, timezone, country, segment
        )


def check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise InvalidInput(f"'{value}' is not an email address.")
    return value


def check_country(code: str) -> str:
    """ISO 3166-1 alpha-2, upper case (phone numbers and public holidays depend on it)."""
    if code.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"'{code}' is not an ISO 3166 country code (e.g. FR).")
    return code.upper()


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise InvalidInput(f"Locale '{locale}' is not supported; use one of {', '.join(LOCALES)}.")
    return locale


def normalise_phone(raw: str, country: str | None) -> str:
    """E.164 for SMS providers; a national number ("06 12 34 56 78") needs the country."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        hint = "" if country else " (or give the customer's country)"
        raise InvalidInput(f"'{raw}' is not a valid phone number; use +33… form{hint}.")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


class MethodType(StrEnum):
    CARD = "card"
    SEPA_DEBIT = "sepa_debit"


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    id: str
    customer_id: str
    gateway_token: str
    type: MethodType
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    # The same card seen through several tokens (Stripe's card fingerprint, a SEPA mandate
    # id): the network ceilings count per card, not per token. Defaults to the token.
    fingerprint: str | None = None

    @property
    def instrument(self) -> str:
        return self.fingerprint or self.gateway_token

    @property
    def network(self) -> str:
        """Whose retry rules apply: visa, mastercard, sepa, or the brand as given."""
        if self.type is MethodType.SEPA_DEBIT:
            return "sepa"
        brand = (self.brand or "").strip().lower().replace(" ", "")
        return {"mc": "mastercard", "master": "mastercard"}.get(brand, brand)

    @classmethod
    def register(
        cls,
        *,
        id: str,
        customer_id: str,
        gateway_token: str,
        type: MethodType,
        brand: str | None = None,
        last4: str | None = None,
        exp_month: int | None = None,
        exp_year: int | None = None,
        fingerprint: str | None = None,
    ) -> PaymentMethod:
        token = gateway_token.strip()
        if not token:
            raise InvalidInput("A payment method needs the gateway token that stands for it.")
        if _PAN.search(re.sub(r"[\s.-]", "", token)):
            # A long run of digits looks like a card number: refuse to store it at all.
            raise InvalidInput("Send the gateway's token, never a card number.")
        if last4 is not None and not re.fullmatch(r"\d{4}", last4):
            raise InvalidInput("last4 must be exactly four digits.")
        if exp_month is not None and not 1 <= exp_month <= 12:
            raise InvalidInput("exp_month must be between 1 and 12.")
        if exp_year is not None and not 2000 <= exp_year <= 2100:
            raise InvalidInput("exp_year must be a four-digit year.")
        if type is MethodType.CARD and (exp_month is None) != (exp_year is None):
            raise InvalidInput("Give both exp_month and exp_year, or neither.")
        return cls(id, customer_id, token, type, brand, last4, exp_month, exp_year, fingerprint)
