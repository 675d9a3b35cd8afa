"""What every use case needs, wired once by bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from relance.domain.declines import DeclineCatalogue
from relance.domain.network_rules import NetworkRules
from relance.ports import (
    CardVault,
    Channel,
    Clock,
    MessageWriter,
    PaymentGateway,
    UnitOfWork,
    WebhookSender,
)


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork
    clock: Clock
    gateway: PaymentGateway
    channels: Mapping[str, Channel]  # "email" and "sms"
    writer: MessageWriter
    webhooks: WebhookSender
    sender_email: str
    catalogue: DeclineCatalogue
    network_rules: NetworkRules
    public_url: str = "http://127.0.0.1:8000"
    payment_link_pattern: str = "{public_url}/pay/{token}"
    payment_link_days: int = 14
    sms_sender: str = "Relance"
    secret_key: str = "relance-development-key-never-used-in-production"
    vault: CardVault | None = None  # where the payment page's card form goes
