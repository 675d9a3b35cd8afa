"""When messages are due: the policy's steps turned into queued actions — after a failure (with
the case, see services/cases.py), before a due date, before a card expires, and in answer to a
payment — and how long the final notice gives before suspension."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.cases import ActionKind, DunningCase, Send, plan_message
from relance.domain.customers import Customer, PaymentMethod
from relance.domain.invoices import Invoice
from relance.domain.merchants import MerchantProfile
from relance.domain.money import Money
from relance.domain.policy import Anchor, DunningPolicy, MessageStep, StepKind
from relance.domain.respect import supported_country
from relance.ids import new_id
from relance.ports import Store
from relance.services.policies import policy_for, policy_of_case

# Card notices go out mid-morning, customer-local, on their day.
CARD_NOTICE_TIME = time(10, 0)


def message_action(
    merchant_id: str,
    customer_id: str,
    send: Send,
    *,
    scope: str,
    case_id: str | None = None,
    invoice_id: str | None = None,
    payload: dict[str, object] | None = None,
) -> ScheduledAction:
    return ScheduledAction(
        id=new_id("act"),
        merchant_id=merchant_id,
        case_id=case_id,
        invoice_id=invoice_id,
        kind=ActionKind.REMINDER,
        due_at=send.due_at,
        status=ActionStatus.PENDING,
        # One step per scope (a case, an invoice, a card, a payment) can never be planned twice.
        idempotency_key=f"{scope}/reminder/{send.step}",
        explanation=send.why,
        step=send.step,
        customer_id=customer_id,
        payload=payload,
    )


def holiday_country(customer: Customer, merchant: MerchantProfile | None) -> str | None:
    country = customer.country or (merchant.country if merchant else None)
    return country if country and supported_country(country) else None


def _steps(policy: DunningPolicy, customer: Customer, anchor: Anchor) -> list[MessageStep]:
    return [s for s in policy.steps_for(customer.segment) if s.anchor is anchor]


def plan_pre_due(
    store: Store, merchant_id: str, invoice: Invoice, customer: Customer, now: datetime
) -> list[ScheduledAction]:
    """Reminders before the due date; a step whose moment has passed is not planned."""
    policy = policy_for(store, merchant_id)
    country = holiday_country(customer, store.merchant_profile(merchant_id))
    planned = []
    for step in _steps(policy, customer, Anchor.DUE_DATE):
        wanted = invoice.due_at - timedelta(days=step.offset_days)
        if wanted <= now:
            continue
        send = plan_message(step, wanted, policy, customer.timezone, country)
        planned.append(
            message_action(merchant_id, customer.id, send, scope=invoice.id, invoice_id=invoice.id)
        )
    store.actions.schedule(planned, now)
    return planned


def card_expires_at(method: PaymentMethod, timezone: str) -> datetime | None:
    """A card is valid through the last day of its expiry month, customer-local."""
    if method.exp_month is None or method.exp_year is None:
        return None
    year, month = divmod(method.exp_year * 12 + method.exp_month, 12)  # the following month
    return datetime(year, month + 1, 1, tzinfo=ZoneInfo(timezone))


def plan_card_notices(
    store: Store, merchant_id: str, customer: Customer, method: PaymentMethod, now: datetime
) -> list[ScheduledAction]:
    """'Your card expires soon' N days before expiry. Nothing is cancelled when the card is
    replaced: the notice checks, when due, that this card is still the one on file."""
    expires = card_expires_at(method, customer.timezone)
    if expires is None:
        return []
    policy = policy_for(store, merchant_id)
    country = holiday_country(customer, store.merchant_profile(merchant_id))
    planned = []
    for step in _steps(policy, customer, Anchor.CARD_EXPIRY):
        last_valid_day = (expires - timedelta(days=1)).date()
        day = last_valid_day - timedelta(days=step.offset_days)
        wanted = datetime.combine(day, CARD_NOTICE_TIME, tzinfo=ZoneInfo(customer.timezone))
        if wanted <= now:
            continue
        send = plan_message(step, wanted, policy, customer.timezone, country)
        payload: dict[str, object] = {"payment_method_id": method.id}
        planned.append(
            message_action(merchant_id, customer.id, send, scope=method.id, payload=payload)
        )
    store.actions.schedule(planned, now)
    return planned


def plan_response(
    store: Store,
    merchant_id: str,
    case: DunningCase,
    invoice: Invoice,
    kind: StepKind,
    scope: str,
    now: datetime,
    amount: Money | None = None,
) -> ScheduledAction | None:
    """A receipt for a partial payment, or the 'all settled' message, sent at once."""
    customer = store.get_customer(merchant_id, invoice.customer_id)
    assert customer is not None  # invoices reference their customer
    policy = policy_of_case(store, merchant_id, case.policy_version)
    step = next((s for s in policy.steps_for(customer.segment) if s.kind is kind), None)
    if step is None:
        return None
    why = f"Message '{step.key}' ({kind.value}) by {' and '.join(step.channels)} at once."
    payload: dict[str, object] | None = None
    if amount is not None:
        payload = {"amount_minor": amount.minor, "currency": amount.currency}
    action = message_action(
        merchant_id, customer.id, Send(step.key, step.channels, now, why), scope=scope,
        case_id=case.id, invoice_id=invoice.id, payload=payload,
    )  # fmt: skip
    store.actions.schedule([action], now)
    return action


def notice_period(policy: DunningPolicy, step: MessageStep) -> timedelta:
    """How long the final notice gives the customer before suspension (day 15 - day 12)."""
    return timedelta(days=max(policy.exhaust_day - step.offset_days, 1))


def final_notice_still_due(store: Store, merchant_id: str, case: DunningCase) -> datetime | None:
    """When exhaustion may happen if the case's final notice has not gone out yet, else None."""
    policy = policy_of_case(store, merchant_id, case.policy_version)
    for action in store.actions.for_case(case.id):
        step = policy.find_step(action.step or "") if action.kind is ActionKind.REMINDER else None
        if (
            step is not None
            and step.kind is StepKind.FINAL_NOTICE
            and action.status in (ActionStatus.PENDING, ActionStatus.HELD, ActionStatus.RUNNING)
        ):
            return action.due_at + notice_period(policy, step)
    return None
