"""The migrations are the schema: they must produce exactly tables.py, on both backends, and
carry the data of a database made by an earlier release."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, select, text

from relance.adapters.db import tables as t
from relance.adapters.db.engine import make_engine
from relance.adapters.db.migrate import alembic_config, upgrade


def _drift(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            return list(compare_metadata(context, t.metadata))
    finally:
        engine.dispose()


def test_the_migrated_schema_is_exactly_the_declared_one(database_url):
    assert _drift(database_url) == []


def test_a_database_from_the_previous_release_keeps_its_messages(database_url):
    """0004 rebuilt the messages and actions tables: rows written by 0003 survive, linked to
    their customer, counted as sent."""
    engine = create_engine(database_url)
    config = alembic_config()
    at = datetime(2026, 11, 1, 9, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
        with engine.begin() as conn:
            conn.execute(insert(t.merchants).values(id="mer_1", name="Shop", created_at=at))
            conn.execute(
                text(
                    "INSERT INTO customers (id, merchant_id, external_id, name, locale, timezone,"
                    " created_at) VALUES ('cus_1','mer_1','c1','Camille','fr','Europe/Paris',:at)"
                ),
                {"at": at.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO invoices (id, merchant_id, customer_id, number, amount_minor,"
                    " paid_minor, currency, status, issued_at, due_at, created_at) VALUES"
                    " ('inv_1','mer_1','cus_1','F-1',4990,0,'EUR','open',:at,:at,:at)"
                ),
                {"at": at.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, merchant_id, invoice_id, status, opened_at,"
                    " policy_version, reason, retry_class) VALUES"
                    " ('case_1','mer_1','inv_1','active',:at,1,'insufficient_funds','later')"
                ),
                {"at": at.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO actions (id, merchant_id, case_id, invoice_id, kind, step,"
                    " due_at, status, idempotency_key, explanation, claims, created_at) VALUES"
                    " ('act_1','mer_1','case_1','inv_1','reminder','first_notice',:at,'done',"
                    " 'case_1/reminder/first_notice','why',1,:at)"
                ),
                {"at": at.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO messages (id, merchant_id, case_id, action_id, channel, step,"
                    " locale, recipient, subject, body, external_id, sent_at) VALUES"
                    " ('msg_1','mer_1','case_1','act_1','email','first_notice','fr',"
                    " 'c@example.com','Sujet','Corps','<x@y>',:at)"
                ),
                {"at": at.replace(tzinfo=None)},
            )
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with engine.connect() as conn:
            message = conn.execute(select(t.messages)).one()
            action = conn.execute(select(t.actions)).one()
        assert (message.customer_id, message.status, message.transactional) == (
            "cus_1",
            "sent",
            False,
        )
        assert message.queued_at == message.sent_at == at
        assert action.customer_id == "cus_1"
    finally:
        engine.dispose()
