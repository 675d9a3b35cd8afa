"""payment_methods.fingerprint: one card behind several tokens, for the network ceilings

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_methods") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=255), nullable=True))
        batch.create_index("ix_payment_methods_fingerprint", ["fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("payment_methods") as batch:
        batch.drop_index("ix_payment_methods_fingerprint")
        batch.drop_column("fingerprint")
