"""Merchant webhooks: endpoints, events written to the queue in the same transaction as the
change they announce, and delivery with exponential backoff for three days."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.cases import ActionKind, DunningCase
from relance.domain.errors import NotFound
from relance.domain.webhooks import (
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEvent,
    next_attempt,
    validate_endpoint,
)
from relance.ids import new_id
from relance.ports import Store
from relance.services.context import Context

# -- endpoints ---------------------------------------------------------------------------


def add_endpoint(ctx: Context, merchant_id: str, url: str, events: list[str]) -> WebhookEndpoint:
    """The secret is returned once, here; the merchant verifies signatures with it."""
    wanted = validate_endpoint(url, events)
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        merchant_id=merchant_id,
        url=url,
        secret="whsec_" + secrets.token_urlsafe(32),
        events=wanted,
        created_at=ctx.clock.now(),
    )
    with ctx.uow() as store:
        store.add_webhook_endpoint(endpoint)
    return endpoint


def list_endpoints(ctx: Context, merchant_id: str) -> list[WebhookEndpoint]:
    with ctx.uow() as store:
        return store.webhook_endpoints(merchant_id)


def _endpoint(store: Store, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = store.get_webhook_endpoint(merchant_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint has the id '{endpoint_id}'.")
    return endpoint


def disable_endpoint(ctx: Context, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Disabled, not deleted: its delivery log stays readable."""
    with ctx.uow() as store:
        _endpoint(store, merchant_id, endpoint_id)
        store.disable_webhook_endpoint(merchant_id, endpoint_id, ctx.clock.now())
        return _endpoint(store, merchant_id, endpoint_id)


def delivery_log(
    ctx: Context, merchant_id: str, endpoint_id: str, before: int | None, limit: int
) -> list[WebhookAttempt]:
    with ctx.uow() as store:
        _endpoint(store, merchant_id, endpoint_id)
        return store.webhook_attempts(merchant_id, endpoint_id, before, limit)


# -- events ------------------------------------------------------------------------------


def case_data(store: Store, merchant_id: str, case: DunningCase) -> dict[str, object]:
    """What every case event carries: enough to act without calling back."""
    invoice = store.get_invoice(merchant_id, case.invoice_id)
    assert invoice is not None  # a case always has its invoice
    customer = store.get_customer(merchant_id, invoice.customer_id)
    assert customer is not None
    return {
        "case_id": case.id,
        "case_status": case.status.value,
        "reason": case.reason,
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "amount_due": invoice.balance.minor,
        "currency": invoice.amount.currency,
        "customer_id": customer.id,
        "customer_external_id": customer.external_id,
    }


def emit(
    store: Store,
    merchant_id: str,
    event: WebhookEvent,
    data: dict[str, object],
    now: datetime,
) -> int:
    """Queue one delivery per subscribed endpoint, in the caller's transaction: the event
    exists if and only if the change it announces was committed."""
    endpoints = [e for e in store.webhook_endpoints(merchant_id) if e.wants(event)]
    if not endpoints:
        return 0
    event_id = new_id("evt")
    body = {"id": event_id, "type": event.value, "created": now.isoformat(), "data": data}
    deliveries = [
        ScheduledAction(
            id=new_id("act"),
            merchant_id=merchant_id,
            case_id=None,  # never held or cancelled with the case it talks about
            invoice_id=None,
            kind=ActionKind.WEBHOOK,
            due_at=now,
            status=ActionStatus.PENDING,
            idempotency_key=f"{event_id}/{e.id}",
            explanation=f"Deliver {event.value} to {e.url}.",
            step=event.value,
            payload={"endpoint_id": e.id, "event": body},
        )
        for e in endpoints
    ]
    store.actions.schedule(deliveries, now)
    return len(deliveries)


def emit_for_case(
    store: Store,
    merchant_id: str,
    case: DunningCase,
    event: WebhookEvent,
    now: datetime,
    **extra: object,
) -> int:
    return emit(store, merchant_id, event, {**case_data(store, merchant_id, case), **extra}, now)


# -- delivery ----------------------------------------------------------------------------


def deliver_webhook(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    payload = action.payload or {}
    event = payload.get("event")
    assert isinstance(event, dict), "a webhook action carries its event"
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        endpoint = store.get_webhook_endpoint(action.merchant_id, str(payload["endpoint_id"]))
        if endpoint is None or endpoint.disabled_at is not None:
            why = "the endpoint is disabled."
            store.actions.finish(action.id, owner, ActionStatus.SKIPPED, why, ctx.clock.now())
            return ActionStatus.SKIPPED.value
    body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    response = ctx.webhooks.post(endpoint.url, endpoint.secret, body, ctx.clock.now())
    now = ctx.clock.now()
    first = datetime.fromisoformat(str(event["created"]))
    later = None if response.ok else next_attempt(first, action.claims, now)
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        attempt = WebhookAttempt(
            endpoint.id, action.id, str(event["id"]), str(event["type"]), action.claims, now,
            response.status_code, response.error, response.duration_ms, later,
        )  # fmt: skip
        store.add_webhook_attempt(action.merchant_id, attempt)
        if response.ok:
            result = f"delivered: HTTP {response.status_code}"
            store.actions.finish(action.id, owner, ActionStatus.DONE, result, now)
            return ActionStatus.DONE.value
        if later is not None:
            store.actions.postpone(action.id, owner, later, response.error or "not delivered")
            return "retrying"
        why = f"given up after three days: {response.error}"
        store.actions.finish(action.id, owner, ActionStatus.FAILED, why, now)
        return ActionStatus.FAILED.value
