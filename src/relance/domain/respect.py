"""The respect guards: when a message may reach a customer, whatever the policy's step says.

A dunning message that lands at 23:00, on a Sunday, on Christmas Day, or as the third message
this week does more harm than good: it reads as harassment and gets reported as spam. These
pure functions decide, at send time, the first instant a message may go out.

Every rule is evaluated on the customer's own wall clock (their IANA time zone), because
"night" and "Sunday" are theirs, not ours. Instants stay aware datetimes; local wall times are
resolved through zoneinfo with `fold` and re-normalised through UTC, so DST changes neither
lose nor double an hour.

The one exception to the "standard library only" rule of `domain/`: public holidays come from
the `holidays` package, a pure, data-only library with no I/O, because no one should maintain
the world's holiday calendars by hand.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from threading import Lock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from relance.domain.errors import InvalidInput, InvalidPolicy

_HOLIDAYS_LOCK = Lock()
_EN_DASH = "\u2013"  # ranges of hours are typeset with an en dash, as merchants read them
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The search for an allowed day gives up after a year: no sane calendar is quiet that long,
# and an endless loop in a worker is worse than a clear error.
_MAX_DAYS_AHEAD = 366
# Each pass either confirms the instant or moves it forward to the end of one obstacle, so a
# handful of passes settle any real calendar; the bound only turns a bug into an error.
_MAX_PASSES = 1000


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Customer-local hours during which nothing is sent; messages wait for `end`.

    When `start` is after `end` the hours wrap midnight (21:00 to 08:30 is the night).
    """

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class SendingRules:
    """How considerate every message to one customer must be, whatever triggered it."""

    quiet_hours: QuietHours = QuietHours(time(21, 0), time(8, 30))
    quiet_weekdays: frozenset[int] = frozenset({6})  # date.weekday(): Monday=0 … Sunday=6
    public_holidays: bool = True  # the customer's country's public holidays
    max_per_window: int = 2  # at most this many messages in any rolling `window`
    window: timedelta = timedelta(days=7)
    min_gap: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if not self.quiet_weekdays <= frozenset(range(7)):
            raise InvalidPolicy("Quiet weekdays must be numbered 0 (Monday) to 6 (Sunday).")
        if len(self.quiet_weekdays) == 7:
            raise InvalidPolicy("Every day of the week is quiet, so no message could ever be sent.")
        if self.max_per_window < 1:
            raise InvalidPolicy("At least one message must be allowed per window.")
        if self.window <= timedelta(0) or self.min_gap < timedelta(0):
            raise InvalidPolicy("The message window must be positive and the gap zero or more.")


@dataclass(frozen=True, slots=True)
class SendSlot:
    """When a message may go out, and why it was moved from the wanted instant."""

    at: datetime  # aware, in the same time zone as the wanted instant
    reasons: tuple[str, ...]  # one phrase per rule that moved it, in the order first met

    @property
    def moved(self) -> bool:
        return bool(self.reasons)


def supported_country(code: str) -> bool:
    """Whether Relance knows the public holidays of this ISO 3166-1 alpha-2 country."""
    return code.upper() in _supported_countries()


def is_public_holiday(day: date, country: str) -> str | None:
    """The name of the national public holiday on `day` in `country`, or None."""
    _check_country(country)
    return _holidays(country.upper(), day.year).get(day)


def quiet_reason(
    at: datetime, rules: SendingRules, *, timezone: str, country: str | None
) -> str | None:
    """None if `at` is an allowed sending instant for this customer, else why not."""
    local = _aware(at, "The sending instant").astimezone(_zone(timezone))
    if country is not None:
        _check_country(country)
    return _day_reason(local.date(), rules, country) or _hours_reason(local, rules, timezone)


def next_send_slot(
    wanted: datetime,
    rules: SendingRules,
    *,
    timezone: str,
    country: str | None,
    sent: Sequence[datetime],
) -> SendSlot:
    """The first instant at or after `wanted` where every rule holds at once.

    `sent` holds the messages already sent or queued to this customer. Each one counts as a
    past contact, even one dated after `wanted`: the new message then comes after it, so
    messages to one customer never interleave and the caps hold over the whole history.
    """
    zone = _zone(timezone)
    if country is not None:
        _check_country(country)
    at = _aware(wanted, "The wanted sending instant").astimezone(UTC)
    contacts = sorted(_aware(s, "A sent message's instant").astimezone(UTC) for s in sent)
    reasons: list[str] = []
    for _ in range(_MAX_PASSES):
        moved_to, reason = _first_obstacle(at, rules, zone, timezone, country, contacts)
        if reason is None:
            return SendSlot(at=at.astimezone(wanted.tzinfo), reasons=tuple(reasons))
        if reason not in reasons:
            reasons.append(reason)
        at = moved_to
    # Unreachable with real calendars (each pass moves forward past one obstacle); a bug
    # must surface as an error, not as a worker spinning forever.
    raise InvalidPolicy(
        f"No sending instant satisfies the sending rules after {wanted.isoformat()}."
    )


