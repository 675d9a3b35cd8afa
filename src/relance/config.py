"""Settings, read once from RELANCE_* environment variables and passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/relance.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://… at scale.",
    )
    host: str = Field(default="127.0.0.1", description="Address `relance serve` listens on.")
    port: int = Field(
        default=8000,
        validation_alias=AliasChoices("RELANCE_PORT", "PORT"),
        description="Port `relance serve` listens on (PORT works too).",
    )
    outbox_dir: Path = Field(
        default=Path("var/outbox"), description="Where the outbox channel writes .eml files."
    )
    sandbox_dir: Path = Field(
        default=Path("var/sandbox"), description="Where the sandbox gateway keeps its charges."
    )
    sender_email: str = Field(
        default="billing@relance.localhost", description="From: address of reminders."
    )
    worker_lease_seconds: int = Field(
        default=60, ge=1, description="How long a claimed action stays reserved to one worker."
    )
    worker_batch: int = Field(default=20, ge=1, description="Actions claimed per round.")
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, description="Idle wait between rounds when nothing is due."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach Relance (payment and unsubscribe links).",
    )
    payment_link_pattern: str = Field(
        default="{public_url}/pay/{token}",
        description="The payment link in messages; {token} is the per-message token.",
    )
    payment_link_days: int = Field(default=14, ge=1, description="How long a link stays valid.")
    secret_key: str | None = Field(
        default=None,
        description="Signs payment links and page forms. Unset: a random key is made once and "
        "kept in secret_key_file. Every process of one installation must share it.",
    )
    secret_key_file: Path = Field(
        default=Path("var/secret_key"),
        description="Where the generated secret key is kept when RELANCE_SECRET_KEY is unset.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:587 or smtps://…:465; unset = the outbox folder.",
    )
    sms_provider: str = Field(
        default="outbox", description="outbox (files), twilio, or http (a generic webhook)."
    )
    sms_from: str = Field(default="Relance", description="SMS sender id or number.")
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID.")
    twilio_auth_token: str | None = Field(
        default=None, description="Twilio auth token (also verifies inbound STOP replies)."
    )
    twilio_api_base: str | None = Field(
        default=None, description="Another base URL for Twilio's API (a proxy, or tests)."
    )
    sms_webhook_url: str | None = Field(default=None, description="The http SMS provider's URL.")
    sms_webhook_token: str | None = Field(
        default=None, description="Bearer token for the http SMS provider and its inbound hook."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    visa_reattempt_limit: str | None = Field(
        default=None,
        description="Visa reattempts per card in 30 days: unset = 15 (the safe floor), "
        "'current' = 20 where your acquirer confirms it (see data/declines/network_rules.toml).",
    )
