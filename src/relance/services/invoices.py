"""Invoices: issuing them and reading their status and balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relance.domain.errors import InvalidInput, NotFound
from relance.domain.invoices import Invoice, InvoiceStatus
from relance.domain.money import Money
from relance.ids import new_id
from relance.ports import Page
from relance.services.context import Context
from relance.services.message_plans import plan_pre_due


@dataclass(frozen=True, slots=True)
class InvoiceInput:
    customer_id: str
    number: str
    amount: Money
    issued_at: datetime
    due_at: datetime
    subscription_ref: str | None = None


def issue_invoice(ctx: Context, merchant_id: str, data: InvoiceInput) -> Invoice:
    invoice = Invoice.issue(
        id=new_id("inv"),
        customer_id=data.customer_id,
        number=data.number,
        amount=data.amount,
        issued_at=data.issued_at,
        due_at=data.due_at,
        subscription_ref=data.subscription_ref,
    )
    now = ctx.clock.now()
    with ctx.uow() as store:
        customer = store.get_customer(merchant_id, data.customer_id)
        if customer is None:
            raise InvalidInput(f"No customer has the id '{data.customer_id}'.")
        store.add_invoice(merchant_id, invoice, now)
        plan_pre_due(store, merchant_id, invoice, customer, now)
    return invoice


def get_invoice(ctx: Context, merchant_id: str, invoice_id: str) -> Invoice:
    with ctx.uow() as store:
        invoice = store.get_invoice(merchant_id, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice has the id '{invoice_id}'.")
    return invoice


def list_invoices(
    ctx: Context, merchant_id: str, status: InvoiceStatus | None, after: str | None, limit: int
) -> Page[Invoice]:
    with ctx.uow() as store:
        return store.list_invoices(merchant_id, status.value if status else None, after, limit)
