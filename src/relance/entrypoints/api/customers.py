"""/v1/customers and /v1/payment-methods."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, page_limit, respond
from relance.entrypoints.api.schemas import (
    CustomerIn,
    CustomerOut,
    ListOut,
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


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, ctx: Ctx, merchant: Merchant) -> CustomerOut:
    return CustomerOut.of(svc.get_customer(ctx, merchant, customer_id))


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
