"""The wire format: pydantic models, kept apart from the domain so the API can evolve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from relance.domain.actions import ScheduledAction
from relance.domain.cases import DunningCase, awaiting
from relance.domain.customers import Customer, MethodType, PaymentMethod
from relance.domain.events import Event
from relance.domain.invoices import Invoice
from relance.domain.messages import Message
from relance.domain.money import normalise_currency
from relance.ports import Page
from relance.services.cases import CaseView

Currency = Annotated[str, AfterValidator(normalise_currency), Field(examples=["EUR"])]
MinorUnits = Annotated[int, Field(gt=0, strict=True, description="Integer minor units (cents).")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
# Any offset is accepted on the way in; everything is stored and shown in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(lambda d: d.astimezone(UTC))]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(Input):
    external_id: Text
    name: Text
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, description="International form, e.g. +33612345678.")
    locale: Literal["fr", "en"] = "fr"
    timezone: str = Field(default="Europe/Paris", description="IANA time zone.")
    country: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO 3166-1 alpha-2: reads national phone numbers, picks public holidays.",
    )
    segment: str | None = Field(
        default=None, max_length=40, description="Picks the policy's message sequence."
    )


class CustomerOut(BaseModel):
    object: Literal["customer"] = "customer"
    id: str
    external_id: str
    name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str
    country: str | None
    segment: str | None
    email_undeliverable_at: datetime | None = Field(
        description="When the mail server refused the address for good; no email goes to it "
        "until the address changes."
    )

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            external_id=c.external_id,
            name=c.name,
            email=c.email,
            phone=c.phone,
            locale=c.locale,
            timezone=c.timezone,
            country=c.country,
            segment=c.segment,
            email_undeliverable_at=c.email_undeliverable_at,
        )


class PaymentMethodIn(Input):
    customer_id: Text
    gateway_token: Text
    type: MethodType = MethodType.CARD
    brand: str | None = Field(default=None, max_length=32)
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    fingerprint: str | None = Field(
        default=None,
        max_length=255,
        description="The gateway's card fingerprint or SEPA mandate id: "
        "retry ceilings count per card, whatever the token.",
    )


class PaymentMethodOut(BaseModel):
    object: Literal["payment_method"] = "payment_method"
    id: str
    customer_id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None

    @classmethod
    def of(cls, pm: PaymentMethod) -> PaymentMethodOut:
        # The gateway token is never echoed back: it is a credential to charge the customer.
        return cls(
            id=pm.id,
            customer_id=pm.customer_id,
            type=pm.type.value,
            brand=pm.brand,
            last4=pm.last4,
            exp_month=pm.exp_month,
            exp_year=pm.exp_year,
        )


class InvoiceIn(Input):
    customer_id: Text
    number: Annotated[str, Field(min_length=1, max_length=64)]
    amount: MinorUnits
    currency: Currency
    issued_at: Instant
    due_at: Instant
    subscription_ref: str | None = Field(default=None, max_length=200)


class InvoiceOut(BaseModel):
    object: Literal["invoice"] = "invoice"
    id: str
    customer_id: str
    number: str
    amount: int
    amount_paid: int
    balance: int
    currency: str
    status: str
    issued_at: datetime
    due_at: datetime
    subscription_ref: str | None

    @classmethod
    def of(cls, inv: Invoice) -> InvoiceOut:
        return cls(
            id=inv.id,
            customer_id=inv.customer_id,
            number=inv.number,
            amount=inv.amount.minor,
            amount_paid=inv.paid.minor,
            balance=inv.balance.minor,
            currency=inv.amount.currency,
            status=inv.status.value,
            issued_at=inv.issued_at,
            due_at=inv.due_at,
            subscription_ref=inv.subscription_ref,
        )


class AttemptIn(Input):
    invoice_id: Text
    amount: MinorUnits
    currency: Currency
    outcome: Literal["succeeded", "failed"]
    attempted_at: Instant
    payment_method_id: str | None = None
    decline_code: str | None = Field(default=None, max_length=64)
    advice_code: str | None = Field(default=None, max_length=64)
    network_response_code: str | None = Field(default=None, max_length=16)
    network_advice_code: str | None = Field(default=None, max_length=16)
    sepa_reason_code: str | None = Field(default=None, max_length=16)
    processor: str | None = Field(default=None, max_length=64)


class AttemptOut(BaseModel):
    object: Literal["payment_attempt"] = "payment_attempt"
    id: str
    invoice_id: str
    outcome: str
    case_id: str | None
    invoice: InvoiceOut


class PaymentIn(Input):
    amount: MinorUnits
    currency: Currency
    paid_at: Instant
    method: Literal["transfer", "cash", "card_elsewhere", "cheque", "other"]
    reference: str | None = Field(default=None, max_length=200)


class ActionOut(BaseModel):
    id: str
    kind: str
    step: str | None
    number: int | None
    due_at: datetime
    status: str
    explanation: str
    result: str | None

    @classmethod
    def of(cls, a: ScheduledAction) -> ActionOut:
        return cls(
            id=a.id,
            kind=a.kind.value,
            step=a.step,
            number=a.number,
            due_at=a.due_at,
            status=a.status.value,
            explanation=a.explanation,
            result=a.result,
        )


class EventOut(BaseModel):
    at: datetime
    kind: str
    summary: str

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(at=e.at, kind=e.kind.value, summary=e.summary)


class MessageOut(BaseModel):
    """Exactly what the customer received. The message's link token is not shown: it opens the
    customer's own payment page, so it is theirs alone."""

    object: Literal["message"] = "message"
    id: str
    case_id: str | None
    status: str = Field(description="queued, sent, deferred, failed or bounced.")
    channel: str
    step: str
    template: str
    tone: str
    locale: str
    recipient: str
    subject: str
    body: str
    html: str | None
    external_id: str | None = Field(description="The provider's id once it accepted the message.")
    error: str | None
    queued_at: datetime
    sent_at: datetime | None
    invoice_ids: list[str]
    transactional: bool = Field(
        description="A service notice (receipt, notice before suspension), sent despite opt-outs."
    )

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            case_id=m.case_id,
            status=m.status.value,
            channel=m.channel,
            step=m.step,
            template=m.template,
            tone=m.tone,
            locale=m.locale,
            recipient=m.recipient,
            subject=m.subject,
            body=m.body,
            html=m.html,
            external_id=m.external_id,
            error=m.error,
            queued_at=m.queued_at,
            sent_at=m.sent_at,
            invoice_ids=list(m.invoice_ids),
            transactional=m.transactional,
        )


