"""A card typed by the customer on the payment page, checked before it reaches the gateway.

The checks are the ones a browser can also make (Luhn, the brand's number length, the CVC's
length, an expiry in the future): they catch typing mistakes at once, in plain words, without
spending one of the card-testing attempts a link allows. Whether the card really works is the
gateway's answer, not ours.

The number and the CVC are secrets that must never reach a log, an error message or the
database: `InvalidCard` names the fields that are wrong, never their values, and a `CardEntry`
shows itself as its brand and last four digits only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from relance.domain.errors import InvalidInput

# Past this, an expiry date is a typing mistake: cards are issued for 3 to 5 years, some 10.
MAX_YEARS_AHEAD = 20
NAME_MAX = 100
_SEPARATORS = re.compile(r"[ \-]")
_EXPIRY = (
    re.compile(r"(?P<month>\d{1,2})\s*/\s*(?P<year>\d{4}|\d{2})"),  # MM/YY, MM / YY, MM/YYYY
    re.compile(r"(?P<month>\d{2})(?P<year>\d{2})"),  # MMYY
)


class CardBrand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    UNKNOWN = "unknown"


class CardField(StrEnum):
    NUMBER = "number"
    EXPIRY = "expiry"
    CVC = "cvc"
    NAME = "name"


# The number lengths each brand issues; anything else is a digit too many or too few.
_LENGTHS = {
    CardBrand.VISA: frozenset({13, 16, 19}),
    CardBrand.MASTERCARD: frozenset({16}),
    CardBrand.AMEX: frozenset({15}),
    CardBrand.DISCOVER: frozenset(range(16, 20)),
}

# Plain words for each problem code, used in the exception's message (pages translate codes).
_SENTENCES = {
    "invalid_number": "the card number is not valid",
    "unsupported_brand": "this kind of card is not accepted (Visa, Mastercard, Amex, Discover)",
    "invalid_expiry": "the expiry date is not a month and year like 08/29",
    "expired": "the card has expired",
    "invalid_cvc": "the security code does not have the right number of digits",
    "missing_name": "the name on the card is missing",
    "invalid_name": f"the name on the card is longer than {NAME_MAX} characters",
}


@dataclass(frozen=True, slots=True)
class CardProblem:
    field: CardField
    code: str  # invalid_number | unsupported_brand | invalid_expiry | expired | invalid_cvc |
    # missing_name | invalid_name


class InvalidCard(InvalidInput):
    """Every problem found in the card's fields; the message names fields, never their values."""

    def __init__(self, problems: tuple[CardProblem, ...]) -> None:
        sentences = "; ".join(_SENTENCES.get(p.code, p.code) for p in problems)
        super().__init__(f"The card cannot be used: {sentences}.")
        self.problems = problems


@dataclass(frozen=True, slots=True, repr=False)
class CardEntry:
    """A card as the customer typed it, once `read_card` has checked it."""

    number: str  # digits only
    exp_month: int
    exp_year: int  # four digits
    cvc: str
    name: str

    @property
    def brand(self) -> CardBrand:
        return brand_of(self.number)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __repr__(self) -> str:
        return f"CardEntry(brand={self.brand.value}, last4={self.last4})"

    def __str__(self) -> str:
        return f"{self.brand.value} •••• {self.last4}"


def luhn_valid(digits: str) -> bool:
    """The Luhn check every card number carries: it catches one wrong or two swapped digits."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> CardBrand:
    """The brand from the number's first digits (its IIN); works on a number being typed."""
    if not digits.isascii() or not digits.isdigit():
        return CardBrand.UNKNOWN
    if digits[:2] in ("34", "37"):
        return CardBrand.AMEX
    if digits.startswith("4"):
        return CardBrand.VISA
    if _within(digits, 2, 51, 55) or _within(digits, 4, 2221, 2720):
        return CardBrand.MASTERCARD
    if digits.startswith(("6011", "65")) or _within(digits, 3, 644, 649):
        return CardBrand.DISCOVER
    return CardBrand.UNKNOWN


def _within(digits: str, width: int, low: int, high: int) -> bool:
    return len(digits) >= width and low <= int(digits[:width]) <= high


def cvc_length(brand: CardBrand) -> int:
    """American Express prints a 4-digit code on the front; the others 3 digits on the back."""
    return 4 if brand is CardBrand.AMEX else 3


def card_lengths(brand: CardBrand) -> frozenset[int]:
    """The number lengths a brand issues (none for an unknown brand)."""
    return _LENGTHS.get(brand, frozenset())


def read_card(number: str, expiry: str, cvc: str, name: str, today: date) -> CardEntry:
    """Check what the customer typed, all fields at once, so one answer lists every mistake.

    `today` is the customer's date: a card is valid through the last day of its expiry month.
    """
    problems: list[CardProblem] = []
    digits = _SEPARATORS.sub("", number.strip())
    brand = brand_of(digits)
    number_code = _number_problem(digits, brand)
    if number_code:
        problems.append(CardProblem(CardField.NUMBER, number_code))

    month_year = _read_expiry(expiry)
    expiry_code = "invalid_expiry" if month_year is None else _expiry_problem(*month_year, today)
    if expiry_code:
        problems.append(CardProblem(CardField.EXPIRY, expiry_code))

    code = cvc.strip()
    # When the number does not tell the brand, either length may be right: no second error.
    lengths = {3, 4} if brand is CardBrand.UNKNOWN else {cvc_length(brand)}
    if not (code.isascii() and code.isdigit() and len(code) in lengths):
        problems.append(CardProblem(CardField.CVC, "invalid_cvc"))

    holder = " ".join(name.split())
    if not holder:
        problems.append(CardProblem(CardField.NAME, "missing_name"))
    elif len(holder) > NAME_MAX:
        problems.append(CardProblem(CardField.NAME, "invalid_name"))

    if problems or month_year is None:
        raise InvalidCard(tuple(problems))
    return CardEntry(digits, month_year[0], month_year[1], code, holder)


def _number_problem(digits: str, brand: CardBrand) -> str | None:
    if not luhn_valid(digits) or not 12 <= len(digits) <= 19:
        return "invalid_number"
    if brand is CardBrand.UNKNOWN:
        return "unsupported_brand"
    if len(digits) not in card_lengths(brand):
        return "invalid_number"
    return None


def _read_expiry(text: str) -> tuple[int, int] | None:
    """(month, four-digit year) from "MM/YY", "MM / YY", "MM/YYYY" or "MMYY"."""
    for pattern in _EXPIRY:
        found = pattern.fullmatch(text.strip())
        if found:
            month, year = int(found["month"]), int(found["year"])
            if not 1 <= month <= 12:
                return None
            return month, 2000 + year if year < 100 else year
    return None


def _expiry_problem(month: int, year: int, today: date) -> str | None:
    months_ahead = (year - today.year) * 12 + month - today.month
    if months_ahead < 0:
        return "expired"
    if months_ahead > MAX_YEARS_AHEAD * 12:
        return "invalid_expiry"
    return None
