"""The composition root: Settings -> a wired application. The only module that knows every
adapter; everything else receives what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from relance.adapters.channels.outbox import OutboxChannel
from relance.adapters.clock import SystemClock
from relance.adapters.db.engine import make_engine
from relance.adapters.db.migrate import is_current, upgrade
from relance.adapters.db.unit_of_work import SqlUnitOfWork
from relance.adapters.gateways.sandbox import SandboxGateway
from relance.adapters.reminder_writer import TemplateReminderWriter
from relance.config import Settings
from relance.data import decline_catalogue, network_rules_text
from relance.domain.network_rules import parse_network_rules
from relance.ports import Clock
from relance.services.context import Context


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    gateway: SandboxGateway
    channel: OutboxChannel

    def migrate(self) -> None:
        upgrade(self.engine)

    def schema_is_current(self) -> bool:
        return is_current(self.engine)

    @property
    def embedded(self) -> bool:
        """SQLite: one machine, so the schema may be brought up to date on start."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    gateway = SandboxGateway(settings.sandbox_dir)
    channel = OutboxChannel(settings.outbox_dir, clock)
    ctx = Context(
        uow=SqlUnitOfWork(engine),
        clock=clock,
        gateway=gateway,
        channel=channel,
        writer=TemplateReminderWriter(),
        sender_email=settings.sender_email,
        catalogue=decline_catalogue(),
        network_rules=parse_network_rules(network_rules_text(), settings.visa_reattempt_limit),
    )
    return App(settings, engine, ctx, gateway, channel)
