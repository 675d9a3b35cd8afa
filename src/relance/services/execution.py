"""Carrying out due actions: a retry through the gateway, a message (services/messaging.py),
a merchant webhook (services/webhooks.py), or the end of a case. Each runs in two short
transactions around the side effect, so no lock is held while the gateway or the mail server
answers; the action's idempotency key makes a repeat after a crash harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.attempts import AttemptSource, Outcome, PaymentAttempt
from relance.domain.cases import (
    ActionKind,
    CancelPending,
    DunningCase,
    decide_after_failure,
    decide_exhaustion,
    may_act,
    note_failure,
)
from relance.domain.customers import PaymentMethod
from relance.domain.declines import DeclineCatalogue, DeclineVerdict
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.network_rules import Forbidden
from relance.domain.payments import Payment, PaymentMethodUsed
from relance.domain.webhooks import WebhookEvent
from relance.ids import new_id
from relance.ports import ChargeRequest, ChargeResult, Store
from relance.services.cases import apply_decisions
from relance.services.context import Context
from relance.services.declines import failure_summary
from relance.services.instalments import run_instalment
from relance.services.message_plans import final_notice_still_due
from relance.services.messaging import send_due_message
from relance.services.payments import receive_payment
from relance.services.retry_guard import may_retry_now
from relance.services.webhooks import deliver_webhook, emit_for_case


def _load(store: Store, action: ScheduledAction) -> tuple[DunningCase, Invoice]:
    assert action.case_id is not None, "retries and exhaustion belong to a case"
    assert action.invoice_id is not None, "retries and exhaustion belong to an invoice"
    case = store.get_case(action.merchant_id, action.case_id, lock=True)
    invoice = store.get_invoice(action.merchant_id, action.invoice_id, lock=True)
    assert case is not None, "an action always has its case (foreign key)"
    assert invoice is not None, "an action always has its invoice (foreign key)"
    return case, invoice


def _skip(store: Store, action: ScheduledAction, owner: str, why: str, now: datetime) -> str:
    if store.actions.finish(action.id, owner, ActionStatus.SKIPPED, why, now) and action.case_id:
        summary = f"{action.kind.value.capitalize()} skipped: {why}"
        store.add_events(
            action.merchant_id, action.case_id, [Event(EventKind.ACTION_SKIPPED, now, summary)]
        )
    return ActionStatus.SKIPPED.value


def _stopped_by_rule(
    store: Store, action: ScheduledAction, owner: str, rule: Forbidden, now: datetime
) -> str:
    """The guard is the last word: even a retry planned before a rule applied is not made.
    A rule that forbids for good cancels the remaining retries too."""
    why = f"network rule {rule.rule}: {rule.why}."
    status = _skip(store, action, owner, why, now)
    if rule.until is None:
        case, _ = _load(store, action)
        cancel = CancelPending(frozenset({ActionKind.RETRY}), f"No more retries: {why}")
        apply_decisions(store, action.merchant_id, case, [cancel], now)
    return status


@dataclass(frozen=True, slots=True)
class _Charge:
    method: PaymentMethod
    request: ChargeRequest

    @property
    def label(self) -> str:
        card = f"{self.method.brand or self.method.type.value} ••{self.method.last4 or '?'}"
        return f"{self.request.amount} on {card}"


def _prepare_charge(
    ctx: Context, store: Store, action: ScheduledAction, now: datetime
) -> _Charge | str | Forbidden:
    """What to charge, or why the retry is skipped (a network rule's Forbidden included)."""
    case, invoice = _load(store, action)
    method = store.current_payment_method(action.merchant_id, invoice.customer_id)
    why = may_act(case, invoice) or (None if method else "no payment method on file.")
    if why or method is None:
        return why or ""
    guard = may_retry_now(ctx, store, action.merchant_id, method, invoice.balance.minor, now)
    if isinstance(guard, Forbidden):
        return guard
    description = f"Invoice {invoice.number}"
    request = ChargeRequest(
        method.gateway_token, invoice.balance, action.idempotency_key, description
    )
    return _Charge(method, request)


def _record_charge(
    store: Store,
    action: ScheduledAction,
    charge: _Charge,
    result: ChargeResult,
    verdict: DeclineVerdict,
    catalogue: DeclineCatalogue,
    now: datetime,
) -> None:
    case, invoice = _load(store, action)
    amount, merchant_id = charge.request.amount, action.merchant_id
    outcome = Outcome.SUCCEEDED if result.succeeded else Outcome.FAILED
    attempt = PaymentAttempt(
        new_id("att"), invoice.id, amount, outcome, now, result.codes,
        AttemptSource.RELANCE, charge.method.id, result.reference,
    )  # fmt: skip
    store.add_attempt(merchant_id, attempt, now)
    label = f"Retry {action.number}: {charge.label}"
    if not result.succeeded:
        failed = failure_summary(catalogue, verdict, f"{label} failed")
        case = note_failure(case, verdict)
        store.save_case(case)
        store.add_events(merchant_id, case.id, [Event(EventKind.RETRY_FAILED, now, failed)])
        emit_for_case(
            store, merchant_id, case, WebhookEvent.RETRY_FAILED, now,
            reason=verdict.reason, retry_class=verdict.retry_class.value, summary=failed,
        )  # fmt: skip
        apply_decisions(store, merchant_id, case, decide_after_failure(case, verdict), now)
        return
    succeeded = Event(EventKind.RETRY_SUCCEEDED, now, f"{label} succeeded.")
    store.add_events(merchant_id, case.id, [succeeded])
    if invoice.is_settled:
        # Paid by other means while the charge was in flight: the money must go back.
        refund = f"Charged after the invoice was settled: refund {amount}."
        store.add_events(merchant_id, case.id, [Event(EventKind.PAYMENT_RECEIVED, now, refund)])
        return
    payment = Payment(
        new_id("pay"), invoice.id, amount, now, PaymentMethodUsed.RETRY, result.reference
    )
    receive_payment(store, merchant_id, invoice, payment, now)


def run_due_retry(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        charge = _prepare_charge(ctx, store, action, ctx.clock.now())
        if isinstance(charge, Forbidden):
            return _stopped_by_rule(store, action, owner, charge, ctx.clock.now())
        if isinstance(charge, str):
            return _skip(store, action, owner, charge, ctx.clock.now())
    result = ctx.gateway.charge(charge.request)  # no transaction open while the gateway works
    now = ctx.clock.now()
    verdict = ctx.catalogue.classify(result.codes)
    summary = "succeeded" if result.succeeded else f"declined: {verdict.reason}"
    with ctx.uow() as store:
        if not store.actions.finish(action.id, owner, ActionStatus.DONE, summary, now):
            return None  # another worker took over after our lease expired; it records this
        _record_charge(store, action, charge, result, verdict, ctx.catalogue, now)
    return ActionStatus.DONE.value


def exhaust_case(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    now = ctx.clock.now()
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        case, invoice = _load(store, action)
        decisions = decide_exhaustion(case, invoice)
        if not decisions:
            return _skip(store, action, owner, may_act(case, invoice) or "nothing to do.", now)
        later = final_notice_still_due(store, action.merchant_id, case)
        if later is not None:
            # The customer must read the suspension date before it happens (e.g. the notice
            # waited out a worker outage, the cap or a holiday): exhaustion waits for it.
            why = (
                f"Exhaustion moved to {later:%Y-%m-%d %H:%M} UTC: the final notice has not "
                "gone out yet, and it gives the customer notice before suspension."
            )
            store.actions.postpone(action.id, owner, later, why)
            event = Event(EventKind.EXHAUSTION_SCHEDULED, now, why)
            store.add_events(action.merchant_id, case.id, [event])
            return "deferred"
        store.actions.finish(action.id, owner, ActionStatus.DONE, "case exhausted", now)
        apply_decisions(store, action.merchant_id, case, decisions, now)
    return ActionStatus.DONE.value


HANDLERS = {
    ActionKind.RETRY: run_due_retry,
    ActionKind.REMINDER: send_due_message,
    ActionKind.EXHAUST: exhaust_case,
    ActionKind.WEBHOOK: deliver_webhook,
    ActionKind.INSTALMENT: run_instalment,
}


def execute_action(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    """Carry out one claimed action: its final status, or None if another worker owns it now."""
    return HANDLERS[action.kind](ctx, action, owner)
