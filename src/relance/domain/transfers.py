"""Bank transfers: the structured reference a customer copies, and an IBAN shown half-hidden.

The reference is an ISO 11649 creditor reference ("RF" + 2 check digits + up to 21 letters or
digits). Banks across SEPA carry it unchanged and its check digits catch a mistyped character,
so the reconciliation import can match a transfer to its invoices without guessing.
"""

from __future__ import annotations

import re

from relance.domain.errors import InvalidInput

SEED_MAX = 21
_SEED = re.compile(r"[A-Z0-9]{1,21}")
_REFERENCE = re.compile(r"RF[0-9]{2}[A-Z0-9]{1,21}")
_SPACES = re.compile(r"\s+")
MASK = "•"


def _compact(text: str) -> str:
    return _SPACES.sub("", text).upper()


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters read as numbers (A=10 … Z=35), as for IBANs."""
    return int("".join(str(int(char, 36)) for char in text)) % 97


def creditor_reference(seed: str) -> str:
    """The RF reference of `seed` (letters and digits, at most 21), in compact form."""
    body = _compact(seed)
    if not _SEED.fullmatch(body):
        raise InvalidInput(
            f"A creditor reference is built from 1 to {SEED_MAX} letters or digits, not '{seed}'."
        )
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_valid_reference(ref: str) -> bool:
    """Whether `ref` (spaces and case do not matter) is a creditor reference with the right
    check digits."""
    compact = _compact(ref)
    return bool(_REFERENCE.fullmatch(compact)) and _mod97(compact[4:] + compact[:4]) == 1


def format_reference(ref: str) -> str:
    """Groups of four, as printed on invoices and typed in banking apps: "RF18 5390 0754 7034"."""
    compact = _compact(ref)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str) -> str:
    """An IBAN with only its country, check digits and last 3 characters visible, in groups of
    four: enough for a person to recognise the account, too little to reuse it."""
    compact = _compact(iban)
    head, tail = 4, 3
    if len(compact) <= head + tail:
        head, tail = min(2, len(compact)), 0
    hidden = len(compact) - head - tail
    masked = compact[:head] + MASK * hidden + compact[len(compact) - tail :]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))
