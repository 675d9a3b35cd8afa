"""What every `relance …` command shares: the wired application for the length of one command,
the console, and the rule that an error is one line on stderr and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from relance.bootstrap import App, ConfigurationError, build
from relance.config import Settings
from relance.domain.errors import RelanceError
from relance.entrypoints import logs

out = Console(soft_wrap=True)  # never break an API key or a URL across lines


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def application(migrate: bool = False) -> Iterator[App]:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper()
        fail(f"{name if name.startswith('RELANCE_') else 'RELANCE_' + name}: {first['msg']}", 2)
    logs.configure(settings.log_level)
    try:
        app = build(settings)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    try:
        if migrate or (app.embedded and not app.schema_is_current()):
            app.migrate()
        elif not app.schema_is_current():
            fail("the database schema is not up to date: run `relance migrate` first.")
        yield app
    except RelanceError as exc:
        fail(str(exc))
    finally:
        app.close()
