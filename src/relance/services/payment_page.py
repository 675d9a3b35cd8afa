"""The customer's payment page: what the link shows, and what the customer can do there.

Every call takes the link as it appears in the URL (`<token>.<signature>`) and checks it:
an altered link, an unknown one, one past its date or revoked raises UnusableLink — the first
two reveal nothing, the last two name the merchant so the page can give its contact.

Every action is written in the timeline of each case it touches, naming the message that
brought the customer (the link's message), and announced to the merchant by webhook."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from schwifty import IBAN

from relance.domain.arrangements import (
    ArrangementKind,
    ArrangementStatus,
    Instalment,
    InstalmentStatus,
    PaymentPageRules,
    PlanOffer,
    PromiseWindow,
    check_promise_date,
    plan_offer,
    plan_schedule,
    promise_window,
    usual_payment_day,
)
from relance.domain.cards import CardEntry
from relance.domain.customers import LOCALES, Customer, MethodType, PaymentMethod
from relance.domain.errors import Conflict
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.merchants import MerchantProfile
from relance.domain.money import Money
from relance.domain.transfers import creditor_reference, format_reference
from relance.domain.webhooks import WebhookEvent
from relance.ids import new_id
from relance.ports import (
    ArrangementRecord,
    CardDeclined,
    CardLine,
    InvoiceLine,
    Store,
)
from relance.services import arrangements
from relance.services.charges import ChargeOutcome, Source, charge_for_customer
from relance.services.context import Context
from relance.services.declines import customer_message
from relance.services.instalments import run_instalment
from relance.services.links import read_token
from relance.services.message_plans import plan_card_notices
from relance.services.policies import policy_for
from relance.services.webhooks import emit

# A card form's refusals are counted over this window for the card-testing defence.
CARD_WINDOW = timedelta(hours=1)


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"  # altered, forged, or never issued
    EXPIRED = "expired"
    REVOKED = "revoked"


class UnusableLink(Exception):
    def __init__(self, problem: LinkProblem, merchant: MerchantProfile | None = None) -> None:
        super().__init__(f"payment link {problem.value}")
        self.problem = problem
        self.merchant = merchant  # None when the link is unknown: nothing is revealed


class Refused(Conflict):
    """An action the page offers that cannot be done now. `code` names why, so the page can
    say it in the customer's language: nothing_due, arrangement_in_force, no_card,
    plan_count, transfer_unavailable."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(sentence)
        self.code = code


class CoolingDown(Exception):
    """Too many refused cards on this link within the hour: card testers stop here."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"card submissions paused until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True, slots=True)
class TransferDetails:
    beneficiary: str
    iban: str  # formatted in groups of four
    bic: str | None
    reference: str | None  # formatted RF reference, once the customer chose to pay by transfer
    amount: Money | None


@dataclass(frozen=True, slots=True)
class ArrangementView:
    id: str
    kind: ArrangementKind
    status: ArrangementStatus
    instalments: tuple[Instalment, ...]
    reference: str | None  # formatted RF reference (transfer)
    charged_to: CardLine | None  # the card each instalment is charged to, if any
    # A plan whose first instalment was refused at acceptance is CANCELLED: why, in words.
    declined_reason: str | None = None
    advice: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PageView:
    merchant: MerchantProfile
    customer_name: str
    locale: str
    timezone: str
    today: date  # the customer's date
    invoices: tuple[InvoiceLine, ...]
    total: Money | None
    failure_reason: str | None
    advice: Mapping[str, str]
    card: CardLine | None
    plan: PlanOffer
    schedules: Mapping[int, tuple[Instalment, ...]]
    promise: PromiseWindow
    transfer: TransferDetails | None
    arrangement: ArrangementView | None
    card_cooldown_until: datetime | None


@dataclass(frozen=True, slots=True)
class CardSaved:
    """The card form's outcome: saved (and what charging it did), or refused."""

    card: CardLine | None
    refused_reason: str | None = None
    advice: Mapping[str, str] = field(default_factory=dict)
    charge: ChargeOutcome | None = None


@dataclass(frozen=True, slots=True)
class _Link:
    token: str
    merchant: MerchantProfile
    customer: Customer
    message_id: str | None
    step: str | None


