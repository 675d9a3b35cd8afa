"""Charging the card on file because the customer asked: "pay now" on the payment page, the
retry right after a card update, a payment plan's instalment, a promised payment.

One gateway charge covers the amount; the money is then applied to the invoices oldest first.
Like the worker's retries, no transaction is open while the gateway works, the network-rule
guard has the last word, and the idempotency key makes a replay return the first result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from relance.domain.attempts import AttemptSource, Outcome, PaymentAttempt
from relance.domain.cases import CaseStatus, decide_after_failure, note_failure
from relance.domain.customers import LOCALES, PaymentMethod
from relance.domain.declines import DeclineVerdict
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.network_rules import Forbidden
from relance.domain.payments import Payment, PaymentMethodUsed
from relance.ids import new_id
from relance.ports import ChargeRequest, Store
from relance.services.cases import apply_decisions
from relance.services.context import Context
from relance.services.declines import customer_message, failure_summary
from relance.services.payments import receive_payment
from relance.services.retry_guard import may_retry_now


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What a charge made for the customer did, in words the page can show."""

    paid: tuple[str, ...] = ()  # numbers of the invoices now settled
    amount: Money | None = None  # charged, when it succeeded
    declined_reason: str | None = None  # the decline reason (decline intelligence)
    advice: Mapping[str, str] = field(default_factory=dict)  # locale -> what to do
    blocked: str | None = None  # why no charge was attempted (nothing due, a network rule…)

    @property
    def succeeded(self) -> bool:
        return self.amount is not None


@dataclass(frozen=True, slots=True)
class Source:
    """Who asked for the charge, for the timeline: 'the payment page (message X)'."""

    label: str  # "Payment on the payment page", "Instalment 2 of 3"
    method: PaymentMethodUsed = PaymentMethodUsed.PAYMENT_PAGE
    data: Mapping[str, str | int | None] = field(default_factory=dict)


def allocate(invoices: Sequence[Invoice], amount: Money) -> list[tuple[Invoice, Money]]:
    """Spread `amount` over the invoices' balances, oldest due first."""
    left = amount.minor
    shares: list[tuple[Invoice, Money]] = []
    for invoice in sorted(invoices, key=lambda i: (i.due_at, i.id)):
        share = min(left, invoice.balance.minor)
        if share > 0:
            shares.append((invoice, Money(share, amount.currency)))
            left -= share
    return shares


def _open(store: Store, merchant_id: str, invoice_ids: Sequence[str]) -> list[Invoice]:
    found = [store.get_invoice(merchant_id, i, lock=True) for i in invoice_ids]
    return [i for i in found if i is not None and not i.is_settled]


def charge_for_customer(
    ctx: Context,
    merchant_id: str,
    invoice_ids: Sequence[str],
    amount: Money | None,
    key: str,
    source: Source,
) -> ChargeOutcome:
    """Charge the method on file for these invoices (their whole balance when `amount` is
    None, else at most `amount`), then record the outcome on each invoice and case."""
    now = ctx.clock.now()
    with ctx.uow() as store:
        invoices = _open(store, merchant_id, invoice_ids)
        if not invoices:
            return ChargeOutcome(blocked="nothing_due")
        customer_id = invoices[0].customer_id
        method = store.current_payment_method(merchant_id, customer_id)
        if method is None:
            return ChargeOutcome(blocked="no_method")
        due = sum(i.balance.minor for i in invoices)
        currency = invoices[0].balance.currency
        total = Money(min(due, amount.minor) if amount else due, currency)
        verdict = may_retry_now(ctx, store, merchant_id, method, total.minor, now)
        if isinstance(verdict, Forbidden):
            return ChargeOutcome(blocked=f"network rule {verdict.rule}: {verdict.why}")
    numbers = ", ".join(i.number for i in invoices)
    request = ChargeRequest(method.gateway_token, total, key, f"Invoice {numbers}")
    result = ctx.gateway.charge(request)  # outside any transaction
    now = ctx.clock.now()
    decline = None if result.succeeded else ctx.catalogue.classify(result.codes)
    with ctx.uow() as store:
        invoices = _open(store, merchant_id, [i.id for i in invoices])
        if not invoices:
            # Settled by other means while the charge was in flight.
            return ChargeOutcome(blocked="nothing_due")
        attempt = PaymentAttempt(
            new_id("att"), invoices[0].id, total,
            Outcome.SUCCEEDED if result.succeeded else Outcome.FAILED, now, result.codes,
            AttemptSource.RELANCE, method.id, result.reference,
        )  # fmt: skip
        store.add_attempt(merchant_id, attempt, now)
        if decline is not None:
            return _declined(ctx, store, merchant_id, invoices, method, decline, source, now)
        paid = []
        for invoice, share in allocate(invoices, total):
            payment = Payment(
                new_id("pay"), invoice.id, share, now, source.method, result.reference
            )
            case = store.case_for_invoice(merchant_id, invoice.id)
            if case is not None and case.status is not CaseStatus.RECOVERED:
                line = f"{source.label}: {share} charged to {_card(method)}."
                event = Event(EventKind.PAGE_PAYMENT_SUCCEEDED, now, line, dict(source.data))
                store.add_events(merchant_id, case.id, [event])
            if receive_payment(store, merchant_id, invoice, payment, now).is_settled:
                paid.append(invoice.number)
        return ChargeOutcome(paid=tuple(paid), amount=total)


def _card(method: PaymentMethod) -> str:
    return f"{method.brand or method.type.value} ••{method.last4 or '?'}"


def _declined(
    ctx: Context,
    store: Store,
    merchant_id: str,
    invoices: list[Invoice],
    method: PaymentMethod,
    verdict: DeclineVerdict,
    source: Source,
    now: datetime,
) -> ChargeOutcome:
    """A refused charge is a failure of each case it was for: the dunning plan adapts to the
    reason (a hard decline stops retries on this card) exactly as after a retry."""
    for invoice in invoices:
        case = store.case_for_invoice(merchant_id, invoice.id)
        if case is None or case.status is not CaseStatus.ACTIVE:
            continue
        why = failure_summary(ctx.catalogue, verdict, f"{source.label} on {_card(method)}")
        case = note_failure(case, verdict)
        store.save_case(case)
        event = Event(EventKind.PAGE_PAYMENT_FAILED, now, why, dict(source.data))
        store.add_events(merchant_id, case.id, [event])
        apply_decisions(store, merchant_id, case, decide_after_failure(case, verdict), now)
    advice = {loc: customer_message(ctx.catalogue, verdict.reason, loc) for loc in LOCALES}
    return ChargeOutcome(declined_reason=verdict.reason, advice=advice)
