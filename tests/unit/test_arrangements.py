"""Plans, promises and their arithmetic: instalments add up to the balance to the minor unit in
every currency, monthly dates stay on the customer's day, and the offer follows the policy."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.arrangements import (
    Instalment,
    InstalmentStatus,
    PaymentPageRules,
    PlanOffer,
    PromiseOutsideWindow,
    PromiseWindow,
    add_months,
    check_promise_date,
    minimum_instalment,
    plan_offer,
    plan_schedule,
    promise_window,
    split_balance,
    usual_payment_day,
)
from relance.domain.errors import InvalidInput
from relance.domain.money import Money

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # T0
TODAY = NOW.date()
RULES = PaymentPageRules()


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def minors(amounts) -> list[int]:
    return [m.minor for m in amounts]


# -- splitting a balance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "count", "expected"),
    [
        (Money(10000, "EUR"), 3, [3334, 3333, 3333]),  # 100.00 EUR: 33.34 + 33.33 + 33.33
        (Money(1000, "EUR"), 4, [250, 250, 250, 250]),  # no remainder
        (Money(4999, "EUR"), 4, [1252, 1249, 1249, 1249]),  # 3 odd cents, all at once
        (Money(10000, "JPY"), 3, [3334, 3333, 3333]),  # 10,000 yen: no smaller unit
        (Money(7, "JPY"), 7, [1] * 7),
        (Money(10000, "KWD"), 3, [3334, 3333, 3333]),  # 10.000 KWD: three decimals
        (Money(1001, "BHD"), 4, [251, 250, 250, 250]),  # 1.001 BHD
        (Money(123456, "EUR"), 12, [10288] * 12),
        (Money(123467, "EUR"), 12, [10299, *[10288] * 11]),
        (Money(4990, "EUR"), 1, [4990]),
    ],
)
def test_the_remainder_of_a_split_goes_on_the_first_instalment(balance, count, expected):
    parts = split_balance(balance, count)

    assert minors(parts) == expected
    assert sum(minors(parts)) == balance.minor
    assert {m.currency for m in parts} == {balance.currency}


@given(
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["EUR", "JPY", "KWD", "BHD", "USD"]),
)
def test_a_split_always_adds_up_exactly_and_only_the_first_instalment_differs(
    minor, count, currency
):
    balance = Money(max(minor, count), currency)

    parts = split_balance(balance, count)

    assert len(parts) == count
    assert sum(minors(parts)) == balance.minor
    first, *later = minors(parts)
    assert len(set(later)) <= 1  # every later instalment is the same amount
    assert all(0 < amount <= first < amount + count for amount in later)
    assert all(p.currency == currency for p in parts)


@pytest.mark.parametrize(("minor", "count"), [(1000, 0), (1000, -1), (3, 4), (0, 1), (-100, 2)])
def test_a_balance_that_cannot_give_each_instalment_a_minor_unit_is_not_split(minor, count):
    with pytest.raises(InvalidInput):
        split_balance(eur(minor), count)


# -- the schedule --------------------------------------------------------------------------------


def test_a_schedule_lists_every_instalment_monthly_from_the_first_due_date():
    schedule = plan_schedule(eur(10000), 3, date(2026, 11, 22))

    assert schedule == (
        Instalment(1, date(2026, 11, 22), eur(3334), InstalmentStatus.PENDING),
        Instalment(2, date(2026, 12, 22), eur(3333)),
        Instalment(3, date(2027, 1, 22), eur(3333)),
    )


def test_a_plan_starting_on_the_31st_falls_on_each_months_last_day_and_back_on_the_31st():
    dates = [i.due_on for i in plan_schedule(eur(10000), 4, date(2027, 1, 31))]

    assert dates == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_a_plan_through_a_leap_february_falls_on_the_29th():
    dates = [i.due_on for i in plan_schedule(eur(10000), 2, date(2028, 1, 30))]

    assert dates == [date(2028, 1, 30), date(2028, 2, 29)]


def test_a_twelve_month_plan_crosses_the_year_and_adds_up():
    schedule = plan_schedule(Money(100000, "JPY"), 12, date(2026, 12, 15))

    assert schedule[-1].due_on == date(2027, 11, 15)
    assert [i.number for i in schedule] == list(range(1, 13))
    assert sum(i.amount.minor for i in schedule) == 100000


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 13, date(2027, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
        (date(2026, 5, 15), 0, date(2026, 5, 15)),
        (datetime(2027, 3, 31, 9, 30, tzinfo=UTC), 1, datetime(2027, 4, 30, 9, 30, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months_kept_on_the_same_day_or_the_months_last(
    start, months, expected
):
    assert add_months(start, months) == expected


# -- the minimum instalment, in each currency's minor units --------------------------------------


@pytest.mark.parametrize(
    ("minimum", "currency", "minor"),
    [
        ("10", "EUR", 1000),
        ("10", "JPY", 10),
        ("10", "KWD", 10000),
        ("10", "BHD", 10000),
        ("12.50", "EUR", 1250),
        ("0.005", "EUR", 1),  # a floor: rounded up to a whole cent
        ("0.5", "JPY", 1),
        ("0", "EUR", 0),
    ],
)
def test_the_minimum_instalment_is_converted_with_the_currencys_exponent(minimum, currency, minor):
    rules = PaymentPageRules(plan_min_instalment=Decimal(minimum))

    assert minimum_instalment(rules, currency) == Money(minor, currency)


# -- which plans are offered -------------------------------------------------------------------


def offer(balance, rules=RULES, broken=None, now=NOW) -> PlanOffer:
    return plan_offer(balance, rules, broken, now)


@pytest.mark.parametrize(
    ("balance", "counts"),
    [
        (eur(10000), (2, 3, 4)),  # 25.00 each at 4: above 10.00
        (eur(2500), (2,)),  # 8.33 at 3 would be under 10.00
        (eur(3000), (2, 3)),  # exactly 10.00 at 3
        (eur(2000), (2,)),
        (Money(25, "JPY"), (2,)),  # 12 yen and 8 yen against a 10 yen minimum
        (Money(30000, "KWD"), (2, 3)),  # 10.000 KWD at 3
        (Money(29999, "KWD"), (2,)),
    ],
)
def test_plans_are_offered_for_every_count_whose_smallest_instalment_meets_the_minimum(
    balance, counts
):
    assert offer(balance) == PlanOffer(counts, None)


def test_a_balance_too_small_for_two_instalments_gets_no_plan():
    assert offer(eur(1999)) == PlanOffer((), "balance_too_small")


def test_the_policy_sets_the_longest_plan():
    rules = PaymentPageRules(plan_max_instalments=12)

    assert offer(eur(100000), rules).counts == tuple(range(2, 13))


def test_without_a_minimum_each_instalment_still_needs_a_minor_unit():
    rules = PaymentPageRules(plan_min_instalment=Decimal(0))

    assert offer(eur(3), rules).counts == (2, 3)
    assert offer(eur(1), rules) == PlanOffer((), "balance_too_small")


def test_a_merchant_may_turn_plans_off():
    assert offer(eur(100000), PaymentPageRules(plans=False)) == PlanOffer((), "disabled")


def test_nothing_due_means_no_plan_and_mixed_currencies_mean_no_single_balance_to_split():
    assert offer(eur(0)) == PlanOffer((), "nothing_due")
    assert offer(None) == PlanOffer((), "mixed_currencies")


@pytest.mark.parametrize(
    ("broken", "refused"),
    [
        (NOW - timedelta(days=1), True),
        (datetime(2025, 11, 21, 9, 1, tzinfo=UTC), True),  # a minute short of 12 months
        (datetime(2025, 11, 21, 9, 0, tzinfo=UTC), False),  # 12 calendar months ago
        (datetime(2024, 1, 1, tzinfo=UTC), False),
        (NOW + timedelta(hours=1), True),  # clocks disagree: still recent
    ],
)
def test_a_customer_whose_plan_broke_in_the_last_twelve_months_is_not_offered_another(
    broken, refused
):
    expected = PlanOffer((), "broken_plan_recently") if refused else PlanOffer((2, 3, 4), None)

    assert offer(eur(10000), broken=broken) == expected


def test_the_months_since_a_broken_plan_are_calendar_months_not_blocks_of_365_days():
    broken = datetime(2027, 3, 1, tzinfo=UTC)
    # 365 days later, but 2028 is a leap year: a year has not passed until 1 March.
    on_29_february = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)

    assert offer(eur(10000), broken=broken, now=on_29_february).refusal == "broken_plan_recently"
    assert offer(eur(10000), broken=broken, now=datetime(2028, 3, 1, tzinfo=UTC)).refusal is None


def test_a_month_after_a_plan_broke_on_the_31st_ends_on_the_last_day_of_the_next_month():
    rules = PaymentPageRules(plan_refused_after_broken_months=1)
    broken = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)

    assert offer(eur(10000), rules, broken, datetime(2027, 2, 28, 9, 59, tzinfo=UTC)).refusal
    assert offer(eur(10000), rules, broken, datetime(2027, 2, 28, 10, 0, tzinfo=UTC)).counts


def test_a_policy_may_offer_plans_again_at_once_after_a_broken_one():
    rules = PaymentPageRules(plan_refused_after_broken_months=0)

    assert offer(eur(10000), rules, broken=NOW - timedelta(minutes=5)).counts == (2, 3, 4)


def test_plans_turned_off_is_the_reason_given_before_any_other():
    rules = PaymentPageRules(plans=False)

    assert offer(eur(100), rules, broken=NOW).refusal == "disabled"


# -- the rules themselves --------------------------------------------------------------------


def test_the_payment_page_rules_default_to_the_documented_values():
    assert PaymentPageRules() == PaymentPageRules(
        plans=True,
        plan_max_instalments=4,
        plan_min_instalment=Decimal("10"),
        plan_refused_after_broken_months=12,
        promise_window_days=14,
        transfer_grace_days=5,
        card_attempts_per_hour=5,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"plan_max_instalments": 1},
        {"plan_max_instalments": 13},
        {"plan_max_instalments": True},
        {"plan_refused_after_broken_months": -1},
        {"promise_window_days": 0},
        {"promise_window_days": 61},
        {"transfer_grace_days": 31},
        {"card_attempts_per_hour": 0},
        {"card_attempts_per_hour": 51},
        {"plan_min_instalment": Decimal("-1")},
        {"plan_min_instalment": 10.0},
    ],
)
def test_rules_out_of_their_range_are_refused_with_the_range(change):
    with pytest.raises(InvalidInput, match=f"{next(iter(change))} must be"):
        PaymentPageRules(**change)


# -- promises --------------------------------------------------------------------------------


def test_a_promise_may_fall_from_tomorrow_to_the_end_of_the_policys_window():
    assert promise_window(TODAY, RULES, None) == PromiseWindow(
        date(2026, 11, 22), date(2026, 12, 5), None
    )
    one_day = promise_window(TODAY, PaymentPageRules(promise_window_days=1), None)
    assert one_day.earliest == one_day.latest == date(2026, 11, 22)


@pytest.mark.parametrize(
    ("usual", "suggested"),
    [
        (25, date(2026, 11, 25)),
        (1, date(2026, 12, 1)),
        (22, date(2026, 11, 22)),  # tomorrow
        (5, date(2026, 12, 5)),  # the window's last day
        (6, None),  # the next 6th is past the window
        (21, None),  # today is the 21st: the next one is a month away
        (10, None),
    ],
)
def test_the_customers_usual_payment_day_is_suggested_when_it_falls_in_the_window(usual, suggested):
    assert promise_window(TODAY, RULES, usual).suggested == suggested


def test_a_usual_day_past_the_end_of_a_short_month_is_suggested_on_its_last_day():
    window = promise_window(date(2027, 2, 20), RULES, 31)

    assert window.suggested == date(2027, 2, 28)


def test_a_date_inside_the_window_is_accepted_as_chosen():
    window = promise_window(TODAY, RULES, None)

    for chosen in (date(2026, 11, 22), date(2026, 11, 30), date(2026, 12, 5)):
        assert check_promise_date(chosen, window) == chosen


@pytest.mark.parametrize("chosen", [date(2026, 11, 21), date(2026, 12, 6), date(2025, 11, 30)])
def test_a_date_outside_the_window_is_refused_with_the_window_in_the_sentence(chosen):
    window = promise_window(TODAY, RULES, None)

    with pytest.raises(
        InvalidInput, match=r"Choose a date between 2026-11-22 and 2026-12-05\."
    ) as e:
        check_promise_date(chosen, window)
    assert isinstance(e.value, PromiseOutsideWindow)
    assert e.value.window == window


# -- the customer's usual payment day --------------------------------------------------------


def paid(*days: tuple[int, int, int]) -> list[date]:
    return [date(*d) for d in days]


@pytest.mark.parametrize(
    ("history", "usual"),
    [
        (paid((2026, 9, 5), (2026, 10, 5)), 5),
        (paid((2026, 8, 3), (2026, 9, 5), (2026, 10, 4)), 4),  # median of the habit
        (paid((2026, 9, 5), (2026, 10, 6)), 6),  # upper median of two
        (paid((2026, 10, 6), (2026, 9, 5)), 6),  # in any order
        (paid((2026, 5, 12), (2026, 6, 15), (2026, 7, 14), (2026, 8, 2), (2026, 9, 13)), 14),
        # The month wraps: salaries paid on the last working day or the 1st.
        (paid((2026, 9, 30), (2026, 10, 31), (2026, 12, 1)), 31),
        (paid((2026, 10, 31), (2026, 12, 1)), 1),
        (paid((2026, 6, 30), (2026, 8, 1)), 1),
    ],
)
def test_a_day_the_customer_keeps_paying_on_is_their_usual_day(history, usual):
    assert usual_payment_day(history) == usual


@pytest.mark.parametrize(
    "history",
    [
        [],
        paid((2026, 10, 5)),
        paid((2026, 10, 5), (2026, 10, 5)),  # one day, counted once
        paid((2026, 5, 1), (2026, 6, 8), (2026, 7, 15), (2026, 8, 22), (2026, 9, 11)),
        paid((2026, 9, 5), (2026, 10, 8)),  # three days apart
    ],
)
def test_without_two_payments_close_to_the_same_day_there_is_no_usual_day(history):
    assert usual_payment_day(history) is None


def test_only_the_last_six_payments_tell_the_habit():
    old_habit = paid((2025, 1, 10), (2025, 2, 10), (2025, 3, 10))
    scattered = paid(
        (2026, 4, 1), (2026, 5, 7), (2026, 6, 14), (2026, 7, 21), (2026, 8, 27), (2026, 9, 18)
    )

    assert usual_payment_day(old_habit + scattered) is None
    assert usual_payment_day(old_habit + scattered[:4]) == 10  # 2 of the last 6 on the 10th


def test_the_habit_with_the_most_payments_wins_then_the_most_recent():
    three_around_the_15th = paid((2026, 6, 15), (2026, 7, 16), (2026, 9, 15))
    two_on_the_1st = paid((2026, 5, 1), (2026, 8, 1))
    assert usual_payment_day(three_around_the_15th + two_on_the_1st) == 15
    older_pair, newer_pair = paid((2026, 5, 5), (2026, 6, 6)), paid((2026, 7, 20), (2026, 8, 21))
    assert usual_payment_day(older_pair + newer_pair) == 21


@given(st.integers(1, 28), st.integers(2, 6))
def test_a_customer_who_always_pays_on_the_same_day_has_that_day(day, months):
    history = [date(2026, month, day) for month in range(1, months + 1)]

    assert usual_payment_day(history) == day
