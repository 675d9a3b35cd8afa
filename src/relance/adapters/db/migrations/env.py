"""Alembic environment: runs on the connection `relance.adapters.db.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from relance.adapters.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic` command line, for developers writing a new revision
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///var/relance.db")
    with engine.connect() as conn:
        _run(conn)
