"""A merchant's dunning policy: when to retry, what to tell the customer, when to give up.

Policies are TOML documents (see data/policies/default.toml), versioned per merchant: a case
keeps the version it was planned with, so a policy change never rewrites running cases.

The current format describes message *sequences* under `[messages]`: steps anchored on the
payment failure, the invoice's due date, the card's expiry or an event (a receipt, an
arrangement made on the payment page), each with its channels and tone, plus the sending rules
every message obeys (respect.SendingRules). A merchant may give a customer segment its own
sequence under `[segments.<name>]`.

What the customer may arrange on the payment page (plans, promises, transfers) is read from
the optional `[payment_page]` section, in either format.

The first format (`[reminders]`, failure-day reminders by email only) is still read and
translated, because merchants have stored policies in it and a stored policy must keep loading.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Any, TypeVar

from relance.domain.arrangements import PLAN_MIN_INSTALMENT_MAX, RULE_LIMITS, PaymentPageRules
from relance.domain.errors import InvalidPolicy
from relance.domain.respect import QuietHours as QuietHours
from relance.domain.respect import SendingRules as SendingRules

# (QuietHours and SendingRules are re-exported: callers read them as parts of a policy.)

# Retrying more often than this inside one case is never useful and risks the card networks'
# excessive-retry fees; the network-rule guard enforces the real rolling-window ceilings.
MAX_RETRIES = 15
CHANNELS = ("email", "sms")

# Step keys end up in idempotency keys, so they stay short and plain.
_STEP_KEY = re.compile(r"[a-z0-9_]{1,40}")
_SEGMENT_NAME = re.compile(r"[a-z0-9_-]{1,40}")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_V2_TABLES = ("policy", "retries", "messages", "segments", "exhaustion", "payment_page")
_MESSAGE_FIELDS = (
    "quiet_hours",
    "quiet_days",
    "max_per_7_days",
    "min_gap_hours",
    "starting_tone",
    "steps",
)


class Tone(StrEnum):
    FRIENDLY = "friendly"
    NEUTRAL = "neutral"
    FIRM = "firm"


_ESCALATION = (Tone.FRIENDLY, Tone.NEUTRAL, Tone.FIRM)


def firmer(a: Tone, b: Tone) -> Tone:
    """The firmer of two tones: friendly < neutral < firm."""
    return max(a, b, key=_ESCALATION.index)


class StepKind(StrEnum):
    PRE_DUE = "pre_due"
    FAILED_PAYMENT = "failed_payment"
    FOLLOW_UP = "follow_up"
    FINAL_NOTICE = "final_notice"
    CARD_EXPIRING = "card_expiring"
    RECEIPT = "receipt"
    RESOLVED = "resolved"
    ARRANGEMENT = "arrangement"  # confirms a plan, promise or transfer chosen on the page


class Anchor(StrEnum):
    """The moment a step's `offset_days` counts from."""

    FAILURE = "failure"  # days after the first failed payment
    DUE_DATE = "due_date"  # days before the invoice is due
    CARD_EXPIRY = "card_expiry"  # days before the card on file expires
    EVENT = "event"  # sent when something happens (a payment, an arrangement), no offset


_ANCHOR_OF = MappingProxyType(
    {
        StepKind.PRE_DUE: Anchor.DUE_DATE,
        StepKind.FAILED_PAYMENT: Anchor.FAILURE,
        StepKind.FOLLOW_UP: Anchor.FAILURE,
        StepKind.FINAL_NOTICE: Anchor.FAILURE,
        StepKind.CARD_EXPIRING: Anchor.CARD_EXPIRY,
        StepKind.RECEIPT: Anchor.EVENT,
        StepKind.RESOLVED: Anchor.EVENT,
        StepKind.ARRANGEMENT: Anchor.EVENT,
    }
)
# Legal and transaction notices: sent even to customers who opted out of reminders. The
# confirmation of an arrangement is the customer's own request answered (its schedule, what
# will be charged when), so it belongs here too.
_TRANSACTIONAL = frozenset(
    {StepKind.FINAL_NOTICE, StepKind.RECEIPT, StepKind.RESOLVED, StepKind.ARRANGEMENT}
)
# Event steps answer one event each: two of a kind in a sequence would send two messages.
_ONE_PER_SEQUENCE = (StepKind.RECEIPT, StepKind.RESOLVED, StepKind.ARRANGEMENT)
# The TOML field that positions a step, by anchor; event steps have none.
_POSITION = MappingProxyType(
    {
        Anchor.FAILURE: "day",
        Anchor.DUE_DATE: "days_before_due",
        Anchor.CARD_EXPIRY: "days_before_expiry",
    }
)
_STEP_FIELDS = ("key", "kind", *_POSITION.values(), "channels", "tone", "template")


