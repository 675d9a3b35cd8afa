"""What a customer may arrange on the payment page instead of paying at once.

- A payment **plan** splits the balance into 2..N monthly instalments. The amounts are whole
  minor units and always add up exactly to the balance: the division's remainder (at most
  count - 1 minor units) goes on the FIRST instalment, so the customer pays the odd cents at
  once and every later instalment is the same amount, which is what people remember.
- A **promise** to pay on a date inside the policy's window (after payday, typically); the page
  suggests the customer's usual payment day when their history shows one.
- A bank **transfer**, matched later by its RF creditor reference (see transfers.py).

Everything here is arithmetic on dates and amounts: `today` and `now` are parameters.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from statistics import median_high
from types import MappingProxyType
from typing import TypeVar

from babel.numbers import get_currency_precision

from relance.domain.errors import InvalidInput
from relance.domain.money import Money

# How many recent payments tell a habit, and how close two payment days must be to count as
# the same habit (salaries land a day or two apart depending on weekends and bank holidays).
USUAL_DAY_HISTORY = 6
USUAL_DAY_MIN_PAYMENTS = 2
USUAL_DAY_SPREAD = 2

_D = TypeVar("_D", bound=date)


class ArrangementKind(StrEnum):
    PLAN = "plan"
    PROMISE = "promise"
    TRANSFER = "transfer"


class ArrangementStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class InstalmentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    MISSED = "missed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int  # 1 for the first
    due_on: date
    amount: Money
    status: InstalmentStatus = InstalmentStatus.PENDING


# The bounds of each whole-number rule, shared by the policy reader and the dataclass itself.
RULE_LIMITS = MappingProxyType(
    {
        "plan_max_instalments": (2, 12),
        "plan_refused_after_broken_months": (0, 120),
        "promise_window_days": (1, 60),
        "transfer_grace_days": (1, 30),
        "card_attempts_per_hour": (1, 50),
    }
)
# A minimum above this is a typing mistake (a missing decimal point), whatever the currency.
PLAN_MIN_INSTALMENT_MAX = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class PaymentPageRules:
    """The policy's [payment_page] section (data/policies/default.toml says why each value)."""

    plans: bool = True
    plan_max_instalments: int = 4
    plan_min_instalment: Decimal = Decimal("10")  # major units of the balance's currency
    plan_refused_after_broken_months: int = 12  # 0 = never refuse
    promise_window_days: int = 14
    transfer_grace_days: int = 5  # dunning waits this long for a transfer
    card_attempts_per_hour: int = 5  # failed card submissions per link, then a cool-down

    def __post_init__(self) -> None:
        for name, (least, most) in RULE_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise InvalidInput(f"{name} must be a whole number from {least} to {most}.")
        minimum = self.plan_min_instalment
        if not isinstance(minimum, Decimal) or not 0 <= minimum <= PLAN_MIN_INSTALMENT_MAX:
            raise InvalidInput(
                f"plan_min_instalment must be an amount from 0 to {PLAN_MIN_INSTALMENT_MAX}."
            )


# -- plans -----------------------------------------------------------------------------------


def split_balance(balance: Money, count: int) -> tuple[Money, ...]:
    """`count` amounts adding up exactly to `balance`; the remainder goes on the first one."""
    if count < 1:
        raise InvalidInput("A plan has at least one instalment.")
    if balance.minor < count:
        raise InvalidInput(
            f"A balance of {balance.minor} minor units cannot be split into {count} instalments."
        )
    share, remainder = divmod(balance.minor, count)
    first = Money(share + remainder, balance.currency)
    return (first, *(Money(share, balance.currency) for _ in range(count - 1)))


def plan_schedule(balance: Money, count: int, first_due: date) -> tuple[Instalment, ...]:
    """Every instalment: the first on `first_due`, then monthly on the same day of the month
    (the 31st falls on the 30th or the 28th/29th in shorter months, and back on the 31st)."""
    return tuple(
        Instalment(number, add_months(first_due, number - 1), amount)
        for number, amount in enumerate(split_balance(balance, count), start=1)
    )


@dataclass(frozen=True, slots=True)
class PlanOffer:
    counts: tuple[int, ...]  # the numbers of instalments the customer may choose; () if refused
    refusal: str | None  # disabled | broken_plan_recently | balance_too_small |
    # mixed_currencies | nothing_due


