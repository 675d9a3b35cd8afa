"""The decision loop end to end through the services, on SQLite and PostgreSQL, with a
frozen clock moved by hand."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as email_policy

import pytest

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.domain.cases import CaseStatus
from relance.domain.errors import NotFound
from relance.domain.invoices import InvoiceStatus
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.entrypoints.worker import Worker
from relance.services import cases, invoices, merchants, payments, policies

from .conftest import Shop


def view(shop: Shop, case_id: str) -> cases.CaseView:
    return cases.get_case(shop.app.ctx, shop.merchant_id, case_id)


def statuses(v: cases.CaseView, kind: str) -> list[str]:
    return [a.status.value for a in v.actions if a.kind.value == kind]


def by_step(v: cases.CaseView) -> dict[str, str]:
    """Each message step of the case and its action's status."""
    return {a.step: a.status.value for a in v.actions if a.step is not None}


def run_daily(worker: Worker, clock: FrozenClock, days: int) -> None:
    """A worker that drains the queue at T0's time of day, then on each of the next `days`.

    Moving the clock a whole stretch at once would run every step late and at the same
    instant, so the 48 h gap and the 7-day cap would defer or drop messages that a real
    worker, running all along, sends on their own day.
    """
    for day in range(days + 1):
        if day:
            clock.advance(days=1)
        while worker.run_once():
            pass


def test_a_failed_attempt_opens_a_case_with_the_default_schedule(shop: Shop, clock: FrozenClock):
    v = view(shop, shop.failed_case())
    assert v.case.status is CaseStatus.ACTIVE
    assert v.case.reason == "insufficient_funds"
    retries = [a for a in v.actions if a.kind.value == "retry"]
    assert [a.due_at - clock.now() for a in retries] == [timedelta(days=d) for d in (1, 3, 5, 8)]
    messages = [a for a in v.actions if a.kind.value == "reminder"]
    assert [a.step for a in messages] == [
        "payment_failed",
        "follow_up_1",
        "follow_up_2",
        "final_notice",
    ]
    # Days 0, 3, 7 and 12 from Saturday 21 November (Sat, Tue, Sat, Thu at 10:00 Paris) are
    # all allowed sending days and hours, so none is moved from its day.
    assert [a.due_at - clock.now() for a in messages] == [timedelta(days=d) for d in (0, 3, 7, 12)]
    assert statuses(v, "exhaust") == ["pending"]
    assert all(a.explanation for a in v.actions)
    assert v.timeline[0].kind.value == "case_opened"


def test_the_payment_failed_message_goes_out_at_once_in_french_and_is_kept(
    shop: Shop, worker: Worker, app: App
):
    case_id = shop.failed_case()
    assert worker.run_once() == 1
    v = view(shop, case_id)
    [message] = v.messages
    assert message.step == "payment_failed"
    assert message.status.value == "sent"
    assert "F-001" in message.subject
    assert "49,00\xa0€" in message.body  # Babel, French format
    [eml] = app.outbox.sent()
    parsed = message_from_bytes(eml.read_bytes(), policy=email_policy)
    assert parsed["To"] == "camille@example.com"
    assert parsed["Subject"] == message.subject
    assert statuses(v, "reminder")[0] == "done"


