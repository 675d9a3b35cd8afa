"""communications: merchant profile, customer reachability, opt-outs, message tracking,
payment links, template overrides, merchant webhooks

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relance.adapters.db.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("sender_email", sa.String(320)))
        batch.add_column(sa.Column("support_email", sa.String(320)))
        batch.add_column(sa.Column("support_phone", sa.String(20)))
        batch.add_column(sa.Column("brand_color", sa.String(7)))
        batch.add_column(sa.Column("service_description", sa.JSON()))
        batch.add_column(sa.Column("default_locale", sa.String(8)))
        batch.add_column(sa.Column("country", sa.String(2)))
        batch.add_column(sa.Column("sms_sender", sa.String(16)))

    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("country", sa.String(2)))
        batch.add_column(sa.Column("segment", sa.String(40)))
        batch.add_column(sa.Column("email_undeliverable_at", UTCDateTime()))
        batch.add_column(sa.Column("email_undeliverable_reason", sa.Text()))

    op.create_table(
        "opt_outs",
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_opt_outs_merchant_id_merchants"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_opt_outs_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", "channel", name="pk_opt_outs"),
    )

    with op.batch_alter_table("actions") as batch:
        batch.alter_column("case_id", existing_type=sa.String(32), nullable=True)
        batch.alter_column("invoice_id", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("customer_id", sa.String(32)))
        batch.add_column(sa.Column("payload", sa.JSON()))
        batch.create_foreign_key(
            "fk_actions_customer_id_customers", "customers", ["customer_id"], ["id"]
        )
        batch.create_index("ix_actions_customer_id", ["customer_id"])
    op.execute(
        "UPDATE actions SET customer_id = "
        "(SELECT customer_id FROM invoices WHERE invoices.id = actions.invoice_id)"
    )

    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_action_id", type_="unique")
        batch.alter_column("case_id", existing_type=sa.String(32), nullable=True)
        batch.alter_column("external_id", existing_type=sa.String(200), nullable=True)
        batch.alter_column("sent_at", existing_type=UTCDateTime(), nullable=True)
        batch.add_column(sa.Column("customer_id", sa.String(32)))
        batch.add_column(sa.Column("template", sa.String(32)))
        batch.add_column(sa.Column("tone", sa.String(16)))
        batch.add_column(sa.Column("html", sa.Text()))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="sent"))
        batch.add_column(
            sa.Column("transactional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("invoice_ids", sa.JSON()))
        batch.add_column(sa.Column("link_token", sa.String(64)))
        batch.add_column(sa.Column("error", sa.Text()))
        batch.add_column(sa.Column("queued_at", UTCDateTime()))
        batch.create_foreign_key(
            "fk_messages_customer_id_customers", "customers", ["customer_id"], ["id"]
        )
        batch.create_index("ix_messages_customer_id", ["customer_id"])
        batch.create_index("ix_messages_customer_queued", ["customer_id", "queued_at"])
        batch.create_unique_constraint("uq_messages_action_id_channel", ["action_id", "channel"])
    op.execute(
        "UPDATE messages SET queued_at = sent_at, customer_id = (SELECT i.customer_id FROM "
        "cases c JOIN invoices i ON i.id = c.invoice_id WHERE c.id = messages.case_id)"
    )
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("status", server_default=None, existing_type=sa.String(16))
        batch.alter_column("transactional", server_default=None, existing_type=sa.Boolean())

    op.create_table(
        "payment_links",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(32)),
        sa.Column("step", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("first_clicked_at", UTCDateTime()),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_payment_links_merchant_id_merchants"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_payment_links_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("token", name="pk_payment_links"),
    )
    op.create_index("ix_payment_links_customer_id", "payment_links", ["customer_id"])

    op.create_table(
        "template_overrides",
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_template_overrides_merchant_id_merchants"
        ),
        sa.PrimaryKeyConstraint("merchant_id", "name", "locale", name="pk_template_overrides"),
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime()),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_webhook_endpoints_merchant_id_merchants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("action_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_webhook_attempts_merchant_id_merchants"
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_webhook_attempts_endpoint_id_webhook_endpoints",
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name="fk_webhook_attempts_action_id_actions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_endpoint", "webhook_attempts", ["endpoint_id", "id"])


def downgrade() -> None:
    raise NotImplementedError(
        "0004 is not reversible: messages gained columns the 0003 "
        "schema cannot hold; restore a backup instead."
    )
