"""What customers and SMS providers reach without an API key: the unsubscribe pages (the link
in every reminder email, and RFC 8058 one-click) and the inbound SMS hooks where STOP replies
arrive."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from relance.adapters.channels.sms import verify_twilio_signature
from relance.entrypoints.api import public_pages as pages
from relance.entrypoints.api.deps import Body, Config, Ctx
from relance.services import customers as svc

router = APIRouter(tags=["public"])

# Paths whose parameter is a customer's secret: logged as the pattern, never the value.
SECRET_PATHS = frozenset({"/unsubscribe/{token}"})

# The token stands for the customer: keep it out of caches, search engines and the Referer
# sent to any other site.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

AcceptLanguage = Annotated[str | None, Header(alias="Accept-Language")]


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_PRIVATE)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, ctx: Ctx, accept_language: AcceptLanguage = None) -> Response:
    """Asks for confirmation; nothing is recorded until the button is pressed."""
    locale = pages.preferred_locale(accept_language)
    merchant = svc.unsubscribe_target(ctx, token)
    if merchant is None:
        return _html(pages.unknown_page(locale), 404)
    return _html(pages.confirm_page(locale, merchant))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, ctx: Ctx, accept_language: AcceptLanguage = None) -> Response:
    """The page's button, or a mail client's one-click POST (body `List-Unsubscribe=One-Click`,
    RFC 8058): either way the customer asked, so the body is not needed. Repeating is fine."""
    locale = pages.preferred_locale(accept_language)
    merchant = svc.unsubscribe(ctx, token)
    if merchant is None:
        return _html(pages.unknown_page(locale), 404)
    return _html(pages.done_page(locale, merchant))


# -- inbound SMS ---------------------------------------------------------------------------
# Both hooks check who is calling in a dependency, so a stranger is refused before the body is
# even validated. A hook this instance is not set up for is simply not there (404).

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twilio_form(
    request: Request,
    settings: Config,
    body: Body,
    signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
) -> dict[str, str]:
    """The posted fields, once the signature proves Twilio sent them. Twilio signs the URL it
    called, which is the public URL, not the one this process sees behind a proxy."""
    if not settings.twilio_auth_token:
        raise HTTPException(404)
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not signature or not verify_twilio_signature(
        settings.twilio_auth_token, url, params, signature
    ):
        raise HTTPException(403, "The X-Twilio-Signature does not match this request.")
    return params


@router.post("/hooks/sms/{merchant_id}/twilio", response_class=Response)
def twilio_inbound(
    merchant_id: str, ctx: Ctx, params: Annotated[dict[str, str], Depends(twilio_form)]
) -> Response:
    """Twilio's "a message comes in" webhook (form fields From and Body)."""
    if params.get("From") and "Body" in params:
        svc.record_sms_reply(ctx, merchant_id, params["From"], params["Body"])
    # Empty TwiML: no automatic answer from us (carriers confirm a STOP themselves).
    return Response(EMPTY_TWIML, media_type="application/xml")


def sms_provider(settings: Config, authorization: Annotated[str | None, Header()] = None) -> None:
    """The generic provider calls with the bearer token Relance uses towards it."""
    expected = settings.sms_webhook_token
    if not expected:
        raise HTTPException(404)
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    ):
        raise HTTPException(403, "Send the SMS token as 'Authorization: Bearer <token>'.")


class SmsReplyIn(BaseModel):
    # Providers add fields of their own; only these two matter.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(max_length=2000)


class SmsReplyOut(BaseModel):
    opted_out: int = Field(description="Customers opted out of SMS by this reply.")


@router.post("/hooks/sms/{merchant_id}", dependencies=[Depends(sms_provider)])
def generic_inbound(merchant_id: str, data: SmsReplyIn, ctx: Ctx) -> SmsReplyOut:
    """The generic SMS provider's inbound hook: JSON {"from", "text"}."""
    return SmsReplyOut(opted_out=svc.record_sms_reply(ctx, merchant_id, data.sender, data.text))
