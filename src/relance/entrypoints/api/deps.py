"""Request-scoped dependencies: the wired context, the authenticated merchant, idempotency."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from relance.config import Settings
from relance.domain.errors import RelanceError, Unauthenticated
from relance.entrypoints.api.problems import PROBLEM, from_error
from relance.services import idempotency
from relance.services.context import Context
from relance.services.merchants import authenticate

MAX_PAGE = 100


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_settings(request: Request) -> Settings:
    """For the few routes that depend on how this instance is set up (public URL, inbound
    SMS credentials); use cases get what they need through the context instead."""
    settings: Settings = request.app.state.settings
    return settings


def current_merchant(
    request: Request,
    ctx: Annotated[Context, Depends(get_ctx)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Send your API key as 'Authorization: Bearer <key>'.")
    merchant_id = authenticate(ctx, key.strip())
    request.state.merchant_id = merchant_id  # for the request log line
    return merchant_id


async def raw_body(request: Request) -> bytes:
    return await request.body()


Ctx = Annotated[Context, Depends(get_ctx)]
Config = Annotated[Settings, Depends(get_settings)]
Merchant = Annotated[str, Depends(current_merchant)]
Body = Annotated[bytes, Depends(raw_body)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def respond(
    request: Request,
    ctx: Context,
    merchant_id: str,
    key: str | None,
    body: bytes,
    status_code: int,
    produce: Callable[[], BaseModel],
) -> Response:
    """Run a POST once per Idempotency-Key: a replay gets the first response (errors too),
    the same key with another body is a 409."""
    if key is None:
        return JSONResponse(produce().model_dump(mode="json"), status_code=status_code)
    request_hash = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    replay = idempotency.begin_request(ctx, merchant_id, key, request_hash)
    if replay is not None:
        media = PROBLEM if replay.status_code >= 400 else "application/json"
        return Response(
            replay.body,
            status_code=replay.status_code,
            media_type=media,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response: Response = JSONResponse(
            produce().model_dump(mode="json"), status_code=status_code
        )
    except RelanceError as exc:
        response = from_error(exc)  # a refusal is an answer: replaying the key repeats it
    except BaseException:
        idempotency.abandon_request(ctx, merchant_id, key)
        raise
    idempotency.finish_request(
        ctx, merchant_id, key, response.status_code, bytes(response.body).decode()
    )
    return response


def page_limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))
