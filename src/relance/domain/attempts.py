"""A payment attempt as the processor reported it: the raw codes are kept verbatim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from relance.domain.money import Money


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AttemptSource(StrEnum):
    MERCHANT = "merchant"  # reported by the merchant's own processor
    RELANCE = "relance"  # a retry Relance made through its gateway


@dataclass(frozen=True, slots=True)
class RawCodes:
    """What the processor and the networks said, exactly as received (never normalised here)."""

    decline_code: str | None = None
    network_response_code: str | None = None
    network_advice_code: str | None = None
    sepa_reason_code: str | None = None
    processor: str | None = None
    advice_code: str | None = None  # Stripe's advice_code (try_again_later, do_not_try_again…)

    def is_empty(self) -> bool:
        return not any(
            (
                self.decline_code,
                self.network_response_code,
                self.network_advice_code,
                self.sepa_reason_code,
                self.advice_code,
            )
        )


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    id: str
    invoice_id: str
    amount: Money
    outcome: Outcome
    attempted_at: datetime
    codes: RawCodes
    source: AttemptSource = AttemptSource.MERCHANT
    payment_method_id: str | None = None
    gateway_reference: str | None = None