def _link(store: Store, ctx: Context, url_token: str, now: datetime) -> _Link:
    token = read_token(ctx.secret_key, url_token)
    row: dict[str, Any] | None = store.payment_link(token) if token else None
    if token is None or row is None:
        raise UnusableLink(LinkProblem.UNKNOWN)
    merchant = store.merchant_profile(row["merchant_id"])
    customer = store.get_customer(row["merchant_id"], row["customer_id"])
    assert merchant is not None  # foreign keys
    assert customer is not None
    if row["revoked_at"] is not None:
        raise UnusableLink(LinkProblem.REVOKED, merchant)
    if row["expires_at"] <= now:
        raise UnusableLink(LinkProblem.EXPIRED, merchant)
    return _Link(token, merchant, customer, row["message_id"], row["step"])


def link_merchant(ctx: Context, url_token: str) -> MerchantProfile:
    with ctx.uow() as store:
        return _link(store, ctx, url_token, ctx.clock.now()).merchant


def _source(link: _Link) -> dict[str, str | int | None]:
    return {"source_message_id": link.message_id, "source_step": link.step}


def _from(link: _Link) -> str:
    return f" (from message '{link.step}')" if link.step else ""


def _rules(store: Store, merchant_id: str) -> PaymentPageRules:
    return policy_for(store, merchant_id).payment_page


def _open_invoices(store: Store, link: _Link) -> list[Invoice]:
    found = store.open_invoices_of_customer(link.merchant.id, link.customer.id)
    return [i for i in found if not i.is_settled]


def _total(invoices: list[Invoice]) -> Money | None:
    if not invoices or len({i.balance.currency for i in invoices}) != 1:
        return None
    return Money(sum(i.balance.minor for i in invoices), invoices[0].balance.currency)


def _card_line(method: PaymentMethod | None) -> CardLine | None:
    if method is None or method.type is not MethodType.CARD:
        return None
    return CardLine(method.brand, method.last4, method.exp_month or 0, method.exp_year or 0)


def _today(link: _Link, now: datetime) -> date:
    return now.astimezone(ZoneInfo(link.customer.timezone)).date()


def _cooldown(store: Store, link: _Link, rules: PaymentPageRules, now: datetime) -> datetime | None:
    refused = store.refused_card_submissions(link.token, now - CARD_WINDOW)
    if len(refused) < rules.card_attempts_per_hour:
        return None
    # Open again once the oldest refusal that keeps the count at the limit leaves the window.
    return refused[len(refused) - rules.card_attempts_per_hour] + CARD_WINDOW


def _arrangement_view(store: Store, a: ArrangementRecord) -> ArrangementView:
    method = None
    if a.payment_method_id:
        method = store.current_payment_method(a.merchant_id, a.customer_id)
    return ArrangementView(
        a.id,
        a.kind,
        a.status,
        tuple(Instalment(i.number, i.due_on, i.amount, i.status) for i in a.instalments),
        format_reference(a.reference) if a.reference else None,
        _card_line(method),
    )


def _failure(store: Store, link: _Link) -> str | None:
    cases = store.open_cases_of_customer(link.merchant.id, link.customer.id)
    latest = max(cases, key=lambda c: c.opened_at, default=None)
    return latest.reason if latest else None


