"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when
RELANCE_TEST_DATABASE_URL is set), a frozen clock, and a wired application."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App, build
from relance.config import Settings

PG_ENV = "RELANCE_TEST_DATABASE_URL"
NO_PG = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# A Saturday morning in Paris, away from quiet hours and DST changes.
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(NO_PG)
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relance.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def make_settings(database_url: str, folder: Path, **extra: object) -> Settings:
    return Settings(
        database_url=database_url,
        outbox_dir=folder / "outbox",
        sandbox_dir=folder / "sandbox",
        secret_key_file=folder / "secret_key",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[App]:
    built = build(make_settings(database_url, tmp_path), clock=clock)
    built.migrate()
    yield built
    built.close()
