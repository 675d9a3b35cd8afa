"""The network-rule guard, fed with what already happened on the customer's card."""

from __future__ import annotations

from datetime import datetime

from relance.domain.attempts import Outcome
from relance.domain.cases import Decision
from relance.domain.customers import PaymentMethod
from relance.domain.declines import DeclineVerdict
from relance.domain.network_rules import PastAttempt, Verdict, check_retry, screen_retries
from relance.ports import Store
from relance.services.context import Context


def card_history(
    ctx: Context, store: Store, merchant_id: str, method: PaymentMethod
) -> list[PastAttempt]:
    return [
        PastAttempt(
            a.attempted_at,
            a.amount.minor,
            None if a.outcome is Outcome.SUCCEEDED else ctx.catalogue.classify(a.codes),
        )
        for a in store.attempts_on_instrument(merchant_id, method.instrument)
    ]


def may_retry_now(
    ctx: Context,
    store: Store,
    merchant_id: str,
    method: PaymentMethod,
    amount_minor: int,
    now: datetime,
) -> Verdict:
    history = card_history(ctx, store, merchant_id, method)
    return check_retry(ctx.network_rules, method.network, history, now, amount_minor)


def screen_plan(
    ctx: Context,
    store: Store,
    merchant_id: str,
    method: PaymentMethod | None,
    plan: list[Decision],
    amount_minor: int,
    assumed: DeclineVerdict,
) -> list[Decision]:
    """Drop (and explain) every planned retry that a card-network or SEPA rule forbids."""
    if method is None:
        return plan  # nothing can be charged; the retries will be skipped and say why
    history = card_history(ctx, store, merchant_id, method)
    return screen_retries(ctx.network_rules, method.network, history, plan, amount_minor, assumed)
