"""One transaction per use case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from relance.adapters.db.repositories import SqlStore


class SqlUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[SqlStore]:
        with self.engine.begin() as conn:
            yield SqlStore(conn)
