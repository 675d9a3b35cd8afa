"""Raw decline codes -> a decline reason and what may be retried.

This is the foundation's first cut: the codes our sandbox gateway produces and the most
common Stripe, ISO 8583 and SEPA codes. The complete, sourced tables (Visa categories,
Mastercard advice codes, every SEPA reason) replace it with data files in the decline
intelligence work. When several codes are present, the most restrictive class wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relance.domain.attempts import RawCodes


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


@dataclass(frozen=True, slots=True)
class DeclineVerdict:
    reason: str
    retry_class: RetryClass
    decided_by: str  # which raw code decided, e.g. "decline_code=lost_card"

    @property
    def allows_automatic_retry(self) -> bool:
        return self.retry_class in (RetryClass.LATER, RetryClass.TECHNICAL)


_N, _F, _C, _L, _T = (
    RetryClass.NEVER,
    RetryClass.FIX_DATA,
    RetryClass.CUSTOMER_ACTION,
    RetryClass.LATER,
    RetryClass.TECHNICAL,
)

_STRIPE: dict[str, tuple[str, RetryClass]] = {
    "insufficient_funds": ("insufficient_funds", _L),
    "card_velocity_exceeded": ("limit_exceeded", _L),
    "withdrawal_count_limit_exceeded": ("limit_exceeded", _L),
    "generic_decline": ("do_not_honor", _L),
    "do_not_honor": ("do_not_honor", _L),
    "call_issuer": ("do_not_honor", _L),
    "expired_card": ("expired_card", _F),
    "incorrect_cvc": ("invalid_card_data", _F),
    "incorrect_number": ("invalid_card_data", _F),
    "invalid_expiry_month": ("invalid_card_data", _F),
    "invalid_expiry_year": ("invalid_card_data", _F),
    "authentication_required": ("authentication_required", _C),
    "lost_card": ("lost_or_stolen", _N),
    "stolen_card": ("lost_or_stolen", _N),
    "pickup_card": ("lost_or_stolen", _N),
    "fraudulent": ("suspected_fraud", _N),
    "revocation_of_authorization": ("revoked_authorization", _N),
    "revocation_of_all_authorizations": ("revoked_authorization", _N),
    "stop_payment_order": ("revoked_authorization", _N),
    "invalid_account": ("closed_account", _N),
    "transaction_not_allowed": ("not_permitted", _N),
    "not_permitted": ("not_permitted", _N),
    "processing_error": ("processing_error", _T),
    "issuer_not_available": ("issuer_unavailable", _T),
    "try_again_later": ("issuer_unavailable", _T),
    "duplicate_transaction": ("duplicate", _N),
}

_ISO8583: dict[str, tuple[str, RetryClass]] = {
    "05": ("do_not_honor", _L),
    "51": ("insufficient_funds", _L),
    "54": ("expired_card", _F),
    "41": ("lost_or_stolen", _N),
    "43": ("lost_or_stolen", _N),
    "04": ("lost_or_stolen", _N),
    "07": ("lost_or_stolen", _N),
    "46": ("closed_account", _N),
    "57": ("not_permitted", _N),
    "91": ("issuer_unavailable", _T),
    "96": ("processing_error", _T),
    "R0": ("revoked_authorization", _N),
    "R1": ("revoked_authorization", _N),
    "R3": ("revoked_authorization", _N),
}

_MASTERCARD_ADVICE: dict[str, tuple[str, RetryClass]] = {
    "01": ("expired_card", _F),
    "03": ("do_not_honor", _N),
    "21": ("revoked_authorization", _N),
}

_SEPA: dict[str, tuple[str, RetryClass]] = {
    "AM04": ("insufficient_funds", _L),
    "MS03": ("do_not_honor", _L),
    "MS02": ("revoked_authorization", _N),
    "MD01": ("revoked_authorization", _N),
    "MD06": ("revoked_authorization", _N),
    "MD07": ("closed_account", _N),
    "AC04": ("closed_account", _N),
    "AC01": ("invalid_card_data", _F),
}


def classify(codes: RawCodes) -> DeclineVerdict:
    """The most restrictive reading of every code present; unknown codes read as `later`."""
    candidates: list[DeclineVerdict] = []
    lookups = (
        ("decline_code", codes.decline_code, _STRIPE),
        ("network_response_code", codes.network_response_code, _ISO8583),
        ("network_advice_code", codes.network_advice_code, _MASTERCARD_ADVICE),
        ("sepa_reason_code", codes.sepa_reason_code, _SEPA),
    )
    for field, raw, table in lookups:
        key = (raw or "").strip()
        if not key:
            continue
        found = table.get(key) or table.get(key.lower()) or table.get(key.upper())
        reason, retry_class = found if found else ("unknown", RetryClass.LATER)
        candidates.append(DeclineVerdict(reason, retry_class, f"{field}={key}"))
    if not candidates:
        return DeclineVerdict("unknown", RetryClass.LATER, "no code given")
    return min(candidates, key=lambda v: (_RANK[v.retry_class], v.reason == "unknown"))
