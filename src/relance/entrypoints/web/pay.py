"""The customer's payment page: `GET /pay/<link>` and the five forms it posts.

Every form works without JavaScript: a POST answers 303 See Other to the page with
`?r=<nonce>`, where the outcome of that form is shown (Post/Redirect/Get, so reloading never
sends a form twice). The form's nonce is also its idempotency key: a second submission of the
same form (a double click, a reload of the POST) is answered with the same redirect, without
acting again. A refusal (a mistyped card, a date outside the window) re-renders the page at once
with the reason next to the field, and is not remembered: correcting and resending is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from math import ceil
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relance.domain.arrangements import PromiseOutsideWindow
from relance.domain.cards import InvalidCard, read_card
from relance.domain.errors import Conflict, IdempotencyConflict, InvalidInput
from relance.entrypoints.api.deps import Body, Ctx
from relance.entrypoints.api.public_pages import preferred_locale
from relance.entrypoints.web import outcomes, rendering, responses
from relance.entrypoints.web.page_model import (
    CardForm,
    Notice,
    page_path,
)
from relance.entrypoints.web.security import (
    form_token_valid,
    origin_allowed,
    request_fingerprint,
)
from relance.services import idempotency
from relance.services import payment_page as svc
from relance.services.context import Context
from relance.services.payment_page import CoolingDown, LinkProblem, PageView, UnusableLink

router = APIRouter(include_in_schema=False)

# Route patterns whose parameter is the customer's key: the request log writes these, never
# the path itself.
SECRET_PATHS = frozenset(
    {"/pay/{url_token}", *(f"/pay/{{url_token}}/{action}" for action in outcomes.ACTIONS)}
)

MAX_TOKEN = 200  # a signed link is about 50 characters; anything much longer is not one
MAX_BODY = 16_384  # the card form is the largest, well under 1 KB
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")

AcceptLanguage = Annotated[str | None, Header(alias="Accept-Language")]


@router.get("/pay/{url_token}", response_class=HTMLResponse)
def payment_page(
    url_token: str,
    request: Request,
    ctx: Ctx,
    lang: str | None = None,
    r: str | None = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """The page. `lang` switches language; `r` shows what the form with that nonce did."""
    guess = rendering.language_of(lang) or preferred_locale(accept_language)
    try:
        wait = responses.limits(request).view(request, url_token, ctx.clock.now())
        if wait:
            return responses.problem(request, url_token, guess, "too_many", 429, retry_after=wait)
        if len(url_token) > MAX_TOKEN:
            return responses.link_problem(request, url_token, guess, LinkProblem.UNKNOWN, None)
        # Arriving from a message counts as a visit; switching language or coming back from
        # a form does not.
        view = svc.view_page(ctx, url_token, visit=lang is None and r is None)
        language = rendering.language_of(lang) or rendering.language_of(view.locale) or "en"
        shown = None
        if r and _NONCE.fullmatch(r):
            facts = outcomes.recall(ctx, view.merchant.id, url_token, r)
            locale = rendering.formatting_locale(view.locale, language)
            shown = outcomes.shown(facts, language, locale) if facts else None
        extras = responses.extras(request, ctx, outcome=shown, result_nonce=r if shown else None)
        return responses.page(request, view, language, url_token, extras)
    except UnusableLink as exc:
        return responses.link_problem(request, url_token, guess, exc.problem, exc.merchant)
    except Exception as exc:
        return responses.failure(request, url_token, guess, exc)


def _submit(
    action: str, url_token: str, request: Request, ctx: Context, body: bytes, lang: str | None
) -> Response:
    guess = rendering.language_of(lang) or preferred_locale(request.headers.get("accept-language"))
    try:
        return _handle(action, url_token, request, ctx, body, lang, guess)
    except UnusableLink as exc:
        return responses.link_problem(request, url_token, guess, exc.problem, exc.merchant)
    except Exception as exc:
        return responses.failure(request, url_token, guess, exc)


def _handle(
    action: str,
    url_token: str,
    request: Request,
    ctx: Context,
    body: bytes,
    lang: str | None,
    guess: str | None,
) -> Response:
    now = ctx.clock.now()
    wait = responses.limits(request).post(request, url_token, now)
    if wait:
        return responses.problem(request, url_token, guess, "too_many", 429, retry_after=wait)
    if len(body) > MAX_BODY:
        return responses.problem(request, url_token, guess, "bad_request", 413)
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    nonce = fields.get("nonce", "")
    if not origin_allowed(request, ctx.public_url) or not (
        _NONCE.fullmatch(nonce)
        and form_token_valid(ctx.secret_key, url_token, nonce, fields.get("csrf", ""), now)
    ):
        return responses.problem(request, url_token, guess, "expired_form", 403)
    if len(url_token) > MAX_TOKEN:
        return responses.link_problem(request, url_token, guess, LinkProblem.UNKNOWN, None)
    view = svc.view_page(ctx, url_token, visit=False)
    language = rendering.language_of(lang) or rendering.language_of(view.locale) or "en"

    def again(status: int, **extras: Any) -> Response:
        """The page again, with the refusal shown; a fresh nonce for every form."""
        return responses.page(
            request, view, language, url_token, responses.extras(request, ctx, **extras), status
        )

    prepared = _prepare(action, fields, view, ctx, url_token)
    if not callable(prepared):
        card_form, notice, status = prepared
        return again(status, card_form=card_form, notice=notice)

    key = f"page:{nonce}"
    merchant_id = view.merchant.id
    result = responses.see_outcome(url_token, nonce, language)
    try:
        replay = idempotency.begin_request(
            ctx, merchant_id, key, request_fingerprint(ctx.secret_key, action, fields)
        )
    except IdempotencyConflict:
        return result  # the first submission is running or done: its outcome will show
    if replay is not None:
        return result
    try:
        outcome = prepared()
    except BaseException as exc:
        # Nothing was done: forget the nonce, so that the customer may correct and resend.
        idempotency.abandon_request(ctx, merchant_id, key)
        if isinstance(exc, CoolingDown):
            seconds = max(1, ceil((exc.until - now).total_seconds()))
            response = again(429, cooldown_until=exc.until)
            response.headers["Retry-After"] = str(seconds)
            return response
        if isinstance(exc, InvalidCard):
            return again(422, card_form=_card_form(fields, exc))
        if isinstance(exc, PromiseOutsideWindow):
            return again(422, notice=Notice(action, "promise_window"))
        if isinstance(exc, svc.Refused):
            return again(_REFUSAL_STATUS.get(exc.code, 409), notice=Notice(action, exc.code))
        if isinstance(exc, InvalidInput | Conflict):
            status = 409 if isinstance(exc, Conflict) else 422
            return again(status, notice=Notice(action, "refused", str(exc)))
        raise
    idempotency.finish_request(ctx, merchant_id, key, 303, outcome)
    return result


Prepared = Callable[[], str] | tuple[CardForm, Notice | None, int]

# The services decide what may be done (svc.Refused); the page only words it. A choice the page
# never offered is a bad form (422); the rest is the account's state (409).
_REFUSAL_STATUS = {"plan_count": 422}


def _prepare(
    action: str, fields: Mapping[str, str], view: PageView, ctx: Context, url_token: str
) -> Prepared:
    """The service call to make for this form, once what was typed can be read (a card, a
    number, a date); or why not, as (card form, notice, status) for the page shown again.
    Whether the action is allowed is the service's to say."""
    if action == "card":
        try:
            entry = read_card(
                fields.get("number", ""),
                fields.get("expiry", ""),
                fields.get("cvc", ""),
                fields.get("name", ""),
                view.today,
            )
        except InvalidCard as exc:
            return _card_form(fields, exc), None, 422
        return lambda: outcomes.card_outcome(url_token, svc.update_card(ctx, url_token, entry))
    if action == "pay":
        return lambda: outcomes.charge_outcome(url_token, svc.pay_now(ctx, url_token))
    if action == "plan":
        count = _integer(fields.get("count", ""))
        if count is None:
            return CardForm(), Notice(action, "plan_count"), 422
        return lambda: outcomes.arrangement_outcome(
            url_token, action, svc.accept_plan(ctx, url_token, count)
        )
    if action == "promise":
        on = _date(fields.get("date", ""))
        if on is None:
            return CardForm(), Notice(action, "promise_format"), 422
        return lambda: outcomes.arrangement_outcome(
            url_token, action, svc.promise_to_pay(ctx, url_token, on)
        )
    return lambda: outcomes.arrangement_outcome(
        url_token, action, svc.choose_transfer(ctx, url_token)
    )


