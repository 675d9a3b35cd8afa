"""The ports Relance talks through. Each ships an implementation inside the package that is
the embedded default and what tests use: FrozenClock, SandboxGateway, OutboxChannel, and the
SQLite store (the same code as PostgreSQL, on a file or in memory)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.attempts import PaymentAttempt, RawCodes
from relance.domain.cases import ActionKind, DunningCase
from relance.domain.customers import Customer, PaymentMethod
from relance.domain.events import Event
from relance.domain.invoices import Invoice
from relance.domain.merchants import ApiKey
from relance.domain.messages import Message
from relance.domain.money import Money
from relance.domain.payments import Payment


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
class OutgoingMessage:
    channel: str
    sender: str
    to: str
    subject: str
    body: str
    locale: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Delivery:
    external_id: str
    replayed: bool = False


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> Delivery: ...


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
class ReminderFacts:
    """Everything a reminder may say; the writer turns it into words in the customer's locale."""

    locale: str
    tone: str  # friendly, firm, final
    step: str
    merchant_name: str
    customer_name: str
    invoice_number: str
    amount_due: Money
    due_at: datetime
    timezone: str
    advice: str  # what happened and what to do, from the decline tables, in the customer's locale


class ReminderWriter(Protocol):
    def write(self, facts: ReminderFacts) -> tuple[str, str]:
        """(subject, plain-text body)."""
        ...


class ActionStore(Protocol):
    """The durable action queue (adapters/db/actions.py)."""

    def schedule(self, actions: Iterable[ScheduledAction], at: datetime) -> None: ...
    def for_case(self, case_id: str) -> list[ScheduledAction]: ...
    def cancel_open(
        self, case_id: str, kinds: Iterable[ActionKind], reason: str, at: datetime
    ) -> int: ...
    def hold(self, case_id: str) -> int: ...
    def unhold(self, case_id: str, now: datetime) -> int: ...
    def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ScheduledAction]: ...
    def holds_lease(self, action_id: str, owner: str, lock: bool = False) -> bool: ...
    def finish(
        self, action_id: str, owner: str, status: ActionStatus, result: str, at: datetime
    ) -> bool: ...
    def postpone(self, action_id: str, owner: str, due_at: datetime, note: str) -> bool: ...
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
    def add_api_key(self, key: ApiKey) -> None: ...
    def api_key_by_prefix(self, prefix: str) -> ApiKey | None: ...
    def latest_policy(self, merchant_id: str) -> tuple[int, str] | None: ...
    def policy_source(self, merchant_id: str, version: int) -> str | None: ...
    def add_policy(
        self, merchant_id: str, version: int, source: str, at: datetime, id: str
    ) -> None: ...
    def add_customer(self, merchant_id: str, c: Customer, at: datetime) -> None: ...
    def get_customer(self, merchant_id: str, customer_id: str) -> Customer | None: ...
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
    def list_cases(
        self, merchant_id: str, status: str | None, after: str | None, limit: int
    ) -> Page[DunningCase]: ...
    def add_events(self, merchant_id: str, case_id: str, events: Iterable[Event]) -> None: ...
    def list_events(self, case_id: str) -> list[Event]: ...
    def add_message(self, merchant_id: str, m: Message) -> None: ...
    def list_messages(self, case_id: str) -> list[Message]: ...
    def stored_response(self, merchant_id: str, key: str) -> StoredResponse | None: ...
    def reserve_response(
        self, merchant_id: str, key: str, request_hash: str, at: datetime
    ) -> None: ...
    def save_response(self, merchant_id: str, key: str, status_code: int, body: str) -> None: ...
    def drop_response(self, merchant_id: str, key: str) -> None: ...


class UnitOfWork(Protocol):
    """`with uow() as store:` one transaction: committed on exit, rolled back on an error."""

    def __call__(self) -> AbstractContextManager[Store]: ...
