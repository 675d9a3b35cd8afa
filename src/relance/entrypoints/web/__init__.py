"""Server-rendered pages for people: the customer's payment page (`/pay/<link>`), its static
assets (`/pay-assets/…`) and the security around them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from relance.data import path_of
from relance.entrypoints.web import pay
from relance.entrypoints.web.security import PageHeaders, PageLimits

SECRET_PATHS = pay.SECRET_PATHS


def install(api: FastAPI) -> None:
    """Add the payment page to `api`: its routes, its CSS and script, the security headers on
    everything under /pay/ and /pay-assets/, and this process's rate limits."""
    api.state.pay_limits = PageLimits()
    api.include_router(pay.router)
    api.mount("/pay-assets", StaticFiles(directory=path_of("static")), name="pay-assets")
    api.add_middleware(PageHeaders)
