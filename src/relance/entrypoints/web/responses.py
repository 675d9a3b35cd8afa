"""The payment page's HTML responses: the page itself, the page for a link that cannot be
used, the page for a request that cannot be answered, and what every one of them carries (the
security headers with this response's style nonce, the Content-Language)."""

from __future__ import annotations

import traceback
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relance.domain.merchants import MerchantProfile
from relance.entrypoints.logs import logger
from relance.entrypoints.web import rendering
from relance.entrypoints.web.page_model import Extras, common, page_path, page_variables
from relance.entrypoints.web.security import PageLimits, over_tls, page_headers, style_nonce
from relance.services.context import Context
from relance.services.payment_page import LinkProblem, PageView

_LINK_STATUS = {LinkProblem.UNKNOWN: 404, LinkProblem.EXPIRED: 410, LinkProblem.REVOKED: 410}


def limits(request: Request) -> PageLimits:
    """This process's rate limits (set up by web.install; made here if it was not called)."""
    found = getattr(request.app.state, "pay_limits", None)
    if not isinstance(found, PageLimits):
        found = request.app.state.pay_limits = PageLimits()
    return found


def extras(request: Request, ctx: Context, **values: Any) -> Extras:
    """What the page needs besides the PageView, with this response's nonce and clock."""
    return Extras(
        style_nonce=style_nonce(request), secret=ctx.secret_key, now=ctx.clock.now(), **values
    )


def page(
    request: Request,
    view: PageView,
    language: str,
    url_token: str,
    extras: Extras,
    status: int = 200,
) -> Response:
    html = rendering.render(
        "pay.html.j2", language, page_variables(view, language, url_token, extras)
    )
    return _html(request, html, language, status)


def see_outcome(url_token: str, nonce: str, language: str) -> Response:
    return RedirectResponse(page_path(url_token, r=nonce, lang=language), status_code=303)


def link_problem(
    request: Request,
    url_token: str,
    guess: str | None,
    problem: LinkProblem,
    merchant: MerchantProfile | None,
) -> Response:
    """Why the link does not work, and whom to ask; nothing about the account behind it."""
    language = guess or _merchant_language(merchant)
    variables = {
        **common(language, url_token, merchant, style_nonce(request)),
        "problem": str(problem),
    }
    html = rendering.render("link_problem.html.j2", language, variables)
    return _html(request, html, language, _LINK_STATUS.get(problem, 404))


def problem(
    request: Request,
    url_token: str,
    guess: str | None,
    kind: str,
    status: int,
    retry_after: int | None = None,
) -> Response:
    language = guess or "en"
    variables = {**common(language, url_token, None, style_nonce(request)), "kind": kind}
    response = _html(
        request, rendering.render("problem.html.j2", language, variables), language, status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def failure(request: Request, url_token: str, guess: str | None, exc: Exception) -> Response:
    """A bug: a page that says so in words, and a log line with where it happened. Only the
    exception's type and frames are logged, not its message: a database error's message
    lists the query's parameters, and one of them is the link's token."""
    route = request.scope.get("route")
    logger.error(
        "payment page failed",
        extra={
            "fields": {
                "path": getattr(route, "path", "/pay"),
                "method": request.method,
                "error": type(exc).__name__,
                "trace": "".join(traceback.format_tb(exc.__traceback__)),
            }
        },
    )
    return problem(request, url_token, guess, "error", 500)


def _merchant_language(merchant: MerchantProfile | None) -> str:
    return (rendering.language_of(merchant.default_locale) if merchant else None) or "en"


def _html(request: Request, html: str, language: str, status: int) -> Response:
    headers = page_headers(style_nonce(request), over_tls(request))
    headers["Content-Language"] = language
    return HTMLResponse(html, status_code=status, headers=headers)
