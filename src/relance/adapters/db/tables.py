"""The whole schema, in one place. Migrations (Alembic) create it; nothing calls create_all
in a production path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Refusing to store a naive datetime; timestamps are aware UTC.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 32  # prefixed, time-ordered ids: "cus_01J…"


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


def _merchant() -> Column[str]:
    return Column("merchant_id", String(ID), ForeignKey("merchants.id"), nullable=False)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


merchants = Table(
    "merchants",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    _created(),
    # How the merchant presents itself in messages (domain.merchants.MerchantProfile).
    Column("sender_email", String(320)),
    Column("support_email", String(320)),
    Column("support_phone", String(20)),
    Column("brand_color", String(7)),
    Column("service_description", JSON),
    Column("default_locale", String(8)),
    Column("country", String(2)),
    Column("sms_sender", String(16)),
    # Where a customer may pay by transfer (shown on the payment page; on their invoices too).
    Column("iban", String(34)),
    Column("bic", String(11)),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _merchant(),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),  # sha256 hex of a 256-bit random secret
    _created(),
    Column("revoked_at", UTCDateTime()),
)

policies = Table(
    "policies",
    metadata,
    _id(),
    _merchant(),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),  # the TOML document, verbatim
    _created(),
    UniqueConstraint("merchant_id", "version"),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    _merchant(),
    Column("external_id", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(20)),
    Column("locale", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    _created(),
    Column("country", String(2)),  # public holidays; the merchant's country when unset
    Column("segment", String(40)),  # picks the policy's message sequence for this customer
    # Set when the mail server refused the address for good (SMTP 5xx): email stops, SMS takes over.
    Column("email_undeliverable_at", UTCDateTime()),
    Column("email_undeliverable_reason", Text),
    UniqueConstraint("merchant_id", "external_id"),
)

# Channels a customer asked not to be contacted on; honoured forever (never deleted by Relance).
opt_outs = Table(
    "opt_outs",
    metadata,
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("source", String(32), nullable=False),  # unsubscribe_link, sms_stop, merchant
    Column("at", UTCDateTime(), nullable=False),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    _id(),
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("gateway_token", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("brand", String(32)),
    Column("last4", String(4)),
    Column("exp_month", Integer),
    Column("exp_year", Integer),
    Column("fingerprint", String(255), index=True),
    _created(),
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("number", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("subscription_ref", String(200)),
    _created(),
    UniqueConstraint("merchant_id", "number"),
)

payment_attempts = Table(
    "payment_attempts",
    metadata,
    _id(),
    _merchant(),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("decline_code", String(64)),
    Column("network_response_code", String(16)),
    Column("network_advice_code", String(16)),
    Column("sepa_reason_code", String(16)),
    Column("advice_code", String(64)),
    Column("processor", String(64)),
    Column("source", String(16), nullable=False),
    Column("payment_method_id", String(ID)),
    Column("gateway_reference", String(128)),
    _created(),
)

payments = Table(
    "payments",
    metadata,
    _id(),
    _merchant(),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", UTCDateTime(), nullable=False),
    Column("method", String(32), nullable=False),
    Column("reference", String(200)),
    _created(),
)

cases = Table(
    "cases",
    metadata,
    _id(),
    _merchant(),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("policy_version", Integer, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("retry_class", String(32), nullable=False),
    Index("ix_cases_merchant_status", "merchant_id", "status"),
)

# The durable action queue: written in the same transaction as the state change that decided it.
actions = Table(
    "actions",
    metadata,
    _id(),
    _merchant(),
    # A reminder before the due date or about an expiring card has no case (and maybe no
    # invoice); every action has a customer.
    Column("case_id", String(ID), ForeignKey("cases.id"), index=True),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), index=True),
    Column("customer_id", String(ID), ForeignKey("customers.id"), index=True),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON),  # a merchant webhook's event
    Column("step", String(64)),
    Column("number", Integer),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("explanation", Text, nullable=False),
    Column("result", Text),
    Column("claims", Integer, nullable=False, default=0),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    _created(),
    Index("ix_actions_status_due_at", "status", "due_at"),
)

timeline = Table(
    "timeline",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _merchant(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    _id(),
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), index=True),
    Column("case_id", String(ID), ForeignKey("cases.id"), index=True),
    Column("action_id", String(ID), ForeignKey("actions.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("step", String(64), nullable=False),
    Column("template", String(32)),
    Column("tone", String(16)),
    Column("locale", String(8), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("html", Text),
    # queued -> sent | deferred (temporary failure, retried) | failed | bounced
    Column("status", String(16), nullable=False),
    Column("transactional", Boolean, nullable=False),
    Column("invoice_ids", JSON),  # the invoices this message is about (several = consolidated)
    Column("link_token", String(64)),
    Column("external_id", String(200)),
    Column("error", Text),
    Column("queued_at", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    UniqueConstraint("action_id", "channel"),
    Index("ix_messages_customer_queued", "customer_id", "queued_at"),
)

# One link per message: scoped to one customer of one merchant, expiring, revocable. The token
# is 128 random bits (short enough for an SMS), so it is looked up, never decoded.
payment_links = Table(
    "payment_links",
    metadata,
    Column("token", String(64), primary_key=True),
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("message_id", String(ID)),
    Column("step", String(64)),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("clicks", Integer, nullable=False, default=0),
    Column("first_clicked_at", UTCDateTime()),
)

# Card submissions on the payment page, accepted or refused: the card-testing defence counts
# the refused ones per link and hour, across every process. Never the card's number or CVC.
card_submissions = Table(
    "card_submissions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _merchant(),
    Column("link_token", String(64), ForeignKey("payment_links.token"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("reason", String(64)),
    Index("ix_card_submissions_link_at", "link_token", "at"),
)

# What a customer agreed to on the payment page: a plan, a promise to pay on a date, or a
# transfer on its way. While one is active the customer's cases are paused.
arrangements = Table(
    "arrangements",
    metadata,
    _id(),
    _merchant(),
    Column("customer_id", String(ID), ForeignKey("customers.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("invoice_ids", JSON, nullable=False),
    Column("payment_method_id", String(ID)),  # charged on each date; None: the customer pays
    Column("reference", String(35), unique=True),  # RF creditor reference of a transfer
    Column("link_token", String(64)),
    Column("message_id", String(ID)),  # the message that brought the customer to the page
    _created(),
    Column("ended_at", UTCDateTime()),
    Column("end_reason", Text),
)

arrangement_instalments = Table(
    "arrangement_instalments",
    metadata,
    Column("arrangement_id", String(ID), ForeignKey("arrangements.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("due_on", Date, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("settled_at", UTCDateTime()),
)

template_overrides = Table(
    "template_overrides",
    metadata,
    Column("merchant_id", String(ID), ForeignKey("merchants.id"), primary_key=True),
    Column("name", String(64), primary_key=True),  # e.g. failed_payment.html
    Column("locale", String(8), primary_key=True),
    Column("source", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    _merchant(),
    Column("url", String(2000), nullable=False),
    Column("secret", String(100), nullable=False),  # shared with the merchant to verify
    Column("events", JSON, nullable=False),  # event types, or ["*"]
    _created(),
    Column("disabled_at", UTCDateTime()),
)

# Every HTTP attempt to deliver a webhook: the per-endpoint delivery log.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _merchant(),
    Column("endpoint_id", String(ID), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("action_id", String(ID), ForeignKey("actions.id"), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime()),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("merchant_id", String(ID), ForeignKey("merchants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    _created(),
)
