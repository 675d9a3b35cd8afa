"""Customers and the payment methods on file for them."""

from __future__ import annotations

from dataclasses import dataclass

from relance.domain.cases import decide_after_new_method
from relance.domain.customers import Customer, MethodType, PaymentMethod
from relance.domain.errors import InvalidInput, NotFound
from relance.ids import new_id
from relance.ports import Page
from relance.services.cases import apply_decisions
from relance.services.context import Context


@dataclass(frozen=True, slots=True)
class CustomerInput:
    external_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    locale: str = "fr"
    timezone: str = "Europe/Paris"


@dataclass(frozen=True, slots=True)
class PaymentMethodInput:
    customer_id: str
    gateway_token: str
    type: MethodType = MethodType.CARD
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    fingerprint: str | None = None


def register_customer(ctx: Context, merchant_id: str, data: CustomerInput) -> Customer:
    customer = Customer.register(
        id=new_id("cus"),
        external_id=data.external_id,
        name=data.name,
        email=data.email,
        phone=data.phone,
        locale=data.locale,
        timezone=data.timezone,
    )
    with ctx.uow() as store:
        store.add_customer(merchant_id, customer, ctx.clock.now())
    return customer


def get_customer(ctx: Context, merchant_id: str, customer_id: str) -> Customer:
    with ctx.uow() as store:
        customer = store.get_customer(merchant_id, customer_id)
    if customer is None:
        raise NotFound(f"No customer has the id '{customer_id}'.")
    return customer


def list_customers(ctx: Context, merchant_id: str, after: str | None, limit: int) -> Page[Customer]:
    with ctx.uow() as store:
        return store.list_customers(merchant_id, after, limit)


def add_payment_method(ctx: Context, merchant_id: str, data: PaymentMethodInput) -> PaymentMethod:
    """A new method becomes the one Relance retries with (it is how a card gets updated)."""
    method = PaymentMethod.register(
        id=new_id("pm"),
        customer_id=data.customer_id,
        gateway_token=data.gateway_token,
        type=data.type,
        brand=data.brand,
        last4=data.last4,
        exp_month=data.exp_month,
        exp_year=data.exp_year,
        fingerprint=data.fingerprint,
    )
    now = ctx.clock.now()
    with ctx.uow() as store:
        if store.get_customer(merchant_id, data.customer_id) is None:
            raise InvalidInput(f"No customer has the id '{data.customer_id}'.")
        store.add_payment_method(merchant_id, method, now)
        for case in store.open_cases_of_customer(merchant_id, data.customer_id):
            renewed, decisions = decide_after_new_method(case, method.id, now)
            if decisions:
                store.save_case(renewed)
                apply_decisions(store, merchant_id, renewed, decisions, now)
    return method


def list_payment_methods(
    ctx: Context, merchant_id: str, customer_id: str | None, after: str | None, limit: int
) -> Page[PaymentMethod]:
    with ctx.uow() as store:
        return store.list_payment_methods(merchant_id, customer_id, after, limit)
