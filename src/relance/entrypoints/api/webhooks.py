"""/v1/webhook-endpoints: where Relance announces what happened, and how each delivery went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.entrypoints.api.communication_schemas import (
    DeliveryListOut,
    DeliveryOut,
    NewWebhookEndpointOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, page_limit, respond
from relance.entrypoints.api.schemas import ListOut
from relance.services import webhooks as svc

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.post("/webhook-endpoints", status_code=201, response_model=NewWebhookEndpointOut)
def create_endpoint(
    request: Request,
    data: WebhookEndpointIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """The response carries the signing secret; it is never shown again."""

    def produce() -> NewWebhookEndpointOut:
        endpoint = svc.add_endpoint(ctx, merchant, data.url, data.events)
        return NewWebhookEndpointOut.created(endpoint)

    return respond(request, ctx, merchant, key, body, 201, produce)


@router.get("/webhook-endpoints", response_model=ListOut[WebhookEndpointOut])
def list_endpoints(ctx: Ctx, merchant: Merchant) -> ListOut[WebhookEndpointOut]:
    found = svc.list_endpoints(ctx, merchant)
    return ListOut[WebhookEndpointOut].whole([WebhookEndpointOut.of(e) for e in found])


@router.delete("/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointOut)
def disable_endpoint(endpoint_id: str, ctx: Ctx, merchant: Merchant) -> WebhookEndpointOut:
    """Disabled rather than deleted, so its delivery log stays readable."""
    return WebhookEndpointOut.of(svc.disable_endpoint(ctx, merchant, endpoint_id))


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=DeliveryListOut)
def list_deliveries(
    endpoint_id: str,
    ctx: Ctx,
    merchant: Merchant,
    before: Annotated[
        int | None, Query(description="The next_before of the previous page.")
    ] = None,
    limit: int = 20,
) -> DeliveryListOut:
    """Every HTTP attempt, newest first."""
    size = page_limit(limit)
    found = svc.delivery_log(ctx, merchant, endpoint_id, before, size + 1)
    shown = found[:size]
    has_more = len(found) > size
    return DeliveryListOut(
        data=[DeliveryOut.of(a) for a in shown],
        has_more=has_more,
        next_before=shown[-1].id if has_more else None,
    )
