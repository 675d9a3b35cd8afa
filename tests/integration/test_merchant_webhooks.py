"""Merchant webhooks end to end: events are queued with the change they announce, delivered
signed to a real local HTTP server, retried with backoff, and logged per endpoint."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.entrypoints.worker import Worker
from relance.services import payments, webhooks
from tests.support.http_recorder import HttpRecorder, Reply

from .conftest import Shop


def verify_independently(secret: str, body: bytes, header: str) -> bool:
    """The receiver's side, written from the documentation: t=<unix>,v1=<hex hmac>."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def drain(worker: Worker) -> None:
    while worker.run_once():
        pass


def test_case_events_reach_the_endpoint_signed_in_order(
    shop: Shop, worker: Worker, app: App, clock: FrozenClock
):
    with HttpRecorder() as server:
        endpoint = webhooks.add_endpoint(
            app.ctx, shop.merchant_id, server.url + "/hooks", ["case.opened", "invoice.recovered"]
        )
        customer_id = shop.customer()
        invoice_id = shop.invoice(customer_id)
        case_id = shop.fail(invoice_id).case_id
        payments.record_payment(
            app.ctx,
            shop.merchant_id,
            invoice_id,
            payments.PaymentInput(Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER),
        )
        drain(worker)
        types = [r.json()["type"] for r in server.requests]
        assert types == ["case.opened", "invoice.recovered"]  # retry.scheduled not subscribed
        for request in server.requests:
            header = request.header("relance-signature")
            assert header is not None
            assert verify_independently(endpoint.secret, request.body, header)
            assert not verify_independently("whsec_wrong", request.body, header)
            assert request.json()["data"]["case_id"] == case_id
            assert request.json()["data"]["invoice_number"] == "F-001"


def test_an_exhausted_case_asks_the_merchant_to_suspend_then_to_reinstate_on_payment(
    shop: Shop, worker: Worker, app: App, clock: FrozenClock
):
    with HttpRecorder() as server:
        webhooks.add_endpoint(app.ctx, shop.merchant_id, server.url, ["*"])
        customer_id = shop.customer(email=None)
        invoice_id = shop.invoice(customer_id)
        shop.fail(invoice_id)
        for _ in range(16):
            clock.advance(days=1)
            drain(worker)
        payments.record_payment(
            app.ctx,
            shop.merchant_id,
            invoice_id,
            payments.PaymentInput(Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER),
        )
        drain(worker)
        types = [r.json()["type"] for r in server.requests]
        assert types[0] == "case.opened"
        assert types.count("retry.scheduled") == 4
        assert types.count("retry.failed") == 4
        tail = types[types.index("case.exhausted") :]
        assert tail == [
            "case.exhausted",
            "customer.suspend_requested",
            "invoice.recovered",
            "customer.reinstate_requested",
        ]


def test_a_failing_endpoint_is_retried_with_backoff_and_the_log_shows_each_attempt(
    shop: Shop, worker: Worker, app: App, clock: FrozenClock
):
    with HttpRecorder() as server:
        server.reply(Reply(status=500), Reply(status=503), Reply(status=200))
        endpoint = webhooks.add_endpoint(app.ctx, shop.merchant_id, server.url, ["case.opened"])
        shop.fail(shop.invoice(shop.customer()))
        drain(worker)
        clock.advance(minutes=1)
        drain(worker)
        clock.advance(minutes=1)
        drain(worker)
        assert len(server.requests) == 2  # the second retry waits 2 minutes, not 1
        clock.advance(minutes=1)
        drain(worker)
        assert len(server.requests) == 3
        bodies = {r.body for r in server.requests}
        assert len(bodies) == 1  # the same event, byte for byte, every time
        log = webhooks.delivery_log(app.ctx, shop.merchant_id, endpoint.id, None, 10)
        assert [(a.attempt, a.status_code) for a in log] == [(3, 200), (2, 503), (1, 500)]
        assert log[0].next_attempt_at is None
        assert log[2].next_attempt_at is not None


def test_an_endpoint_that_never_answers_is_given_up_after_three_days(
    shop: Shop, worker: Worker, app: App, clock: FrozenClock
):
    with HttpRecorder(lambda request: Reply(status=500)) as server:
        endpoint = webhooks.add_endpoint(app.ctx, shop.merchant_id, server.url, ["case.opened"])
        shop.fail(shop.invoice(shop.customer()))
        for _ in range(80):
            drain(worker)
            clock.advance(hours=1)
        log = webhooks.delivery_log(app.ctx, shop.merchant_id, endpoint.id, None, 100)
        assert log[0].next_attempt_at is None  # the last attempt gave up
        assert log[-1].at + timedelta(days=3) >= log[0].at
        assert log[0].at - log[-1].at > timedelta(days=2)  # it kept trying for days
        assert len(server.requests) == len(log) < 30  # backoff, not a retry storm


def test_a_disabled_endpoint_receives_nothing_more(
    shop: Shop, worker: Worker, app: App, clock: FrozenClock
):
    with HttpRecorder() as server:
        endpoint = webhooks.add_endpoint(app.ctx, shop.merchant_id, server.url, ["*"])
        webhooks.disable_endpoint(app.ctx, shop.merchant_id, endpoint.id)
        shop.fail(shop.invoice(shop.customer()))
        drain(worker)
        assert server.requests == []
        log = webhooks.delivery_log(app.ctx, shop.merchant_id, endpoint.id, None, 10)
        assert log == []
