"""Customers and the payment methods on file for them."""

from __future__ import annotations

from dataclasses import dataclass

from relance.domain.cases import decide_after_new_method
from relance.domain.consent import CHANNELS, OptOut, OptOutSource, is_stop_request
from relance.domain.customers import Customer, MethodType, PaymentMethod
from relance.domain.errors import InvalidInput, NotFound
from relance.domain.messages import Message
from relance.ids import new_id
from relance.ports import Page
from relance.services.cases import apply_decisions
from relance.services.context import Context
from relance.services.message_plans import plan_card_notices


@dataclass(frozen=True, slots=True)
class CustomerInput:
    external_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    locale: str = "fr"
    timezone: str = "Europe/Paris"
    country: str | None = None
    segment: str | None = None


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
        country=data.country,
        segment=data.segment,
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
        customer = store.get_customer(merchant_id, data.customer_id)
        if customer is None:
            raise InvalidInput(f"No customer has the id '{data.customer_id}'.")
        store.add_payment_method(merchant_id, method, now)
        plan_card_notices(store, merchant_id, customer, method, now)
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


def record_opt_out(
    ctx: Context, merchant_id: str, customer_id: str, channel: str, source: OptOutSource
) -> list[OptOut]:
    """Honoured forever; recording it twice changes nothing."""
    if channel not in CHANNELS:
        raise InvalidInput(f"Channel '{channel}' is not one of {', '.join(CHANNELS)}.")
    with ctx.uow() as store:
        if store.get_customer(merchant_id, customer_id) is None:
            raise NotFound(f"No customer has the id '{customer_id}'.")
        store.add_opt_out(merchant_id, OptOut(customer_id, channel, source, ctx.clock.now()))
        return store.opt_outs(merchant_id, customer_id)


def opt_outs_of(ctx: Context, merchant_id: str, customer_id: str) -> list[OptOut]:
    with ctx.uow() as store:
        if store.get_customer(merchant_id, customer_id) is None:
            raise NotFound(f"No customer has the id '{customer_id}'.")
        return store.opt_outs(merchant_id, customer_id)


def revoke_payment_links(ctx: Context, merchant_id: str, customer_id: str) -> int:
    """Every payment link sent to the customer stops working (a forwarded email, a shared
    phone); the next message carries a new one. Returns how many were revoked."""
    with ctx.uow() as store:
        if store.get_customer(merchant_id, customer_id) is None:
            raise NotFound(f"No customer has the id '{customer_id}'.")
        return store.revoke_payment_links(merchant_id, customer_id, ctx.clock.now())


def unsubscribe_target(ctx: Context, token: str) -> str | None:
    """The merchant's name behind an unsubscribe link, recording nothing: mail scanners open
    every link, so only the confirming POST opts out."""
    with ctx.uow() as store:
        link = store.payment_link(token)
        return store.merchant_name(link["merchant_id"]) if link else None


def unsubscribe(ctx: Context, token: str) -> str | None:
    """The link in an email (or its one-click POST): the customer's email opt-out. Returns the
    merchant's name for the confirmation page, or None for an unknown token."""
    with ctx.uow() as store:
        link = store.payment_link(token)
        if link is None:
            return None
        merchant_id, customer_id = link["merchant_id"], link["customer_id"]
        opt_out = OptOut(customer_id, "email", OptOutSource.UNSUBSCRIBE_LINK, ctx.clock.now())
        store.add_opt_out(merchant_id, opt_out)
        return store.merchant_name(merchant_id)


def record_sms_reply(ctx: Context, merchant_id: str, phone: str, text: str) -> int:
    """An inbound SMS: STOP (and its variants) opts the number out of SMS for every customer of
    this merchant who has it. Returns how many customers were opted out."""
    if not is_stop_request(text):
        return 0
    now = ctx.clock.now()
    count = 0
    with ctx.uow() as store:
        for customer in store.customers_with_phone(merchant_id, phone):
            opt_out = OptOut(customer.id, "sms", OptOutSource.SMS_STOP, now)
            count += store.add_opt_out(merchant_id, opt_out)
    return count


def messages_of(
    ctx: Context, merchant_id: str, customer_id: str, after: str | None, limit: int
) -> Page[Message]:
    """Everything sent (or tried) to one customer, oldest first."""
    with ctx.uow() as store:
        if store.get_customer(merchant_id, customer_id) is None:
            raise NotFound(f"No customer has the id '{customer_id}'.")
        return store.customer_messages(merchant_id, customer_id, after, limit)
