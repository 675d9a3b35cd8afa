"""Builders for integration tests: a merchant with a customer, a card and an invoice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App, build
from relance.domain.attempts import Outcome, RawCodes
from relance.domain.money import Money
from relance.entrypoints.worker import Worker
from relance.services import customers, invoices, merchants, payments
from relance.services.payments import AttemptRecorded
from tests.conftest import make_settings
from tests.support.http_recorder import unused_port


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
        phone: str | None = None,
        timezone: str = "Europe/Paris",
        exp: tuple[int, int] = (12, 2030),
    ) -> str:
        c = customers.register_customer(
            self.app.ctx,
            self.merchant_id,
            customers.CustomerInput(ref, "Camille Martin", email, phone, locale, timezone),
        )
        if token:
            customers.add_payment_method(
                self.app.ctx,
                self.merchant_id,
                customers.PaymentMethodInput(
                    c.id, token, brand="visa", last4="4242", exp_month=exp[0], exp_year=exp[1]
                ),
            )
        return c.id

    def invoice(
        self,
        customer_id: str,
        number: str = "F-001",
        amount: int = 4900,
        due_in: timedelta = timedelta(days=-1),
    ) -> str:
        now = self.app.ctx.clock.now()
        inv = invoices.issue_invoice(
            self.app.ctx,
            self.merchant_id,
            invoices.InvoiceInput(
                customer_id,
                number,
                Money(amount, "EUR"),
                now - timedelta(days=30),
                now + due_in,
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


@dataclass
class Received:
    """One email as the SMTP server received it, with the FrozenClock time it arrived."""

    at: datetime
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Recorder:
    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.received: list[Received] = []
        self.port = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=email_policy)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(self.clock.now(), envelope.mail_from, list(envelope.rcpt_tos), parsed)
        )
        return "250 OK"


@pytest.fixture
def smtp(clock: FrozenClock) -> Iterator[_Recorder]:
    """A real SMTP server (aiosmtpd) on a free local port, recording what it receives."""
    recorder = _Recorder(clock)
    recorder.port = unused_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.fixture
def mail_app(
    database_url: str, tmp_path: Path, clock: FrozenClock, smtp: _Recorder
) -> Iterator[App]:
    """The application sending email through the real SMTP server above."""
    settings = make_settings(
        database_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls=never"
    )
    built = build(settings, clock=clock)
    built.migrate()
    yield built
    built.close()
