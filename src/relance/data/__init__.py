"""Rules and defaults shipped as data (policies, templates); read on demand, never at import."""

from __future__ import annotations

from functools import cache
from importlib import resources

from relance.domain.declines import DeclineCatalogue, parse_catalogue

DECLINE_TABLES = ("reasons", "stripe", "iso8583", "visa", "mastercard", "sepa")


def read_text(relative: str) -> str:
    return resources.files(__name__).joinpath(relative).read_text(encoding="utf-8")


def path_of(relative: str) -> str:
    return str(resources.files(__name__).joinpath(relative))


@cache
def decline_catalogue() -> DeclineCatalogue:
    """The decline tables shipped with Relance (read once, on first use)."""
    return parse_catalogue({name: read_text(f"declines/{name}.toml") for name in DECLINE_TABLES})


def network_rules_text() -> str:
    return read_text("declines/network_rules.toml")
