"""A payment plan's instalment or a promised payment on its date: the worker's handler.

Charged to the card on file when the arrangement has one, else checked: unpaid by then, the
arrangement is broken and dunning resumes (services/arrangements.py)."""

from __future__ import annotations

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.arrangements import ArrangementStatus, InstalmentStatus
from relance.domain.events import EventKind
from relance.domain.payments import PaymentMethodUsed
from relance.domain.webhooks import WebhookEvent
from relance.services.arrangements import (
    arrangement_data,
    break_off,
    complete,
    note_on_cases,
    open_invoices,
)
from relance.services.charges import ChargeOutcome, Source, charge_for_customer
from relance.services.context import Context
from relance.services.webhooks import emit


def run_instalment(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    """The worker's handler: charge (or check) one instalment on its date."""
    arrangement_id = str((action.payload or {}).get("arrangement_id"))
    number = action.number or 0
    now = ctx.clock.now()
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        a = store.get_arrangement(action.merchant_id, arrangement_id, lock=True)
        if a is None or a.status is not ArrangementStatus.ACTIVE:
            why = "the arrangement has ended."
            store.actions.finish(action.id, owner, ActionStatus.SKIPPED, why, now)
            return ActionStatus.SKIPPED.value
        instalment = next(i for i in a.instalments if i.number == number)
        unpaid = open_invoices(store, a)
        if not unpaid:
            store.actions.finish(action.id, owner, ActionStatus.DONE, "already paid", now)
            complete(store, a, "Every invoice it covered is paid.", now)
            return ActionStatus.DONE.value
        if a.payment_method_id is None:
            # Nothing to charge: the customer said they would pay by this date, and has not.
            why = (
                f"Instalment {number} ({instalment.amount}) was not paid by "
                f"{instalment.due_on.isoformat()}."
            )
            store.actions.finish(action.id, owner, ActionStatus.DONE, "not paid", now)
            store.settle_instalment(a.id, number, InstalmentStatus.MISSED, now)
            break_off(store, a, why, now)
            return ActionStatus.DONE.value
    source = Source(
        f"Instalment {number} of {len(a.instalments)}",
        method=PaymentMethodUsed.INSTALMENT,
        data={"arrangement_id": a.id, "instalment": number},
    )
    outcome = charge_for_customer(
        ctx, action.merchant_id, [i.id for i in unpaid], instalment.amount,
        action.idempotency_key, source,
    )  # fmt: skip
    now = ctx.clock.now()
    with ctx.uow() as store:
        if not store.actions.finish(action.id, owner, ActionStatus.DONE, _summary(outcome), now):
            return None
        a = store.get_arrangement(action.merchant_id, arrangement_id, lock=True)
        if a is None:
            return ActionStatus.DONE.value
        if outcome.succeeded:
            store.settle_instalment(a.id, number, InstalmentStatus.PAID, now)
            if a.status is not ArrangementStatus.ACTIVE:
                return ActionStatus.DONE.value  # this payment settled everything: completed
            line = f"Instalment {number} of {len(a.instalments)} paid ({outcome.amount})."
            note_on_cases(store, a.merchant_id, a, EventKind.INSTALMENT_PAID, line, now)
            emit(store, a.merchant_id, WebhookEvent.INSTALMENT_PAID,
                 {**arrangement_data(a), "instalment": number}, now)  # fmt: skip
            if number == len(a.instalments) and open_invoices(store, a):
                # The last instalment is paid and something is still owed (an invoice grew):
                # dunning takes over for the rest.
                break_off(store, a, "The last instalment is paid, a balance remains.", now)
            return ActionStatus.DONE.value
        if a.status is not ArrangementStatus.ACTIVE:
            return ActionStatus.DONE.value
        store.settle_instalment(a.id, number, InstalmentStatus.MISSED, now)
        reason = outcome.declined_reason or outcome.blocked or "unknown"
        why = f"Instalment {number} ({instalment.amount}) failed: {reason}."
        at_acceptance = number == 1 and instalment.due_at <= a.created_at
        status = ArrangementStatus.CANCELLED if at_acceptance else ArrangementStatus.BROKEN
        break_off(store, a, why, now, status)
    return ActionStatus.DONE.value


def _summary(outcome: ChargeOutcome) -> str:
    if outcome.succeeded:
        return f"charged {outcome.amount}"
    return f"declined: {outcome.declined_reason}" if outcome.declined_reason else "not charged"
