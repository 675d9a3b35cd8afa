"""An invoice and its balance: what the customer owes, and when it became overdue."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from relance.domain.errors import Conflict, InvalidInput
from relance.domain.money import Money


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    customer_id: str
    number: str
    amount: Money
    paid: Money
    issued_at: datetime
    due_at: datetime
    subscription_ref: str | None = None
    status: InvoiceStatus = InvoiceStatus.OPEN

    @classmethod
    def issue(
        cls,
        *,
        id: str,
        customer_id: str,
        number: str,
        amount: Money,
        issued_at: datetime,
        due_at: datetime,
        subscription_ref: str | None = None,
    ) -> Invoice:
        if not amount.is_positive():
            raise InvalidInput("An invoice amount must be greater than zero.")
        if due_at < issued_at:
            raise InvalidInput("An invoice cannot be due before it is issued.")
        if not number.strip():
            raise InvalidInput("An invoice needs a number.")
        return cls(
            id=id,
            customer_id=customer_id,
            number=number.strip(),
            amount=amount,
            paid=Money.zero(amount.currency),
            issued_at=issued_at,
            due_at=due_at,
            subscription_ref=subscription_ref,
        )

    @property
    def balance(self) -> Money:
        remaining = self.amount - self.paid
        return remaining if remaining.minor > 0 else Money.zero(self.amount.currency)

    @property
    def is_settled(self) -> bool:
        return self.balance.minor == 0

    def apply_payment(self, amount: Money) -> Invoice:
        """The invoice after money arrived; overpayment is kept visible in `paid`."""
        if not amount.is_positive():
            raise InvalidInput("A payment amount must be greater than zero.")
        if amount.currency != self.amount.currency:
            raise InvalidInput(
                f"This invoice is in {self.amount.currency}; a payment in {amount.currency} "
                "cannot be applied to it."
            )
        if self.is_settled:
            raise Conflict(f"Invoice {self.number} is already paid in full.")
        paid = self.paid + amount
        settled = paid.minor >= self.amount.minor
        return replace(self, paid=paid, status=InvoiceStatus.PAID if settled else self.status)

    def days_overdue(self, now: datetime) -> int:
        if self.is_settled or now <= self.due_at:
            return 0
        return (now - self.due_at).days
