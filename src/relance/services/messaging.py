"""Sending a message when it falls due (planning is services/message_plans.py).

Sending runs in three parts so that no lock is held while templates render or a provider
answers: a short transaction decides (consent, the cap and the gap, quiet time, which invoices
to consolidate) and reserves `queued` message rows, which count against the cap at once for any
other worker; rendering and delivery happen outside; a second transaction records the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schwifty import IBAN

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.arrangements import ArrangementKind
from relance.domain.cases import (
    ActionKind,
    CaseStatus,
    DunningCase,
    suspension_date,
)
from relance.domain.consent import reach
from relance.domain.customers import LOCALES, Customer
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice
from relance.domain.merchants import MerchantProfile
from relance.domain.messages import COUNTED, Message, MessageStatus
from relance.domain.money import Money
from relance.domain.policy import DunningPolicy, MessageStep, StepKind
from relance.domain.respect import next_send_slot
from relance.domain.transfers import format_reference
from relance.ids import new_id
from relance.ports import (
    ArrangementFacts,
    ArrangementRecord,
    CardLine,
    Delivery,
    DeliveryError,
    InvoiceLine,
    MessageFacts,
    OutgoingMessage,
    RenderedMessage,
    Store,
)
from relance.services.context import Context
from relance.services.declines import customer_message
from relance.services.links import sign_token
from relance.services.message_plans import holiday_country, notice_period
from relance.services.policies import policy_for, policy_of_case

# Answers to something the customer just did: sent at once, outside the cap and quiet time.
RESPONSES = frozenset({StepKind.RECEIPT, StepKind.RESOLVED, StepKind.ARRANGEMENT})
# Steps about an unpaid case: one message may cover every case of the customer.
DUNNING = frozenset({StepKind.FAILED_PAYMENT, StepKind.FOLLOW_UP, StepKind.FINAL_NOTICE})
REPEAT_WINDOW = timedelta(days=365)
# A temporary delivery failure (SMTP 4xx, timeout) is retried 5 min, 15 min, 45 min… later.
SEND_ATTEMPTS = 8
FIRST_RESEND = timedelta(minutes=5)


def _suspension(
    store: Store, case: DunningCase, policy: DunningPolicy, step: MessageStep, now: datetime
) -> datetime:
    """The date the final notice states. A notice that went out late still gives its full
    notice period: the exhaustion moves to match, so the date written is the date that holds."""
    planned = suspension_date(case.opened_at, policy)
    stated = max(planned, now + notice_period(policy, step))
    if stated > planned:
        store.actions.reschedule_open(case.id, ActionKind.EXHAUST, stated)
    return stated


# -- sending -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Skip:
    why: str


@dataclass(frozen=True, slots=True)
class _Defer:
    until: datetime
    why: str


@dataclass(frozen=True, slots=True)
class _Batch:
    """Reserved messages and what to say in each, decided in the first transaction."""

    key: str  # the action's idempotency key: each channel's message is sent under key/channel
    items: tuple[tuple[Message, MessageFacts], ...]
    overrides: Mapping[str, str]
    reply_to: str | None
    sms_sender: str
    notes: tuple[str, ...]  # channels dropped or replaced, for the timeline


@dataclass(frozen=True, slots=True)
class _Outcome:
    message: Message
    rendered: RenderedMessage
    delivery: Delivery | None
    error: DeliveryError | None


def _link(ctx: Context, token: str) -> str:
    signed = sign_token(ctx.secret_key, token)
    return ctx.payment_link_pattern.format(public_url=ctx.public_url.rstrip("/"), token=signed)


def invoice_lines(invoices: list[Invoice]) -> tuple[InvoiceLine, ...]:
    """What a message says of each invoice: what is still owed, and when it was due."""
    return tuple(InvoiceLine(i.number, i.balance, i.due_at) for i in invoices)


def _not_relevant(
    store: Store,
    action: ScheduledAction,
    step: MessageStep,
    case: DunningCase | None,
    invoice: Invoice | None,
    customer: Customer,
) -> str | None:
    """Why a due message no longer makes sense; never after payment, never on a closed case."""
    if step.kind in RESPONSES:
        return None
    if case is not None and case.status is not CaseStatus.ACTIVE:
        return f"the case is {case.status}."
    if invoice is not None and invoice.is_settled:
        return f"invoice {invoice.number} is already paid."
    if (
        step.kind is StepKind.PRE_DUE
        and invoice is not None
        and store.case_for_invoice(action.merchant_id, invoice.id) is not None
    ):
        return "a payment of this invoice already failed; the dunning messages take over."
    if step.kind is StepKind.CARD_EXPIRING:
        method_id = (action.payload or {}).get("payment_method_id")
        current = store.current_payment_method(action.merchant_id, customer.id)
        if current is None or current.id != method_id:
            return "the card was replaced since (a new card or an account-updater refresh)."
    return None


def _covered_invoices(
    store: Store, action: ScheduledAction, step: MessageStep, invoice: Invoice | None
) -> list[Invoice]:
    """Which invoices the message is about: for a dunning step, every open case of the
    customer at once (one consolidated message rather than one per invoice)."""
    assert action.customer_id is not None
    if step.kind in DUNNING:
        cases = store.open_cases_of_customer(action.merchant_id, action.customer_id)
        found = [store.get_invoice(action.merchant_id, c.invoice_id) for c in cases]
        invoices = [i for i in found if i is not None and not i.is_settled]
        return sorted(invoices, key=lambda i: (i.due_at, i.id)) or ([invoice] if invoice else [])
    if step.kind is StepKind.RECEIPT and invoice is not None:
        return [invoice] if not invoice.is_settled else []
    if step.kind is StepKind.PRE_DUE and invoice is not None:
        return [invoice]
    if step.kind is StepKind.ARRANGEMENT:
        arrangement = _arrangement(store, action)
        if arrangement is not None:
            found = [store.get_invoice(action.merchant_id, i) for i in arrangement.invoice_ids]
            return [i for i in found if i is not None and not i.is_settled]
    return []


def _arrangement(store: Store, action: ScheduledAction) -> ArrangementRecord | None:
    arrangement_id = (action.payload or {}).get("arrangement_id")
    if arrangement_id is None:
        return None
    return store.get_arrangement(action.merchant_id, str(arrangement_id))


def _arrangement_facts(
    store: Store, action: ScheduledAction, customer: Customer, merchant: MerchantProfile
) -> ArrangementFacts | None:
    a = _arrangement(store, action)
    if a is None:
        return None
    card = None
    if a.payment_method_id:
        method = store.current_payment_method(action.merchant_id, customer.id)
        if method is not None and method.exp_month and method.exp_year:
            card = CardLine(method.brand, method.last4, method.exp_month, method.exp_year)
    transfer = a.kind is ArrangementKind.TRANSFER
    return ArrangementFacts(
        kind=a.kind.value,
        instalments=tuple((i.due_at, i.amount) for i in a.instalments),
        card=card,
        iban=IBAN(merchant.iban).formatted if transfer and merchant.iban else None,
        bic=merchant.bic if transfer else None,
        beneficiary=merchant.name if transfer else None,
        reference=format_reference(a.reference) if a.reference else None,
    )


def _recent_cover(
    store: Store, action: ScheduledAction, invoice: Invoice, since: datetime
) -> str | None:
    """A dunning message about this invoice that another case's step just sent (two invoices
    failing together): this step is covered by it."""
    assert action.customer_id is not None
    for m in store.messages_since(action.merchant_id, action.customer_id, since):
        if (
            m.case_id != action.case_id
            and invoice.id in m.invoice_ids
            and m.template in {k.value for k in DUNNING}
            and m.status in COUNTED
        ):
            return m.id
    return None


def _absorb_others(
    store: Store,
    action: ScheduledAction,
    policy: DunningPolicy,
    invoices: list[Invoice],
    now: datetime,
) -> int:
    """Other cases' routine reminders due soon are covered by this consolidated message.
    Final notices are never absorbed: each states its own consequence."""
    assert action.customer_id is not None
    covered = {i.id for i in invoices}
    soon = store.actions.pending_reminders_of_customer(
        action.customer_id, now + policy.sending.min_gap
    )
    absorbed = []
    for other in soon:
        other_step = policy.find_step(other.step or "")
        if (
            other.id != action.id
            and other.case_id not in (None, action.case_id)
            and other.invoice_id in covered
            and other_step is not None
            and other_step.kind in (StepKind.FAILED_PAYMENT, StepKind.FOLLOW_UP)
        ):
            absorbed.append(other)
    why = f"covered by the consolidated message of case {action.case_id}."
    store.actions.skip_pending([a.id for a in absorbed], why, now)
    for other in absorbed:
        assert other.case_id is not None
        summary = f"Message '{other.step}' skipped: {why}"
        store.add_events(
            action.merchant_id, other.case_id, [Event(EventKind.ACTION_SKIPPED, now, summary)]
        )
    return len(absorbed)


def _facts(
    ctx: Context,
    store: Store,
    action: ScheduledAction,
    step: MessageStep,
    policy: DunningPolicy,
    customer: Customer,
    merchant: MerchantProfile,
    case: DunningCase | None,
    invoices: list[Invoice],
    token: str,
    tone: str,
) -> MessageFacts:
    locale = customer.locale if customer.locale in LOCALES else merchant.default_locale
    payload = action.payload or {}
    card = None
    if step.kind is StepKind.CARD_EXPIRING:
        method = store.current_payment_method(action.merchant_id, customer.id)
        if method and method.exp_month and method.exp_year:
            card = CardLine(method.brand, method.last4, method.exp_month, method.exp_year)
    paid = None
    if "amount_minor" in payload:
        paid = Money(int(str(payload["amount_minor"])), str(payload["currency"]))
    elif step.kind is StepKind.RESOLVED and action.invoice_id:
        settled = store.get_invoice(action.merchant_id, action.invoice_id)
        paid = settled.paid if settled else None
    advice = ""
    if case is not None and step.kind in DUNNING:
        advice = customer_message(ctx.catalogue, case.reason, locale)
    return MessageFacts(
        template=step.template,
        locale=locale,
        tone=tone,
        timezone=customer.timezone,
        merchant=merchant,
        sender_email=merchant.sender_email or ctx.sender_email,
        customer_name=customer.name,
        invoices=invoice_lines(invoices),
        advice=advice,
        payment_link=_link(ctx, token),
        unsubscribe_link=None
        if step.transactional
        else f"{ctx.public_url.rstrip('/')}/unsubscribe/{token}",
        transactional=step.transactional,
        suspension_at=_suspension(store, case, policy, step, ctx.clock.now())
        if case is not None and step.kind is StepKind.FINAL_NOTICE
        else None,
        amount_paid=paid,
        card=card,
        arrangement=_arrangement_facts(store, action, customer, merchant)
        if step.kind is StepKind.ARRANGEMENT
        else None,
    )


def _policy(store: Store, action: ScheduledAction, case: DunningCase | None) -> DunningPolicy:
    if case is not None:
        return policy_of_case(store, action.merchant_id, case.policy_version)
    return policy_for(store, action.merchant_id)


def _prepare(
    ctx: Context, store: Store, action: ScheduledAction, now: datetime
) -> _Batch | _Skip | _Defer:
    merchant_id = action.merchant_id
    assert action.customer_id is not None, "every message action names its customer"
    customer = store.lock_customer(merchant_id, action.customer_id)
    merchant = store.merchant_profile(merchant_id)
    assert customer is not None, "an action's customer exists (foreign key)"
    assert merchant is not None, "an action's merchant exists (foreign key)"
    case = store.get_case(merchant_id, action.case_id, lock=True) if action.case_id else None
    invoice = (
        store.get_invoice(merchant_id, action.invoice_id, lock=True) if action.invoice_id else None
    )
    policy = _policy(store, action, case)
    step = policy.find_step(action.step or "", segment=customer.segment)
    if step is None:
        return _Skip(f"the policy has no step '{action.step}' any more.")
    why = _not_relevant(store, action, step, case, invoice, customer)
    if why:
        return _Skip(why)

    existing = [m for ch in ("email", "sms") if (m := store.message_for(action.id, ch))]
    if existing:
        # A resend after a temporary failure: same messages, same links; only the unsent.
        # Queued ones may have gone out before a crash: resent under the same key and
        # Message-ID, which the outbox and receivers dedupe.
        pending = [
            m for m in existing if m.status in (MessageStatus.QUEUED, MessageStatus.DEFERRED)
        ]
        if not pending:
            return _Skip("every message of this step was already delivered.")
        invoices = [
            i for i in (store.get_invoice(merchant_id, x) for x in pending[0].invoice_ids) if i
        ]
        items = tuple(
            (m, _facts(ctx, store, action, step, policy, customer, merchant, case, invoices,
                       m.link_token or "", m.tone))
            for m in pending
        )  # fmt: skip
        overrides = store.template_overrides(merchant_id, items[0][1].locale)
        return _Batch(
            action.idempotency_key,
            items,
            overrides,
            merchant.support_email,
            _sms_sender(ctx, merchant),
            (),
        )

    opted_out = frozenset(o.channel for o in store.opt_outs(merchant_id, customer.id))
    reachable = reach(
        step.channels,
        email=customer.email,
        email_undeliverable=customer.email_undeliverable_at is not None,
        phone=customer.phone,
        opted_out=opted_out,
        transactional=step.transactional,
    )
    if not reachable.channels:
        return _Skip("; ".join(reachable.notes) + ".")

    rules = policy.sending
    country = holiday_country(customer, merchant)
    if step.kind in RESPONSES:
        # A receipt answers the customer, so the cap and the gap do not apply; the night does.
        sent: list[datetime] = []
    else:
        if step.kind in (StepKind.FAILED_PAYMENT, StepKind.FOLLOW_UP) and invoice is not None:
            covering = _recent_cover(store, action, invoice, now - rules.min_gap)
            if covering is not None:
                return _Skip(f"covered by the consolidated message {covering} sent just before.")
        since = now - max(rules.window, rules.min_gap)
        contacts = store.contacts_since(
            merchant_id, customer.id, since, [k.value for k in RESPONSES]
        )
        sent = [at for _, at in contacts]
    slot = next_send_slot(now, rules, timezone=customer.timezone, country=country, sent=sent)
    if slot.moved:
        local = slot.at.astimezone(ZoneInfo(customer.timezone))
        why = f"deferred to {local:%Y-%m-%d %H:%M} {customer.timezone}: "
        return _Defer(slot.at, why + "; ".join(slot.reasons) + ".")

    invoices = _covered_invoices(store, action, step, invoice)
    if step.kind in DUNNING:
        _absorb_others(store, action, policy, invoices, now)
    repeat = store.cases_opened_since(merchant_id, customer.id, now - REPEAT_WINDOW) > (
        1 if case is not None else 0
    )
    tone = policy.tone_for(step, repeat).value
    expires = now + timedelta(days=ctx.payment_link_days)
    items_list = []
    for channel in reachable.channels:
        token = secrets.token_urlsafe(16)
        message = Message(
            id=new_id("msg"),
            customer_id=customer.id,
            case_id=action.case_id,
            action_id=action.id,
            channel=channel,
            step=step.key,
            template=step.kind.value,
            tone=tone,
            locale=customer.locale,
            recipient=(customer.email if channel == "email" else customer.phone) or "",
            status=MessageStatus.QUEUED,
            transactional=step.transactional,
            queued_at=now,
            invoice_ids=tuple(i.id for i in invoices),
            link_token=token,
        )
        store.add_message(merchant_id, message)
        store.add_payment_link(merchant_id, token, customer.id, message.id, step.key, now, expires)
        facts = _facts(
            ctx, store, action, step, policy, customer, merchant, case, invoices, token, tone
        )
        items_list.append((message, facts))
    overrides = store.template_overrides(merchant_id, items_list[0][1].locale)
    return _Batch(
        action.idempotency_key,
        tuple(items_list),
        overrides,
        merchant.support_email,
        _sms_sender(ctx, merchant),
        reachable.notes,
    )


def _sms_sender(ctx: Context, merchant: MerchantProfile) -> str:
    return merchant.sms_sender or ctx.sms_sender


def _deliver(ctx: Context, batch: _Batch) -> list[_Outcome]:
    """Render and send, outside any transaction."""
    outcomes = []
    for message, facts in batch.items:
        rendered = ctx.writer.render(facts, batch.overrides)
        email = message.channel == "email"
        outgoing = OutgoingMessage(
            channel=message.channel,
            sender=facts.sender_email if email else batch.sms_sender,
            to=message.recipient,
            subject=rendered.subject if email else "",
            body=rendered.text if email else rendered.sms,
            locale=facts.locale,
            # Stable across resends of this message: providers and receivers can dedupe.
            idempotency_key=f"{batch.key}/{message.channel}",
            html=rendered.html if email else None,
            reply_to=batch.reply_to if email else None,
            unsubscribe_url=facts.unsubscribe_link if email else None,
        )
        try:
            delivery = ctx.channels[message.channel].send(outgoing)
        except DeliveryError as error:
            outcomes.append(_Outcome(message, rendered, None, error))
        else:
            outcomes.append(_Outcome(message, rendered, delivery, None))
    return outcomes


def _record(
    store: Store, action: ScheduledAction, outcomes: list[_Outcome], notes: tuple[str, ...],
    now: datetime,
) -> tuple[list[str], list[Event], bool]:  # fmt: skip
    """Save each message's outcome; (summaries, events, whether to retry later)."""
    summaries: list[str] = []
    events: list[Event] = []
    retry = False
    covers = ""
    for o in outcomes:
        m = o.message
        email = m.channel == "email"
        m = replace(
            m,
            subject=o.rendered.subject if email else "",
            body=o.rendered.text if email else o.rendered.sms,
            html=o.rendered.html if email else None,
        )
        if len(m.invoice_ids) > 1:
            covers = f" (one message for {len(m.invoice_ids)} invoices)"
        if o.delivery is not None:
            saved = replace(m, status=MessageStatus.SENT, sent_at=now,
                            external_id=o.delivery.external_id, error=None)  # fmt: skip
            summaries.append(f"{m.channel} sent: {o.delivery.external_id}")
            text = f"Message '{m.step}' sent by {m.channel} to {m.recipient}{covers}."
            events.append(Event(EventKind.REMINDER_SENT, now, text, {"message_id": m.id}))
        elif o.error is not None and o.error.permanent:
            saved = replace(m, status=MessageStatus.BOUNCED, error=o.error.detail)
            summaries.append(f"{m.channel} bounced")
            text = f"Message '{m.step}' to {m.recipient} bounced: {o.error.detail}"
            if m.channel == "email":
                assert action.customer_id is not None
                store.mark_email_undeliverable(
                    action.merchant_id, action.customer_id, now, o.error.detail
                )
                text += " The address is marked undeliverable; next messages go by SMS."
            events.append(Event(EventKind.REMINDER_FAILED, now, text, {"message_id": m.id}))
        else:
            assert o.error is not None
            last = action.claims >= SEND_ATTEMPTS
            status = MessageStatus.FAILED if last else MessageStatus.DEFERRED
            saved = replace(m, status=status, error=o.error.detail)
            retry = retry or not last
            summaries.append(f"{m.channel} {status.value}")
            then = "given up" if last else "will be retried"
            text = f"Message '{m.step}' by {m.channel} not delivered ({o.error.detail}); {then}."
            kind = EventKind.REMINDER_FAILED if last else EventKind.REMINDER_DEFERRED
            events.append(Event(kind, now, text, {"message_id": m.id}))
        store.save_message(saved)
    for note in notes:
        events.append(Event(EventKind.REMINDER_SENT, now, f"Message '{action.step}': {note}."))
    return summaries, events, retry