def _card_form(fields: Mapping[str, str], exc: InvalidCard) -> CardForm:
    problems: dict[str, str] = {}
    for problem in exc.problems:
        problems.setdefault(str(problem.field), problem.code)  # the first problem of a field
    return CardForm(fields.get("name", ""), fields.get("expiry", ""), problems)


def _integer(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None


def _date(text: str) -> date | None:
    """ISO (what a date input sends), or DD/MM/YYYY typed where the browser shows a text box."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        day, month, year = (int(part) for part in text.replace("-", "/").split("/"))
        return date(year, month, day)
    except ValueError:
        return None


# -- the five forms ---------------------------------------------------------------------------


@router.post("/pay/{url_token}/card", response_class=HTMLResponse)
def card_form(
    url_token: str, request: Request, ctx: Ctx, body: Body, lang: str | None = None
) -> Response:
    """A new card: checked here, saved by the gateway, then the open invoices are retried."""
    return _submit("card", url_token, request, ctx, body, lang)


@router.post("/pay/{url_token}/pay", response_class=HTMLResponse)
def pay_form(
    url_token: str, request: Request, ctx: Ctx, body: Body, lang: str | None = None
) -> Response:
    """Pay now with the card on file."""
    return _submit("pay", url_token, request, ctx, body, lang)


@router.post("/pay/{url_token}/plan", response_class=HTMLResponse)
def plan_form(
    url_token: str, request: Request, ctx: Ctx, body: Body, lang: str | None = None
) -> Response:
    """Accept a plan of `count` monthly instalments."""
    return _submit("plan", url_token, request, ctx, body, lang)


@router.post("/pay/{url_token}/promise", response_class=HTMLResponse)
def promise_form(
    url_token: str, request: Request, ctx: Ctx, body: Body, lang: str | None = None
) -> Response:
    """Promise to pay on `date`."""
    return _submit("promise", url_token, request, ctx, body, lang)


@router.post("/pay/{url_token}/transfer", response_class=HTMLResponse)
def transfer_form(
    url_token: str, request: Request, ctx: Ctx, body: Body, lang: str | None = None
) -> Response:
    """Pay by bank transfer: shows the merchant's account and the reference to quote."""
    return _submit("transfer", url_token, request, ctx, body, lang)


def back_to_page(url_token: str, lang: str | None = None) -> Response:
    """A form's address opened as a page (the address bar after a refusal was shown, a
    bookmark): the page itself, where the form is."""
    language = rendering.language_of(lang)
    return RedirectResponse(page_path(url_token, lang=language), status_code=303)


for _action in outcomes.ACTIONS:
    router.add_api_route(
        f"/pay/{{url_token}}/{_action}", back_to_page, methods=["GET"], include_in_schema=False
    )
