"""The small records the domain hands to storage: their defaults and their stored names."""

from datetime import UTC, datetime

import pytest

from relance.domain.actions import OPEN_STATUSES, ActionStatus, ScheduledAction
from relance.domain.attempts import AttemptSource, Outcome, PaymentAttempt, RawCodes
from relance.domain.cases import ActionKind, CaseStatus
from relance.domain.declines import RetryClass
from relance.domain.events import Event, EventKind
from relance.domain.invoices import InvoiceStatus
from relance.domain.money import Money
from relance.domain.payments import Payment, PaymentMethodUsed

AT = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)


def test_pending_running_and_held_actions_are_the_open_ones():
    assert set(OPEN_STATUSES) == {ActionStatus.PENDING, ActionStatus.RUNNING, ActionStatus.HELD}


@pytest.mark.parametrize(
    "status", [ActionStatus.DONE, ActionStatus.SKIPPED, ActionStatus.CANCELLED]
)
def test_done_skipped_and_cancelled_actions_are_not_open(status):
    assert status not in OPEN_STATUSES


def test_a_new_scheduled_action_has_never_been_claimed():
    action = ScheduledAction(
        id="act_1",
        merchant_id="mer_1",
        case_id="case_1",
        invoice_id="inv_1",
        kind=ActionKind.RETRY,
        due_at=AT,
        status=ActionStatus.PENDING,
        idempotency_key="case_1:retry:1",
        explanation="Retry 1 of 4.",
        number=1,
    )

    assert (action.claims, action.lease_owner, action.result, action.step) == (0, None, None, None)


def test_an_attempt_is_reported_by_the_merchant_unless_said_otherwise():
    attempt = PaymentAttempt(
        id="att_1",
        invoice_id="inv_1",
        amount=Money(100, "EUR"),
        outcome=Outcome.FAILED,
        attempted_at=AT,
        codes=RawCodes(decline_code="Insufficient_Funds "),
    )

    assert attempt.source is AttemptSource.MERCHANT
    assert attempt.codes.decline_code == "Insufficient_Funds "  # kept verbatim


def test_a_payment_needs_no_reference():
    payment = Payment("pay_1", "inv_1", Money(100, "EUR"), AT, PaymentMethodUsed.TRANSFER)

    assert payment.reference is None


def test_events_do_not_share_their_data():
    first = Event(EventKind.CASE_OPENED, AT, "Opened.")
    second = Event(EventKind.CASE_OPENED, AT, "Opened.")

    first.data["reason"] = "insufficient_funds"

    assert second.data == {}


@pytest.mark.parametrize(
    ("member", "stored"),
    [
        (CaseStatus.ACTIVE, "active"),
        (CaseStatus.RECOVERED, "recovered"),
        (CaseStatus.EXHAUSTED, "exhausted"),
        (CaseStatus.PAUSED, "paused"),
        (CaseStatus.CLOSED, "closed"),
        (ActionKind.RETRY, "retry"),
        (ActionKind.REMINDER, "reminder"),
        (ActionKind.EXHAUST, "exhaust"),
        (ActionStatus.HELD, "held"),
        (InvoiceStatus.OPEN, "open"),
        (InvoiceStatus.PAID, "paid"),
        (RetryClass.NEVER, "never"),
        (RetryClass.FIX_DATA, "fix_data"),
        (RetryClass.CUSTOMER_ACTION, "customer_action"),
        (RetryClass.LATER, "later"),
        (RetryClass.TECHNICAL, "technical"),
        (Outcome.FAILED, "failed"),
        (AttemptSource.RELANCE, "relance"),
        (PaymentMethodUsed.CARD_ELSEWHERE, "card_elsewhere"),
        (EventKind.INVOICE_RECOVERED, "invoice_recovered"),
    ],
)
def test_stored_names_stay_as_they_are_written_in_the_database(member, stored):
    assert member == stored
    assert str(member) == stored
