"""Customer communications end to end: real SMTP (aiosmtpd), the outbox SMS channel, the
worker, and a FrozenClock moved hour by hour — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.domain.consent import OptOutSource
from relance.domain.messages import MessageStatus
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.entrypoints.worker import Worker
from relance.services import cases, customers, merchants, payments

from .conftest import Shop

PARIS = ZoneInfo("Europe/Paris")


def run_for(worker: Worker, clock: FrozenClock, days: float, step=timedelta(hours=1)) -> None:
    """Let time pass, the worker waking every `step`, as `relance worker` would."""
    end = clock.now() + timedelta(days=days)
    while clock.now() < end:
        clock.advance(seconds=step.total_seconds())
        while worker.run_once():
            pass


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def make_shop(app: App) -> Shop:
    made = merchants.create_merchant(app.ctx, "Acme Presse")
    merchants.update_profile(
        app.ctx,
        made.id,
        {
            "support_email": "aide@acme.example",
            "brand_color": "#0a7d55",
            "service_description": {"fr": "votre abonnement Acme Presse"},
        },
    )
    return Shop(app, made.id, made.api_key)


def test_a_french_customer_is_told_at_once_then_followed_up_politely_and_never_after_paying(
    mail_app: App, smtp, clock: FrozenClock
):
    shop = make_shop(mail_app)
    worker = Worker(mail_app.ctx, "w", lease_seconds=60, batch=50)
    customer_id = shop.customer(phone="+33612345678")
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    assert case_id is not None

    assert worker.run_once() >= 1  # the failure notice goes out at once
    [first] = smtp.received
    mail = first.message
    assert first.rcpt_tos == ["camille@example.com"]
    assert mail.get_content_type() == "multipart/alternative"
    text, html = text_part(mail), html_part(mail)
    assert "F-001" in mail["Subject"]
    assert "Camille Martin" in text
    assert "49,00\xa0€" in text  # Babel's French format, no-break space
    assert "20 novembre 2026" in text  # the due date, long French form, Paris time
    assert "votre abonnement Acme Presse" in text
    assert "aide@acme.example" in text
    [link] = [w for w in text.split() if "/pay/" in w]
    assert link.startswith("http://127.0.0.1:8000/pay/")
    assert link in html
    assert "#0a7d55" in html
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    assert mail["Reply-To"] == "aide@acme.example"
    assert mail["Content-Language"] == "fr"

    run_for(worker, clock, days=8.5)
    # Day 0, 3 and 7 by email (day 7 also by SMS); never at night, never on Sunday.
    days = [(r.at - first.at).days for r in smtp.received]
    assert days == [0, 3, 7]
    for r in smtp.received:
        local = r.at.astimezone(PARIS)
        assert local.weekday() != 6
        assert (8, 30) <= (local.hour, local.minute) < (21, 0)
    sms = sorted(mail_app.sms_outbox.sent())
    assert len(sms) == 1
    assert "/pay/" in json.loads(sms[0].read_text())["body"]

    # Paid on day 8.5: the final notice (day 12) is never sent; a thank-you goes at once.
    payments.record_payment(
        mail_app.ctx,
        shop.merchant_id,
        cases.get_case(mail_app.ctx, shop.merchant_id, case_id).invoice.id,
        payments.PaymentInput(Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER),
    )
    run_for(worker, clock, days=10)
    subjects = [r.message["Subject"] for r in smtp.received]
    assert len(subjects) == 4
    resolved = smtp.received[-1].message
    assert resolved["List-Unsubscribe"] is None  # a service notice, marked as such
    view = cases.get_case(mail_app.ctx, shop.merchant_id, case_id)
    final = [a for a in view.actions if a.step == "final_notice"]
    assert [a.status.value for a in final] == ["cancelled"]
    assert {m.status for m in view.messages} == {MessageStatus.SENT}


def test_the_cap_holds_back_a_third_message_within_seven_days_and_says_why(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    # A reminder before the due date, then the failure at the due date, then day 3: the
    # follow-up would be the third message in seven days, so it waits for the window.
    customer_id = shop.customer()
    invoice_id = shop.invoice(customer_id, due_in=timedelta(days=4))
    run_for(worker, clock, days=4)
    assert len(app.outbox.sent()) == 1  # the pre-due reminder
    case_id = shop.fail(invoice_id).case_id
    assert case_id is not None
    run_for(worker, clock, days=6)
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    sent = sorted(m.queued_at for m in view.messages)
    everything = sorted(
        m.queued_at
        for m in customers.messages_of(app.ctx, shop.merchant_id, customer_id, None, 50).items
    )
    for at in everything:
        assert sum(at - timedelta(days=7) < other <= at for other in everything) <= 2
    deferred = [e for e in view.timeline if e.kind.value == "reminder_deferred"]
    assert deferred, "the delay is shown in the timeline"
    assert "at most 2 messages per 7 days" in deferred[0].summary
    assert len(sent) == 2  # failure notice + the follow-up, once the window allowed it


def test_several_overdue_invoices_make_one_consolidated_message(
    shop: Shop, worker: Worker, app: App
):
    customer_id = shop.customer()
    first = shop.fail(shop.invoice(customer_id, "F-001", 4900)).case_id
    second = shop.fail(shop.invoice(customer_id, "F-002", 2500)).case_id
    worker.run_once()
    [eml] = app.outbox.sent()
    body = eml.read_text()
    assert "F-001" in body
    assert "F-002" in body
    assert {first, second} >= {
        m.case_id
        for m in customers.messages_of(app.ctx, shop.merchant_id, customer_id, None, 50).items
    }
    other = cases.get_case(app.ctx, shop.merchant_id, second)
    skipped = [
        a for a in other.actions if a.kind.value == "reminder" and a.status.value == "skipped"
    ]
    assert skipped
    assert "consolidated" in (skipped[0].result or "")


def test_a_bounced_address_is_marked_and_the_next_step_goes_by_sms(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer(email="bounce@example.com", phone="+33612345678")
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    worker.run_once()
    customer = customers.get_customer(app.ctx, shop.merchant_id, customer_id)
    assert customer.email_undeliverable_at == clock.now()
    run_for(worker, clock, days=3.5)
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    by_step = {(m.step, m.channel): m.status for m in view.messages}
    assert by_step[("payment_failed", "email")] is MessageStatus.BOUNCED
    assert by_step[("follow_up_1", "sms")] is MessageStatus.SENT
    assert ("follow_up_1", "email") not in by_step
    assert any("undeliverable" in e.summary for e in view.timeline)


def test_a_temporary_failure_is_retried_with_backoff_then_sent(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer(email="tempfail@example.com")
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    worker.run_once()
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    [message] = view.messages
    assert message.status is MessageStatus.DEFERRED
    [action] = [a for a in view.actions if a.step == "payment_failed"]
    assert action.status.value == "pending"
    assert action.due_at == clock.now() + timedelta(minutes=5)


def test_an_unsubscribed_customer_still_gets_the_legal_final_notice_only(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer()
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    customers.record_opt_out(app.ctx, shop.merchant_id, customer_id, "email", OptOutSource.MERCHANT)
    run_for(worker, clock, days=13)
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert [(m.step, m.transactional) for m in view.messages] == [("final_notice", True)]
    assert "suspend" in view.messages[0].body.lower()
    skipped = [a for a in view.actions if a.status.value == "skipped"]
    assert all("unsubscribed" in (a.result or "") for a in skipped if a.kind.value == "reminder")


def test_a_reminder_before_the_due_date_is_cancelled_by_payment(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer()
    invoice_id = shop.invoice(customer_id, due_in=timedelta(days=10))
    payments.record_payment(
        app.ctx,
        shop.merchant_id,
        invoice_id,
        payments.PaymentInput(Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER),
    )
    run_for(worker, clock, days=10)
    assert app.outbox.sent() == []


def test_card_expiry_notices_go_30_and_7_days_before_unless_the_card_was_replaced(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    # The card works until 31 January 2027: notices 30 and 7 days before, at 10:00 Paris —
    # 1 January is a public holiday, so the first waits for the 2nd.
    customer_id = shop.customer(exp=(1, 2027), phone="+33612345678")
    run_for(worker, clock, days=42, step=timedelta(hours=6))
    page = customers.messages_of(app.ctx, shop.merchant_id, customer_id, None, 50)
    first = [m for m in page.items if m.step == "card_expiring_30"]
    assert [m.channel for m in first] == ["email"]
    assert first[0].queued_at.astimezone(PARIS).date().isoformat() == "2027-01-02"
    assert "01/2027" in first[0].body or "1/2027" in first[0].body
    customers.add_payment_method(
        app.ctx,
        shop.merchant_id,
        customers.PaymentMethodInput(
            customer_id, "tok_ok", brand="visa", last4="1881", exp_month=1, exp_year=2030
        ),
    )
    run_for(worker, clock, days=30, step=timedelta(hours=6))
    page = customers.messages_of(app.ctx, shop.merchant_id, customer_id, None, 50)
    assert not [m for m in page.items if m.step == "card_expiring_7"]


def test_messages_never_go_out_at_night_for_a_customer_far_away(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    # 09:00 UTC on Saturday is 22:00 in Auckland: the failure notice waits for 08:30 local on
    # Monday (Sunday is quiet too).
    customer_id = shop.customer(timezone="Pacific/Auckland")
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    worker.run_once()
    assert app.outbox.sent() == []
    run_for(worker, clock, days=2, step=timedelta(minutes=30))
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    [message] = [m for m in view.messages if m.step == "payment_failed"]
    local = message.queued_at.astimezone(ZoneInfo("Pacific/Auckland"))
    assert (local.hour, local.minute) == (8, 30)
    assert local.date() == datetime(2026, 11, 23, tzinfo=UTC).date()


def test_after_an_outage_the_case_is_not_exhausted_before_the_final_notice_gave_its_notice(
    shop: Shop, worker: Worker, clock: FrozenClock, app: App
):
    customer_id = shop.customer(token="tok_lost")
    case_id = shop.fail(shop.invoice(customer_id)).case_id
    clock.advance(days=30)  # no worker ran for a month (Monday 2026-12-21, 10:00 Paris)
    while worker.run_once():
        pass
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.case.status.value == "active"  # not exhausted behind the customer's back
    [exhaust] = [a for a in view.actions if a.kind.value == "exhaust"]
    assert exhaust.status.value == "pending"
    assert any("final notice has not gone out" in e.summary for e in view.timeline)

    run_for(worker, clock, days=12)
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    [final] = [m for m in view.messages if m.step == "final_notice"]
    assert view.case.status.value == "exhausted"
    # The date the notice stated is the date the case ended, three days after it was sent.
    assert view.case.closed_at is not None
    stated = view.case.closed_at.astimezone(PARIS)
    assert stated - final.queued_at >= timedelta(days=3)
    assert f"{stated.day} décembre 2026" in final.body or f"{stated.day} janvier 2027" in final.body
