"""The wire format of how a merchant talks to its customers: its profile, message templates,
opt-outs and webhook endpoints. Apart from schemas.py so each file stays readable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relance.domain.consent import OptOut
from relance.domain.merchants import MerchantProfile
from relance.domain.webhooks import WebhookAttempt, WebhookEndpoint
from relance.entrypoints.api.schemas import CustomerOut, Input
from relance.ports import RenderedMessage
from relance.services.templates import TemplateInfo, TemplateSource

# -- the merchant's profile ----------------------------------------------------------------


class MerchantOut(BaseModel):
    object: Literal["merchant"] = "merchant"
    id: str
    name: str
    sender_email: str | None = Field(description="From: of emails; the instance's when null.")
    support_email: str | None
    support_phone: str | None
    brand_color: str
    service_description: dict[str, str] = Field(
        description="What the customer keeps by paying, per locale (e.g. 'votre abonnement Pro')."
    )
    default_locale: str
    country: str
    sms_sender: str | None
    iban: str | None = Field(description="Where customers may pay by transfer (payment page).")
    bic: str | None

    @classmethod
    def of(cls, p: MerchantProfile) -> MerchantOut:
        return cls(
            id=p.id,
            name=p.name,
            sender_email=p.sender_email,
            support_email=p.support_email,
            support_phone=p.support_phone,
            brand_color=p.brand_color,
            service_description=dict(p.service_description),
            default_locale=p.default_locale,
            country=p.country,
            sms_sender=p.sms_sender,
            iban=p.iban,
            bic=p.bic,
        )


# Fields every profile has: they can be changed but not emptied with null.
_REQUIRED = ("name", "brand_color", "service_description", "default_locale", "country")


class MerchantPatch(Input):
    """Only the fields sent change; null clears an optional one."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    sender_email: str | None = Field(default=None, max_length=320)
    support_email: str | None = Field(default=None, max_length=320)
    support_phone: str | None = Field(default=None, max_length=32)
    brand_color: str | None = Field(default=None, examples=["#1f4e79"])
    service_description: dict[str, Annotated[str, Field(max_length=200)]] | None = None
    default_locale: str | None = None
    country: str | None = Field(default=None, examples=["FR"])
    sms_sender: str | None = Field(default=None, max_length=16)
    iban: str | None = Field(
        default=None, max_length=42, examples=["FR76 3000 6000 0112 3456 7890 189"]
    )
    bic: str | None = Field(default=None, max_length=11, examples=["AGRIFRPP"])

    @model_validator(mode="after")
    def _required_stay_set(self) -> MerchantPatch:
        for name in _REQUIRED:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"'{name}' cannot be null; send a value to change it")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# -- opt-outs ------------------------------------------------------------------------------


class OptOutIn(Input):
    channel: Literal["email", "sms"]


class OptOutOut(BaseModel):
    object: Literal["opt_out"] = "opt_out"
    channel: str
    source: str = Field(description="unsubscribe_link, sms_stop or merchant.")
    at: datetime

    @classmethod
    def of(cls, o: OptOut) -> OptOutOut:
        return cls(channel=o.channel, source=o.source.value, at=o.at)


class CustomerDetailOut(CustomerOut):
    opt_outs: list[OptOutOut] = Field(
        description="Channels the customer left; honoured forever, except transactional notices."
    )


# -- message templates ---------------------------------------------------------------------


class TemplateSummaryOut(BaseModel):
    object: Literal["template"] = "template"
    name: str = Field(examples=["failed_payment.html"])
    overridden_in: list[str] = Field(description="Locales where your own version is in use.")

    @classmethod
    def of(cls, t: TemplateInfo) -> TemplateSummaryOut:
        return cls(name=t.name, overridden_in=list(t.overridden_in))


class TemplateOut(BaseModel):
    object: Literal["template"] = "template"
    name: str
    locale: str
    source: str
    overridden: bool = Field(description="False: this is Relance's default.")
    updated_at: datetime | None

    @classmethod
    def of(cls, t: TemplateSource) -> TemplateOut:
        return cls(
            name=t.name,
            locale=t.locale,
            source=t.source,
            overridden=t.overridden,
            updated_at=t.updated_at,
        )


class TemplateIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # whitespace is content

    source: str = Field(min_length=1, max_length=100_000)


class PreviewIn(Input):
    locale: Literal["fr", "en"]
    customer_id: str | None = Field(
        default=None, description="A real customer: their name, time zone and open invoices."
    )
    tone: Literal["friendly", "neutral", "firm"] = "friendly"


class PreviewOut(BaseModel):
    object: Literal["preview"] = "preview"
    subject: str
    text: str
    html: str
    sms: str

    @classmethod
    def of(cls, r: RenderedMessage) -> PreviewOut:
        return cls(subject=r.subject, text=r.text, html=r.html, sms=r.sms)


# -- webhook endpoints ---------------------------------------------------------------------


class WebhookEndpointIn(Input):
    url: str = Field(min_length=1, max_length=2000, examples=["https://example.com/relance"])
    events: list[str] = Field(
        default=["*"], min_length=1, description="Event types, or ['*'] for every one."
    )


class WebhookEndpointOut(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, e: WebhookEndpoint) -> WebhookEndpointOut:
        return cls(
            id=e.id,
            url=e.url,
            events=list(e.events),
            created_at=e.created_at,
            disabled_at=e.disabled_at,
        )


class NewWebhookEndpointOut(WebhookEndpointOut):
    secret: str = Field(
        description="Verifies the signature of every delivery. Shown in this response only."
    )

    @classmethod
    def created(cls, e: WebhookEndpoint) -> NewWebhookEndpointOut:
        return cls(**WebhookEndpointOut.of(e).model_dump(exclude={"object"}), secret=e.secret)


class DeliveryOut(BaseModel):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: int
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None = Field(description="Null: delivered, or given up.")

    @classmethod
    def of(cls, a: WebhookAttempt) -> DeliveryOut:
        assert a.id is not None  # read back from the log, so numbered
        return cls(
            id=a.id,
            event_id=a.event_id,
            event_type=a.event_type,
            attempt=a.attempt,
            at=a.at,
            status_code=a.status_code,
            error=a.error,
            duration_ms=a.duration_ms,
            next_attempt_at=a.next_attempt_at,
        )


class DeliveryListOut(BaseModel):
    """Newest first. The log is numbered, not time-ordered by id strings, so the cursor is
    the number of the last delivery shown."""

    object: Literal["list"] = "list"
    data: list[DeliveryOut]
    has_more: bool
    next_before: int | None = Field(
        description="Pass as `before` to get older deliveries; null on the last page."
    )
