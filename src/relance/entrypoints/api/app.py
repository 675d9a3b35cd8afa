"""The FastAPI application: routers, problem+json errors, one log line per request, and (in
`relance serve`) the worker thread, stopped gracefully with the server."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

import relance
from relance.bootstrap import App
from relance.entrypoints import web
from relance.entrypoints.api import (
    cases,
    customers,
    declines,
    invoices,
    merchant,
    problems,
    public,
    templates,
    webhooks,
)
from relance.entrypoints.logs import log
from relance.entrypoints.worker import Worker, default_worker_name


def _loggable_path(request: Request) -> str:
    """The path, except where it holds a customer's secret (an unsubscribe token, a payment
    link): then the route's pattern, so logs never carry a link that acts for the customer.
    A /pay/ path that matched no route is logged by its pattern too (it may still hold one)."""
    route = request.scope.get("route")
    pattern = getattr(route, "path", None)
    secret = public.SECRET_PATHS | web.SECRET_PATHS
    if pattern in secret or request.url.path.startswith("/pay/"):
        return pattern or "/pay/{url_token}"
    return request.url.path


def create_app(app: App, run_worker: bool = False) -> FastAPI:
    worker = (
        Worker(
            app.ctx,
            default_worker_name(),
            lease_seconds=app.settings.worker_lease_seconds,
            batch=app.settings.worker_batch,
            poll_seconds=app.settings.worker_poll_seconds,
        )
        if run_worker
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread = (
            threading.Thread(target=worker.run, name="relance-worker", daemon=True)
            if worker
            else None
        )
        if thread:
            thread.start()
        yield
        if worker and thread:
            worker.stop()  # finishes the action in hand, gives the rest of its batch back
            thread.join(timeout=app.settings.worker_lease_seconds)

    api = FastAPI(
        title="Relance",
        version=relance.__version__,
        summary="Recovers failed and late payments.",
        lifespan=lifespan,
    )
    api.state.ctx = app.ctx
    api.state.settings = app.settings
    api.state.worker = worker
    problems.install(api)
    for module in (customers, invoices, cases, declines, merchant, templates, webhooks, public):
        api.include_router(module.router)
    web.install(api)

    @api.middleware("http")
    async def log_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        log(
            "request",
            method=request.method,
            path=_loggable_path(request),
            status=response.status_code,
            merchant_id=getattr(request.state, "merchant_id", None),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    @api.get("/healthz", tags=["health"])
    def healthz() -> Response:
        """Checks the database answers."""
        try:
            with app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return problems.problem(503, "unhealthy", "The database does not answer.")
        return JSONResponse({"status": "ok", "database": app.engine.dialect.name})

    return api
