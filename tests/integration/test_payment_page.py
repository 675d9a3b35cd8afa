"""The payment page's use cases on a real database: the link, the card form, pay now, plans,
promises and transfers — each in the case timeline with its source, and announced by webhook."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import MetaData, String, Text, select

from relance.adapters.clock import FrozenClock
from relance.adapters.db import tables as t
from relance.bootstrap import App
from relance.domain.actions import ActionStatus
from relance.domain.arrangements import ArrangementKind, ArrangementStatus, InstalmentStatus
from relance.domain.cards import read_card
from relance.domain.cases import ActionKind, CaseStatus
from relance.domain.errors import Conflict, InvalidInput
from relance.domain.events import EventKind
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.domain.transfers import is_valid_reference
from relance.entrypoints.worker import Worker
from relance.services import cases, merchants, payments, webhooks
from relance.services import payment_page as page
from relance.services.links import sign_token

from .conftest import Shop

# Messages that answer the customer (receipts, confirmations) rather than chase them.
RESPONSES = {"receipt", "resolved", "arrangement_confirmed"}
VISA_OK = "4242 4242 4242 4242"
VISA_NO_FUNDS = "4000 0000 0000 9995"
VISA_DECLINED = "4000 0000 0000 0002"
VISA_EXPIRED = "4000 0000 0000 0069"


def card(number: str, cvc: str = "737"):
    return read_card(number, "12/30", cvc, "Camille Martin", date(2026, 11, 21))


def link_of(app: App, case_id: str) -> str:
    """The signed link of the last message sent about the case, as it appears in the email."""
    with app.ctx.uow() as store:
        sent = [m for m in store.list_messages(case_id) if m.link_token]
    assert sent, "a message with a payment link was sent"
    return sign_token(app.ctx.secret_key, sent[-1].link_token or "")


def dunning(shop: Shop, worker: Worker, token: str = "tok_insufficient_funds", amount: int = 4900):
    """A customer whose payment failed and who received the failed-payment email."""
    customer_id = shop.customer(token=token)
    invoice_id = shop.invoice(customer_id, amount=amount)
    case_id = shop.fail(invoice_id, amount=amount).case_id
    assert case_id is not None
    worker.run_once()
    return customer_id, invoice_id, case_id, link_of(shop.app, case_id)


def pending(shop: Shop, case_id: str, kind: ActionKind) -> list:
    return [
        a
        for a in cases.get_case(shop.app.ctx, shop.merchant_id, case_id).actions
        if a.kind is kind
        and a.status in (ActionStatus.PENDING, ActionStatus.HELD)
        and a.step not in RESPONSES
    ]


def fresh_link(shop: Shop, customer_id: str) -> str:
    now = shop.app.ctx.clock.now()
    with shop.app.ctx.uow() as store:
        store.add_payment_link(
            shop.merchant_id, "fresh-token", customer_id, None, None, now, now + timedelta(days=1)
        )
    return sign_token(shop.app.ctx.secret_key, "fresh-token")


def queued_webhooks(app: App) -> set[str]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(t.actions.c.step).where(t.actions.c.kind == "webhook"))
        return {r[0] for r in rows}


def timeline(shop: Shop, case_id: str) -> list:
    return cases.get_case(shop.app.ctx, shop.merchant_id, case_id).timeline


def test_the_page_shows_what_is_owed_why_it_failed_and_what_can_be_done(app, shop, worker):
    _, _, _case_id, link = dunning(shop, worker)
    view = page.view_page(app.ctx, link)
    assert [i.number for i in view.invoices] == ["F-001"]
    assert view.total == Money(4900, "EUR")
    assert view.failure_reason == "insufficient_funds"
    assert view.advice["fr"]
    assert view.advice["en"]
    assert view.advice["fr"] != view.advice["en"]
    assert view.card is not None
    assert view.card.last4 == "4242"
    # 49.00 in 2, 3 or 4 instalments of at least 10.00.
    assert view.plan.counts == (2, 3, 4)
    assert [i.amount.minor for i in view.schedules[3]] == [1634, 1633, 1633]
    assert view.promise.earliest == date(2026, 11, 22)
    assert view.promise.latest == date(2026, 12, 5)
    assert view.transfer is None  # the merchant gave no IBAN
    assert view.arrangement is None
    with app.ctx.uow() as store:
        token = link.rsplit(".", 1)[0]
        assert store.payment_link(token)["clicks"] == 1


def test_a_tampered_an_expired_and_a_revoked_link_are_refused(app, shop, worker, clock):
    customer_id, _, _, link = dunning(shop, worker)
    with pytest.raises(page.UnusableLink) as tampered:
        # Not the last character: base64's padding bits there may decode to the same bytes.
        page.view_page(app.ctx, ("B" if link[0] != "B" else "C") + link[1:])
    assert tampered.value.problem is page.LinkProblem.UNKNOWN
    assert tampered.value.merchant is None  # nothing about the account
    with pytest.raises(page.UnusableLink) as forged:
        page.view_page(app.ctx, sign_token("another installation's key!!", link.split(".")[0]))
    assert forged.value.problem is page.LinkProblem.UNKNOWN

    from relance.services import customers

    assert customers.revoke_payment_links(app.ctx, shop.merchant_id, customer_id) == 1
    with pytest.raises(page.UnusableLink) as revoked:
        page.pay_now(app.ctx, link)
    assert revoked.value.problem is page.LinkProblem.REVOKED
    assert revoked.value.merchant is not None
    assert revoked.value.merchant.name == "Acme"

    _, _, _, fresh = dunning_again(shop, worker)
    clock.advance(days=14, seconds=1)
    with pytest.raises(page.UnusableLink) as expired:
        page.view_page(app.ctx, fresh)
    assert expired.value.problem is page.LinkProblem.EXPIRED


def dunning_again(shop: Shop, worker: Worker):
    customer_id = shop.customer("c2")
    invoice_id = shop.invoice(customer_id, number="F-002")
    case_id = shop.fail(invoice_id).case_id
    assert case_id is not None
    worker.run_once()
    return customer_id, invoice_id, case_id, link_of(shop.app, case_id)


def test_a_new_card_pays_at_once_recovers_the_case_and_cancels_the_reminders(app, shop, worker):
    endpoint = webhooks.add_endpoint(app.ctx, shop.merchant_id, "https://m.example/hook", ["*"])
    _, invoice_id, case_id, link = dunning(shop, worker)
    assert pending(shop, case_id, ActionKind.REMINDER)  # follow-ups were planned

    saved = page.update_card(app.ctx, link, card(VISA_OK))
    assert saved.card is not None
    assert saved.card.last4 == "4242"
    assert saved.card.brand == "visa"
    assert saved.charge is not None
    assert saved.charge.paid == ("F-001",)

    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.case.status is CaseStatus.RECOVERED
    assert view.invoice.is_settled
    assert not pending(shop, case_id, ActionKind.REMINDER)
    assert not pending(shop, case_id, ActionKind.RETRY)
    updated = [e for e in view.timeline if e.kind is EventKind.CARD_UPDATED]
    assert updated
    assert "payment_failed" in updated[0].summary
    assert updated[0].data["source_message_id"]
    paid = [e for e in view.timeline if e.kind is EventKind.PAGE_PAYMENT_SUCCEEDED]
    assert paid
    assert "49" in paid[0].summary
    with app.ctx.uow() as store:
        payments_made = store.list_payments(invoice_id)
    assert [p.method for p in payments_made] == [PaymentMethodUsed.PAYMENT_PAGE]
    assert {"customer.payment_method_updated", "invoice.recovered"} <= queued_webhooks(app)
    assert endpoint.url == "https://m.example/hook"


def test_a_refused_card_says_why_and_too_many_refusals_cool_down_the_form(app, shop, worker, clock):
    _, _, case_id, link = dunning(shop, worker)
    refused = page.update_card(app.ctx, link, card(VISA_EXPIRED))
    assert refused.card is None
    assert refused.refused_reason == "expired_card"
    assert refused.advice["fr"]
    assert refused.advice["en"]
    for _ in range(4):
        page.update_card(app.ctx, link, card(VISA_DECLINED))
    with pytest.raises(page.CoolingDown) as cooling:
        page.update_card(app.ctx, link, card(VISA_OK))
    assert cooling.value.until == clock.now() + timedelta(hours=1)
    assert page.view_page(app.ctx, link).card_cooldown_until == cooling.value.until
    kinds = [e.kind for e in timeline(shop, case_id)]
    assert kinds.count(EventKind.CARD_REFUSED) == 5

    clock.advance(hours=1, seconds=1)
    assert page.update_card(app.ctx, link, card(VISA_OK)).charge.paid == ("F-001",)


def test_a_card_saved_but_declined_at_charge_counts_and_dunning_goes_on(app, shop, worker):
    _, _, case_id, link = dunning(shop, worker)
    saved = page.update_card(app.ctx, link, card(VISA_NO_FUNDS))
    assert saved.card is not None
    assert saved.charge is not None
    assert saved.charge.declined_reason == "insufficient_funds"
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.ACTIVE
    kinds = [e.kind for e in timeline(shop, case_id)]
    assert EventKind.PAGE_PAYMENT_FAILED in kinds


def test_pay_now_charges_the_card_on_file(app, shop, worker):
    _, _, case_id, link = dunning(shop, worker, token="tok_ok")
    outcome = page.pay_now(app.ctx, link)
    assert outcome.paid == ("F-001",)
    assert outcome.amount == Money(4900, "EUR")
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.RECOVERED
    with pytest.raises(page.Refused) as refused:
        page.pay_now(app.ctx, link)
    assert refused.value.code == "nothing_due"
    assert page.view_page(app.ctx, link).total is None


def test_a_plan_pauses_dunning_charges_each_month_and_completes(app, shop, worker, clock):
    _, invoice_id, case_id, link = dunning(shop, worker, token="tok_ok")
    plan = page.accept_plan(app.ctx, link, 3)
    assert plan.kind is ArrangementKind.PLAN
    assert [(i.due_on, i.amount.minor, i.status) for i in plan.instalments] == [
        (date(2026, 11, 21), 1634, InstalmentStatus.PAID),  # the first one at once
        (date(2026, 12, 21), 1633, InstalmentStatus.PENDING),
        (date(2027, 1, 21), 1633, InstalmentStatus.PENDING),
    ]
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.case.status is CaseStatus.PAUSED
    assert view.invoice.balance == Money(3266, "EUR")
    made = [e for e in view.timeline if e.kind is EventKind.ARRANGEMENT_MADE]
    assert made
    assert made[0].data["source_message_id"]
    with pytest.raises(Conflict):
        page.accept_plan(app.ctx, link, 2)
    # The confirmation goes out even though the case is paused.
    worker.run_once()
    with app.ctx.uow() as store:
        sent = store.customer_messages(shop.merchant_id, view.invoice.customer_id, None, 20)
    assert any(m.step == "arrangement_confirmed" for m in sent.items)

    clock.advance(days=30, hours=1)
    worker.run_once()
    clock.advance(days=31)
    worker.run_once()
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.invoice.is_settled
    assert view.case.status is CaseStatus.RECOVERED
    with app.ctx.uow() as store:
        record = store.get_arrangement(shop.merchant_id, plan.id)
    assert record is not None
    assert record.status is ArrangementStatus.COMPLETED
    assert [i.status for i in record.instalments] == [InstalmentStatus.PAID] * 3
    assert sum(p.amount.minor for p in _payments(app, invoice_id)) == 4900


def _payments(app: App, invoice_id: str):
    with app.ctx.uow() as store:
        return store.list_payments(invoice_id)


def test_a_missed_instalment_breaks_the_plan_and_dunning_resumes(app, shop, worker, clock):
    _, _, case_id, link = dunning(shop, worker, token="tok_ok")
    plan = page.accept_plan(app.ctx, link, 2)
    held = pending(shop, case_id, ActionKind.REMINDER)
    assert held
    assert all(a.status is ActionStatus.HELD for a in held)
    # The customer's new card has no funds when the second instalment falls due.
    page.update_card(app.ctx, link, card(VISA_NO_FUNDS))
    clock.advance(days=30, hours=2)
    worker.run_once()
    with app.ctx.uow() as store:
        record = store.get_arrangement(shop.merchant_id, plan.id)
    assert record is not None
    assert record.status is ArrangementStatus.BROKEN
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.case.status is CaseStatus.ACTIVE
    resumed = [a for a in view.actions if a.status is ActionStatus.PENDING]
    assert resumed
    assert all(a.due_at >= clock.now() for a in resumed)
    assert any(e.kind is EventKind.ARRANGEMENT_BROKEN for e in view.timeline)
    # A broken plan in the last 12 months: no new plan is offered (the old link has expired).
    assert page.view_page(app.ctx, fresh_link(shop, view.invoice.customer_id)).plan.refusal == (
        "broken_plan_recently"
    )


def test_a_promise_pauses_dunning_until_the_date_then_charges(app, shop, worker, clock):
    _, _, case_id, link = dunning(shop, worker, token="tok_ok")
    with pytest.raises(InvalidInput):
        page.promise_to_pay(app.ctx, link, date(2026, 12, 31))
    promise = page.promise_to_pay(app.ctx, link, date(2026, 11, 30))
    assert promise.kind is ArrangementKind.PROMISE
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.PAUSED
    clock.advance(days=8)  # 29 November: not yet
    worker.run_once()
    assert not cases.get_case(app.ctx, shop.merchant_id, case_id).invoice.is_settled
    clock.advance(days=1, hours=1)  # 30 November, 10:00 Paris
    worker.run_once()
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.invoice.is_settled
    assert view.case.status is CaseStatus.RECOVERED


def test_a_transfer_gets_a_reference_and_dunning_waits_for_it(app, shop, worker, clock):
    _, invoice_id, case_id, link = dunning(shop, worker)
    with pytest.raises(Conflict):
        page.choose_transfer(app.ctx, link)
    merchants.update_profile(
        app.ctx, shop.merchant_id, {"iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP"}
    )
    before = page.view_page(app.ctx, link).transfer
    assert before is not None
    assert before.iban.startswith("FR76 3000")
    assert before.reference is None
    chosen = page.choose_transfer(app.ctx, link)
    assert chosen.reference is not None
    assert is_valid_reference(chosen.reference)
    assert page.view_page(app.ctx, link).transfer.reference == chosen.reference
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.PAUSED
    # The money arrives within the grace days: the reconciliation records it.
    clock.advance(days=2)
    payments.record_payment(
        app.ctx, shop.merchant_id, invoice_id,
        payments.PaymentInput(Money(4900, "EUR"), clock.now(), PaymentMethodUsed.TRANSFER,
                              chosen.reference),
    )  # fmt: skip
    with app.ctx.uow() as store:
        record = store.get_arrangement(shop.merchant_id, chosen.id)
    assert record is not None
    assert record.status is ArrangementStatus.COMPLETED
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.RECOVERED


def test_an_unpaid_transfer_resumes_dunning_after_the_grace_days(app, shop, worker, clock):
    _, _, case_id, link = dunning(shop, worker)
    merchants.update_profile(app.ctx, shop.merchant_id, {"iban": "DE89370400440532013000"})
    page.choose_transfer(app.ctx, link)
    clock.advance(days=6)
    worker.run_once()
    view = cases.get_case(app.ctx, shop.merchant_id, case_id)
    assert view.case.status is CaseStatus.ACTIVE
    assert any(e.kind is EventKind.ARRANGEMENT_BROKEN for e in view.timeline)


def test_no_card_number_or_cvc_is_stored_anywhere(app: App, shop, worker, clock: FrozenClock):
    _, _, _, link = dunning(shop, worker)
    page.update_card(app.ctx, link, card(VISA_DECLINED, cvc="846"))
    page.update_card(app.ctx, link, card(VISA_OK, cvc="846"))
    numbers = {VISA_OK.replace(" ", ""), VISA_DECLINED.replace(" ", "")}
    metadata = MetaData()
    metadata.reflect(app.engine)
    with app.engine.connect() as conn:
        for table in metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in conn.execute(select(*text_columns)) if text_columns else []:
                for value in row:
                    flat = str(value or "").replace(" ", "")
                    assert not any(n in flat for n in numbers), table.name
                    assert "846" not in str(value or "").split(), table.name


def test_a_plan_whose_first_instalment_is_refused_is_not_set_up_and_not_held_against_them(
    app, shop, worker
):
    _, _, case_id, link = dunning(shop, worker)  # the card on file has no funds
    plan = page.accept_plan(app.ctx, link, 2)
    assert plan.status is ArrangementStatus.CANCELLED
    assert plan.declined_reason == "insufficient_funds"
    assert plan.advice["fr"]
    assert cases.get_case(app.ctx, shop.merchant_id, case_id).case.status is CaseStatus.ACTIVE
    # Not a broken plan: the customer may still choose one (with a card that works).
    assert page.view_page(app.ctx, link).plan.counts == (2, 3, 4)