def test_a_successful_retry_records_the_payment_and_recovers_the_case(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    case_id = shop.failed_case(token="tok_ok_after_1")
    assert worker.run_once() == 1  # the payment_failed message, at once (Saturday)
    clock.advance(days=1)
    # Sunday: no message is due, and retries are not messages, so retry 1 runs (and declines:
    # the first charge of this token).
    assert worker.run_once() == 1
    assert view(shop, case_id).case.status is CaseStatus.ACTIVE
    clock.advance(days=2)
    # Tuesday: retry 2 and the day-3 follow-up fall due together; the retry was planned first
    # and succeeds, so the follow-up, claimed in the same batch, finds the case recovered.
    assert worker.run_once() == 2
    v = view(shop, case_id)
    assert v.case.status is CaseStatus.RECOVERED
    assert v.invoice.status is InvoiceStatus.PAID
    assert v.invoice.balance.minor == 0
    assert statuses(v, "retry") == ["done", "done", "cancelled", "cancelled"]
    assert by_step(v) == {
        "payment_failed": "done",
        "follow_up_1": "skipped",
        "follow_up_2": "cancelled",
        "final_notice": "cancelled",
        "resolved": "pending",
    }
    assert statuses(v, "exhaust") == ["cancelled"]
    assert [m.step for m in v.messages] == ["payment_failed"]
    assert len(app.gateway.charges()) == 2
    with app.ctx.uow() as store:
        [paid] = store.list_payments(v.invoice.id)
    assert paid.method is PaymentMethodUsed.RETRY


def test_a_transfer_that_settles_the_invoice_cancels_the_dunning_and_tells_the_customer(
    shop: Shop, worker: Worker, clock: FrozenClock
):
    case_id = shop.failed_case()
    invoice_id = view(shop, case_id).invoice.id
    payments.record_payment(
        shop.app.ctx,
        shop.merchant_id,
        invoice_id,
        payments.PaymentInput(
            Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER, "VIR-42"
        ),
    )
    v = view(shop, case_id)
    assert v.case.status is CaseStatus.RECOVERED
    # Every retry, message and the exhaustion are cancelled; the only thing left is the
    # "all settled" message, due at once.
    [resolved] = [a for a in v.actions if a.status.value != "cancelled"]
    assert (resolved.step, resolved.status.value, resolved.due_at) == (
        "resolved",
        "pending",
        clock.now(),
    )
    assert len(v.actions) == 10  # 4 retries, 4 dunning messages, the exhaustion, resolved
    assert "invoice_recovered" in [e.kind.value for e in v.timeline]
    assert worker.run_once() == 1
    [message] = view(shop, case_id).messages
    assert (message.step, message.status.value) == ("resolved", "sent")


def test_a_partial_payment_lowers_the_balance_and_dunning_goes_on(shop: Shop, clock: FrozenClock):
    case_id = shop.failed_case()
    invoice_id = view(shop, case_id).invoice.id
    updated = payments.record_payment(
        shop.app.ctx,
        shop.merchant_id,
        invoice_id,
        payments.PaymentInput(Money(1900, "EUR"), clock.now(), PaymentMethodUsed.CASH),
    )
    assert updated.balance == Money(3000, "EUR")
    v = view(shop, case_id)
    assert v.case.status is CaseStatus.ACTIVE
    assert "cancelled" not in {a.status.value for a in v.actions}
    assert by_step(v)["receipt"] == "pending"  # a receipt for the 19 €, but no "resolved"
    assert "resolved" not in by_step(v)


def test_a_lost_card_is_never_retried_but_the_customer_is_still_reminded(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    case_id = shop.failed_case(token="tok_lost", decline_code="lost_card")
    v = view(shop, case_id)
    assert statuses(v, "retry") == []
    assert any("never be retried" in e.summary for e in v.timeline)
    run_daily(worker, clock, days=30)
    assert app.gateway.charges() == []
    v = view(shop, case_id)
    assert v.case.status is CaseStatus.EXHAUSTED
    # Every dunning step goes out on its own day: days 0, 3, 7 and 12 are Sat, Tue, Sat, Thu
    # (no Sunday), at least 72 h apart, and never a third message inside 7 days (day 0 leaves
    # the rolling window exactly when day 7 is due). The customer has no phone, so the SMS
    # of days 7 and 12 are dropped and only the 4 emails go.
    assert [(m.step, m.sent_at) for m in v.messages] == [
        ("payment_failed", v.case.opened_at),
        ("follow_up_1", v.case.opened_at + timedelta(days=3)),
        ("follow_up_2", v.case.opened_at + timedelta(days=7)),
        ("final_notice", v.case.opened_at + timedelta(days=12)),
    ]
    assert len(app.outbox.sent()) == 4
    assert app.sms_outbox.sent() == []


def test_a_retry_declined_as_lost_cancels_the_remaining_retries(
    shop: Shop, worker: Worker, clock: FrozenClock
):
    case_id = shop.failed_case(token="tok_lost")  # merchant said insufficient funds
    clock.advance(days=1)
    worker.run_once()
    assert statuses(view(shop, case_id), "retry") == ["done", "cancelled", "cancelled", "cancelled"]


def test_an_unpaid_case_is_exhausted_on_the_last_day(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    case_id = shop.failed_case()
    run_daily(worker, clock, days=14)
    assert view(shop, case_id).case.status is CaseStatus.ACTIVE
    clock.advance(days=1)  # day 15, a Sunday: the exhaustion is no message, so it runs
    worker.run_once()
    v = view(shop, case_id)
    assert v.case.status is CaseStatus.EXHAUSTED
    assert v.case.closed_at == clock.now()
    assert len(app.gateway.charges()) == 4
    # Every retry and every message ran on its day before the exhaustion: nothing was left
    # to cancel.
    assert {a.status.value for a in v.actions} == {"done"}
    assert len(v.messages) == 4


def test_a_retry_without_a_payment_method_is_skipped_with_a_reason(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer(token=None)
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    assert case_id
    clock.advance(days=1)  # Sunday: retry 1 is due (retries ignore the quiet days)
    worker.run_once()
    v = view(shop, case_id)
    retry = next(a for a in v.actions if a.kind.value == "retry")
    assert retry.status.value == "skipped"
    assert "no payment method" in (retry.result or "")
    assert app.gateway.charges() == []


def test_a_paused_case_holds_its_actions_until_resumed(
    shop: Shop, worker: Worker, clock: FrozenClock
):
    case_id = shop.failed_case()
    cases.change_case_status(shop.app.ctx, shop.merchant_id, case_id, CaseStatus.PAUSED)
    clock.advance(days=2)
    assert worker.run_once() == 0
    v = cases.change_case_status(shop.app.ctx, shop.merchant_id, case_id, CaseStatus.ACTIVE)
    due_now = [a for a in v.actions if a.due_at == clock.now()]
    assert {a.step or a.number for a in due_now} == {"payment_failed", 1}
    assert worker.run_once() == 2


def test_a_closed_case_cancels_everything_and_cannot_be_paused(shop: Shop):
    case_id = shop.failed_case()
    v = cases.change_case_status(shop.app.ctx, shop.merchant_id, case_id, CaseStatus.CLOSED)
    assert {a.status.value for a in v.actions} == {"cancelled"}
    with pytest.raises(Exception, match="closed case cannot become paused"):
        cases.change_case_status(shop.app.ctx, shop.merchant_id, case_id, CaseStatus.PAUSED)


def test_another_failure_on_an_open_case_updates_it_instead_of_opening_a_second(shop: Shop):
    customer_id = shop.customer()
    invoice_id = shop.invoice(customer_id)
    first = shop.fail(invoice_id).case_id
    second = shop.fail(invoice_id, decline_code="expired_card").case_id
    assert first == second
    v = view(shop, first or "")
    assert statuses(v, "retry") == ["cancelled"] * 4
    assert len(v.actions) == 9


def test_a_merchant_never_sees_another_merchants_case(shop: Shop, app: App):
    case_id = shop.failed_case()
    other = merchants.create_merchant(app.ctx, "Other")
    with pytest.raises(NotFound):
        cases.get_case(app.ctx, other.id, case_id)
    assert cases.list_cases(app.ctx, other.id, None, None, 10).items == []


def test_a_new_policy_version_applies_to_new_cases_only(shop: Shop, app: App):
    old_case = shop.failed_case()
    source = (
        policies.default_policy_source()
        .replace("version = 1", "version = 2")
        .replace("days_after_failure = [1, 3, 5, 8]", "days_after_failure = [2, 4]")
    )
    policies.set_policy(app.ctx, shop.merchant_id, source)
    customer_id = shop.customer("c2")
    new_case = shop.fail(shop.invoice(customer_id, "F-002")).case_id or ""
    assert len(statuses(view(shop, old_case), "retry")) == 4
    assert view(shop, new_case).case.policy_version == 2
    assert len(statuses(view(shop, new_case), "retry")) == 2


def test_a_stale_policy_version_is_refused(shop: Shop, app: App):
    with pytest.raises(Exception, match="version above 1"):
        policies.set_policy(app.ctx, shop.merchant_id, policies.default_policy_source())


def test_an_action_whose_worker_died_is_claimed_again_after_its_lease(
    shop: Shop, app: App, clock: FrozenClock
):
    shop.failed_case()
    dead = Worker(app.ctx, "dead", lease_seconds=60, batch=10)
    alive = Worker(app.ctx, "alive", lease_seconds=60, batch=10)
    from relance.services.queue import claim_due_actions

    [claimed] = claim_due_actions(app.ctx, dead.name, dead.lease, 10)
    assert alive.run_once() == 0  # leased to the dead worker
    clock.advance(seconds=61)
    assert alive.run_once() == 1
    assert len(app.outbox.sent()) == 1
    with app.ctx.uow() as store:
        [action] = [a for a in store.actions.for_case(claimed.case_id) if a.id == claimed.id]
    assert action.status.value == "done"
    assert action.claims == 2


def test_a_worker_that_lost_its_lease_records_nothing(shop: Shop, app: App, clock: FrozenClock):
    from relance.services.execution import execute_action
    from relance.services.queue import claim_due_actions

    shop.failed_case()
    [slow] = claim_due_actions(app.ctx, "slow", timedelta(seconds=60), 10)
    clock.advance(seconds=61)
    [fast] = claim_due_actions(app.ctx, "fast", timedelta(seconds=60), 10)
    assert fast.id == slow.id
    assert execute_action(app.ctx, slow, "slow") is None
    assert execute_action(app.ctx, fast, "fast") == "done"
    assert len(app.outbox.sent()) == 1
    assert len(view(shop, slow.case_id).messages) == 1


def test_stopping_a_worker_gives_the_rest_of_its_batch_back(
    shop: Shop, app: App, clock: FrozenClock
):
    for n in range(3):
        shop.fail(shop.invoice(shop.customer(f"c{n}"), f"F-{n}"))
    w = Worker(app.ctx, "stopping", batch=10)
    w.stop()
    assert w.run_once() == 0
    with app.ctx.uow() as store:
        counts = store.actions.count_by_status()
    assert counts.get("running", 0) == 0
    # Per customer: 4 retries, 4 dunning messages and the exhaustion of the case (9), plus
    # the two card-expiry notices (30 and 7 days before) planned when the card was added.
    # The invoices are already past due, so no before_due message is planned.
    assert counts["pending"] == 3 * (9 + 2)


def test_invoices_list_by_status_with_a_cursor(shop: Shop, app: App):
    customer_id = shop.customer()
    ids = [shop.invoice(customer_id, f"F-{n:03}") for n in range(5)]
    first = invoices.list_invoices(app.ctx, shop.merchant_id, InvoiceStatus.OPEN, None, 2)
    assert [i.id for i in first.items] == ids[:2]
    assert first.has_more
    rest = invoices.list_invoices(app.ctx, shop.merchant_id, InvoiceStatus.OPEN, ids[1], 10)
    assert [i.id for i in rest.items] == ids[2:]
    assert not rest.has_more


def test_a_message_to_a_customer_without_email_is_skipped_with_a_reason(
    shop: Shop, worker: Worker, app: App
):
    customer_id = shop.customer(email=None)
    case_id = shop.fail(shop.invoice(customer_id)).case_id or ""
    worker.run_once()
    v = view(shop, case_id)
    first = next(a for a in v.actions if a.step == "payment_failed")
    assert (first.status.value, first.result) == ("skipped", "no email address on file.")
    assert app.outbox.sent() == []
    assert "action_skipped" in [e.kind.value for e in v.timeline]
