"""Arrangements: what a customer agreed to on the payment page — a payment plan, a promise to
pay on a date, or a bank transfer on its way.

While one is active the customer's dunning cases are paused (their pending retries and
reminders held). Each instalment is an action: on its date it is charged to the card on file
(plans, promises with a card) or checked (transfers, promises without a card). A missed
instalment breaks the arrangement and dunning resumes for what is still owed, where it stood,
its held steps moved later by the time the pause lasted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.arrangements import (
    ArrangementKind,
    ArrangementStatus,
    Instalment,
    InstalmentStatus,
)
from relance.domain.cases import ActionKind, CaseStatus, Send, move_case
from relance.domain.customers import Customer
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.policy import StepKind
from relance.domain.webhooks import WebhookEvent
from relance.ids import new_id
from relance.ports import ArrangementRecord, ScheduledInstalment, Store
from relance.services.message_plans import message_action
from relance.services.policies import policy_for
from relance.services.webhooks import emit

# Instalments after the first are charged at this local time on their date: the morning,
# once the bank day has started, like the retries.
CHARGE_TIME = time(10, 0)

_KIND_WORDS = {
    ArrangementKind.PLAN: "payment plan",
    ArrangementKind.PROMISE: "promise to pay",
    ArrangementKind.TRANSFER: "payment by bank transfer",
}


def charge_moment(on: date, timezone: str, now: datetime) -> datetime:
    """When an instalment dated `on` is charged: 10:00 the customer's time, never before now."""
    local = datetime.combine(on, CHARGE_TIME, tzinfo=ZoneInfo(timezone))
    return max(local.astimezone(UTC), now)


def describe(a: ArrangementRecord) -> str:
    if a.kind is ArrangementKind.PLAN:
        parts = ", ".join(f"{i.amount} on {i.due_on.isoformat()}" for i in a.instalments)
        return f"Payment plan in {len(a.instalments)} instalments: {parts}."
    due = a.instalments[0]
    if a.kind is ArrangementKind.PROMISE:
        how = "charged to the card on file" if a.payment_method_id else "paid by the customer"
        return f"Promise to pay {due.amount} on {due.due_on.isoformat()} ({how})."
    return (
        f"Payment of {due.amount} by bank transfer, reference {a.reference}; dunning waits "
        f"until {due.due_on.isoformat()} for the money to arrive."
    )


def arrangement_data(a: ArrangementRecord) -> dict[str, object]:
    return {
        "arrangement_id": a.id,
        "kind": a.kind.value,
        "customer_id": a.customer_id,
        "invoice_ids": list(a.invoice_ids),
        "amount_minor": a.total.minor,
        "currency": a.total.currency,
        "reference": a.reference,
        "source_message_id": a.message_id,
        "instalments": [
            {"number": i.number, "due_on": i.due_on.isoformat(), "amount_minor": i.amount.minor}
            for i in a.instalments
        ],
    }


def _cases(store: Store, merchant_id: str, a: ArrangementRecord) -> list[tuple[str, CaseStatus]]:
    found = (store.case_for_invoice(merchant_id, i) for i in a.invoice_ids)
    return [(c.id, c.status) for c in found if c is not None]


def note_on_cases(
    store: Store, merchant_id: str, a: ArrangementRecord, kind: EventKind, line: str, now: datetime
) -> None:
    data: dict[str, str | int | None] = {
        "arrangement_id": a.id,
        "source_message_id": a.message_id,
    }
    for case_id, _ in _cases(store, merchant_id, a):
        store.add_events(merchant_id, case_id, [Event(kind, now, line, data)])


def instalment_action(
    a: ArrangementRecord, i: ScheduledInstalment, first_invoice_id: str
) -> ScheduledAction:
    what = "Charge" if a.payment_method_id else "Check the payment of"
    return ScheduledAction(
        id=new_id("act"),
        merchant_id=a.merchant_id,
        case_id=None,  # not held with a case: the arrangement is what pauses the cases
        invoice_id=first_invoice_id,  # cancelled with the arrangement through it
        kind=ActionKind.INSTALMENT,
        due_at=i.due_at,
        status=ActionStatus.PENDING,
        idempotency_key=f"{a.id}/instalment/{i.number}",
        explanation=f"{what} instalment {i.number} of {len(a.instalments)} ({i.amount}), "
        f"{_KIND_WORDS[a.kind]} made on the payment page.",
        number=i.number,
        customer_id=a.customer_id,
        payload={"arrangement_id": a.id},
    )