def minimum_instalment(rules: PaymentPageRules, currency: str) -> Money:
    """The policy's minimum in the currency's minor units (JPY has none, KWD has three);
    a fraction of a minor unit is rounded up, since it is a floor."""
    exponent = get_currency_precision(currency)
    minor = rules.plan_min_instalment.scaleb(exponent).to_integral_value(ROUND_CEILING)
    return Money(int(minor), currency)


def plan_offer(
    balance: Money | None,
    rules: PaymentPageRules,
    last_broken_at: datetime | None,
    now: datetime,
) -> PlanOffer:
    """Which plans the customer may choose. `balance` is None when the open invoices are in
    several currencies (no single balance to split); zero when nothing is due."""
    if not rules.plans:
        return PlanOffer((), "disabled")
    if balance is None:
        return PlanOffer((), "mixed_currencies")
    if not balance.is_positive():
        return PlanOffer((), "nothing_due")
    months = rules.plan_refused_after_broken_months
    if last_broken_at is not None and months and now < add_months(last_broken_at, months):
        return PlanOffer((), "broken_plan_recently")
    floor = max(minimum_instalment(rules, balance.currency).minor, 1)
    # The smallest instalment of a split is the share without the remainder.
    counts = tuple(
        n for n in range(2, rules.plan_max_instalments + 1) if balance.minor // n >= floor
    )
    return PlanOffer(counts, None if counts else "balance_too_small")


def add_months(day: _D, months: int) -> _D:
    """The same day `months` calendar months later, on the month's last day when it is shorter.

    Works for dates and datetimes (the time of day is kept).
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


# -- promises --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromiseWindow:
    earliest: date
    latest: date
    suggested: date | None  # the customer's usual payment day, when it falls inside


class PromiseOutsideWindow(InvalidInput):
    """The chosen date is not in the window; the page shows the window again."""

    def __init__(self, chosen: date, window: PromiseWindow) -> None:
        super().__init__(
            f"Choose a date between {window.earliest.isoformat()} and {window.latest.isoformat()}."
        )
        self.chosen = chosen
        self.window = window


def promise_window(today: date, rules: PaymentPageRules, usual_day: int | None) -> PromiseWindow:
    """From tomorrow (a promise for today is paying now) to the policy's last day."""
    earliest = today + timedelta(days=1)
    latest = today + timedelta(days=rules.promise_window_days)
    suggested = None
    if usual_day is not None:
        candidate = _on_day(earliest, usual_day)
        if candidate < earliest:
            candidate = _on_day(add_months(earliest.replace(day=1), 1), usual_day)
        suggested = candidate if candidate <= latest else None
    return PromiseWindow(earliest, latest, suggested)


def _on_day(month: date, day: int) -> date:
    """`day` of `month`'s month, or its last day when the month is shorter."""
    return month.replace(day=min(day, calendar.monthrange(month.year, month.month)[1]))


def check_promise_date(chosen: date, window: PromiseWindow) -> date:
    if not window.earliest <= chosen <= window.latest:
        raise PromiseOutsideWindow(chosen, window)
    return chosen


def usual_payment_day(paid_on: Sequence[date]) -> int | None:
    """The day of the month this customer usually pays on, or None when there is no habit.

    The rule: look at the last 6 distinct days the customer paid. Each of them, with the
    others that fell within 2 days of the same day of the month, makes a habit (the month
    wraps: the 30th and the 1st are close, as with salaries paid at the end of the month).
    The habit with the most payments, at least 2, wins; on a tie, the one holding the most
    recent payment. Its day is the upper median of its payments' days, so the suggestion is a
    day when the money has been there before.
    """
    recent = sorted(set(paid_on))[-USUAL_DAY_HISTORY:]
    best: tuple[int, date, list[int]] | None = None
    for anchor in recent:
        habit = [p for p in recent if _month_distance(p.day, anchor.day) <= USUAL_DAY_SPREAD]
        # Days unwrapped around the anchor, so that the 31st and the 1st are neighbours.
        days = [_unwrap(p.day, anchor.day) for p in habit]
        if best is None or (len(days), habit[-1]) > (best[0], best[1]):
            best = (len(days), habit[-1], days)
    if best is None or best[0] < USUAL_DAY_MIN_PAYMENTS:
        return None
    return (median_high(best[2]) - 1) % 31 + 1


def _month_distance(a: int, b: int) -> int:
    gap = abs(a - b)
    return min(gap, 31 - gap)


def _unwrap(day: int, anchor: int) -> int:
    if day - anchor > 15:
        return day - 31
    if anchor - day > 15:
        return day + 31
    return day
