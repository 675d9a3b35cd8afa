"""The network-rule guard inside the loop: retries a rule forbids are not scheduled, and a
rule learnt later stops a retry already planned, with the rule named in the timeline."""

from __future__ import annotations

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.domain.customers import MethodType
from relance.entrypoints.worker import Worker
from relance.services import cases, customers

from .conftest import Shop


def card(shop: Shop, customer_id: str, token: str, brand: str, fingerprint: str) -> None:
    customers.add_payment_method(
        shop.app.ctx,
        shop.merchant_id,
        customers.PaymentMethodInput(customer_id, token, brand=brand, fingerprint=fingerprint),
    )


def test_a_sepa_debit_is_represented_at_most_twice(shop: Shop, app: App):
    customer_id = shop.customer(token=None)
    customers.add_payment_method(
        app.ctx,
        shop.merchant_id,
        customers.PaymentMethodInput(
            customer_id, "tok_sepa_insufficient_funds", MethodType.SEPA_DEBIT
        ),
    )
    case_id = shop.fail(shop.invoice(customer_id), sepa_reason_code="AM04").case_id or ""
    v = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert [a.number for a in v.actions if a.kind.value == "retry"] == [1, 2]
    stopped = [e for e in v.timeline if e.kind.value == "retry_stopped"]
    assert [e.data["rule"] for e in stopped] == ["sepa-representments"] * 2
    assert "Retry 3 not scheduled" in stopped[0].summary


def test_a_sepa_refusal_by_the_debtor_is_never_represented(shop: Shop, app: App):
    customer_id = shop.customer(token=None)
    customers.add_payment_method(
        app.ctx, shop.merchant_id,
        customers.PaymentMethodInput(customer_id, "tok_x", MethodType.SEPA_DEBIT),
    )  # fmt: skip
    case_id = shop.fail(shop.invoice(customer_id), sepa_reason_code="MS02").case_id or ""
    v = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert [a for a in v.actions if a.kind.value == "retry"] == []
    assert v.case.retry_class.value == "never"


def test_a_mastercard_wait_advice_holds_the_first_retry_back(shop: Shop, app: App):
    customer_id = shop.customer(token=None)
    card(shop, customer_id, "tok_insufficient_funds", "mastercard", "fp-mc")
    # MAC 30: do not retry before 10 days (240 h): retries on days 1, 3, 5 and 8 all fall inside.
    case_id = shop.fail(
        shop.invoice(customer_id), network_response_code="51", network_advice_code="30"
    ).case_id
    v = cases.get_case(app.ctx, shop.merchant_id, case_id or "")
    assert [a for a in v.actions if a.kind.value == "retry"] == []
    rules = {e.data["rule"] for e in v.timeline if e.kind.value == "retry_stopped"}
    assert rules == {"mastercard-advice-wait"}


def test_a_card_declined_as_lost_elsewhere_stops_a_retry_already_planned(
    shop: Shop, app: App, clock: FrozenClock, worker: Worker
):
    first = shop.customer("c1", token=None)
    card(shop, first, "tok_ok", "visa", "fp-shared")
    planned = shop.fail(shop.invoice(first, "F-1")).case_id or ""
    # The same card (same fingerprint, another token) is reported lost on another invoice.
    second = shop.customer("c2", token=None)
    card(shop, second, "tok_other", "visa", "fp-shared")
    shop.fail(shop.invoice(second, "F-2"), network_response_code="41")
    clock.advance(days=1)
    while worker.run_once():
        pass
    v = cases.get_case(app.ctx, shop.merchant_id, planned)
    retries = [a for a in v.actions if a.kind.value == "retry"]
    assert [a.status.value for a in retries] == ["skipped", "cancelled", "cancelled", "cancelled"]
    assert "never-retry-decline" in (retries[0].result or "")
    assert app.gateway.charges() == []


def test_an_expired_card_waits_for_a_new_one_then_retries_at_once(
    shop: Shop, app: App, worker: Worker, clock: FrozenClock
):
    customer_id = shop.customer(token="tok_expired")
    case_id = shop.fail(shop.invoice(customer_id), decline_code="expired_card").case_id or ""
    v = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert [a for a in v.actions if a.kind.value == "retry"] == []
    from relance.domain.cases import awaiting

    assert awaiting(v.case) == "new_payment_method"
    clock.advance(hours=2)
    customers.add_payment_method(
        app.ctx, shop.merchant_id, customers.PaymentMethodInput(customer_id, "tok_ok", brand="visa")
    )
    while worker.run_once():
        pass
    v = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert v.case.status.value == "recovered"
    assert awaiting(v.case) is None
    [charge] = app.gateway.charges()
    assert charge["succeeded"] is True


def test_a_stricter_failure_changes_what_the_case_waits_for(shop: Shop, app: App):
    customer_id = shop.customer()
    invoice_id = shop.invoice(customer_id)
    case_id = shop.fail(invoice_id).case_id or ""
    shop.fail(invoice_id, decline_code="authentication_required")
    v = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert (v.case.reason, v.case.retry_class.value) == (
        "authentication_required",
        "customer_action",
    )


def test_unknown_codes_are_counted_for_the_merchant(shop: Shop, app: App):
    from relance.services.declines import unknown_codes

    customer_id = shop.customer()
    shop.fail(shop.invoice(customer_id, "F-1"), decline_code="brand_new_code")
    shop.fail(
        shop.invoice(customer_id, "F-2"), decline_code="brand_new_code", network_response_code="51"
    )
    shop.fail(shop.invoice(customer_id, "F-3"), sepa_reason_code="ZZ99")
    shop.fail(shop.invoice(customer_id, "F-4"))  # known: insufficient_funds
    assert unknown_codes(app.ctx, shop.merchant_id) == [
        ("decline_code=brand_new_code", 2),
        ("sepa_reason_code=ZZ99", 1),
    ]
    case = cases.get_case(
        app.ctx,
        shop.merchant_id,
        shop.fail(shop.invoice(customer_id, "F-5"), decline_code="odd").case_id or "",
    )
    assert "Unknown code: decline_code=odd" in case.timeline[0].summary