@dataclass(frozen=True, slots=True)
class MessageStep:
    key: str  # unique within its sequence; part of the message's idempotency key
    kind: StepKind
    offset_days: int  # failure: days after (0 = at once); due date, card expiry: days before
    tone: Tone  # the least firm tone this step uses (see StartingTone)
    channels: tuple[str, ...]  # every listed channel is used
    template: str = ""  # template family; empty means the kind's own (kind.value)

    def __post_init__(self) -> None:
        if not self.template:
            object.__setattr__(self, "template", self.kind.value)

    @property
    def anchor(self) -> Anchor:
        return _ANCHOR_OF[self.kind]

    @property
    def transactional(self) -> bool:
        return self.kind in _TRANSACTIONAL


@dataclass(frozen=True, slots=True)
class StartingTone:
    """How gently a case opens: a customer who already had a case this year gets less slack."""

    first_time: Tone = Tone.FRIENDLY  # no other case in the last 12 months
    repeat: Tone = Tone.NEUTRAL


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    name: str
    version: int
    retry_days: tuple[int, ...]
    technical_retry_minutes: int
    steps: tuple[MessageStep, ...]  # the default sequence
    segments: Mapping[str, tuple[MessageStep, ...]]  # segment -> its sequence, replacing `steps`
    sending: SendingRules
    starting_tone: StartingTone
    exhaust_day: int
    payment_page: PaymentPageRules = field(default_factory=PaymentPageRules)

    def steps_for(self, segment: str | None) -> tuple[MessageStep, ...]:
        """The sequence for a customer; a segment without its own sequence gets the default."""
        if segment is None:
            return self.steps
        return self.segments.get(segment, self.steps)

    def find_step(self, key: str, *, segment: str | None = None) -> MessageStep | None:
        """The step with this key: in `segment`'s sequence first, then the default, then any."""
        sequences = (self.steps_for(segment), self.steps, *self.segments.values())
        return next((s for sequence in sequences for s in sequence if s.key == key), None)

    def tone_for(self, step: MessageStep, repeat_customer: bool) -> Tone:
        start = self.starting_tone.repeat if repeat_customer else self.starting_tone.first_time
        return firmer(step.tone, start)