def view_page(ctx: Context, url_token: str, *, visit: bool = True) -> PageView:
    now = ctx.clock.now()
    with ctx.uow() as store:
        link = _link(store, ctx, url_token, now)
        if visit:
            store.note_link_visit(link.token, now)
        invoices = _open_invoices(store, link)
        total = _total(invoices)
        rules = _rules(store, link.merchant.id)
        today = _today(link, now)
        method = store.current_payment_method(link.merchant.id, link.customer.id)
        offer = plan_offer(
            total, rules, store.last_broken_plan_at(link.merchant.id, link.customer.id), now
        )
        if offer.counts and _card_line(method) is None:
            offer = PlanOffer((), "no_card")  # instalments are charged to a card on file
        schedules = {n: plan_schedule(total, n, today) for n in offer.counts} if total else {}
        paid_on = [
            d.astimezone(ZoneInfo(link.customer.timezone)).date()
            for d in store.payment_dates(link.merchant.id, link.customer.id)
        ]
        window = promise_window(today, rules, usual_payment_day(paid_on))
        active = store.active_arrangement(link.merchant.id, link.customer.id)
        reason = _failure(store, link)
        advice = (
            {loc: customer_message(ctx.catalogue, reason, loc) for loc in LOCALES} if reason else {}
        )
        transfer = None
        if link.merchant.iban:
            reference = active.reference if active and active.reference else None
            transfer = TransferDetails(
                link.merchant.name,
                IBAN(link.merchant.iban).formatted,
                link.merchant.bic,
                format_reference(reference) if reference else None,
                total,
            )
        return PageView(
            merchant=link.merchant,
            customer_name=link.customer.name,
            locale=link.customer.locale,
            timezone=link.customer.timezone,
            today=today,
            invoices=tuple(InvoiceLine(i.number, i.balance, i.due_at) for i in invoices),
            total=total,
            failure_reason=reason,
            advice=advice,
            card=_card_line(method),
            plan=offer,
            schedules=schedules,
            promise=window,
            transfer=transfer,
            arrangement=_arrangement_view(store, active) if active else None,
            card_cooldown_until=_cooldown(store, link, rules, now),
        )


# -- the card form ---------------------------------------------------------------------------


def update_card(ctx: Context, url_token: str, entry: CardEntry) -> CardSaved:
    """Hand the card to the gateway; once saved, charge what is due at once (the network
    guard still judges the card). A refusal at the gateway counts toward the cool-down."""
    if ctx.vault is None:
        raise Conflict("Cards cannot be updated here; contact the merchant.")
    now = ctx.clock.now()
    with ctx.uow() as store:
        link = _link(store, ctx, url_token, now)
        until = _cooldown(store, link, _rules(store, link.merchant.id), now)
        if until is not None:
            raise CoolingDown(until)
    # Each submission is a new save: resubmitting a form twice is the web layer's replay.
    saved = ctx.vault.save_card(entry, link.customer.id, f"{link.token}/{new_id('sub')}")
    now = ctx.clock.now()
    if isinstance(saved, CardDeclined):
        return _refused(ctx, link, saved, now)
    method = PaymentMethod.register(
        id=new_id("pm"), customer_id=link.customer.id, gateway_token=saved.token,
        type=MethodType.CARD, brand=saved.brand, last4=saved.last4,
        exp_month=saved.exp_month, exp_year=saved.exp_year, fingerprint=saved.fingerprint,
    )  # fmt: skip
    with ctx.uow() as store:
        store.add_payment_method(link.merchant.id, method, now)
        store.add_card_submission(link.merchant.id, link.token, now, True, None)
        plan_card_notices(store, link.merchant.id, link.customer, method, now)
        line = f"The customer saved a new card, {saved.brand} ••{saved.last4}, on the payment page"
        _on_open_cases(store, link, EventKind.CARD_UPDATED, f"{line}{_from(link)}.", now)
        emit(store, link.merchant.id, WebhookEvent.PAYMENT_METHOD_UPDATED, {
            "customer_id": link.customer.id, "payment_method_id": method.id,
            "brand": saved.brand, "last4": saved.last4, **_source(link),
        }, now)  # fmt: skip
        invoices = [i.id for i in _open_invoices(store, link)]
        active = store.active_arrangement(link.merchant.id, link.customer.id)
    card = CardLine(saved.brand, saved.last4, saved.exp_month, saved.exp_year)
    if not invoices or active is not None:
        # An arrangement in force charges its instalments to the new card on their dates.
        return CardSaved(card)
    charge = _charge(ctx, link, invoices, "Payment right after the card update")
    if charge.declined_reason:
        with ctx.uow() as store:
            store.add_card_submission(
                link.merchant.id, link.token, ctx.clock.now(), False, charge.declined_reason
            )
    return CardSaved(card, charge=charge)


