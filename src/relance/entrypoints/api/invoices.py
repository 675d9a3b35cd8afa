"""/v1/invoices, money received against them, and attempts reported by the merchant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.domain.attempts import Outcome, RawCodes
from relance.domain.invoices import InvoiceStatus
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, page_limit, respond
from relance.entrypoints.api.schemas import (
    AttemptIn,
    AttemptOut,
    InvoiceIn,
    InvoiceOut,
    ListOut,
    PaymentIn,
)
from relance.services import invoices as svc
from relance.services import payments

router = APIRouter(prefix="/v1", tags=["invoices"])
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page.")]


@router.post("/invoices", status_code=201, response_model=InvoiceOut)
def create_invoice(
    request: Request,
    data: InvoiceIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    def produce() -> InvoiceOut:
        fields = data.model_dump(exclude={"amount", "currency"})
        invoice = svc.issue_invoice(
            ctx, merchant, svc.InvoiceInput(amount=Money(data.amount, data.currency), **fields)
        )
        return InvoiceOut.of(invoice)

    return respond(request, ctx, merchant, key, body, 201, produce)


@router.get("/invoices", response_model=ListOut[InvoiceOut])
def list_invoices(
    ctx: Ctx,
    merchant: Merchant,
    status: InvoiceStatus | None = None,
    cursor: Cursor = None,
    limit: int = 20,
) -> ListOut[InvoiceOut]:
    page = svc.list_invoices(ctx, merchant, status, cursor, page_limit(limit))
    return ListOut.of(page, InvoiceOut.of)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, ctx: Ctx, merchant: Merchant) -> InvoiceOut:
    return InvoiceOut.of(svc.get_invoice(ctx, merchant, invoice_id))


@router.post("/invoices/{invoice_id}/payments", status_code=201, response_model=InvoiceOut)
def record_payment(
    invoice_id: str,
    request: Request,
    data: PaymentIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """Money received by any means; settling the invoice recovers its case."""

    def produce() -> InvoiceOut:
        svc.get_invoice(ctx, merchant, invoice_id)  # 404 for an unknown invoice in the path
        received = payments.PaymentInput(
            Money(data.amount, data.currency),
            data.paid_at,
            PaymentMethodUsed(data.method),
            data.reference,
        )
        return InvoiceOut.of(payments.record_payment(ctx, merchant, invoice_id, received))

    return respond(request, ctx, merchant, key, body, 201, produce)


@router.post("/payment-attempts", status_code=201, response_model=AttemptOut, tags=["attempts"])
def report_attempt(
    request: Request,
    data: AttemptIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """An attempt made by the merchant's own processor; a failure opens or updates a case."""

    def produce() -> AttemptOut:
        codes = RawCodes(
            data.decline_code,
            data.network_response_code,
            data.network_advice_code,
            data.sepa_reason_code,
            data.processor,
            data.advice_code,
        )
        recorded = payments.record_payment_attempt(
            ctx,
            merchant,
            payments.AttemptInput(
                data.invoice_id,
                Money(data.amount, data.currency),
                Outcome(data.outcome),
                data.attempted_at,
                codes,
                data.payment_method_id,
            ),
        )
        return AttemptOut(
            id=recorded.attempt.id,
            invoice_id=recorded.attempt.invoice_id,
            outcome=recorded.attempt.outcome.value,
            case_id=recorded.case_id,
            invoice=InvoiceOut.of(recorded.invoice),
        )

    return respond(request, ctx, merchant, key, body, 201, produce)