def start(
    store: Store,
    merchant_id: str,
    customer: Customer,
    kind: ArrangementKind,
    invoices: Sequence[Invoice],
    instalments: Sequence[Instalment],
    *,
    payment_method_id: str | None,
    reference: str | None,
    link_token: str,
    message_id: str | None,
    now: datetime,
) -> tuple[ArrangementRecord, list[ScheduledAction]]:
    """Record the arrangement, pause the customer's dunning, schedule each instalment and the
    confirmation message, in the caller's transaction. Returns the instalment actions."""
    scheduled = tuple(
        ScheduledInstalment(
            i.number,
            i.due_on,
            # A plan's first instalment is charged at acceptance, whatever the hour.
            now
            if kind is ArrangementKind.PLAN and i.number == 1
            else charge_moment(i.due_on, customer.timezone, now),
            i.amount,
            InstalmentStatus.PENDING,
        )
        for i in instalments
    )
    total = invoices[0].balance
    for invoice in invoices[1:]:
        total = total + invoice.balance
    arrangement = ArrangementRecord(
        id=new_id("arr"),
        merchant_id=merchant_id,
        customer_id=customer.id,
        kind=kind,
        status=ArrangementStatus.ACTIVE,
        total=total,
        invoice_ids=tuple(i.id for i in invoices),
        payment_method_id=payment_method_id,
        reference=reference,
        link_token=link_token,
        message_id=message_id,
        created_at=now,
        instalments=scheduled,
    )
    store.add_arrangement(arrangement)
    line = f"The customer chose a {_KIND_WORDS[kind]} on the payment page. {describe(arrangement)}"
    for invoice in invoices:
        case = store.case_for_invoice(merchant_id, invoice.id)
        if case is not None and case.status is CaseStatus.ACTIVE:
            store.save_case(move_case(case, CaseStatus.PAUSED, now))
            held = store.actions.hold(case.id)
            why = f"{line} Dunning paused; {held} actions held."
            data: dict[str, str | int | None] = {
                "arrangement_id": arrangement.id,
                "source_message_id": message_id,
            }
            store.add_events(
                merchant_id, case.id, [Event(EventKind.ARRANGEMENT_MADE, now, why, data)]
            )
        elif case is None:
            # Not failed yet: its reminder before the due date has nothing left to remind.
            store.actions.cancel_open_for_invoice(
                invoice.id, {ActionKind.REMINDER}, f"Covered by arrangement {arrangement.id}.", now
            )
    actions = [instalment_action(arrangement, i, invoices[0].id) for i in scheduled]
    store.actions.schedule(actions, now)
    _confirm(store, merchant_id, customer, arrangement, now)
    emit(store, merchant_id, WebhookEvent.ARRANGEMENT_ACCEPTED, arrangement_data(arrangement), now)
    return arrangement, actions


def _confirm(
    store: Store, merchant_id: str, customer: Customer, a: ArrangementRecord, now: datetime
) -> None:
    policy = policy_for(store, merchant_id)
    step = next(
        (s for s in policy.steps_for(customer.segment) if s.kind is StepKind.ARRANGEMENT), None
    )
    if step is None:
        return  # the merchant's policy sends no confirmation
    why = f"Confirmation of the {_KIND_WORDS[a.kind]} by {' and '.join(step.channels)} at once."
    action = message_action(
        merchant_id, customer.id, Send(step.key, step.channels, now, why), scope=a.id,
        invoice_id=a.invoice_ids[0], payload={"arrangement_id": a.id},
    )  # fmt: skip
    store.actions.schedule([action], now)


def open_invoices(store: Store, a: ArrangementRecord) -> list[Invoice]:
    found = (store.get_invoice(a.merchant_id, i) for i in a.invoice_ids)
    return [i for i in found if i is not None and not i.is_settled]


def complete(store: Store, a: ArrangementRecord, why: str, now: datetime) -> None:
    """Everything it covered is paid: the arrangement ends well (the cases recovered with
    their invoices)."""
    store.end_arrangement(a.id, ArrangementStatus.COMPLETED, now, why)
    store.actions.cancel_open_for_invoice(a.invoice_ids[0], {ActionKind.INSTALMENT}, why, now)
    note_on_cases(store, a.merchant_id, a, EventKind.ARRANGEMENT_COMPLETED, why, now)
    emit(
        store,
        a.merchant_id,
        WebhookEvent.ARRANGEMENT_COMPLETED,
        {**arrangement_data(a), "why": why},
        now,
    )


def break_off(
    store: Store,
    a: ArrangementRecord,
    why: str,
    now: datetime,
    status: ArrangementStatus = ArrangementStatus.BROKEN,
) -> None:
    """A missed instalment: the arrangement ends and dunning resumes for what is still owed,
    each held step moved later by the time the pause lasted. CANCELLED rather than BROKEN
    when it never started (a plan's first instalment refused at acceptance): that is not a
    broken promise, and must not cost the customer the right to a plan later."""
    store.end_arrangement(a.id, status, now, why)
    store.actions.cancel_open_for_invoice(a.invoice_ids[0], {ActionKind.INSTALMENT}, why, now)
    paused_for = now - a.created_at
    for case_id, case_status in _cases(store, a.merchant_id, a):
        if case_status is not CaseStatus.PAUSED:
            continue
        case = store.get_case(a.merchant_id, case_id, lock=True)
        assert case is not None
        store.save_case(move_case(case, CaseStatus.ACTIVE, now))
        count = store.actions.unhold(case_id, now, shift=paused_for)
        line = f"{why} Dunning resumed; {count} actions released."
        data: dict[str, str | int | None] = {"arrangement_id": a.id}
        store.add_events(
            a.merchant_id, case_id, [Event(EventKind.ARRANGEMENT_BROKEN, now, line, data)]
        )
    emit(
        store,
        a.merchant_id,
        WebhookEvent.ARRANGEMENT_BROKEN,
        {**arrangement_data(a), "why": why},
        now,
    )


def settle_if_paid(store: Store, merchant_id: str, customer_id: str, now: datetime) -> None:
    """After money came in by any means: an arrangement whose invoices are all paid is done."""
    a = store.active_arrangement(merchant_id, customer_id)
    if a is not None and not open_invoices(store, a):
        complete(store, a, "Every invoice it covered is paid.", now)