def _refused(ctx: Context, link: _Link, refused: CardDeclined, now: datetime) -> CardSaved:
    verdict = ctx.catalogue.classify(refused.codes)
    with ctx.uow() as store:
        store.add_card_submission(link.merchant.id, link.token, now, False, verdict.reason)
        line = f"A card was refused on the payment page{_from(link)}: {verdict.reason}."
        _on_open_cases(store, link, EventKind.CARD_REFUSED, line, now)
    advice = {loc: customer_message(ctx.catalogue, verdict.reason, loc) for loc in LOCALES}
    return CardSaved(None, verdict.reason, advice)


def _on_open_cases(store: Store, link: _Link, kind: EventKind, line: str, now: datetime) -> None:
    for case in store.open_cases_of_customer(link.merchant.id, link.customer.id):
        store.add_events(link.merchant.id, case.id, [Event(kind, now, line, _source(link))])


def _charge(ctx: Context, link: _Link, invoice_ids: list[str], label: str) -> ChargeOutcome:
    source = Source(f"{label}{_from(link)}", data=_source(link))
    key = f"{link.token}/charge/{new_id('chg')}"
    outcome = charge_for_customer(ctx, link.merchant.id, invoice_ids, None, key, source)
    if outcome.declined_reason:
        with ctx.uow() as store:
            emit(store, link.merchant.id, WebhookEvent.PAGE_PAYMENT_FAILED, {
                "customer_id": link.customer.id, "invoice_ids": invoice_ids,
                "reason": outcome.declined_reason, **_source(link),
            }, ctx.clock.now())  # fmt: skip
    return outcome


def pay_now(ctx: Context, url_token: str) -> ChargeOutcome:
    """Charge everything due to the card on file."""
    with ctx.uow() as store:
        link = _link(store, ctx, url_token, ctx.clock.now())
        invoices = [i.id for i in _open_invoices(store, link)]
        method = store.current_payment_method(link.merchant.id, link.customer.id)
    if not invoices:
        raise Refused("nothing_due", "Nothing is due.")
    if method is None:
        raise Refused("no_card", "There is no card on file to charge.")
    return _charge(ctx, link, invoices, "Payment on the payment page")


# -- arrangements ------------------------------------------------------------------------------


# What an arrangement's terms are, decided inside the transaction that records it:
# (link, store, total, rules, today, method) -> (instalments, method charged, RF reference).
Terms = Callable[
    [_Link, Store, Money, PaymentPageRules, date, PaymentMethod | None],
    tuple[tuple[Instalment, ...], str | None, str | None],
]


def _start(
    ctx: Context,
    url_token: str,
    kind: ArrangementKind,
    plan: Terms,
) -> tuple[ArrangementView, list[str]]:
    """Shared by plan, promise and transfer: checks, then one transaction. `plan(link, store,
    invoices, total, rules, today, method)` returns (instalments, method id, reference)."""
    now = ctx.clock.now()
    with ctx.uow() as store:
        link = _link(store, ctx, url_token, now)
        # Two submissions racing: the customer row lock makes the second see the first.
        store.lock_customer(link.merchant.id, link.customer.id)
        if store.active_arrangement(link.merchant.id, link.customer.id) is not None:
            raise Refused(
                "arrangement_in_force", "An arrangement is already in place for these invoices."
            )
        invoices = _open_invoices(store, link)
        total = _total(invoices)
        if total is None:
            raise Refused("nothing_due", "Nothing is due: there is nothing to arrange.")
        rules = _rules(store, link.merchant.id)
        method = store.current_payment_method(link.merchant.id, link.customer.id)
        instalments, method_id, reference = plan(
            link, store, total, rules, _today(link, now), method
        )
        record, actions = arrangements.start(
            store, link.merchant.id, link.customer, kind, invoices, instalments,
            payment_method_id=method_id, reference=reference, link_token=link.token,
            message_id=link.message_id, now=now,
        )  # fmt: skip
        due_now = [a.id for a in actions if a.due_at <= now]
        return _arrangement_view(store, record), due_now


