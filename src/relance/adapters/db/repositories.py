"""Rows <-> domain objects for everything but the action queue (see actions.py).

`SqlStore` is the persistence port the services use: one instance per transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from relance.adapters.db import tables as t
from relance.adapters.db.actions import ActionQueue
from relance.domain.arrangements import ArrangementKind, ArrangementStatus, InstalmentStatus
from relance.domain.attempts import AttemptSource, Outcome, PaymentAttempt, RawCodes
from relance.domain.cases import CaseStatus, DunningCase
from relance.domain.consent import OptOut, OptOutSource
from relance.domain.customers import Customer, MethodType, PaymentMethod
from relance.domain.declines import RetryClass
from relance.domain.errors import Conflict
from relance.domain.events import Event, EventKind
from relance.domain.invoices import Invoice, InvoiceStatus
from relance.domain.merchants import ApiKey, MerchantProfile
from relance.domain.messages import COUNTED, Message, MessageStatus
from relance.domain.money import Money
from relance.domain.payments import Payment, PaymentMethodUsed
from relance.domain.webhooks import WebhookAttempt, WebhookEndpoint
from relance.ports import ArrangementRecord, Page, ScheduledInstalment, StoredResponse


def _page(rows: Sequence[Any], limit: int, to_item: Any) -> Page[Any]:
    items = [to_item(r) for r in rows[:limit]]
    return Page(items=items, has_more=len(rows) > limit)


def _after(query: Select[Any], table: Any, after: str | None) -> Select[Any]:
    return query.where(table.c.id > after) if after else query


class SqlStore:
    """Persistence for one unit of work; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.actions = ActionQueue(conn)

    def _insert(self, table: Any, conflict: str, **values: Any) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(table).values(**values))
        except IntegrityError:
            raise Conflict(conflict) from None

    # -- merchants, keys, policies ---------------------------------------------------------

    def add_merchant(self, merchant_id: str, name: str, at: datetime) -> None:
        self.conn.execute(insert(t.merchants).values(id=merchant_id, name=name, created_at=at))

    def merchant_profile(self, merchant_id: str) -> MerchantProfile | None:
        r = self.conn.execute(select(t.merchants).where(t.merchants.c.id == merchant_id)).first()
        if r is None:
            return None
        defaults = MerchantProfile(r.id, r.name)
        return MerchantProfile(
            id=r.id,
            name=r.name,
            sender_email=r.sender_email,
            support_email=r.support_email,
            support_phone=r.support_phone,
            brand_color=r.brand_color or defaults.brand_color,
            service_description=dict(r.service_description or {}),
            default_locale=r.default_locale or defaults.default_locale,
            country=r.country or defaults.country,
            sms_sender=r.sms_sender,
            iban=r.iban,
            bic=r.bic,
        )

    def save_merchant_profile(self, p: MerchantProfile) -> None:
        self.conn.execute(
            update(t.merchants)
            .where(t.merchants.c.id == p.id)
            .values(
                name=p.name,
                sender_email=p.sender_email,
                support_email=p.support_email,
                support_phone=p.support_phone,
                brand_color=p.brand_color,
                service_description=p.service_description,
                default_locale=p.default_locale,
                country=p.country,
                sms_sender=p.sms_sender,
                iban=p.iban,
                bic=p.bic,
            )
        )

    def merchant_name(self, merchant_id: str) -> str | None:
        row = self.conn.execute(select(t.merchants.c.name).where(t.merchants.c.id == merchant_id))
        return row.scalar_one_or_none()

    def add_api_key(self, key: ApiKey) -> None:
        self.conn.execute(
            insert(t.api_keys).values(
                id=key.id,
                merchant_id=key.merchant_id,
                prefix=key.prefix,
                key_hash=key.key_hash,
                created_at=key.created_at,
            )
        )

    def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        row = self.conn.execute(
            select(t.api_keys).where(
                t.api_keys.c.prefix == prefix, t.api_keys.c.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        return ApiKey(row.id, row.merchant_id, row.prefix, row.key_hash, row.created_at)

    def latest_policy(self, merchant_id: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(t.policies.c.version, t.policies.c.source)
            .where(t.policies.c.merchant_id == merchant_id)
            .order_by(t.policies.c.version.desc())
            .limit(1)
        ).first()
        return (row.version, row.source) if row else None

    def policy_source(self, merchant_id: str, version: int) -> str | None:
        return self.conn.execute(
            select(t.policies.c.source).where(
                t.policies.c.merchant_id == merchant_id, t.policies.c.version == version
            )
        ).scalar_one_or_none()

    def add_policy(
        self, merchant_id: str, version: int, source: str, at: datetime, id: str
    ) -> None:
        self._insert(
            t.policies,
            f"Policy version {version} already exists; raise the version number.",
            id=id,
            merchant_id=merchant_id,
            version=version,
            source=source,
            created_at=at,
        )

    # -- customers and payment methods -------------------------------------------------------

    def add_customer(self, merchant_id: str, c: Customer, at: datetime) -> None:
        self._insert(
            t.customers,
            f"A customer with external_id '{c.external_id}' already exists.",
            id=c.id,
            merchant_id=merchant_id,
            external_id=c.external_id,
            name=c.name,
            email=c.email,
            phone=c.phone,
            locale=c.locale,
            timezone=c.timezone,
            country=c.country,
            segment=c.segment,
            created_at=at,
        )

    @staticmethod
    def _customer(r: Row[Any]) -> Customer:
        return Customer(
            r.id, r.external_id, r.name, r.email, r.phone, r.locale, r.timezone,
            r.country, r.segment, r.email_undeliverable_at,
        )  # fmt: skip

    def lock_customer(self, merchant_id: str, customer_id: str) -> Customer | None:
        """Serialises message decisions for one customer (the cap counts across workers)."""
        row = self.conn.execute(
            select(t.customers)
            .where(t.customers.c.merchant_id == merchant_id, t.customers.c.id == customer_id)
            .with_for_update()
        ).first()
        return self._customer(row) if row else None

    def customers_with_phone(self, merchant_id: str, phone: str) -> list[Customer]:
        rows = self.conn.execute(
            select(t.customers).where(
                t.customers.c.merchant_id == merchant_id, t.customers.c.phone == phone
            )
        )
        return [self._customer(r) for r in rows]

    def mark_email_undeliverable(
        self, merchant_id: str, customer_id: str, at: datetime, reason: str
    ) -> None:
        self.conn.execute(
            update(t.customers)
            .where(t.customers.c.merchant_id == merchant_id, t.customers.c.id == customer_id)
            .values(email_undeliverable_at=at, email_undeliverable_reason=reason)
        )

    def add_opt_out(self, merchant_id: str, o: OptOut) -> bool:
        """Record an opt-out; False when the customer had already opted out of the channel."""
        exists = self.conn.execute(
            select(t.opt_outs.c.channel).where(
                t.opt_outs.c.customer_id == o.customer_id, t.opt_outs.c.channel == o.channel
            )
        ).first()
        if exists:
            return False
        self.conn.execute(
            insert(t.opt_outs).values(
                merchant_id=merchant_id,
                customer_id=o.customer_id,
                channel=o.channel,
                source=o.source.value,
                at=o.at,
            )
        )
        return True

    def opt_outs(self, merchant_id: str, customer_id: str) -> list[OptOut]:
        rows = self.conn.execute(
            select(t.opt_outs)
            .where(t.opt_outs.c.merchant_id == merchant_id, t.opt_outs.c.customer_id == customer_id)
            .order_by(t.opt_outs.c.at)
        )
        return [OptOut(r.customer_id, r.channel, OptOutSource(r.source), r.at) for r in rows]

    def get_customer(self, merchant_id: str, customer_id: str) -> Customer | None:
        row = self.conn.execute(
            select(t.customers).where(
                t.customers.c.merchant_id == merchant_id, t.customers.c.id == customer_id
            )
        ).first()
        return self._customer(row) if row else None

    def list_customers(self, merchant_id: str, after: str | None, limit: int) -> Page[Customer]:
        q = select(t.customers).where(t.customers.c.merchant_id == merchant_id)
        q = _after(q, t.customers, after).order_by(t.customers.c.id).limit(limit + 1)
        return _page(self.conn.execute(q).all(), limit, self._customer)

    def add_payment_method(self, merchant_id: str, pm: PaymentMethod, at: datetime) -> None:
        self.conn.execute(
            insert(t.payment_methods).values(
                id=pm.id,
                merchant_id=merchant_id,
                customer_id=pm.customer_id,
                gateway_token=pm.gateway_token,
                type=pm.type.value,
                brand=pm.brand,
                last4=pm.last4,
                exp_month=pm.exp_month,
                exp_year=pm.exp_year,
                fingerprint=pm.fingerprint,
                created_at=at,
            )
        )

    @staticmethod
    def _payment_method(r: Row[Any]) -> PaymentMethod:
        return PaymentMethod(
            r.id,
            r.customer_id,
            r.gateway_token,
            MethodType(r.type),
            r.brand,
            r.last4,
            r.exp_month,
            r.exp_year,
            r.fingerprint,
        )

    def list_payment_methods(
        self, merchant_id: str, customer_id: str | None, after: str | None, limit: int
    ) -> Page[PaymentMethod]:
        pm = t.payment_methods
        q = select(pm).where(pm.c.merchant_id == merchant_id)
        if customer_id:
            q = q.where(pm.c.customer_id == customer_id)
        q = _after(q, pm, after).order_by(pm.c.id).limit(limit + 1)
        return _page(self.conn.execute(q).all(), limit, self._payment_method)

    def current_payment_method(self, merchant_id: str, customer_id: str) -> PaymentMethod | None:
        """The most recently added method: adding a method is how a customer updates it."""
        pm = t.payment_methods
        row = self.conn.execute(
            select(pm)
            .where(pm.c.merchant_id == merchant_id, pm.c.customer_id == customer_id)
            .order_by(pm.c.id.desc())
            .limit(1)
        ).first()
        return self._payment_method(row) if row else None

    # -- invoices, attempts, payments --------------------------------------------------------

    def add_invoice(self, merchant_id: str, inv: Invoice, at: datetime) -> None:
        self._insert(
            t.invoices,
            f"An invoice numbered '{inv.number}' already exists.",
            id=inv.id,
            merchant_id=merchant_id,
            customer_id=inv.customer_id,
            number=inv.number,
            amount_minor=inv.amount.minor,
            paid_minor=inv.paid.minor,
            currency=inv.amount.currency,
            status=inv.status.value,
            issued_at=inv.issued_at,
            due_at=inv.due_at,
            subscription_ref=inv.subscription_ref,
            created_at=at,
        )

    @staticmethod
    def _invoice(r: Row[Any]) -> Invoice:
        return Invoice(
            id=r.id,
            customer_id=r.customer_id,
            number=r.number,
            amount=Money(r.amount_minor, r.currency),
            paid=Money(r.paid_minor, r.currency),
            issued_at=r.issued_at,
            due_at=r.due_at,
            subscription_ref=r.subscription_ref,
            status=InvoiceStatus(r.status),
        )

    def get_invoice(self, merchant_id: str, invoice_id: str, lock: bool = False) -> Invoice | None:
        q = select(t.invoices).where(
            t.invoices.c.merchant_id == merchant_id, t.invoices.c.id == invoice_id
        )
        row = self.conn.execute(q.with_for_update() if lock else q).first()
        return self._invoice(row) if row else None

    def list_invoices(
        self, merchant_id: str, status: str | None, after: str | None, limit: int
    ) -> Page[Invoice]:
        q = select(t.invoices).where(t.invoices.c.merchant_id == merchant_id)
        if status:
            q = q.where(t.invoices.c.status == status)
        q = _after(q, t.invoices, after).order_by(t.invoices.c.id).limit(limit + 1)
        return _page(self.conn.execute(q).all(), limit, self._invoice)

    def save_invoice_balance(self, inv: Invoice) -> None:
        self.conn.execute(
            update(t.invoices)
            .where(t.invoices.c.id == inv.id)
            .values(paid_minor=inv.paid.minor, status=inv.status.value)
        )

    def add_attempt(self, merchant_id: str, a: PaymentAttempt, at: datetime) -> None:
        self.conn.execute(
            insert(t.payment_attempts).values(
                id=a.id,
                merchant_id=merchant_id,
                invoice_id=a.invoice_id,
                amount_minor=a.amount.minor,
                currency=a.amount.currency,
                outcome=a.outcome.value,
                attempted_at=a.attempted_at,
                decline_code=a.codes.decline_code,
                network_response_code=a.codes.network_response_code,
                network_advice_code=a.codes.network_advice_code,
                sepa_reason_code=a.codes.sepa_reason_code,
                advice_code=a.codes.advice_code,
                processor=a.codes.processor,
                source=a.source.value,
                payment_method_id=a.payment_method_id,
                gateway_reference=a.gateway_reference,
                created_at=at,
            )
        )

    def list_attempts(self, invoice_id: str) -> list[PaymentAttempt]:
        return self._attempts(t.payment_attempts.c.invoice_id == invoice_id)

    def _attempts(self, condition: Any) -> list[PaymentAttempt]:
        pa = t.payment_attempts
        rows = self.conn.execute(select(pa).where(condition).order_by(pa.c.attempted_at, pa.c.id))
        return [
            PaymentAttempt(
                id=r.id,
                invoice_id=r.invoice_id,
                amount=Money(r.amount_minor, r.currency),
                outcome=Outcome(r.outcome),
                attempted_at=r.attempted_at,
                codes=RawCodes(
                    r.decline_code,
                    r.network_response_code,
                    r.network_advice_code,
                    r.sepa_reason_code,
                    r.processor,
                    r.advice_code,
                ),
                source=AttemptSource(r.source),
                payment_method_id=r.payment_method_id,
                gateway_reference=r.gateway_reference,
            )
            for r in rows
        ]

    def attempts_on_instrument(self, merchant_id: str, instrument: str) -> list[PaymentAttempt]:
        """Every attempt on one card or mandate at this merchant, whatever the token."""
        pm, pa = t.payment_methods, t.payment_attempts
        same_card = or_(
            pm.c.fingerprint == instrument,
            and_(pm.c.fingerprint.is_(None), pm.c.gateway_token == instrument),
        )
        methods = select(pm.c.id).where(pm.c.merchant_id == merchant_id, same_card)
        return self._attempts(
            and_(pa.c.merchant_id == merchant_id, pa.c.payment_method_id.in_(methods))
        )

    def failure_codes_seen(self, merchant_id: str) -> list[tuple[RawCodes, int]]:
        """Each distinct combination of raw codes on this merchant's failures, with a count."""
        pa = t.payment_attempts
        columns = (
            pa.c.decline_code,
            pa.c.network_response_code,
            pa.c.network_advice_code,
            pa.c.sepa_reason_code,
            pa.c.advice_code,
        )
        rows = self.conn.execute(
            select(*columns, func.count())
            .where(pa.c.merchant_id == merchant_id, pa.c.outcome == Outcome.FAILED.value)
            .group_by(*columns)
        )
        return [(RawCodes(r[0], r[1], r[2], r[3], None, r[4]), int(r[5])) for r in rows]

    def add_payment(self, merchant_id: str, p: Payment, at: datetime) -> None:
        self.conn.execute(
            insert(t.payments).values(
                id=p.id,
                merchant_id=merchant_id,
                invoice_id=p.invoice_id,
                amount_minor=p.amount.minor,
                currency=p.amount.currency,
                paid_at=p.paid_at,
                method=p.method.value,
                reference=p.reference,
                created_at=at,
            )
        )

    def list_payments(self, invoice_id: str) -> list[Payment]:
        rows = self.conn.execute(
            select(t.payments)
            .where(t.payments.c.invoice_id == invoice_id)
            .order_by(t.payments.c.id)
        )
        return [
            Payment(
                r.id,
                r.invoice_id,
                Money(r.amount_minor, r.currency),
                r.paid_at,
                PaymentMethodUsed(r.method),
                r.reference,
            )
            for r in rows
        ]

    # -- cases, timeline, messages -----------------------------------------------------------

    def add_case(self, merchant_id: str, c: DunningCase) -> None:
        self.conn.execute(
            insert(t.cases).values(
                id=c.id,
                merchant_id=merchant_id,
                invoice_id=c.invoice_id,
                status=c.status.value,
                opened_at=c.opened_at,
                closed_at=c.closed_at,
                policy_version=c.policy_version,
                reason=c.reason,
                retry_class=c.retry_class.value,
            )
        )

    def save_case(self, c: DunningCase) -> None:
        self.conn.execute(
            update(t.cases)
            .where(t.cases.c.id == c.id)
            .values(
                status=c.status.value,
                closed_at=c.closed_at,
                reason=c.reason,
                retry_class=c.retry_class.value,
            )
        )

    @staticmethod
    def _case(r: Row[Any]) -> DunningCase:
        return DunningCase(
            id=r.id,
            invoice_id=r.invoice_id,
            status=CaseStatus(r.status),
            opened_at=r.opened_at,
            policy_version=r.policy_version,
            reason=r.reason,
            retry_class=RetryClass(r.retry_class),
            closed_at=r.closed_at,
        )

    def get_case(self, merchant_id: str, case_id: str, lock: bool = False) -> DunningCase | None:
        q = select(t.cases).where(t.cases.c.merchant_id == merchant_id, t.cases.c.id == case_id)
        row = self.conn.execute(q.with_for_update() if lock else q).first()
        return self._case(row) if row else None

    def open_cases_of_customer(self, merchant_id: str, customer_id: str) -> list[DunningCase]:
        invoices_of = select(t.invoices.c.id).where(
            t.invoices.c.merchant_id == merchant_id, t.invoices.c.customer_id == customer_id
        )
        rows = self.conn.execute(
            select(t.cases)
            .where(
                t.cases.c.merchant_id == merchant_id,
                t.cases.c.invoice_id.in_(invoices_of),
                t.cases.c.status == CaseStatus.ACTIVE.value,
            )
            .order_by(t.cases.c.id)
        )
        return [self._case(r) for r in rows]

    def cases_opened_since(self, merchant_id: str, customer_id: str, since: datetime) -> int:
        invoices_of = select(t.invoices.c.id).where(
            t.invoices.c.merchant_id == merchant_id, t.invoices.c.customer_id == customer_id
        )
        return int(
            self.conn.execute(
                select(func.count()).where(
                    t.cases.c.merchant_id == merchant_id,
                    t.cases.c.invoice_id.in_(invoices_of),
                    t.cases.c.opened_at >= since,
                )
            ).scalar_one()
        )

    def open_invoices_of_customer(self, merchant_id: str, customer_id: str) -> list[Invoice]:
        rows = self.conn.execute(
            select(t.invoices)
            .where(
                t.invoices.c.merchant_id == merchant_id,
                t.invoices.c.customer_id == customer_id,
                t.invoices.c.status == "open",
            )
            .order_by(t.invoices.c.due_at, t.invoices.c.id)
        )
        return [self._invoice(r) for r in rows]

    def case_for_invoice(self, merchant_id: str, invoice_id: str) -> DunningCase | None:
        row = self.conn.execute(
            select(t.cases).where(
                t.cases.c.merchant_id == merchant_id, t.cases.c.invoice_id == invoice_id
            )
        ).first()
        return self._case(row) if row else None

    def list_cases(
        self, merchant_id: str, status: str | None, after: str | None, limit: int
    ) -> Page[DunningCase]:
        q = select(t.cases).where(t.cases.c.merchant_id == merchant_id)
        if status:
            q = q.where(t.cases.c.status == status)
        q = _after(q, t.cases, after).order_by(t.cases.c.id).limit(limit + 1)
        return _page(self.conn.execute(q).all(), limit, self._case)

    def add_events(self, merchant_id: str, case_id: str, events: Iterable[Event]) -> None:
        rows = [
            {
                "merchant_id": merchant_id,
                "case_id": case_id,
                "at": e.at,
                "kind": e.kind.value,
                "summary": e.summary,
                "data": e.data,
            }
            for e in events
        ]
        if rows:
            self.conn.execute(insert(t.timeline), rows)

    def list_events(self, case_id: str) -> list[Event]:
        rows = self.conn.execute(
            select(t.timeline).where(t.timeline.c.case_id == case_id).order_by(t.timeline.c.id)
        )
        return [Event(EventKind(r.kind), r.at, r.summary, dict(r.data)) for r in rows]

    def add_message(self, merchant_id: str, m: Message) -> None:
        self.conn.execute(insert(t.messages).values(merchant_id=merchant_id, **_message_row(m)))

    def save_message(self, m: Message) -> None:
        row = _message_row(m)
        self.conn.execute(update(t.messages).where(t.messages.c.id == m.id).values(**row))

    def message_for(self, action_id: str, channel: str) -> Message | None:
        row = self.conn.execute(
            select(t.messages).where(
                t.messages.c.action_id == action_id, t.messages.c.channel == channel
            )
        ).first()
        return _message(row) if row else None

    def list_messages(self, case_id: str) -> list[Message]:
        rows = self.conn.execute(
            select(t.messages).where(t.messages.c.case_id == case_id).order_by(t.messages.c.id)
        )
        return [_message(r) for r in rows]

    def customer_messages(
        self, merchant_id: str, customer_id: str, after: str | None, limit: int
    ) -> Page[Message]:
        m = t.messages
        q = select(m).where(m.c.merchant_id == merchant_id, m.c.customer_id == customer_id)
        q = _after(q, m, after).order_by(m.c.id).limit(limit + 1)
        return _page(self.conn.execute(q).all(), limit, _message)

    def messages_since(self, merchant_id: str, customer_id: str, since: datetime) -> list[Message]:
        m = t.messages
        rows = self.conn.execute(
            select(m)
            .where(
                m.c.merchant_id == merchant_id,
                m.c.customer_id == customer_id,
                m.c.queued_at >= since,
            )
            .order_by(m.c.id)
        )
        return [_message(r) for r in rows]

    def contacts_since(
        self, merchant_id: str, customer_id: str, since: datetime, exclude_templates: Iterable[str]
    ) -> list[tuple[str, datetime]]:
        """(action id, queued at) of messages sent or on their way to this customer since
        `since`: what the cap counts. Messages of one action on two channels are one contact."""
        m = t.messages
        rows = self.conn.execute(
            select(m.c.action_id, func.min(m.c.queued_at))
            .where(
                m.c.merchant_id == merchant_id,
                m.c.customer_id == customer_id,
                m.c.queued_at >= since,
                m.c.status.in_([s.value for s in COUNTED]),
                # Messages from before 0004 have no template: they were reminders, they count.
                or_(m.c.template.is_(None), m.c.template.not_in(list(exclude_templates))),
            )
            .group_by(m.c.action_id)
        )
        return [(r[0], r[1]) for r in rows]

    def add_payment_link(
        self,
        merchant_id: str,
        token: str,
        customer_id: str,
        message_id: str | None,
        step: str | None,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        self.conn.execute(
            insert(t.payment_links).values(
                token=token,
                merchant_id=merchant_id,
                customer_id=customer_id,
                message_id=message_id,
                step=step,
                created_at=at,
                expires_at=expires_at,
                clicks=0,
            )
        )

    def payment_link(self, token: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(t.payment_links).where(t.payment_links.c.token == token)
        ).first()
        return dict(row._mapping) if row else None

    def note_link_visit(self, token: str, at: datetime) -> None:
        pl = t.payment_links
        self.conn.execute(
            update(pl)
            .where(pl.c.token == token)
            .values(
                clicks=pl.c.clicks + 1, first_clicked_at=func.coalesce(pl.c.first_clicked_at, at)
            )
        )

    def revoke_payment_links(self, merchant_id: str, customer_id: str, at: datetime) -> int:
        pl = t.payment_links
        result = self.conn.execute(
            update(pl)
            .where(
                pl.c.merchant_id == merchant_id,
                pl.c.customer_id == customer_id,
                pl.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return result.rowcount

    # -- the payment page ---------------------------------------------------------------------

    def add_card_submission(
        self, merchant_id: str, token: str, at: datetime, accepted: bool, reason: str | None
    ) -> None:
        self.conn.execute(
            insert(t.card_submissions).values(
                merchant_id=merchant_id, link_token=token, at=at, accepted=accepted, reason=reason
            )
        )

    def refused_card_submissions(self, token: str, since: datetime) -> list[datetime]:
        cs = t.card_submissions
        rows = self.conn.execute(
            select(cs.c.at)
            .where(cs.c.link_token == token, cs.c.at >= since, cs.c.accepted.is_(False))
            .order_by(cs.c.at)
        )
        return [r[0] for r in rows]

    def add_arrangement(self, a: ArrangementRecord) -> None:
        self.conn.execute(
            insert(t.arrangements).values(
                id=a.id,
                merchant_id=a.merchant_id,
                customer_id=a.customer_id,
                kind=a.kind.value,
                status=a.status.value,
                currency=a.total.currency,
                total_minor=a.total.minor,
                invoice_ids=list(a.invoice_ids),
                payment_method_id=a.payment_method_id,
                reference=a.reference,
                link_token=a.link_token,
                message_id=a.message_id,
                created_at=a.created_at,
                ended_at=a.ended_at,
                end_reason=a.end_reason,
            )
        )
        if a.instalments:
            self.conn.execute(
                insert(t.arrangement_instalments),
                [
                    {
                        "arrangement_id": a.id,
                        "number": i.number,
                        "due_on": i.due_on,
                        "due_at": i.due_at,
                        "amount_minor": i.amount.minor,
                        "status": i.status.value,
                        "settled_at": i.settled_at,
                    }
                    for i in a.instalments
                ],
            )

    def _arrangement(self, r: Row[Any]) -> ArrangementRecord:
        ai = t.arrangement_instalments
        rows = self.conn.execute(
            select(ai).where(ai.c.arrangement_id == r.id).order_by(ai.c.number)
        )
        instalments = tuple(
            ScheduledInstalment(
                i.number,
                i.due_on if isinstance(i.due_on, date) else date.fromisoformat(str(i.due_on)),
                i.due_at,
                Money(i.amount_minor, r.currency),
                InstalmentStatus(i.status),
                i.settled_at,
            )
            for i in rows
        )
        return ArrangementRecord(
            id=r.id,
            merchant_id=r.merchant_id,
            customer_id=r.customer_id,
            kind=ArrangementKind(r.kind),
            status=ArrangementStatus(r.status),
            total=Money(r.total_minor, r.currency),
            invoice_ids=tuple(r.invoice_ids),
            payment_method_id=r.payment_method_id,
            reference=r.reference,
            link_token=r.link_token,
            message_id=r.message_id,
            created_at=r.created_at,
            instalments=instalments,
            ended_at=r.ended_at,
            end_reason=r.end_reason,
        )

    def get_arrangement(
        self, merchant_id: str, arrangement_id: str, lock: bool = False
    ) -> ArrangementRecord | None:
        ar = t.arrangements
        q = select(ar).where(ar.c.merchant_id == merchant_id, ar.c.id == arrangement_id)
        row = self.conn.execute(q.with_for_update() if lock else q).first()
        return self._arrangement(row) if row else None

    def active_arrangement(self, merchant_id: str, customer_id: str) -> ArrangementRecord | None:
        ar = t.arrangements
        row = self.conn.execute(
            select(ar)
            .where(
                ar.c.merchant_id == merchant_id,
                ar.c.customer_id == customer_id,
                ar.c.status == ArrangementStatus.ACTIVE.value,
            )
            .order_by(ar.c.id.desc())
        ).first()
        return self._arrangement(row) if row else None

    def last_broken_plan_at(self, merchant_id: str, customer_id: str) -> datetime | None:
        ar = t.arrangements
        row = self.conn.execute(
            select(func.max(ar.c.ended_at)).where(
                ar.c.merchant_id == merchant_id,
                ar.c.customer_id == customer_id,
                ar.c.kind == ArrangementKind.PLAN.value,
                ar.c.status == ArrangementStatus.BROKEN.value,
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        # func.max loses the column type on SQLite: read it back as aware UTC.
        return t.UTCDateTime().process_result_value(row, self.conn.dialect)

    def end_arrangement(
        self, arrangement_id: str, status: ArrangementStatus, at: datetime, reason: str
    ) -> None:
        self.conn.execute(
            update(t.arrangements)
            .where(t.arrangements.c.id == arrangement_id)
            .values(status=status.value, ended_at=at, end_reason=reason)
        )

    def settle_instalment(
        self, arrangement_id: str, number: int, status: InstalmentStatus, at: datetime
    ) -> None:
        ai = t.arrangement_instalments
        self.conn.execute(
            update(ai)
            .where(ai.c.arrangement_id == arrangement_id, ai.c.number == number)
            .values(status=status.value, settled_at=at)
        )

    def payment_dates(self, merchant_id: str, customer_id: str) -> list[datetime]:
        p, i = t.payments, t.invoices
        rows = self.conn.execute(
            select(p.c.paid_at)
            .join(i, i.c.id == p.c.invoice_id)
            .where(i.c.merchant_id == merchant_id, i.c.customer_id == customer_id)
            .order_by(p.c.paid_at)
        )
        return [r[0] for r in rows]

    # -- message templates --------------------------------------------------------------------

    def template_overrides(self, merchant_id: str, locale: str) -> dict[str, str]:
        to = t.template_overrides
        rows = self.conn.execute(
            select(to.c.name, to.c.source).where(
                to.c.merchant_id == merchant_id, to.c.locale == locale
            )
        )
        return {name: source for name, source in rows}

    def list_template_overrides(self, merchant_id: str) -> list[tuple[str, str, datetime]]:
        to = t.template_overrides
        rows = self.conn.execute(
            select(to.c.name, to.c.locale, to.c.updated_at)
            .where(to.c.merchant_id == merchant_id)
            .order_by(to.c.name, to.c.locale)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def save_template_override(
        self, merchant_id: str, name: str, locale: str, source: str, at: datetime
    ) -> None:
        self.delete_template_override(merchant_id, name, locale)
        self.conn.execute(
            insert(t.template_overrides).values(
                merchant_id=merchant_id, name=name, locale=locale, source=source, updated_at=at
            )
        )

    def delete_template_override(self, merchant_id: str, name: str, locale: str) -> bool:
        to = t.template_overrides
        done = self.conn.execute(
            delete(to).where(
                to.c.merchant_id == merchant_id, to.c.name == name, to.c.locale == locale
            )
        )
        return done.rowcount == 1

    # -- merchant webhooks --------------------------------------------------------------------

    def add_webhook_endpoint(self, e: WebhookEndpoint) -> None:
        self.conn.execute(
            insert(t.webhook_endpoints).values(
                id=e.id,
                merchant_id=e.merchant_id,
                url=e.url,
                secret=e.secret,
                events=list(e.events),
                created_at=e.created_at,
                disabled_at=e.disabled_at,
            )
        )

    @staticmethod
    def _endpoint(r: Row[Any]) -> WebhookEndpoint:
        return WebhookEndpoint(
            r.id, r.merchant_id, r.url, r.secret, tuple(r.events), r.created_at, r.disabled_at
        )

    def webhook_endpoints(self, merchant_id: str) -> list[WebhookEndpoint]:
        we = t.webhook_endpoints
        rows = self.conn.execute(
            select(we).where(we.c.merchant_id == merchant_id).order_by(we.c.id)
        )
        return [self._endpoint(r) for r in rows]

    def get_webhook_endpoint(self, merchant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        we = t.webhook_endpoints
        row = self.conn.execute(
            select(we).where(we.c.merchant_id == merchant_id, we.c.id == endpoint_id)
        ).first()
        return self._endpoint(row) if row else None

    def disable_webhook_endpoint(self, merchant_id: str, endpoint_id: str, at: datetime) -> None:
        we = t.webhook_endpoints
        self.conn.execute(
            update(we)
            .where(we.c.merchant_id == merchant_id, we.c.id == endpoint_id)
            .values(disabled_at=at)
        )

    def add_webhook_attempt(self, merchant_id: str, a: WebhookAttempt) -> None:
        self.conn.execute(
            insert(t.webhook_attempts).values(
                merchant_id=merchant_id,
                endpoint_id=a.endpoint_id,
                action_id=a.action_id,
                event_id=a.event_id,
                event_type=a.event_type,
                attempt=a.attempt,
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
                next_attempt_at=a.next_attempt_at,
            )
        )

    def webhook_attempts(
        self, merchant_id: str, endpoint_id: str, before: int | None, limit: int
    ) -> list[WebhookAttempt]:
        wa = t.webhook_attempts
        q = select(wa).where(wa.c.merchant_id == merchant_id, wa.c.endpoint_id == endpoint_id)
        if before is not None:
            q = q.where(wa.c.id < before)
        rows = self.conn.execute(q.order_by(wa.c.id.desc()).limit(limit))
        return [
            WebhookAttempt(
                r.endpoint_id,
                r.action_id,
                r.event_id,
                r.event_type,
                r.attempt,
                r.at,
                r.status_code,
                r.error,
                r.duration_ms,
                r.next_attempt_at,
                r.id,
            )
            for r in rows
        ]

    # -- idempotent requests -----------------------------------------------------------------

    def stored_response(self, merchant_id: str, key: str) -> StoredResponse | None:
        ik = t.idempotency_keys
        row = self.conn.execute(
            select(ik).where(ik.c.merchant_id == merchant_id, ik.c.key == key)
        ).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, row.status_code, row.response_body)

    def reserve_response(self, merchant_id: str, key: str, request_hash: str, at: datetime) -> None:
        """Claim a key before running the request, so two concurrent uses cannot both act."""
        self._insert(
            t.idempotency_keys,
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            merchant_id=merchant_id,
            key=key,
            request_hash=request_hash,
            status_code=0,
            response_body="",
            created_at=at,
        )

    def save_response(self, merchant_id: str, key: str, status_code: int, body: str) -> None:
        ik = t.idempotency_keys
        self.conn.execute(
            update(ik)
            .where(ik.c.merchant_id == merchant_id, ik.c.key == key)
            .values(status_code=status_code, response_body=body)
        )

    def drop_response(self, merchant_id: str, key: str) -> None:
        ik = t.idempotency_keys
        self.conn.execute(delete(ik).where(ik.c.merchant_id == merchant_id, ik.c.key == key))


def _message_row(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "customer_id": m.customer_id,
        "case_id": m.case_id,
        "action_id": m.action_id,
        "channel": m.channel,
        "step": m.step,
        "template": m.template,
        "tone": m.tone,
        "locale": m.locale,
        "recipient": m.recipient,
        "subject": m.subject,
        "body": m.body,
        "html": m.html,
        "status": m.status.value,
        "transactional": m.transactional,
        "invoice_ids": list(m.invoice_ids),
        "link_token": m.link_token,
        "external_id": m.external_id,
        "error": m.error,
        "queued_at": m.queued_at,
        "sent_at": m.sent_at,
    }


def _message(r: Row[Any]) -> Message:
    return Message(
        id=r.id,
        customer_id=r.customer_id,
        case_id=r.case_id,
        action_id=r.action_id,
        channel=r.channel,
        step=r.step,
        template=r.template or r.step,
        tone=r.tone or "",
        locale=r.locale,
        recipient=r.recipient,
        status=MessageStatus(r.status),
        transactional=bool(r.transactional),
        queued_at=r.queued_at or r.sent_at,
        invoice_ids=tuple(r.invoice_ids or ()),
        subject=r.subject,
        body=r.body,
        html=r.html,
        link_token=r.link_token,
        external_id=r.external_id,
        error=r.error,
        sent_at=r.sent_at,
    )
