"""Money as integer minor units and an ISO 4217 currency: a float never holds an amount."""

from __future__ import annotations

import re
from dataclasses import dataclass

from relance.domain.errors import CurrencyMismatch, InvalidInput

_CURRENCY = re.compile(r"[A-Z]{3}")


def normalise_currency(code: str) -> str:
    """Upper-case a currency code and check its shape (three letters, as ISO 4217)."""
    upper = code.strip().upper()
    if not _CURRENCY.fullmatch(upper):
        raise InvalidInput(f"'{code}' is not an ISO 4217 currency code (three letters, e.g. EUR).")
    return upper


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise InvalidInput("Amounts are whole numbers of minor units (cents), never decimals.")
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidInput(f"'{self.currency}' is not an ISO 4217 currency code.")

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(minor, normalise_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {other.currency} with {self.currency}: "
                "amounts must be in the invoice's currency."
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def is_positive(self) -> bool:
        return self.minor > 0

    def __str__(self) -> str:
        return f"{self.minor} {self.currency} (minor units)"