def accept_plan(ctx: Context, url_token: str, count: int) -> ArrangementView:
    """Split the balance into `count` monthly instalments; the first is charged at once."""

    def plan(
        link: _Link,
        store: Store,
        total: Money,
        rules: PaymentPageRules,
        today: date,
        method: PaymentMethod | None,
    ) -> tuple[tuple[Instalment, ...], str | None, None]:
        if _card_line(method) is None or method is None:
            raise Refused("no_card", "Add a card first: each instalment is charged to it.")
        offer = plan_offer(
            total, rules, store.last_broken_plan_at(link.merchant.id, link.customer.id),
            ctx.clock.now(),
        )  # fmt: skip
        if count not in offer.counts:
            if offer.refusal:
                raise Refused("plan_count", f"A payment plan is not available ({offer.refusal}).")
            choices = ", ".join(str(n) for n in offer.counts)
            raise Refused("plan_count", f"Choose {choices} instalments.")
        return plan_schedule(total, count, today), method.id, None

    view, due_now = _start(ctx, url_token, ArrangementKind.PLAN, plan)
    _run_now(ctx, due_now)
    return _reload(ctx, url_token, view)


def promise_to_pay(ctx: Context, url_token: str, on: date) -> ArrangementView:
    """Dunning waits until `on`; that day the card on file is charged (or, without one, the
    payment is checked)."""

    def plan(
        link: _Link,
        store: Store,
        total: Money,
        rules: PaymentPageRules,
        today: date,
        method: PaymentMethod | None,
    ) -> tuple[tuple[Instalment, ...], str | None, None]:
        window = promise_window(today, rules, None)
        chosen = check_promise_date(on, window)
        card = method.id if method is not None and _card_line(method) else None
        return (Instalment(1, chosen, total),), card, None

    view, _ = _start(ctx, url_token, ArrangementKind.PROMISE, plan)
    return view


def choose_transfer(ctx: Context, url_token: str) -> ArrangementView:
    """The customer will pay by transfer with a unique RF reference; dunning waits the
    policy's grace days for the money to arrive."""

    def plan(
        link: _Link,
        store: Store,
        total: Money,
        rules: PaymentPageRules,
        today: date,
        method: PaymentMethod | None,
    ) -> tuple[tuple[Instalment, ...], None, str]:
        if not link.merchant.iban:
            raise Refused("transfer_unavailable", "This merchant does not take bank transfers.")
        # Twelve digits: easy to copy into a banking app, and 10^12 makes a clash negligible
        # (the column is unique, so one would be refused, never mixed up).
        reference = creditor_reference(f"{secrets.randbelow(10**12):012d}")
        due = today + timedelta(days=rules.transfer_grace_days)
        return (Instalment(1, due, total),), None, reference

    view, _ = _start(ctx, url_token, ArrangementKind.TRANSFER, plan)
    return view


def _run_now(ctx: Context, action_ids: list[str]) -> None:
    """Charge at once what is due now (a plan's first instalment), through the worker's own
    handler, so the page can show the result."""
    owner = f"payment-page-{new_id('w')}"
    with ctx.uow() as store:
        claimed = store.actions.claim(action_ids, owner, ctx.clock.now(), timedelta(minutes=5))
    for action in claimed:
        run_instalment(ctx, action, owner)


def _reload(ctx: Context, url_token: str, view: ArrangementView) -> ArrangementView:
    with ctx.uow() as store:
        link = _link(store, ctx, url_token, ctx.clock.now())
        record = store.get_arrangement(link.merchant.id, view.id)
        assert record is not None
        reloaded = _arrangement_view(store, record)
        if record.status is not ArrangementStatus.CANCELLED:
            return reloaded
        attempts = store.list_attempts(record.invoice_ids[0])
    reason = ctx.catalogue.classify(attempts[-1].codes).reason if attempts else None
    if reason is None:
        return reloaded
    advice = {loc: customer_message(ctx.catalogue, reason, loc) for loc in LOCALES}
    return replace(reloaded, declined_reason=reason, advice=advice)


__all__ = [
    "ArrangementView",
    "CardSaved",
    "ChargeOutcome",
    "CoolingDown",
    "InstalmentStatus",
    "LinkProblem",
    "PageView",
    "Refused",
    "TransferDetails",
    "UnusableLink",
    "accept_plan",
    "choose_transfer",
    "link_merchant",
    "pay_now",
    "promise_to_pay",
    "update_card",
    "view_page",
]