def _first_obstacle(
    at: datetime,
    rules: SendingRules,
    zone: ZoneInfo,
    timezone: str,
    country: str | None,
    contacts: Sequence[datetime],
) -> tuple[datetime, str | None]:
    """The first rule `at` breaks, and the earliest instant that rule allows (UTC)."""
    if contacts and at < contacts[-1] + rules.min_gap:
        if rules.min_gap:
            return (
                contacts[-1] + rules.min_gap,
                f"at least {_duration(rules.min_gap, in_days=False)} between messages",
            )
        return contacts[-1], "after the messages already queued"
    recent = [c for c in contacts if c > at - rules.window]
    if len(recent) >= rules.max_per_window:
        # The window frees up when enough of the oldest recent messages have left it.
        leaves = recent[len(recent) - rules.max_per_window] + rules.window
        phrase = "message" if rules.max_per_window == 1 else "messages"
        return (
            leaves,
            f"at most {rules.max_per_window} {phrase} per {_duration(rules.window, in_days=True)}",
        )
    local = at.astimezone(zone)
    day_reason = _day_reason(local.date(), rules, country)
    if day_reason is not None:
        return _start_of_next_allowed_day(local.date(), at, rules, zone, country), day_reason
    hours_reason = _hours_reason(local, rules, timezone)
    if hours_reason is not None:
        quiet = rules.quiet_hours
        end_day = local.date()
        if quiet.start > quiet.end and local.time() >= quiet.start:
            end_day += timedelta(days=1)  # the night wraps midnight: it ends tomorrow morning
        return _wall_instant(end_day, quiet.end, zone, after=at), hours_reason
    return at, None


def _day_reason(day: date, rules: SendingRules, country: str | None) -> str | None:
    if day.weekday() in rules.quiet_weekdays:
        return f"no messages on {WEEKDAY_NAMES[day.weekday()]}"
    if rules.public_holidays and country is not None:
        name = is_public_holiday(day, country)
        if name is not None:
            return f"public holiday in {country.upper()} ({name})"
    return None


def _hours_reason(local: datetime, rules: SendingRules, timezone: str) -> str | None:
    quiet = rules.quiet_hours
    if not quiet.contains(local.time()):
        return None
    return f"quiet hours in {timezone} ({quiet.start:%H:%M}{_EN_DASH}{quiet.end:%H:%M})"


def _start_of_next_allowed_day(
    day: date, at: datetime, rules: SendingRules, zone: ZoneInfo, country: str | None
) -> datetime:
    """The first allowed instant of the next day that is neither a quiet weekday nor a holiday.

    That is local midnight, or the end of the quiet hours when they cover midnight (the usual
    case: with quiet hours 21:00 to 08:30 a Sunday's message goes out on Monday at 08:30).
    """
    for ahead in range(1, _MAX_DAYS_AHEAD + 1):
        candidate = day + timedelta(days=ahead)
        if _day_reason(candidate, rules, country) is None:
            opens = time(0, 0)
            if rules.quiet_hours.contains(opens):
                opens = rules.quiet_hours.end
            return _wall_instant(candidate, opens, zone, after=at)
    raise InvalidPolicy(
        f"No day in the year after {day.isoformat()} is free of quiet days and public holidays."
    )


def _wall_instant(day: date, wall: time, zone: ZoneInfo, *, after: datetime) -> datetime:
    """The first instant after `after` when the local clock reads `wall` on `day` (UTC).

    A wall time that occurs twice (autumn DST) gives the earliest occurrence still after
    `after`; one skipped by a DST gap (spring) gives the instant the gap ends, the first moment
    the local clock shows a time past `wall`.
    """
    naive = datetime.combine(day, wall)
    found = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            found.append(instant)
    if not found:
        found.append(_gap_end(naive, zone))
    later = [instant for instant in found if instant > after]
    if not later:  # the callers always aim at a later wall time: this would be a bug
        raise RuntimeError(f"Bug: {naive} in {zone.key} does not follow {after}.")
    return min(later)


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The instant a DST gap containing the non-existent local time `naive` ends (UTC)."""
    # In a gap, fold=1 reads the wall time with the offset after the change (an instant before
    # it) and fold=0 with the offset before (an instant after it): the change lies between.
    before = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    after = int(naive.replace(tzinfo=zone, fold=0).timestamp())
    offset = _offset_at(before, zone)
    while after - before > 1:  # zone changes fall on whole seconds
        middle = (before + after) // 2
        if _offset_at(middle, zone) == offset:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _offset_at(posix: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(posix, UTC).astimezone(zone).utcoffset()


def _duration(span: timedelta, *, in_days: bool) -> str:
    """A span as the policy writes it: the window in days, the gap in hours."""
    if in_days and span % timedelta(days=1) == timedelta(0):
        days = span // timedelta(days=1)
        return f"{days} day" if days == 1 else f"{days} days"
    if span % timedelta(hours=1) == timedelta(0):
        return f"{span // timedelta(hours=1)} h"
    return f"{span // timedelta(minutes=1)} min"


def _aware(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(f"{what} must carry a time zone ({instant.isoformat()} does not).")
    return instant


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"'{timezone}' is not an IANA time zone such as Europe/Paris.") from exc


def _check_country(country: str) -> None:
    if not supported_country(country):
        raise InvalidInput(f"Relance has no public holiday calendar for the country '{country}'.")


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    # The package also lists alpha-3 codes; customers' countries are stored as alpha-2.
    return frozenset(code for code in holidays.list_supported_countries() if len(code) == 2)


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> Mapping[date, str]:
    """One country's national public holidays for one year, named in English when possible."""
    language = "en_US" if "en_US" in holidays.list_localized_countries().get(country, ()) else None
    # Calendars built on lunar or religious tables warn outside the years they cover (India's
    # outside 2001-2035); the fixed-date holidays they still know are worth keeping, and a
    # warning per (country, year) is noise at send time. The lock keeps concurrent callers
    # from restoring each other's warning filters out of order.
    with _HOLIDAYS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        calendar = holidays.country_holidays(country, years=year, language=language)
    return {day: calendar[day] for day in calendar}
