"""The ports Relance talks through. Each ships an implementation inside the package that is
the embedded default and what tests use: FrozenClock, SandboxGateway, the outbox channels, and the
SQLite store (the same code as PostgreSQL, on a file or in memory)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.arrangements import ArrangementKind, ArrangementStatus, InstalmentStatus
from relance.domain.attempts import PaymentAttempt, RawCodes
from relance.domain.cards import CardEntry
from relance.domain.cases import ActionKind, DunningCase
from relance.domain.consent import OptOut
from relance.domain.customers import Customer, PaymentMethod
from relance.domain.events import Event
from relance.domain.invoices import Invoice
from relance.domain.merchants import ApiKey, MerchantProfile
from relance.domain.messages import Message
from relance.domain.money import Money
from relance.domain.payments import Payment
from relance.domain.webhooks import WebhookAttempt, WebhookEndpoint


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    token: str
    amount: Money
    idempotency_key: str  # the action's key: a replay returns the first result, never a 2nd charge
    description: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    succeeded: bool
    reference: str
    codes: RawCodes
    replayed: bool = False


class PaymentGateway(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult: ...


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A card the gateway keeps for us: only its token and what may be shown."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str  # the same card number gives the same fingerprint (network ceilings)


@dataclass(frozen=True, slots=True)
class CardDeclined:
    codes: RawCodes


class CardVault(Protocol):
    """Where the payment page's card form goes: the number reaches the gateway, never us."""

    def save_card(self, entry: CardEntry, customer_ref: str, key: str) -> SavedCard | CardDeclined:
        """Tokenise and verify the card; `key` makes a resubmitted form a replay."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message on one channel. `body` is the plain text (email) or the whole SMS."""

    channel: str  # "email" or "sms"
    sender: str  # From: address, or the SMS sender id / number
    to: str  # email address, or an E.164 phone number
    subject: str  # empty for SMS
    body: str
    locale: str
    idempotency_key: str  # stable across retries of the same message: the channel dedupes on it
    html: str | None = None  # email only: sent as multipart/alternative with `body`
    reply_to: str | None = None  # the merchant's support address
    # RFC 8058 one-click unsubscribe; None for transactional notices (receipts, legal notices).
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    external_id: str  # the provider's id (Message-ID, Twilio SID…)
    replayed: bool = False


