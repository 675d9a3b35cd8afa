"""Past-tense facts written to a case's timeline: what happened, when, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    CASE_OPENED = "case_opened"
    PAYMENT_FAILED = "payment_failed"
    RETRY_SCHEDULED = "retry_scheduled"
    RETRY_STOPPED = "retry_stopped"
    REMINDER_SCHEDULED = "reminder_scheduled"
    EXHAUSTION_SCHEDULED = "exhaustion_scheduled"
    RETRY_SUCCEEDED = "retry_succeeded"
    RETRY_FAILED = "retry_failed"
    REMINDER_SENT = "reminder_sent"
    REMINDER_DEFERRED = "reminder_deferred"  # a respect guard or a temporary failure delayed it
    REMINDER_FAILED = "reminder_failed"  # bounced, or given up
    ACTION_SKIPPED = "action_skipped"
    ACTIONS_CANCELLED = "actions_cancelled"
    PAYMENT_RECEIVED = "payment_received"
    INVOICE_RECOVERED = "invoice_recovered"
    CASE_EXHAUSTED = "case_exhausted"
    CASE_PAUSED = "case_paused"
    CASE_RESUMED = "case_resumed"
    CASE_CLOSED = "case_closed"
    # The customer on the payment page (each names the message that brought them).
    CARD_UPDATED = "card_updated"
    CARD_REFUSED = "card_refused"
    PAGE_PAYMENT_SUCCEEDED = "page_payment_succeeded"
    PAGE_PAYMENT_FAILED = "page_payment_failed"
    ARRANGEMENT_MADE = "arrangement_made"  # a plan, a promise or a transfer: dunning paused
    INSTALMENT_PAID = "instalment_paid"
    ARRANGEMENT_BROKEN = "arrangement_broken"  # dunning resumes
    ARRANGEMENT_COMPLETED = "arrangement_completed"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    at: datetime
    summary: str
    data: dict[str, str | int | None] = field(default_factory=dict)
