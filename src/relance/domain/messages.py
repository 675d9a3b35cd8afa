"""A message to a customer on one channel, tracked from queued to sent (or why not), and kept
so the merchant sees exactly what the customer received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "queued"  # reserved and counted against the cap; being rendered and sent
    SENT = "sent"  # the provider accepted it (external_id is its id)
    DEFERRED = "deferred"  # a temporary failure (SMTP 4xx, timeout): retried with backoff
    FAILED = "failed"  # given up: retries ran out, or a configuration problem
    BOUNCED = "bounced"  # refused for good (SMTP 5xx, invalid number): the address is marked


# Messages that count against a customer's cap: what was sent or is being sent.
COUNTED = (MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DEFERRED)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    customer_id: str
    case_id: str | None
    action_id: str
    channel: str  # email or sms
    step: str  # the policy step's key
    template: str
    tone: str
    locale: str
    recipient: str
    status: MessageStatus
    transactional: bool  # a service notice sent even to customers who opted out
    queued_at: datetime
    invoice_ids: tuple[str, ...] = ()  # several = one consolidated message
    subject: str = ""
    body: str = ""
    html: str | None = None
    link_token: str | None = None
    external_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None
