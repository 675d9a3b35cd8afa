"""The composition root: Settings -> a wired application. The only module that knows every
adapter; everything else receives what it needs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from relance.adapters.channels.outbox import OutboxChannel, OutboxSmsChannel
from relance.adapters.channels.sms import HttpSmsChannel, TwilioSmsChannel
from relance.adapters.channels.smtp import SmtpChannel
from relance.adapters.clock import SystemClock
from relance.adapters.db.engine import make_engine
from relance.adapters.db.migrate import is_current, upgrade
from relance.adapters.db.unit_of_work import SqlUnitOfWork
from relance.adapters.files import write_once
from relance.adapters.gateways.sandbox import SandboxGateway
from relance.adapters.message_writer import TemplateMessageWriter
from relance.adapters.webhook_sender import HttpWebhookSender
from relance.config import Settings
from relance.data import decline_catalogue, network_rules_text
from relance.domain.network_rules import parse_network_rules
from relance.ports import Channel, Clock
from relance.services.context import Context


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    gateway: SandboxGateway
    outbox: OutboxChannel
    sms_outbox: OutboxSmsChannel

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


class ConfigurationError(ValueError):
    """A setting that cannot work; reported in one line at start."""


def _email_channel(settings: Settings, outbox: OutboxChannel, clock: Clock) -> Channel:
    if not settings.smtp_url:
        return outbox
    try:
        return SmtpChannel(settings.smtp_url, clock=clock)
    except ValueError as exc:
        raise ConfigurationError(f"RELANCE_SMTP_URL: {exc}") from None


def _sms_channel(settings: Settings, outbox: OutboxSmsChannel) -> Channel:
    provider = settings.sms_provider
    if provider == "outbox":
        return outbox
    if provider == "twilio":
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ConfigurationError(
                "RELANCE_SMS_PROVIDER=twilio needs RELANCE_TWILIO_ACCOUNT_SID and "
                "RELANCE_TWILIO_AUTH_TOKEN."
            )
        return TwilioSmsChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.sms_from,
            api_base=settings.twilio_api_base,
        )
    if provider == "http":
        if not settings.sms_webhook_url:
            raise ConfigurationError("RELANCE_SMS_PROVIDER=http needs RELANCE_SMS_WEBHOOK_URL.")
        return HttpSmsChannel(
            settings.sms_webhook_url, token=settings.sms_webhook_token, sender=settings.sms_from
        )
    raise ConfigurationError(
        f"RELANCE_SMS_PROVIDER '{provider}' is not one of outbox, twilio, http."
    )


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated on first start and kept on disk, so that links
    already sent stay valid across restarts and processes on this machine share it."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigurationError("RELANCE_SECRET_KEY must be at least 32 characters long.")
        return settings.secret_key
    path = settings.secret_key_file
    write_once(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def build(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or Settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    gateway = SandboxGateway(settings.sandbox_dir)
    outbox = OutboxChannel(settings.outbox_dir, clock)
    sms_outbox = OutboxSmsChannel(settings.outbox_dir, clock)
    ctx = Context(
        uow=SqlUnitOfWork(engine),
        clock=clock,
        gateway=gateway,
        channels={
            "email": _email_channel(settings, outbox, clock),
            "sms": _sms_channel(settings, sms_outbox),
        },
        writer=TemplateMessageWriter(),
        webhooks=HttpWebhookSender(),
        sender_email=settings.sender_email,
        catalogue=decline_catalogue(),
        network_rules=parse_network_rules(network_rules_text(), settings.visa_reattempt_limit),
        public_url=settings.public_url,
        payment_link_pattern=settings.payment_link_pattern,
        payment_link_days=settings.payment_link_days,
        sms_sender=settings.sms_from,
        secret_key=secret_key(settings),
        vault=gateway,
    )
    return App(settings, engine, ctx, gateway, outbox, sms_outbox)
