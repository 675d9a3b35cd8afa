"""A reminder as it was sent: kept so the merchant sees exactly what the customer received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    case_id: str
    action_id: str
    channel: str
    step: str
    locale: str
    recipient: str
    subject: str
    body: str
    external_id: str
    sent_at: datetime
