"""Raw decline codes -> a decline reason, what may be retried, and what to tell people.

The tables are data (data/declines/*.toml, each entry with its source and the date it took
effect); this module only reads them. Five vocabularies are understood, one per raw field:

    decline_code           Stripe decline codes          (stripe.toml [codes])
    advice_code            Stripe advice codes           (stripe.toml [advice])
    network_response_code  ISO 8583 field 39 / Visa      (iso8583.toml, then visa.toml)
    network_advice_code    Mastercard Merchant Advice    (mastercard.toml)
    sepa_reason_code       SEPA Direct Debit R-codes     (sepa.toml)

When codes disagree the most restrictive class wins (a network "never" beats a processor's
generic decline). An unknown code reads as `later` and is reported, so it can be added.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from relance.domain.attempts import RawCodes
from relance.domain.errors import InvalidInput


class RetryClass(StrEnum):
    NEVER = "never"  # the issuer will never approve: retrying breaks network rules
    FIX_DATA = "fix_data"  # only after the payment method changes
    CUSTOMER_ACTION = "customer_action"  # the customer must authenticate or update
    LATER = "later"  # wait, then retry within limits
    TECHNICAL = "technical"  # transient: retry soon


# Most restrictive first: when codes disagree, the lowest rank wins.
_RANK = {
    RetryClass.NEVER: 0,
    RetryClass.FIX_DATA: 1,
    RetryClass.CUSTOMER_ACTION: 2,
    RetryClass.LATER: 3,
    RetryClass.TECHNICAL: 4,
}


def is_stricter(a: RetryClass, b: RetryClass) -> bool:
    """Whether class `a` restricts retrying more than class `b`."""
    return _RANK[a] < _RANK[b]


SCHEMES = ("stripe", "stripe_advice", "iso8583", "visa", "mastercard", "sepa")
LOCALES = ("fr", "en")
MAX_CODE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class CodeEntry:
    scheme: str
    code: str
    reason: str
    retry_class: RetryClass
    description: str
    source: str
    effective: str
    visa_category: int | None = None
    retry_after_hours: int | None = None
    representable: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    key: str
    merchant: str
    action: str
    customer: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DeclineVerdict:
    reason: str
    retry_class: RetryClass
    decided_by: str  # which raw code decided, e.g. "decline_code=lost_card"
    readings: tuple[CodeEntry, ...] = ()
    unknown: tuple[str, ...] = ()  # raw codes no table knows, e.g. ("decline_code=foo",)

    @property
    def allows_automatic_retry(self) -> bool:
        return self.retry_class in (RetryClass.LATER, RetryClass.TECHNICAL)

    @property
    def visa_category(self) -> int | None:
        return next((r.visa_category for r in self.readings if r.visa_category), None)

    @property
    def retry_after_hours(self) -> int | None:
        return max((r.retry_after_hours or 0 for r in self.readings), default=0) or None


def normalise_code(raw: str) -> str:
    code = raw.strip()
    if not code:
        raise InvalidInput("A decline code cannot be empty.")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidInput(f"A decline code has at most {MAX_CODE_LENGTH} characters.")
    return code


# Which tables read which raw field, in order of preference.
_FIELDS = (
    ("decline_code", ("stripe",)),
    ("advice_code", ("stripe_advice",)),
    ("network_response_code", ("iso8583", "visa")),
    ("network_advice_code", ("mastercard",)),
    ("sepa_reason_code", ("sepa",)),
)


@dataclass(frozen=True)
class DeclineCatalogue:
    entries: Mapping[tuple[str, str], CodeEntry]
    reasons: Mapping[str, Reason]

    def lookup(self, scheme: str, code: str) -> CodeEntry | None:
        if scheme not in SCHEMES:
            raise InvalidInput(f"Unknown scheme '{scheme}'; use one of {', '.join(SCHEMES)}.")
        key = normalise_code(code)
        for candidate in (key, key.lower(), key.upper()):
            entry = self.entries.get((scheme, candidate))
            if entry:
                return entry
        return None

    def reason(self, key: str) -> Reason:
        return self.reasons.get(key) or self.reasons["unknown"]

    def _read(self, schemes: tuple[str, ...], code: str) -> CodeEntry | None:
        found = [e for s in schemes if (e := self.lookup(s, code))]
        if not found:
            return None
        # ISO 8583 gives the meaning; Visa's own table, when it knows the code, its category.
        category = next((e.visa_category for e in reversed(found) if e.visa_category), None)
        first = found[0]
        if category and first.visa_category != category:
            first = CodeEntry(**{**_fields_of(first), "visa_category": category})
        return first

    def classify(self, codes: RawCodes) -> DeclineVerdict:
        """The most restrictive reading of every code present."""
        readings: list[tuple[str, CodeEntry]] = []
        unknown: list[str] = []
        for name, schemes in _FIELDS:
            raw = (getattr(codes, name) or "").strip()
            if not raw:
                continue
            label = f"{name}={raw[:MAX_CODE_LENGTH]}"
            entry = self._read(schemes, raw[:MAX_CODE_LENGTH])
            if entry is None:
                unknown.append(label)
            else:
                readings.append((label, entry))
        if not readings:
            decided_by = unknown[0] if unknown else "no code given"
            return DeclineVerdict("unknown", RetryClass.LATER, decided_by, (), tuple(unknown))
        # Informational codes (e.g. Mastercard 40/41/43: prepaid, virtual card) never decide.
        deciding = [r for r in readings if r[1].note != "informational"] or readings
        label, winner = min(deciding, key=lambda r: _RANK[r[1].retry_class])
        if unknown and _RANK[winner.retry_class] > _RANK[RetryClass.LATER]:
            # An unknown code next to a technical one: be cautious, wait rather than hurry.
            return DeclineVerdict(
                "unknown",
                RetryClass.LATER,
                unknown[0],
                tuple(e for _, e in readings),
                tuple(unknown),
            )
        return DeclineVerdict(
            winner.reason,
            winner.retry_class,
            label,
            tuple(e for _, e in readings),
            tuple(unknown),
        )


def _fields_of(entry: CodeEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in CodeEntry.__slots__}


def _entry(scheme: str, code: str, raw: Mapping[str, Any], meta: Mapping[str, Any]) -> CodeEntry:
    try:
        return CodeEntry(
            scheme=scheme,
            code=code,
            reason=str(raw["reason"]),
            retry_class=RetryClass(raw["class"]),
            description=str(raw["description"]),
            source=str(raw.get("source") or meta["source"]),
            effective=str(raw.get("effective") or meta["effective"]),
            visa_category=raw.get("visa_category", raw.get("category")),
            retry_after_hours=raw.get("retry_after_hours"),
            representable=bool(raw.get("represent", False)),
            note=raw.get("note"),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{scheme} code {code!r} is incomplete: {exc}") from exc


def parse_catalogue(documents: Mapping[str, str]) -> DeclineCatalogue:
    """Build the catalogue from the TOML texts, keyed by file stem (stripe, visa, …)."""
    parsed = {name: tomllib.loads(text) for name, text in documents.items()}
    reasons = {
        key: Reason(key, r["merchant"], r["action"], dict(r["customer"]))
        for key, r in parsed["reasons"]["reasons"].items()
    }
    entries: dict[tuple[str, str], CodeEntry] = {}
    tables = [(s, s, "codes") for s in ("stripe", "iso8583", "visa", "mastercard", "sepa")]
    for scheme, document, table in [*tables, ("stripe_advice", "stripe", "advice")]:
        doc = parsed[document]
        for code, raw in doc.get(table, {}).items():
            entry = _entry(scheme, code, raw, doc["meta"])
            if entry.reason not in reasons:
                raise ValueError(f"{scheme} code {code!r} names an unknown reason {entry.reason!r}")
            entries[(scheme, code)] = entry
    return DeclineCatalogue(entries, reasons)
