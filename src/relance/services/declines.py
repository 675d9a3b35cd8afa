"""Explaining decline codes to merchants and customers, from the decline tables."""

from __future__ import annotations

from dataclasses import dataclass

from relance.domain.declines import SCHEMES, CodeEntry, DeclineCatalogue, DeclineVerdict
from relance.domain.errors import NotFound
from relance.services.context import Context


@dataclass(frozen=True, slots=True)
class Explanation:
    entry: CodeEntry
    merchant: str
    action: str
    customer: dict[str, str]


def _explain(catalogue: DeclineCatalogue, entry: CodeEntry) -> Explanation:
    reason = catalogue.reason(entry.reason)
    return Explanation(entry, reason.merchant, reason.action, dict(reason.customer))


def explain_code(catalogue: DeclineCatalogue, scheme: str | None, code: str) -> list[Explanation]:
    """Every reading of `code` (one scheme, or all of them when none is given)."""
    schemes = (scheme,) if scheme else SCHEMES
    found = [e for s in schemes if (e := catalogue.lookup(s, code))]
    if not found:
        where = f"the {scheme} table" if scheme else "any table"
        raise NotFound(f"The code '{code.strip()}' is not in {where}.")
    return [_explain(catalogue, e) for e in found]


def all_codes(catalogue: DeclineCatalogue) -> list[Explanation]:
    entries = sorted(catalogue.entries.values(), key=lambda e: (SCHEMES.index(e.scheme), e.code))
    return [_explain(catalogue, e) for e in entries]


def failure_summary(catalogue: DeclineCatalogue, verdict: DeclineVerdict, what: str) -> str:
    """The timeline line for a failed payment: reason, class, why, and what to do."""
    reason = catalogue.reason(verdict.reason)
    line = (
        f"{what}: {verdict.reason} (class {verdict.retry_class.value}, {verdict.decided_by}). "
        f"{reason.merchant} {reason.action}"
    )
    if verdict.unknown:
        line += (
            f" Unknown code{'s' if len(verdict.unknown) > 1 else ''}: {', '.join(verdict.unknown)}."
        )
    return line


def customer_message(catalogue: DeclineCatalogue, reason: str, locale: str) -> str:
    return catalogue.reason(reason).customer.get(locale) or catalogue.reason(reason).customer["en"]


def unknown_codes(ctx: Context, merchant_id: str) -> list[tuple[str, int]]:
    """Raw codes on this merchant's failures that no table knows, most frequent first: they
    were read cautiously (class later) and are worth adding to the tables."""
    with ctx.uow() as store:
        seen = store.failure_codes_seen(merchant_id)
    counts: dict[str, int] = {}
    for codes, count in seen:
        for label in ctx.catalogue.classify(codes).unknown:
            counts[label] = counts.get(label, 0) + count
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
