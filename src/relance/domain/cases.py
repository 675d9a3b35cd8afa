"""The dunning case: from a failed payment to recovered, exhausted or closed.

Each function takes a snapshot and `now` and returns decisions — small values that carry the
explanation a merchant reads in the case timeline. Services turn them into rows.

    active ──payment settles invoice──> recovered
      │  └──exhaustion day, unpaid────> exhausted
      ├──pause──> paused ──resume──> active
      └──close──> closed  (also from paused)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from relance.domain.declines import DeclineVerdict, RetryClass, is_stricter
from relance.domain.errors import Conflict
from relance.domain.invoices import Invoice
from relance.domain.policy import Anchor, DunningPolicy, MessageStep
from relance.domain.respect import next_send_slot


class CaseStatus(StrEnum):
    ACTIVE = "active"
    RECOVERED = "recovered"
    EXHAUSTED = "exhausted"
    PAUSED = "paused"
    CLOSED = "closed"


class ActionKind(StrEnum):
    RETRY = "retry"
    REMINDER = "reminder"  # a message step: before the due date, after a failure, receipts…
    EXHAUST = "exhaust"
    WEBHOOK = "webhook"  # one event to one merchant endpoint
    INSTALMENT = "instalment"  # a plan's instalment or a promised payment, charged or checked


ALL_KINDS = frozenset({ActionKind.RETRY, ActionKind.REMINDER, ActionKind.EXHAUST})
TECHNICAL_RETRIES = 3


@dataclass(frozen=True, slots=True)
class DunningCase:
    id: str
    invoice_id: str
    status: CaseStatus
    opened_at: datetime
    policy_version: int
    reason: str
    retry_class: RetryClass
    closed_at: datetime | None = None


# -- decisions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryAt:
    due_at: datetime
    number: int
    why: str
    tag: str | None = (
        None  # distinguishes extra retries (e.g. after a card update) from planned ones
    )


@dataclass(frozen=True, slots=True)
class Send:
    step: str
    channels: tuple[str, ...]
    due_at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class ExhaustAt:
    due_at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class CancelPending:
    kinds: frozenset[ActionKind]
    why: str


@dataclass(frozen=True, slots=True)
class Stop:
    status: CaseStatus
    why: str


@dataclass(frozen=True, slots=True)
class RetryStopped:
    """A retry the policy wanted that a network rule forbids: not scheduled, but explained."""

    number: int
    due_at: datetime
    rule: str
    why: str


Decision = RetryAt | Send | ExhaustAt | CancelPending | Stop | RetryStopped


_NO_RETRY_ADVICE = {
    RetryClass.NEVER: "must never be retried",
    RetryClass.FIX_DATA: "can only succeed once the payment details are updated",
    RetryClass.CUSTOMER_ACTION: "needs the customer to act (authenticate or update)",
}


def _label(verdict: DeclineVerdict) -> str:
    return f"{verdict.reason} ({verdict.decided_by})"


def _no_retry(verdict: DeclineVerdict) -> CancelPending:
    advice = _NO_RETRY_ADVICE[verdict.retry_class]
    why = f"No automatic retry: {_label(verdict)} {advice}."
    return CancelPending(frozenset({ActionKind.RETRY}), why)


def _retries(verdict: DeclineVerdict, policy: DunningPolicy, anchor: datetime) -> list[Decision]:
    if not verdict.allows_automatic_retry:
        return [_no_retry(verdict)]
    label = _label(verdict)
    plan: list[Decision] = []
    if verdict.retry_class is RetryClass.TECHNICAL:
        # A glitch usually clears within hours: try soon, then back off (3 times longer each time).
        for k in range(TECHNICAL_RETRIES):
            minutes = policy.technical_retry_minutes * 3**k
            why = f"Technical failure {label}: quick retry {k + 1} of {TECHNICAL_RETRIES}, "
            why += f"{minutes} minutes after the failure."
            plan.append(RetryAt(anchor + timedelta(minutes=minutes), 0, why, f"technical-{k + 1}"))
    total = len(policy.retry_days)
    for number, day in enumerate(policy.retry_days, start=1):
        why = (
            f"Retry {number} of {total}, {day} day{'s' if day > 1 else ''} after the failure: "
            f"{label} is usually temporary (policy '{policy.name}' v{policy.version})."
        )
        plan.append(RetryAt(anchor + timedelta(days=day), number, why))
    return plan


def plan_message(
    step: MessageStep, wanted: datetime, policy: DunningPolicy, timezone: str, country: str | None
) -> Send:
    """A message step at its wanted time, moved out of the customer's quiet time (night,
    Sunday, public holiday). The cap and the gap are judged when it is due, on what was sent."""
    slot = next_send_slot(wanted, policy.sending, timezone=timezone, country=country, sent=())
    channels = " and ".join(step.channels)
    why = f"Message '{step.key}' ({step.kind.value}, {step.tone.value}) by {channels}"
    why += f" {_when(step)}"
    if slot.moved:
        local = slot.at.astimezone(ZoneInfo(timezone))
        why += f", moved to {local:%Y-%m-%d %H:%M} {timezone}: {'; '.join(slot.reasons)}"
    return Send(step.key, step.channels, slot.at, why + ".")


def _when(step: MessageStep) -> str:
    days = f"{step.offset_days} day{'s' if step.offset_days != 1 else ''}"
    if step.anchor is Anchor.FAILURE:
        return "at once" if step.offset_days == 0 else f"on day {step.offset_days}"
    if step.anchor is Anchor.DUE_DATE:
        return f"{days} before the due date"
    if step.anchor is Anchor.CARD_EXPIRY:
        return f"{days} before the card expires"
    return "when it happens"


def plan_case(
    verdict: DeclineVerdict,
    policy: DunningPolicy,
    steps: tuple[MessageStep, ...],
    customer_tz: str,
    country: str | None,
    now: datetime,
) -> list[Decision]:
    """Everything a newly opened case will do, counted from `now` (when Relance learned of it)."""
    plan = _retries(verdict, policy, now)
    for step in steps:
        if step.anchor is Anchor.FAILURE:
            wanted = now + timedelta(days=step.offset_days)
            plan.append(plan_message(step, wanted, policy, customer_tz, country))
    plan.append(
        ExhaustAt(
            suspension_date(now, policy),
            f"If still unpaid on day {policy.exhaust_day}, the case is exhausted and handed back.",
        )
    )
    return plan


def suspension_date(opened_at: datetime, policy: DunningPolicy) -> datetime:
    """When an unpaid case ends and the merchant is asked to suspend: the final notice says so."""
    return opened_at + timedelta(days=policy.exhaust_day)


def decide_after_failure(case: DunningCase, verdict: DeclineVerdict) -> list[Decision]:
    """A new failure on an open case: a decline that forbids retries cancels the rest."""
    if case.status is not CaseStatus.ACTIVE or verdict.allows_automatic_retry:
        return []
    return [_no_retry(verdict)]


_AWAITING = {
    RetryClass.NEVER: "new_payment_method",
    RetryClass.FIX_DATA: "new_payment_method",
    RetryClass.CUSTOMER_ACTION: "authentication",
}


def awaiting(case: DunningCase) -> str | None:
    """What an open case waits for from the customer before any retry can succeed."""
    if case.status not in (CaseStatus.ACTIVE, CaseStatus.PAUSED):
        return None
    return _AWAITING.get(case.retry_class)


def note_failure(case: DunningCase, verdict: DeclineVerdict) -> DunningCase:
    """The case reads as its most restrictive failure so far."""
    if not is_stricter(verdict.retry_class, case.retry_class):
        return case
    return replace(case, reason=verdict.reason, retry_class=verdict.retry_class)


def decide_after_new_method(
    case: DunningCase, method_id: str, now: datetime
) -> tuple[DunningCase, list[Decision]]:
    """The customer gave a new card or mandate: a case that waited for one stops waiting and
    retries at once (the network guard still judges the new card on its own history)."""
    if case.status is not CaseStatus.ACTIVE or awaiting(case) is None:
        return case, []
    why = "The customer updated the payment method: retried at once."
    renewed = replace(case, retry_class=RetryClass.LATER)
    return renewed, [RetryAt(now, 0, why, tag=f"new-method-{method_id}")]


def decide_after_payment(invoice: Invoice) -> list[Decision]:
    if not invoice.is_settled:
        return []
    why = f"Invoice {invoice.number} is paid in full."
    return [CancelPending(ALL_KINDS, why), Stop(CaseStatus.RECOVERED, why)]


def decide_exhaustion(case: DunningCase, invoice: Invoice) -> list[Decision]:
    if case.status is not CaseStatus.ACTIVE or invoice.is_settled:
        return []
    why = f"Every planned step ran and invoice {invoice.number} is still unpaid."
    return [CancelPending(ALL_KINDS, why), Stop(CaseStatus.EXHAUSTED, why)]


def may_act(case: DunningCase, invoice: Invoice) -> str | None:
    """None when a due action may run; otherwise why it is skipped."""
    if case.status is not CaseStatus.ACTIVE:
        return f"The case is {case.status}."
    if invoice.is_settled:
        return f"Invoice {invoice.number} is already paid."
    return None


_TRANSITIONS = {
    CaseStatus.PAUSED: {CaseStatus.ACTIVE},
    CaseStatus.ACTIVE: {CaseStatus.PAUSED},
    CaseStatus.CLOSED: {CaseStatus.ACTIVE, CaseStatus.PAUSED},
}


def move_case(case: DunningCase, to: CaseStatus, now: datetime) -> DunningCase:
    """A merchant's manual transition (pause, resume, close), refused when it makes no sense."""
    if case.status not in _TRANSITIONS.get(to, set()):
        raise Conflict(f"A {case.status} case cannot become {to}.")
    final = to in (CaseStatus.CLOSED, CaseStatus.RECOVERED, CaseStatus.EXHAUSTED)
    return replace(case, status=to, closed_at=now if final else None)


def finish(case: DunningCase, stop: Stop, now: datetime) -> DunningCase:
    return replace(case, status=stop.status, closed_at=now)
