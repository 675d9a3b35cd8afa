"""Money in, and attempts reported by the merchant's own processor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relance.domain.attempts import AttemptSource, Outcome, PaymentAttempt, RawCodes
from relance.domain.cases import (
    ActionKind,
    CaseStatus,
    decide_after_failure,
    decide_after_payment,
    note_failure,
)
from relance.domain.errors import Conflict, InvalidInput
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.payments import Payment, PaymentMethodUsed
from relance.domain.policy import StepKind
from relance.domain.webhooks import WebhookEvent
from relance.ids import new_id
from relance.ports import Store
from relance.services.arrangements import settle_if_paid
from relance.services.cases import apply_decisions, open_case
from relance.services.context import Context
from relance.services.declines import failure_summary
from relance.services.message_plans import plan_response
from relance.services.webhooks import emit_for_case


@dataclass(frozen=True, slots=True)
class PaymentInput:
    amount: Money
    paid_at: datetime
    method: PaymentMethodUsed
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptInput:
    invoice_id: str
    amount: Money
    outcome: Outcome
    attempted_at: datetime
    codes: RawCodes
    payment_method_id: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecorded:
    attempt: PaymentAttempt
    invoice: Invoice
    case_id: str | None


def receive_payment(
    store: Store, merchant_id: str, invoice: Invoice, payment: Payment, now: datetime
) -> Invoice:
    """Apply money to an invoice; settling it recovers the case and cancels what is pending,
    in the caller's transaction."""
    updated = invoice.apply_payment(payment.amount)
    store.save_invoice_balance(updated)
    store.add_payment(merchant_id, payment, now)
    if updated.is_settled:
        # A reminder before the due date must never reach someone who has paid.
        store.actions.cancel_open_for_invoice(
            invoice.id, {ActionKind.REMINDER}, f"Invoice {invoice.number} is paid.", now
        )
        settle_if_paid(store, merchant_id, invoice.customer_id, now)
    case = store.case_for_invoice(merchant_id, invoice.id)
    if case is None or case.status is CaseStatus.RECOVERED:
        return updated
    summary = f"Received {payment.amount} by {payment.method.value}; balance {updated.balance}."
    store.add_events(merchant_id, case.id, [Event(EventKind.PAYMENT_RECEIVED, now, summary)])
    was = case.status
    case = apply_decisions(store, merchant_id, case, decide_after_payment(updated), now)
    if case.status is CaseStatus.RECOVERED:
        plan_response(store, merchant_id, case, updated, StepKind.RESOLVED, case.id, now)
        if was is CaseStatus.EXHAUSTED:
            # Service was (or is about to be) suspended: the merchant may turn it back on.
            emit_for_case(store, merchant_id, case, WebhookEvent.REINSTATE_REQUESTED, now)
    elif case.status in (CaseStatus.ACTIVE, CaseStatus.PAUSED):
        plan_response(
            store, merchant_id, case, updated, StepKind.RECEIPT, payment.id, now, payment.amount
        )
    return updated


def _locked_invoice(store: Store, merchant_id: str, invoice_id: str) -> Invoice:
    invoice = store.get_invoice(merchant_id, invoice_id, lock=True)
    if invoice is None:
        raise InvalidInput(f"No invoice has the id '{invoice_id}'.")
    return invoice


def record_payment(ctx: Context, merchant_id: str, invoice_id: str, data: PaymentInput) -> Invoice:
    now = ctx.clock.now()
    payment = Payment(
        new_id("pay"), invoice_id, data.amount, data.paid_at, data.method, data.reference
    )
    with ctx.uow() as store:
        invoice = _locked_invoice(store, merchant_id, invoice_id)
        return receive_payment(store, merchant_id, invoice, payment, now)


def record_payment_attempt(ctx: Context, merchant_id: str, data: AttemptInput) -> AttemptRecorded:
    """A failed attempt opens the invoice's dunning case, or updates the one already open."""
    now = ctx.clock.now()
    with ctx.uow() as store:
        invoice = _locked_invoice(store, merchant_id, data.invoice_id)
        # Without a method named, the attempt was on the card on file: the network ceilings
        # must count it against that card.
        method = store.current_payment_method(merchant_id, invoice.customer_id)
        attempt = PaymentAttempt(
            new_id("att"), data.invoice_id, data.amount, data.outcome, data.attempted_at,
            data.codes, AttemptSource.MERCHANT,
            data.payment_method_id or (method.id if method else None),
        )  # fmt: skip
        if data.amount.currency != invoice.amount.currency:
            raise InvalidInput(
                f"This invoice is in {invoice.amount.currency}, not {data.amount.currency}."
            )
        if invoice.is_settled:
            raise Conflict(f"Invoice {invoice.number} is already paid; nothing to recover.")
        store.add_attempt(merchant_id, attempt, now)
        if data.outcome is Outcome.SUCCEEDED:
            payment = Payment(
                new_id("pay"),
                invoice.id,
                data.amount,
                data.attempted_at,
                PaymentMethodUsed.CARD_ATTEMPT,
                attempt.id,
            )
            invoice = receive_payment(store, merchant_id, invoice, payment, now)
            case = store.case_for_invoice(merchant_id, invoice.id)
            return AttemptRecorded(attempt, invoice, case.id if case else None)
        verdict = ctx.catalogue.classify(data.codes)
        case = store.case_for_invoice(merchant_id, invoice.id)
        if case is None:
            customer = store.get_customer(merchant_id, invoice.customer_id)
            assert customer is not None  # invoices reference their customer
            why = failure_summary(
                ctx.catalogue, verdict, f"Payment of invoice {invoice.number} failed"
            )
            case = open_case(ctx, store, merchant_id, invoice, customer, verdict, why, now)
        else:
            why = failure_summary(ctx.catalogue, verdict, "The processor reported another failure")
            case = note_failure(case, verdict)
            store.save_case(case)
            store.add_events(merchant_id, case.id, [Event(EventKind.PAYMENT_FAILED, now, why)])
            apply_decisions(store, merchant_id, case, decide_after_failure(case, verdict), now)
        return AttemptRecorded(attempt, invoice, case.id)
