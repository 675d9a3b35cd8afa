"""Invoices: issuing, paying, and how long they have been overdue."""

from datetime import UTC, datetime, timedelta

import pytest

from relance.domain.errors import Conflict, InvalidInput
from relance.domain.invoices import Invoice, InvoiceStatus
from relance.domain.money import Money

ISSUED = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def invoice(amount: Money | None = None, **overrides) -> Invoice:
    fields = {
        "id": "inv_1",
        "customer_id": "cus_1",
        "number": "F-2025-001",
        "amount": amount or eur(10_000),
        "issued_at": ISSUED,
        "due_at": DUE,
    }
    fields.update(overrides)
    return Invoice.issue(**fields)


# -- issue ---------------------------------------------------------------------------------


def test_a_new_invoice_is_open_with_nothing_paid_in_its_own_currency():
    issued = invoice(Money(4_200, "USD"))

    assert issued.status is InvoiceStatus.OPEN
    assert issued.paid == Money(0, "USD")
    assert issued.balance == Money(4_200, "USD")
    assert not issued.is_settled


def test_an_invoice_number_is_trimmed():
    assert invoice(number="  F-7  ").number == "F-7"


def test_an_invoice_keeps_its_subscription_reference():
    assert invoice(subscription_ref="sub_9").subscription_ref == "sub_9"


@pytest.mark.parametrize("minor", [0, -1, -10_000])
def test_an_invoice_for_nothing_or_less_is_refused(minor):
    with pytest.raises(InvalidInput, match="greater than zero"):
        invoice(eur(minor))


def test_an_invoice_cannot_be_due_before_it_is_issued():
    with pytest.raises(InvalidInput, match="due before it is issued"):
        invoice(due_at=ISSUED - timedelta(seconds=1))


def test_an_invoice_may_be_due_the_moment_it_is_issued():
    assert invoice(due_at=ISSUED).due_at == ISSUED


@pytest.mark.parametrize("number", ["", "   "])
def test_an_invoice_without_a_number_is_refused(number):
    with pytest.raises(InvalidInput, match="needs a number"):
        invoice(number=number)


# -- payments ------------------------------------------------------------------------------


def test_a_partial_payment_lowers_the_balance_and_leaves_the_invoice_open():
    paid = invoice().apply_payment(eur(3_000))

    assert paid.paid == eur(3_000)
    assert paid.balance == eur(7_000)
    assert paid.status is InvoiceStatus.OPEN
    assert not paid.is_settled


def test_applying_a_payment_leaves_the_original_invoice_untouched():
    original = invoice()

    original.apply_payment(eur(3_000))

    assert original.paid == eur(0)
    assert original.balance == eur(10_000)


def test_a_payment_of_the_whole_amount_marks_the_invoice_paid():
    paid = invoice().apply_payment(eur(10_000))

    assert paid.status is InvoiceStatus.PAID
    assert paid.balance == eur(0)
    assert paid.is_settled


def test_partial_payments_that_add_up_to_the_amount_settle_the_invoice():
    paid = invoice().apply_payment(eur(4_000)).apply_payment(eur(6_000))

    assert paid.status is InvoiceStatus.PAID
    assert paid.paid == eur(10_000)
    assert paid.is_settled


def test_an_overpayment_stays_visible_but_the_balance_never_goes_below_zero():
    paid = invoice().apply_payment(eur(12_000))

    assert paid.paid == eur(12_000)
    assert paid.balance == eur(0)
    assert paid.status is InvoiceStatus.PAID


def test_a_payment_in_another_currency_is_refused_and_says_which_currencies():
    with pytest.raises(InvalidInput, match="in EUR; a payment in USD"):
        invoice().apply_payment(Money(10_000, "USD"))


@pytest.mark.parametrize("minor", [0, -500])
def test_a_payment_of_nothing_or_less_is_refused(minor):
    with pytest.raises(InvalidInput, match="greater than zero"):
        invoice().apply_payment(eur(minor))


def test_paying_an_invoice_that_is_already_paid_is_a_conflict():
    paid = invoice().apply_payment(eur(10_000))

    with pytest.raises(Conflict, match="F-2025-001 is already paid in full"):
        paid.apply_payment(eur(1))


# -- days overdue --------------------------------------------------------------------------


def test_an_invoice_is_not_overdue_before_its_due_date():
    assert invoice().days_overdue(DUE - timedelta(days=3)) == 0


def test_an_invoice_is_not_overdue_at_the_exact_moment_it_is_due():
    assert invoice().days_overdue(DUE) == 0


def test_less_than_a_day_past_due_counts_as_zero_whole_days():
    assert invoice().days_overdue(DUE + timedelta(hours=23, minutes=59)) == 0


def test_days_overdue_counts_whole_days_since_the_due_date():
    assert invoice().days_overdue(DUE + timedelta(days=3, hours=5)) == 3


def test_a_partly_paid_invoice_is_still_overdue():
    partly = invoice().apply_payment(eur(1))

    assert partly.days_overdue(DUE + timedelta(days=10)) == 10


def test_a_paid_invoice_is_never_overdue():
    paid = invoice().apply_payment(eur(10_000))

    assert paid.days_overdue(DUE + timedelta(days=40)) == 0
