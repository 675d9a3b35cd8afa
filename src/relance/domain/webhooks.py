"""Merchant webhooks: the events Relance announces and how hard it tries to deliver them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from relance.domain.errors import InvalidInput


class WebhookEvent(StrEnum):
    CASE_OPENED = "case.opened"
    RETRY_SCHEDULED = "retry.scheduled"
    RETRY_FAILED = "retry.failed"
    INVOICE_RECOVERED = "invoice.recovered"
    CASE_EXHAUSTED = "case.exhausted"
    SUSPEND_REQUESTED = "customer.suspend_requested"
    REINSTATE_REQUESTED = "customer.reinstate_requested"
    # What the customer did on the payment page.
    PAYMENT_METHOD_UPDATED = "customer.payment_method_updated"
    PAGE_PAYMENT_FAILED = "payment_page.payment_failed"
    ARRANGEMENT_ACCEPTED = "arrangement.accepted"  # plan, promise or transfer
    INSTALMENT_PAID = "arrangement.instalment_paid"
    ARRANGEMENT_BROKEN = "arrangement.broken"
    ARRANGEMENT_COMPLETED = "arrangement.completed"


# Deliveries are retried with exponential backoff for this long, then given up.
RETRY_FOR = timedelta(days=3)
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    merchant_id: str
    url: str
    secret: str
    events: tuple[str, ...]  # event types, or ("*",) for all
    created_at: datetime
    disabled_at: datetime | None = None

    def wants(self, event: WebhookEvent) -> bool:
        return self.disabled_at is None and ("*" in self.events or event.value in self.events)


def validate_endpoint(url: str, events: list[str]) -> tuple[str, ...]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"'{url}' is not an http(s) URL.")
    known = {e.value for e in WebhookEvent}
    unknown = [e for e in events if e != "*" and e not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown event type '{unknown[0]}'; use '*' or any of {', '.join(sorted(known))}."
        )
    if not events:
        raise InvalidInput("Subscribe the endpoint to at least one event type (or '*').")
    return tuple(dict.fromkeys(events))


def next_attempt(first_attempt_at: datetime, attempt: int, now: datetime) -> datetime | None:
    """When to try again after `attempt` failures (1, 2, 4 … minutes, capped at 6 hours), or
    None once three days have passed since the first attempt."""
    delay = min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)
    at = now + delay
    return at if at - first_attempt_at <= RETRY_FOR else None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One HTTP attempt, as shown in the endpoint's delivery log."""

    endpoint_id: str
    action_id: str
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None  # None: delivered, or given up
    id: int | None = None
