"""A scheduled action: one decision remembered as a row until a worker carries it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from relance.domain.cases import ActionKind


class ActionStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time
    RUNNING = "running"  # claimed by a worker under a lease
    HELD = "held"  # the case is paused
    DONE = "done"
    SKIPPED = "skipped"  # due, but no longer meaningful (case closed, invoice paid…)
    CANCELLED = "cancelled"
    FAILED = "failed"  # gave up (a webhook endpoint that never answered within three days)


OPEN_STATUSES = (ActionStatus.PENDING, ActionStatus.RUNNING, ActionStatus.HELD)


@dataclass(frozen=True, slots=True)
class ScheduledAction:
    id: str
    merchant_id: str
    case_id: str | None  # None for messages outside a case (before the due date, card expiry)
    invoice_id: str | None
    kind: ActionKind
    due_at: datetime
    status: ActionStatus
    idempotency_key: str
    explanation: str
    step: str | None = None  # reminder step key
    number: int | None = None  # retry number (0 = technical retry)
    result: str | None = None
    claims: int = 0
    lease_owner: str | None = None
    customer_id: str | None = None
    payload: dict[str, Any] | None = None  # a merchant webhook's event and endpoint
