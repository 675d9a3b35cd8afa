"""Searching for secrets a customer typed (card numbers, CVCs) or an IBAN where they must never
be kept: the database, the log lines, the pages and emails sent.

Card numbers are found with or without separators (spaces, dashes, no-break spaces), so
"4242 4242 4242 4242" and "4242424242424242" are both caught. A CVC is three digits, so it is
searched as a number standing alone (not inside an id, a token, a decimal or a CSS value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEPARATOR = r"[\s\-\u00a0\u202f]?"


def card_pattern(number: str) -> re.Pattern[str]:
    digits = re.sub(r"\D", "", number)
    return re.compile(_SEPARATOR.join(digits))


def cvc_pattern(cvc: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.:#/+\-]){re.escape(cvc)}(?!\w)")


def iban_pattern(iban: str) -> re.Pattern[str]:
    compact = re.sub(r"\s", "", iban).upper()
    return re.compile(r"\s?".join(re.escape(c) for c in compact), re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    where: str  # "database merchants.iban", "log", "page GET /pay/…", "email …"
    what: str  # the pattern found, never the surrounding secret-bearing text in full
    excerpt: str


def search(places: Iterable[tuple[str, str]], patterns: Iterable[re.Pattern[str]]) -> list[Leak]:
    """Every (place, text) where one of the patterns occurs, with a short excerpt."""
    found: list[Leak] = []
    patterns = list(patterns)
    for where, text in places:
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                start = max(match.start() - 40, 0)
                found.append(Leak(where, pattern.pattern, text[start : match.end() + 40]))
    return found
