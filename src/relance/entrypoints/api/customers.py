"""/v1/customers (with their opt-outs and the messages they received) and /v1/payment-methods."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.domain.consent import OptOutSource
from relance.entrypoints.api.communication_schemas import CustomerDetailOut, OptOutIn, OptOutOut
from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, page_limit, respond
from relance.entrypoints.api.schemas import (
    CustomerIn,
    CustomerOut,
    ListOut,
    MessageOut,
    PaymentMethodIn,
    PaymentMethodOut,
)
from relance.services import customers as svc

router = APIRouter(prefix="/v1", tags=["customers"])
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page.")]


@router.post("/customers", status_code=201, response_model=CustomerOut)
def create_customer(
    request: Request,
    data: CustomerIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    def produce() -> CustomerOut:
        return CustomerOut.of(
            svc.register_customer(ctx, merchant, svc.CustomerInput(**data.model_dump()))
        )

    return respond(request, ctx, merchant, key, body, 201, produce)


@router.get("/customers", response_model=ListOut[CustomerOut])
def list_customers(
    ctx: Ctx, merchant: Merchant, cursor: Cursor = None, limit: int = 20
) -> ListOut[CustomerOut]:
    page = svc.list_customers(ctx, merchant, cursor, page_limit(limit))
    return ListOut.of(page, CustomerOut.of)


@router.get("/customers/{customer_id}", response_model=CustomerDetailOut)
def get_customer(customer_id: str, ctx: Ctx, merchant: Merchant) -> CustomerDetailOut:
    found = CustomerOut.of(svc.get_customer(ctx, merchant, customer_id))
    opt_outs = [OptOutOut.of(o) for o in svc.opt_outs_of(ctx, merchant, customer_id)]
    return CustomerDetailOut(**found.model_dump(), opt_outs=opt_outs)


@router.post("/customers/{customer_id}/opt-outs", response_model=ListOut[OptOutOut])
def record_opt_out(
    customer_id: str,
    request: Request,
    data: OptOutIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """The customer asked you to stop using a channel. Honoured forever (only transactional
    notices still go out); recording it again changes nothing. Answers every opt-out."""

    def produce() -> ListOut[OptOutOut]:
        found = svc.record_opt_out(ctx, merchant, customer_id, data.channel, OptOutSource.MERCHANT)
        return ListOut[OptOutOut].whole([OptOutOut.of(o) for o in found])

    return respond(request, ctx, merchant, key, body, 200, produce)


@router.post("/customers/{customer_id}/payment-links/revoke")
def revoke_payment_links(customer_id: str, ctx: Ctx, merchant: Merchant) -> dict[str, int]:
    """Stop every payment link already sent to this customer (e.g. an email was forwarded).
    Opening one then shows a page with your support contact; new messages carry new links.
    Revoking again changes nothing."""
    return {"revoked": svc.revoke_payment_links(ctx, merchant, customer_id)}


@router.get("/customers/{customer_id}/opt-outs", response_model=ListOut[OptOutOut])
def list_opt_outs(customer_id: str, ctx: Ctx, merchant: Merchant) -> ListOut[OptOutOut]:
    found = svc.opt_outs_of(ctx, merchant, customer_id)
    return ListOut[OptOutOut].whole([OptOutOut.of(o) for o in found])


@router.get("/customers/{customer_id}/messages", response_model=ListOut[MessageOut])
def list_messages(
    customer_id: str, ctx: Ctx, merchant: Merchant, cursor: Cursor = None, limit: int = 20
) -> ListOut[MessageOut]:
    """Everything sent, or tried, to the customer on every channel, oldest first."""
    page = svc.messages_of(ctx, merchant, customer_id, cursor, page_limit(limit))
    return ListOut.of(page, MessageOut.of)


@router.post("/payment-methods", status_code=201, response_model=PaymentMethodOut)
def create_payment_method(
    request: Request,
    data: PaymentMethodIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    def produce() -> PaymentMethodOut:
        method = svc.add_payment_method(ctx, merchant, svc.PaymentMethodInput(**data.model_dump()))
        return PaymentMethodOut.of(method)

    return respond(request, ctx, merchant, key, body, 201, produce)


@router.get("/payment-methods", response_model=ListOut[PaymentMethodOut])
def list_payment_methods(
    ctx: Ctx,
    merchant: Merchant,
    customer_id: str | None = None,
    cursor: Cursor = None,
    limit: int = 20,
) -> ListOut[PaymentMethodOut]:
    page = svc.list_payment_methods(ctx, merchant, customer_id, cursor, page_limit(limit))
    return ListOut.of(page, PaymentMethodOut.of)