class CaseSummaryOut(BaseModel):
    object: Literal["case"] = "case"
    id: str
    invoice_id: str
    status: str
    reason: str
    retry_class: str
    awaiting: str | None = Field(
        description="What the customer must do before a retry can work: "
        "new_payment_method, authentication, or null."
    )
    policy_version: int
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, c: DunningCase) -> CaseSummaryOut:
        return cls(
            awaiting=awaiting(c),
            id=c.id,
            invoice_id=c.invoice_id,
            status=c.status.value,
            reason=c.reason,
            retry_class=c.retry_class.value,
            policy_version=c.policy_version,
            opened_at=c.opened_at,
            closed_at=c.closed_at,
        )


class CaseOut(CaseSummaryOut):
    invoice: InvoiceOut
    actions: list[ActionOut]
    timeline: list[EventOut]
    messages: list[MessageOut]

    @classmethod
    def of_view(cls, v: CaseView) -> CaseOut:
        return cls(
            **CaseSummaryOut.of(v.case).model_dump(),
            invoice=InvoiceOut.of(v.invoice),
            actions=[ActionOut.of(a) for a in v.actions],
            timeline=[EventOut.of(e) for e in v.timeline],
            messages=[MessageOut.of(m) for m in v.messages],
        )


T = TypeVar("T")


class ListOut(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], T]) -> ListOut[T]:
        items = [convert(item) for item in page.items]
        cursor = page.items[-1].id if page.has_more and page.items else None
        return cls(data=items, has_more=page.has_more, next_cursor=cursor)

    @classmethod
    def whole(cls, items: list[T]) -> ListOut[T]:
        """A list short enough to come in one page."""
        return cls(data=items, has_more=False, next_cursor=None)