def parse_policy(text: str) -> DunningPolicy:
    """Read and validate a policy document; every problem is one clear sentence."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy(f"The policy is not valid TOML: {exc}.") from exc
    meta = _require(doc, "policy", dict, "policy")
    retries = _require(doc, "retries", dict, "retries")
    if "reminders" in doc and "messages" in doc:
        raise InvalidPolicy("A policy has [messages] or the older [reminders], not both.")
    if "reminders" in doc:
        steps, sending = _v1_reminders(_require(doc, "reminders", dict, "reminders"))
        segments: Mapping[str, tuple[MessageStep, ...]] = MappingProxyType({})
        starting = StartingTone()
    else:
        _no_unknown(doc, _V2_TABLES, "The policy has an unknown table")
        messages = _require(doc, "messages", dict, "messages")
        steps, sending, starting = _messages(messages)
        segments = _segments(doc.get("segments", {}))
    exhaustion = _require(doc, "exhaustion", dict, "exhaustion")

    version = _require(meta, "version", int, "policy")
    if version < 1:
        raise InvalidPolicy("The policy version must be 1 or more.")
    retry_days = _days(_require(retries, "days_after_failure", list, "retries"), "retries")
    if len(retry_days) > MAX_RETRIES:
        raise InvalidPolicy(f"A policy may schedule at most {MAX_RETRIES} retries per case.")
    if retry_days and retry_days[0] == 0:
        raise InvalidPolicy("The first retry must wait at least one day after the failure.")
    technical = retries.get("technical_retry_minutes", 60)
    if isinstance(technical, bool) or not isinstance(technical, int) or not 1 <= technical <= 1440:
        raise InvalidPolicy("technical_retry_minutes must be between 1 and 1440.")
    exhaust_day = _require(exhaustion, "day", int, "exhaustion")
    payment_page = _payment_page(doc.get("payment_page", {}))
    for segment, sequence in [(None, steps), *segments.items()]:
        _check_exhaustion(exhaust_day, retry_days, sequence, segment)
    return DunningPolicy(
        name=str(meta.get("name", "unnamed")),
        version=version,
        retry_days=retry_days,
        technical_retry_minutes=technical,
        steps=steps,
        segments=segments,
        sending=sending,
        starting_tone=starting,
        exhaust_day=exhaust_day,
        payment_page=payment_page,
    )


def _check_exhaustion(
    day: int, retry_days: tuple[int, ...], steps: tuple[MessageStep, ...], segment: str | None
) -> None:
    failure_days = [s.offset_days for s in steps if s.anchor is Anchor.FAILURE]
    last = max([*retry_days, *failure_days, 0])
    if day <= last:
        where = "" if segment is None else f" of segment '{segment}'"
        raise InvalidPolicy(
            f"Exhaustion (day {day}) must come after the last retry or failure message"
            f"{where} (day {last})."
        )


# -- the current format: [messages] and [segments] -----------------------------------------


def _messages(table: dict[str, Any]) -> tuple[tuple[MessageStep, ...], SendingRules, StartingTone]:
    _no_unknown(table, _MESSAGE_FIELDS, "[messages] has an unknown field")
    defaults = SendingRules()
    weekdays, public_holidays = _quiet_days(table.get("quiet_days", ["sunday", "public_holidays"]))
    quiet_hours = (
        _quiet_hours(table["quiet_hours"]) if "quiet_hours" in table else defaults.quiet_hours
    )
    sending = SendingRules(
        quiet_hours=quiet_hours,
        quiet_weekdays=weekdays,
        public_holidays=public_holidays,
        max_per_window=_whole(table, "max_per_7_days", defaults.max_per_window, 1, 14),
        window=timedelta(days=7),
        min_gap=timedelta(hours=_whole(table, "min_gap_hours", 48, 0, 168)),
    )
    steps = _sequence(_require(table, "steps", list, "messages"), "messages.steps")
    return steps, sending, _starting_tone(table.get("starting_tone", {}))


def _segments(raw: Any) -> Mapping[str, tuple[MessageStep, ...]]:
    if not isinstance(raw, dict):
        raise InvalidPolicy("[segments] must be a table of customer segments.")
    sequences = {}
    for name, table in raw.items():
        if not _SEGMENT_NAME.fullmatch(name):
            raise InvalidPolicy(
                f"Segment name '{name}' must be 1 to 40 lower-case letters, digits, '_' or '-'."
            )
        if not isinstance(table, dict):
            raise InvalidPolicy(
                f"[segments.{name}] must be a table with [[segments.{name}.steps]]."
            )
        _no_unknown(table, ("steps",), f"[segments.{name}] has an unknown field")
        raw_steps = _require(table, "steps", list, f"segments.{name}")
        sequences[name] = _sequence(raw_steps, f"segments.{name}.steps")
    return MappingProxyType(sequences)


def _sequence(raw: list[Any], where: str) -> tuple[MessageStep, ...]:
    steps = tuple(_step(item, where) for item in raw)
    seen: set[str] = set()
    for step in steps:
        if step.key in seen:
            raise InvalidPolicy(f"Step key '{step.key}' appears twice in [[{where}]].")
        seen.add(step.key)
    failure = [s for s in steps if s.anchor is Anchor.FAILURE]
    for before, after in pairwise(failure):
        if after.offset_days <= before.offset_days:
            raise InvalidPolicy(
                f"Step '{after.key}' (day {after.offset_days}) in [[{where}]] must come after "
                f"step '{before.key}' (day {before.offset_days}): failure message days must be "
                "strictly increasing."
            )
    for kind in _ONE_PER_SEQUENCE:
        if sum(s.kind is kind for s in steps) > 1:
            raise InvalidPolicy(f"[[{where}]] has more than one '{kind}' step; one is enough.")
    return steps


def _step(raw: Any, where: str) -> MessageStep:
    if not isinstance(raw, dict):
        raise InvalidPolicy(f"Each [[{where}]] must be a table.")
    key = _require(raw, "key", str, where)
    if not _STEP_KEY.fullmatch(key):
        raise InvalidPolicy(
            f"Step key '{key}' in [[{where}]] must be 1 to 40 lower-case letters, digits or '_'."
        )
    label = f"Step '{key}' in [[{where}]]"
    _no_unknown(raw, _STEP_FIELDS, f"{label} has an unknown field")
    kind = _choice(StepKind, _field(raw, "kind", str, label), f"{label} has kind")
    position = _POSITION.get(_ANCHOR_OF[kind])
    for other in _POSITION.values():
        if other in raw and other != position:
            how = f"placed by '{position}'" if position else "sent when its event happens"
            raise InvalidPolicy(f"{label} is a {kind} step, {how}: remove '{other}'.")
    offset = 0 if position is None else _field(raw, position, int, label)
    least = 1 if position and position.startswith("days_before") else 0
    if offset < least:
        raise InvalidPolicy(f"{label}: '{position}' must be a whole number, {least} or more.")
    template = raw.get("template", kind.value)
    if not isinstance(template, str) or not _STEP_KEY.fullmatch(template):
        raise InvalidPolicy(f"{label}: 'template' must name a template family like 'follow_up'.")
    return MessageStep(
        key=key,
        kind=kind,
        offset_days=offset,
        tone=_choice(Tone, _field(raw, "tone", str, label), f"{label} has tone"),
        channels=_channels(_field(raw, "channels", list, label), label),
        template=template,
    )


def _channels(values: list[Any], label: str) -> tuple[str, ...]:
    if not values:
        raise InvalidPolicy(f"{label} must list at least one channel.")
    for i, channel in enumerate(values):
        if channel not in CHANNELS:
            raise InvalidPolicy(f"{label} has channel '{channel}', not one of email, sms.")
        if channel in values[:i]:
            raise InvalidPolicy(f"{label} lists the channel '{channel}' twice.")
    return tuple(values)


def _quiet_days(values: Any) -> tuple[frozenset[int], bool]:
    if not isinstance(values, list):
        raise InvalidPolicy("'quiet_days' in [messages] must be a list of day names.")
    for day in values:
        if day not in (*_WEEKDAYS, "public_holidays"):
            raise InvalidPolicy(
                f"Quiet day '{day}' in [messages] is not a weekday name (monday to sunday) "
                "or public_holidays."
            )
    weekdays = frozenset(_WEEKDAYS.index(d) for d in values if d in _WEEKDAYS)
    if len(weekdays) == len(_WEEKDAYS):
        raise InvalidPolicy("Every day of the week is quiet in [messages]: nothing could be sent.")
    return weekdays, "public_holidays" in values


def _starting_tone(raw: Any) -> StartingTone:
    if not isinstance(raw, dict):
        raise InvalidPolicy("'starting_tone' in [messages] must be a table.")
    _no_unknown(raw, ("first_time", "repeat"), "'starting_tone' has an unknown field")
    default = StartingTone()
    where = "'starting_tone' in [messages]"
    return StartingTone(
        first_time=_choice(Tone, raw.get("first_time", default.first_time), f"{where} has tone"),
        repeat=_choice(Tone, raw.get("repeat", default.repeat), f"{where} has tone"),
    )


def _whole(table: dict[str, Any], key: str, default: int, least: int, most: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidPolicy(f"'{key}' in [messages] must be a whole number from {least} to {most}.")
    return value


# -- [payment_page] (both formats) -------------------------------------------------------


def _payment_page(raw: Any) -> PaymentPageRules:
    if not isinstance(raw, dict):
        raise InvalidPolicy("[payment_page] must be a table.")
    default = PaymentPageRules()
    known = ("plans", "plan_min_instalment", *RULE_LIMITS)
    _no_unknown(raw, known, "[payment_page] has an unknown field")
    plans = raw.get("plans", default.plans)
    if not isinstance(plans, bool):
        raise InvalidPolicy("'plans' in [payment_page] must be true or false.")
    whole = {}
    for key, (least, most) in RULE_LIMITS.items():
        value = raw.get(key, getattr(default, key))
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise InvalidPolicy(
                f"'{key}' in [payment_page] must be a whole number from {least} to {most}."
            )
        whole[key] = value
    return PaymentPageRules(
        plans=plans,
        plan_min_instalment=_amount(raw.get("plan_min_instalment", default.plan_min_instalment)),
        **whole,
    )


def _amount(value: Any) -> Decimal:
    """An amount in major units: 10, 10.5 or "10.50" (read from its text, so 0.1 stays 0.1)."""
    amount = None
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite() or not 0 <= amount <= PLAN_MIN_INSTALMENT_MAX:
        raise InvalidPolicy(
            "'plan_min_instalment' in [payment_page] must be an amount from 0 to "
            f"{PLAN_MIN_INSTALMENT_MAX}, in the balance's currency (e.g. 10 or 12.50)."
        )
    return amount


# -- the first format: [reminders] ---------------------------------------------------------


def _v1_reminders(reminders: dict[str, Any]) -> tuple[tuple[MessageStep, ...], SendingRules]:
    """Translate failure-day reminders: day 0 opens, "final" closes, the rest follow up."""
    steps = tuple(_v1_step(s) for s in _require(reminders, "steps", list, "reminders"))
    _days([s.offset_days for s in steps], "reminders.steps")
    if len({s.key for s in steps}) != len(steps):
        raise InvalidPolicy("Reminder step keys must be unique.")
    quiet = _require(reminders, "quiet_hours", dict, "reminders")
    return steps, SendingRules(quiet_hours=_quiet_hours(quiet))


def _v1_step(raw: Any) -> MessageStep:
    if not isinstance(raw, dict):
        raise InvalidPolicy("Each [[reminders.steps]] must be a table.")
    key = _require(raw, "key", str, "reminders.steps")
    day = _require(raw, "day", int, "reminders.steps")
    tone = _require(raw, "tone", str, "reminders.steps")
    if tone not in ("friendly", "firm", "final"):
        raise InvalidPolicy(f"Tone '{tone}' is not one of friendly, firm, final.")
    channel = raw.get("channel", "email")
    if channel != "email":
        raise InvalidPolicy(
            f"Channel '{channel}' is not available in [reminders]; use 'email', or write the "
            "policy with [messages] to use sms."
        )
    kind = StepKind.FOLLOW_UP
    if day == 0:
        kind = StepKind.FAILED_PAYMENT
    elif tone == "final":
        kind = StepKind.FINAL_NOTICE
    return MessageStep(key, kind, day, Tone.FIRM if tone == "final" else Tone(tone), ("email",))


# -- shared readers ------------------------------------------------------------------------


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise InvalidPolicy(f"The policy is missing '{key}' in [{where}].")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidPolicy(f"'{key}' in [{where}] must be a {kind.__name__}.")
    return value


_E = TypeVar("_E", bound=StrEnum)
_KIND_WORDS = {str: "text", int: "whole number", list: "list"}


def _field(table: dict[str, Any], key: str, kind: type, label: str) -> Any:
    """Like _require, but the sentence names the step rather than its table."""
    if key not in table:
        raise InvalidPolicy(f"{label} is missing '{key}'.")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidPolicy(f"{label}: '{key}' must be a {_KIND_WORDS[kind]}.")
    return value


def _choice(enum: type[_E], value: Any, what: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(member.value for member in enum)
        raise InvalidPolicy(f"{what} '{value}', which is not one of {names}.") from None


def _no_unknown(table: dict[str, Any], known: Iterable[str], what: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InvalidPolicy(f"{what}: '{unknown[0]}' (expected one of {', '.join(known)}).")


def _days(values: list[Any], where: str) -> tuple[int, ...]:
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise InvalidPolicy(f"Days in [{where}] must be whole numbers of days, zero or more.")
    if list(values) != sorted(set(values)):
        raise InvalidPolicy(f"Days in [{where}] must be strictly increasing.")
    return tuple(values)


def _quiet_hours(raw: Any) -> QuietHours:
    if not isinstance(raw, dict):
        raise InvalidPolicy('quiet_hours must be a table like { start = "21:00", end = "08:30" }.')
    return QuietHours(
        start=_clock(raw.get("start"), "quiet_hours.start"),
        end=_clock(raw.get("end"), "quiet_hours.end"),
    )


def _clock(value: Any, what: str) -> time:
    """A local wall-clock time to the minute: quiet hours are the customer's, never UTC."""
    try:
        parsed: time | None = time.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise InvalidPolicy(f'{what} must be a local time of day like "21:00".')
    return parsed
