"""payment page: merchant bank details, card submissions, arrangements (plans, promises,
transfers) and their instalments

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relance.adapters.db.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("iban", sa.String(34)))
        batch.add_column(sa.Column("bic", sa.String(11)))

    op.create_table(
        "card_submissions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("link_token", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_card_submissions_merchant_id_merchants"
        ),
        sa.ForeignKeyConstraint(
            ["link_token"],
            ["payment_links.token"],
            name="fk_card_submissions_link_token_payment_links",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_card_submissions"),
    )
    op.create_index("ix_card_submissions_link_at", "card_submissions", ["link_token", "at"])

    op.create_table(
        "arrangements",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("invoice_ids", sa.JSON(), nullable=False),
        sa.Column("payment_method_id", sa.String(32)),
        sa.Column("reference", sa.String(35)),
        sa.Column("link_token", sa.String(64)),
        sa.Column("message_id", sa.String(32)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("end_reason", sa.Text()),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="fk_arrangements_merchant_id_merchants"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_arrangements_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_arrangements"),
        sa.UniqueConstraint("reference", name="uq_arrangements_reference"),
    )
    op.create_index("ix_arrangements_customer_id", "arrangements", ["customer_id"])

    op.create_table(
        "arrangement_instalments",
        sa.Column("arrangement_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settled_at", UTCDateTime()),
        sa.ForeignKeyConstraint(
            ["arrangement_id"],
            ["arrangements.id"],
            name="fk_arrangement_instalments_arrangement_id_arrangements",
        ),
        sa.PrimaryKeyConstraint("arrangement_id", "number", name="pk_arrangement_instalments"),
    )


def downgrade() -> None:
    op.drop_table("arrangement_instalments")
    op.drop_index("ix_arrangements_customer_id", "arrangements")
    op.drop_table("arrangements")
    op.drop_index("ix_card_submissions_link_at", "card_submissions")
    op.drop_table("card_submissions")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("bic")
        batch.drop_column("iban")
