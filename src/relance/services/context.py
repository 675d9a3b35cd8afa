"""What every use case needs, wired once by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from relance.domain.declines import DeclineCatalogue
from relance.domain.network_rules import NetworkRules
from relance.ports import Channel, Clock, PaymentGateway, ReminderWriter, UnitOfWork


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Clock
    gateway: PaymentGateway
    channel: Channel
    writer: ReminderWriter
    sender_email: str
    catalogue: DeclineCatalogue
    network_rules: NetworkRules
