"""The whole schema, in one place. Migrations (Alembic) create it; nothing calls create_all
in a production path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
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
    UniqueConstraint("merchant_id", "external_id"),
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
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("invoice_id", String(ID), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
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
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("action_id", String(ID), ForeignKey("actions.id"), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("step", String(64), nullable=False),
    Column("locale", String(8), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
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
