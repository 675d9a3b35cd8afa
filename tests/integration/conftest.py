"""Builders for integration tests: a merchant with a customer, a card and an invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from relance.bootstrap import App
from relance.domain.attempts import Outcome, RawCodes
from relance.domain.money import Money
from relance.entrypoints.worker import Worker
from relance.services import customers, invoices, merchants, payments
from relance.services.payments import AttemptRecorded


@dataclass
class Shop:
    app: App
    merchant_id: str
    api_key: str

    def customer(
        self,
        ref: str = "c1",
        *,
        token: str | None = "tok_insufficient_funds",
        locale: str = "fr",
        email: str | None = "camille@example.com",
    ) -> str:
        c = customers.register_customer(
            self.app.ctx,
            self.merchant_id,
            customers.CustomerInput(ref, "Camille Martin", email, None, locale, "Europe/Paris"),
        )
        if token:
            customers.add_payment_method(
                self.app.ctx,
                self.merchant_id,
                customers.PaymentMethodInput(
                    c.id, token, brand="visa", last4="4242", exp_month=12, exp_year=2030
                ),
            )
        return c.id

    def invoice(self, customer_id: str, number: str = "F-001", amount: int = 4900) -> str:
        now = self.app.ctx.clock.now()
        inv = invoices.issue_invoice(
            self.app.ctx,
            self.merchant_id,
            invoices.InvoiceInput(
                customer_id,
                number,
                Money(amount, "EUR"),
                now - timedelta(days=30),
                now - timedelta(days=1),
            ),
        )
        return inv.id

    def fail(self, invoice_id: str, amount: int = 4900, **codes: str) -> AttemptRecorded:
        raw = RawCodes(**codes) if codes else RawCodes(decline_code="insufficient_funds")
        return payments.record_payment_attempt(
            self.app.ctx,
            self.merchant_id,
            payments.AttemptInput(
                invoice_id, Money(amount, "EUR"), Outcome.FAILED, self.app.ctx.clock.now(), raw
            ),
        )

    def failed_case(self, token: str = "tok_insufficient_funds", **codes: str) -> str:
        customer_id = self.customer(token=token)
        recorded = self.fail(self.invoice(customer_id), **codes)
        assert recorded.case_id is not None
        return recorded.case_id


@pytest.fixture
def shop(app: App) -> Shop:
    made = merchants.create_merchant(app.ctx, "Acme")
    return Shop(app, made.id, made.api_key)


@pytest.fixture
def worker(app: App) -> Worker:
    return Worker(app.ctx, "test-worker", lease_seconds=60, batch=50)
