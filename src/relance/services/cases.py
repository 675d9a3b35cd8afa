"""Opening dunning cases, carrying out decisions, and the merchant's view of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.cases import (
    ActionKind,
    CancelPending,
    CaseStatus,
    Decision,
    DunningCase,
    ExhaustAt,
    RetryAt,
    RetryStopped,
    Send,
    Stop,
    finish,
    move_case,
    plan_case,
)
from relance.domain.customers import Customer
from relance.domain.declines import DeclineVerdict
from relance.domain.errors import NotFound
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.messages import Message
from relance.domain.webhooks import WebhookEvent
from relance.ids import new_id
from relance.ports import Page, Store
from relance.services.context import Context
from relance.services.message_plans import holiday_country
from relance.services.policies import policy_for
from relance.services.retry_guard import screen_plan
from relance.services.webhooks import emit_for_case

_STOP_EVENTS = {
    CaseStatus.RECOVERED: EventKind.INVOICE_RECOVERED,
    CaseStatus.EXHAUSTED: EventKind.CASE_EXHAUSTED,
    CaseStatus.CLOSED: EventKind.CASE_CLOSED,
}


def _scheduled(
    case: DunningCase, merchant_id: str, customer_id: str, d: RetryAt | Send | ExhaustAt
) -> ScheduledAction:
    if isinstance(d, RetryAt):
        kind, step, number, tag = ActionKind.RETRY, None, d.number, d.tag or str(d.number)
    elif isinstance(d, Send):
        kind, step, number, tag = ActionKind.REMINDER, d.step, None, d.step
    else:
        kind, step, number, tag = ActionKind.EXHAUST, None, None, "end"
    return ScheduledAction(
        id=new_id("act"),
        merchant_id=merchant_id,
        case_id=case.id,
        invoice_id=case.invoice_id,
        kind=kind,
        due_at=d.due_at,
        status=ActionStatus.PENDING,
        # Derived from the case and the step, so the same step can never be planned twice.
        idempotency_key=f"{case.id}/{kind.value}/{tag}",
        explanation=d.why,
        step=step,
        number=number,
        customer_id=customer_id,
    )


def apply_decisions(
    store: Store, merchant_id: str, case: DunningCase, decisions: list[Decision], now: datetime
) -> DunningCase:
    """Write decisions as rows and timeline events, in the caller's transaction."""
    to_schedule: list[ScheduledAction] = []
    events: list[Event] = []
    invoice = store.get_invoice(merchant_id, case.invoice_id)
    assert invoice is not None  # a case always has its invoice
    for d in decisions:
        if isinstance(d, RetryAt | Send | ExhaustAt):
            action = _scheduled(case, merchant_id, invoice.customer_id, d)
            to_schedule.append(action)
            kind = {
                ActionKind.RETRY: EventKind.RETRY_SCHEDULED,
                ActionKind.REMINDER: EventKind.REMINDER_SCHEDULED,
                ActionKind.EXHAUST: EventKind.EXHAUSTION_SCHEDULED,
            }[action.kind]
            events.append(Event(kind, now, d.why, {"due_at": d.due_at.isoformat()}))
        elif isinstance(d, CancelPending):
            cancelled = store.actions.cancel_open(case.id, d.kinds, d.why, now)
            events.append(Event(EventKind.ACTIONS_CANCELLED, now, d.why, {"count": cancelled}))
        elif isinstance(d, RetryStopped):
            events.append(Event(EventKind.RETRY_STOPPED, now, d.why, {"rule": d.rule}))
        elif isinstance(d, Stop):
            case = finish(case, d, now)
            store.save_case(case)
            events.append(Event(_STOP_EVENTS[d.status], now, d.why))
    store.actions.schedule(to_schedule, now)
    store.add_events(merchant_id, case.id, events)
    _announce(store, merchant_id, case, decisions, now)
    return case


