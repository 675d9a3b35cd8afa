"""Money received against an invoice, by any means."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from relance.domain.money import Money


class PaymentMethodUsed(StrEnum):
    TRANSFER = "transfer"
    CASH = "cash"
    CARD_ELSEWHERE = "card_elsewhere"
    CHEQUE = "cheque"
    OTHER = "other"
    CARD_ATTEMPT = "card_attempt"  # a succeeded attempt reported by the merchant's processor
    RETRY = "retry"  # a retry Relance made through its gateway
    PAYMENT_PAGE = "payment_page"  # the customer paid on the payment page (card on file)
    INSTALMENT = "instalment"  # a payment plan's instalment or a promised payment, charged


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    invoice_id: str
    amount: Money
    paid_at: datetime
    method: PaymentMethodUsed
    reference: str | None = None