class DeliveryError(Exception):
    """A channel could not deliver. `permanent` means retrying cannot help (SMTP 5xx, invalid
    number): the address is marked undeliverable. Otherwise (4xx, timeout, connection refused)
    the send is retried later with backoff."""

    def __init__(self, detail: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.code = code


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> Delivery:
        """Deliver or raise DeliveryError; never anything else for a delivery problem."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status_code: int | None  # None when no HTTP answer came back (refused, timeout)
    error: str | None  # a sentence when the delivery failed
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    def post(self, url: str, secret: str, body: bytes, at: datetime) -> WebhookResponse:
        """POST `body` (JSON) signed with `secret` at time `at`; never raises for HTTP trouble."""
        ...


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; ids are time-ordered, so the last id is the next cursor."""

    items: list[T]
    has_more: bool


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response to an idempotent request, replayed for the same key and body."""

    request_hash: str
    status_code: int
    body: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    number: str
    amount_due: Money
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CardLine:
    brand: str | None
    last4: str | None
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class ArrangementFacts:
    """What the customer agreed to on the payment page, for its confirmation message."""

    kind: str  # plan | promise | transfer
    instalments: tuple[tuple[datetime, Money], ...]  # plan: each instalment; promise: the date
    card: CardLine | None  # charged automatically when set; None: the customer pays themselves
    iban: str | None = None  # transfer: the merchant's account, formatted
    bic: str | None = None
    beneficiary: str | None = None
    reference: str | None = None  # transfer: the RF creditor reference, formatted


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """Everything a message may say; the writer turns it into words in the customer's locale.
    Amounts and dates stay typed here: formatting them is the writer's job (Babel)."""

    template: str  # the step's template: pre_due, failed_payment, follow_up, final_notice, …
    locale: str  # fr or en
    tone: str  # friendly, neutral, firm
    timezone: str  # the customer's IANA zone: dates are the customer's local dates
    merchant: MerchantProfile
    sender_email: str  # the From: address actually used
    customer_name: str
    invoices: tuple[InvoiceLine, ...]  # several = one consolidated message
    advice: str  # what happened and what to do, from the decline tables, in `locale`
    payment_link: str  # per message, so a click or a payment is attributed to this step
    unsubscribe_link: str | None  # None for transactional notices
    transactional: bool
    suspension_at: datetime | None = None  # final notice: when the service is suspended
    amount_paid: Money | None = None  # receipt / resolved
    card: CardLine | None = None  # card expiring soon
    arrangement: ArrangementFacts | None = None  # plan, promise or transfer confirmation

    @property
    def total_due(self) -> Money | None:
        """The sum of the invoices when they share a currency."""
        if not self.invoices:
            return None
        currencies = {i.amount_due.currency for i in self.invoices}
        if len(currencies) != 1:
            return None
        return Money(sum(i.amount_due.minor for i in self.invoices), currencies.pop())


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    text: str  # plain-text email part
    html: str  # HTML email part
    sms: str  # the SMS body (short; GSM-7 when possible)


class MessageWriter(Protocol):
    """Templates: defaults in data/templates/messages (fr/en via Babel catalogues), and a
    merchant's overrides, checked when uploaded so they can never fail at send time."""

    def template_names(self) -> tuple[str, ...]:
        """Every overridable part, e.g. 'failed_payment.subject', 'failed_payment.html'."""
        ...

    def default_source(self, name: str) -> str: ...

    def sample_facts(self, family: str, locale: str) -> MessageFacts:
        """Realistic example facts (previews, and checking overrides)."""
        ...

    def check(self, name: str, locale: str, source: str) -> None:
        """Render `source` with sample facts; raise InvalidTemplate(line, error) if it fails."""
        ...

    def render(
        self, facts: MessageFacts, overrides: Mapping[str, str] | None = None
    ) -> RenderedMessage:
        """`overrides` maps a part name to the merchant's source for facts.locale."""
        ...


@dataclass(frozen=True, slots=True)
class ScheduledInstalment:
    number: int
    due_on: date  # the customer's calendar date
    due_at: datetime  # when it is charged (or checked), UTC
    amount: Money
    status: InstalmentStatus
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArrangementRecord:
    """A plan, a promise or a transfer as stored, with its instalments (one for a promise)."""

    id: str
    merchant_id: str
    customer_id: str
    kind: ArrangementKind
    status: ArrangementStatus
    total: Money
    invoice_ids: tuple[str, ...]
    payment_method_id: str | None  # charged on each date; None: the customer pays themselves
    reference: str | None  # RF creditor reference (transfer)
    link_token: str | None
    message_id: str | None  # the message that brought the customer to the page
    created_at: datetime
    instalments: tuple[ScheduledInstalment, ...]
    ended_at: datetime | None = None
    end_reason: str | None = None


class ActionStore(Protocol):
    """The durable action queue (adapters/db/actions.py)."""

    def schedule(self, actions: Iterable[ScheduledAction], at: datetime) -> None: ...
    def for_case(self, case_id: str) -> list[ScheduledAction]: ...
    def cancel_open(
        self, case_id: str, kinds: Iterable[ActionKind], reason: str, at: datetime
    ) -> int: ...
    def hold(self, case_id: str) -> int: ...
    def unhold(self, case_id: str, now: datetime, shift: timedelta | None = None) -> int: ...
    def claim(
        self, action_ids: Iterable[str], owner: str, now: datetime, lease: timedelta
    ) -> list[ScheduledAction]: ...
    def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ScheduledAction]: ...
    def holds_lease(self, action_id: str, owner: str, lock: bool = False) -> bool: ...
    def finish(
        self, action_id: str, owner: str, status: ActionStatus, result: str, at: datetime
    ) -> bool: ...
    def postpone(self, action_id: str, owner: str, due_at: datetime, note: str) -> bool: ...
    def cancel_open_for_invoice(
        self, invoice_id: str, kinds: Iterable[ActionKind], reason: str, at: datetime
    ) -> int: ...
    def reschedule_open(self, case_id: str, kind: ActionKind, due_at: datetime) -> int: ...
    def pending_reminders_of_customer(
        self, customer_id: str, due_before: datetime
    ) -> list[ScheduledAction]: ...
    def skip_pending(self, action_ids: Iterable[str], reason: str, at: datetime) -> int: ...
    def release(self, owner: str, action_ids: Iterable[str] | None = None) -> int: ...
    def next_due_at(self) -> datetime | None: ...
    def count_by_status(self) -> dict[str, int]: ...