def send_due_message(ctx: Context, action: ScheduledAction, owner: str) -> str | None:
    now = ctx.clock.now()
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None
        batch = _prepare(ctx, store, action, now)
        if isinstance(batch, _Skip):
            return _finish_skipped(store, action, owner, batch.why, now)
        if isinstance(batch, _Defer):
            store.actions.postpone(action.id, owner, batch.until, batch.why)
            if action.case_id:
                summary = f"Message '{action.step}' {batch.why}"
                event = Event(EventKind.REMINDER_DEFERRED, now, summary)
                store.add_events(action.merchant_id, action.case_id, [event])
            return "deferred"
    outcomes = _deliver(ctx, batch)  # no transaction open while rendering and sending
    now = ctx.clock.now()
    with ctx.uow() as store:
        if not store.actions.holds_lease(action.id, owner, lock=True):
            return None  # another worker took over; the messages stay queued for it to judge
        summaries, events, retry = _record(store, action, outcomes, batch.notes, now)
        if action.case_id:
            store.add_events(action.merchant_id, action.case_id, events)
        if retry:
            later = now + FIRST_RESEND * 3 ** (action.claims - 1)
            store.actions.postpone(action.id, owner, later, "; ".join(summaries))
            return "deferred"
        store.actions.finish(action.id, owner, ActionStatus.DONE, "; ".join(summaries), now)
    return ActionStatus.DONE.value


def _finish_skipped(
    store: Store, action: ScheduledAction, owner: str, why: str, now: datetime
) -> str:
    if store.actions.finish(action.id, owner, ActionStatus.SKIPPED, why, now) and action.case_id:
        summary = f"Message '{action.step}' skipped: {why}"
        store.add_events(
            action.merchant_id, action.case_id, [Event(EventKind.ACTION_SKIPPED, now, summary)]
        )
    return ActionStatus.SKIPPED.value