def _announce(
    store: Store, merchant_id: str, case: DunningCase, decisions: list[Decision], now: datetime
) -> None:
    """Merchant webhooks for what the decisions changed, in the same transaction."""
    for d in decisions:
        if isinstance(d, RetryAt):
            emit_for_case(
                store, merchant_id, case, WebhookEvent.RETRY_SCHEDULED, now,
                retry_at=d.due_at.isoformat(), retry_number=d.number, why=d.why,
            )  # fmt: skip
        elif isinstance(d, Stop) and d.status is CaseStatus.RECOVERED:
            emit_for_case(store, merchant_id, case, WebhookEvent.INVOICE_RECOVERED, now)
        elif isinstance(d, Stop) and d.status is CaseStatus.EXHAUSTED:
            emit_for_case(store, merchant_id, case, WebhookEvent.CASE_EXHAUSTED, now, why=d.why)
            # The final notice announced suspension on this date: the merchant's system acts.
            emit_for_case(store, merchant_id, case, WebhookEvent.SUSPEND_REQUESTED, now)


def open_case(
    ctx: Context,
    store: Store,
    merchant_id: str,
    invoice: Invoice,
    customer: Customer,
    verdict: DeclineVerdict,
    why: str,
    now: datetime,
) -> DunningCase:
    policy = policy_for(store, merchant_id)
    case = DunningCase(
        id=new_id("case"),
        invoice_id=invoice.id,
        status=CaseStatus.ACTIVE,
        opened_at=now,
        policy_version=policy.version,
        reason=verdict.reason,
        retry_class=verdict.retry_class,
    )
    store.add_case(merchant_id, case)
    store.add_events(merchant_id, case.id, [Event(EventKind.CASE_OPENED, now, why)])
    emit_for_case(store, merchant_id, case, WebhookEvent.CASE_OPENED, now, why=why)
    country = holiday_country(customer, store.merchant_profile(merchant_id))
    steps = policy.steps_for(customer.segment)
    plan = plan_case(verdict, policy, steps, customer.timezone, country, now)
    method = store.current_payment_method(merchant_id, customer.id)
    plan = screen_plan(ctx, store, merchant_id, method, plan, invoice.balance.minor, verdict)
    return apply_decisions(store, merchant_id, case, plan, now)


@dataclass(frozen=True, slots=True)
class CaseView:
    merchant_id: str
    case: DunningCase
    invoice: Invoice
    actions: list[ScheduledAction]
    timeline: list[Event]
    messages: list[Message]


def get_case(ctx: Context, merchant_id: str, case_id: str) -> CaseView:
    with ctx.uow() as store:
        case = store.get_case(merchant_id, case_id)
        if case is None:
            raise NotFound(f"No case has the id '{case_id}'.")
        invoice = store.get_invoice(merchant_id, case.invoice_id)
        assert invoice is not None  # a case always has its invoice (foreign key)
        return CaseView(
            merchant_id,
            case,
            invoice,
            store.actions.for_case(case.id),
            store.list_events(case.id),
            store.list_messages(case.id),
        )


def list_cases(
    ctx: Context, merchant_id: str, status: CaseStatus | None, after: str | None, limit: int
) -> Page[DunningCase]:
    with ctx.uow() as store:
        return store.list_cases(merchant_id, status.value if status else None, after, limit)


def change_case_status(ctx: Context, merchant_id: str, case_id: str, to: CaseStatus) -> CaseView:
    """The merchant pauses (e.g. a dispute), resumes or closes a case by hand."""
    now = ctx.clock.now()
    with ctx.uow() as store:
        case = store.get_case(merchant_id, case_id, lock=True)
        if case is None:
            raise NotFound(f"No case has the id '{case_id}'.")
        moved = move_case(case, to, now)
        store.save_case(moved)
        if to is CaseStatus.PAUSED:
            count = store.actions.hold(case.id)
            event = Event(
                EventKind.CASE_PAUSED, now, f"Paused by the merchant; {count} actions held."
            )
        elif to is CaseStatus.ACTIVE:
            count = store.actions.unhold(case.id, now)
            event = Event(EventKind.CASE_RESUMED, now, f"Resumed; {count} actions released.")
        else:
            count = store.actions.cancel_open(case.id, set(ActionKind), "Case closed.", now)
            event = Event(
                EventKind.CASE_CLOSED, now, f"Closed by the merchant; {count} actions cancelled."
            )
        store.add_events(merchant_id, case.id, [event])
    return get_case(ctx, merchant_id, case_id)