class Store(Protocol):
    """Persistence for one unit of work (adapters/db/repositories.py). Its embedded default is
    SQLite: the same code as PostgreSQL, so there is no separate in-memory fake to drift."""

    @property
    def actions(self) -> ActionStore: ...

    def add_merchant(self, merchant_id: str, name: str, at: datetime) -> None: ...
    def merchant_name(self, merchant_id: str) -> str | None: ...
    def merchant_profile(self, merchant_id: str) -> MerchantProfile | None: ...
    def save_merchant_profile(self, p: MerchantProfile) -> None: ...
    def add_api_key(self, key: ApiKey) -> None: ...
    def api_key_by_prefix(self, prefix: str) -> ApiKey | None: ...
    def latest_policy(self, merchant_id: str) -> tuple[int, str] | None: ...
    def policy_source(self, merchant_id: str, version: int) -> str | None: ...
    def add_policy(
        self, merchant_id: str, version: int, source: str, at: datetime, id: str
    ) -> None: ...
    def add_customer(self, merchant_id: str, c: Customer, at: datetime) -> None: ...
    def get_customer(self, merchant_id: str, customer_id: str) -> Customer | None: ...
    def lock_customer(self, merchant_id: str, customer_id: str) -> Customer | None: ...
    def customers_with_phone(self, merchant_id: str, phone: str) -> list[Customer]: ...
    def mark_email_undeliverable(
        self, merchant_id: str, customer_id: str, at: datetime, reason: str
    ) -> None: ...
    def add_opt_out(self, merchant_id: str, o: OptOut) -> bool: ...
    def opt_outs(self, merchant_id: str, customer_id: str) -> list[OptOut]: ...
    def list_customers(self, merchant_id: str, after: str | None, limit: int) -> Page[Customer]: ...
    def add_payment_method(self, merchant_id: str, pm: PaymentMethod, at: datetime) -> None: ...
    def list_payment_methods(
        self, merchant_id: str, customer_id: str | None, after: str | None, limit: int
    ) -> Page[PaymentMethod]: ...
    def current_payment_method(
        self, merchant_id: str, customer_id: str
    ) -> PaymentMethod | None: ...
    def add_invoice(self, merchant_id: str, inv: Invoice, at: datetime) -> None: ...
    def get_invoice(
        self, merchant_id: str, invoice_id: str, lock: bool = False
    ) -> Invoice | None: ...
    def list_invoices(
        self, merchant_id: str, status: str | None, after: str | None, limit: int
    ) -> Page[Invoice]: ...
    def save_invoice_balance(self, inv: Invoice) -> None: ...
    def add_attempt(self, merchant_id: str, a: PaymentAttempt, at: datetime) -> None: ...
    def list_attempts(self, invoice_id: str) -> list[PaymentAttempt]: ...
    def attempts_on_instrument(self, merchant_id: str, instrument: str) -> list[PaymentAttempt]: ...
    def failure_codes_seen(self, merchant_id: str) -> list[tuple[RawCodes, int]]: ...
    def add_payment(self, merchant_id: str, p: Payment, at: datetime) -> None: ...
    def list_payments(self, invoice_id: str) -> list[Payment]: ...
    def add_case(self, merchant_id: str, c: DunningCase) -> None: ...
    def save_case(self, c: DunningCase) -> None: ...
    def get_case(
        self, merchant_id: str, case_id: str, lock: bool = False
    ) -> DunningCase | None: ...
    def case_for_invoice(self, merchant_id: str, invoice_id: str) -> DunningCase | None: ...
    def open_cases_of_customer(self, merchant_id: str, customer_id: str) -> list[DunningCase]: ...
    def cases_opened_since(self, merchant_id: str, customer_id: str, since: datetime) -> int: ...
    def open_invoices_of_customer(self, merchant_id: str, customer_id: str) -> list[Invoice]: ...
    def list_cases(
        self, merchant_id: str, status: str | None, after: str | None, limit: int
    ) -> Page[DunningCase]: ...
    def add_events(self, merchant_id: str, case_id: str, events: Iterable[Event]) -> None: ...
    def list_events(self, case_id: str) -> list[Event]: ...
    def add_message(self, merchant_id: str, m: Message) -> None: ...
    def save_message(self, m: Message) -> None: ...
    def message_for(self, action_id: str, channel: str) -> Message | None: ...
    def list_messages(self, case_id: str) -> list[Message]: ...
    def customer_messages(
        self, merchant_id: str, customer_id: str, after: str | None, limit: int
    ) -> Page[Message]: ...
    def messages_since(
        self, merchant_id: str, customer_id: str, since: datetime
    ) -> list[Message]: ...
    def contacts_since(
        self, merchant_id: str, customer_id: str, since: datetime, exclude_templates: Iterable[str]
    ) -> list[tuple[str, datetime]]: ...
    def add_payment_link(
        self,
        merchant_id: str,
        token: str,
        customer_id: str,
        message_id: str | None,
        step: str | None,
        at: datetime,
        expires_at: datetime,
    ) -> None: ...
    def payment_link(self, token: str) -> dict[str, Any] | None: ...
    def note_link_visit(self, token: str, at: datetime) -> None: ...
    def revoke_payment_links(self, merchant_id: str, customer_id: str, at: datetime) -> int: ...
    def add_card_submission(
        self, merchant_id: str, token: str, at: datetime, accepted: bool, reason: str | None
    ) -> None: ...
    def refused_card_submissions(self, token: str, since: datetime) -> list[datetime]: ...
    def add_arrangement(self, a: ArrangementRecord) -> None: ...
    def get_arrangement(
        self, merchant_id: str, arrangement_id: str, lock: bool = False
    ) -> ArrangementRecord | None: ...
    def active_arrangement(
        self, merchant_id: str, customer_id: str
    ) -> ArrangementRecord | None: ...
    def last_broken_plan_at(self, merchant_id: str, customer_id: str) -> datetime | None: ...
    def end_arrangement(
        self, arrangement_id: str, status: ArrangementStatus, at: datetime, reason: str
    ) -> None: ...
    def settle_instalment(
        self, arrangement_id: str, number: int, status: InstalmentStatus, at: datetime
    ) -> None: ...
    def payment_dates(self, merchant_id: str, customer_id: str) -> list[datetime]: ...
    def template_overrides(self, merchant_id: str, locale: str) -> dict[str, str]: ...
    def list_template_overrides(self, merchant_id: str) -> list[tuple[str, str, datetime]]: ...
    def save_template_override(
        self, merchant_id: str, name: str, locale: str, source: str, at: datetime
    ) -> None: ...
    def delete_template_override(self, merchant_id: str, name: str, locale: str) -> bool: ...
    def add_webhook_endpoint(self, e: WebhookEndpoint) -> None: ...
    def webhook_endpoints(self, merchant_id: str) -> list[WebhookEndpoint]: ...
    def get_webhook_endpoint(
        self, merchant_id: str, endpoint_id: str
    ) -> WebhookEndpoint | None: ...
    def disable_webhook_endpoint(
        self, merchant_id: str, endpoint_id: str, at: datetime
    ) -> None: ...
    def add_webhook_attempt(self, merchant_id: str, a: WebhookAttempt) -> None: ...
    def webhook_attempts(
        self, merchant_id: str, endpoint_id: str, before: int | None, limit: int
    ) -> list[WebhookAttempt]: ...
    def stored_response(self, merchant_id: str, key: str) -> StoredResponse | None: ...
    def reserve_response(
        self, merchant_id: str, key: str, request_hash: str, at: datetime
    ) -> None: ...
    def save_response(self, merchant_id: str, key: str, status_code: int, body: str) -> None: ...
    def drop_response(self, merchant_id: str, key: str) -> None: ...


class UnitOfWork(Protocol):
    """`with uow() as store:` one transaction: committed on exit, rolled back on an error."""

    def __call__(self) -> AbstractContextManager[Store]: ...
