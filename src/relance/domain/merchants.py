"""Merchants authenticate with API keys of the form `rk_<prefix>_<secret>`.

Only a SHA-256 of the whole key is stored. The secret is 256 random bits, so a fast hash is as
safe as a slow one here (nothing to brute-force), and it keeps every request cheap; the prefix
finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from relance.domain.errors import Unauthenticated

KEY_SCHEME = "rk"


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

    def service_in(self, locale: str) -> str | None:
        return self.service_description.get(locale) or next(
            iter(self.service_description.values()), None
        )
