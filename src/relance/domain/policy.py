"""A merchant's dunning policy: when to retry, when to remind, when to give up.

Policies are TOML documents (see data/policies/default.toml), versioned per merchant: a case
keeps the version it was planned with, so a policy change never rewrites running cases.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Any

from relance.domain.errors import InvalidPolicy

# Retrying more often than this inside one case is never useful and risks the card networks'
# excessive-retry fees; the network-rule guard enforces the real rolling-window ceilings.
MAX_RETRIES = 15


class Tone(StrEnum):
    FRIENDLY = "friendly"
    FIRM = "firm"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class ReminderStep:
    key: str
    day: int  # days after the first failure; 0 means at once
    tone: Tone
    channel: str = "email"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Customer-local hours during which nothing is sent; reminders wait for `end`."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    name: str
    version: int
    retry_days: tuple[int, ...]
    technical_retry_minutes: int
    reminders: tuple[ReminderStep, ...]
    quiet_hours: QuietHours
    exhaust_day: int


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise InvalidPolicy(f"The policy is missing '{key}' in [{where}].")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidPolicy(f"'{key}' in [{where}] must be a {kind.__name__}.")
    return value


def _days(values: list[Any], where: str) -> tuple[int, ...]:
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise InvalidPolicy(f"Days in [{where}] must be whole numbers of days, zero or more.")
    if list(values) != sorted(set(values)):
        raise InvalidPolicy(f"Days in [{where}] must be strictly increasing.")
    return tuple(values)


def _clock(value: Any, what: str) -> time:
    """A local wall-clock time to the minute: quiet hours are the customer's, never UTC."""
    try:
        parsed: time | None = time.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise InvalidPolicy(f'{what} must be a local time of day like "21:00".')
    return parsed


def _step(raw: Any) -> ReminderStep:
    if not isinstance(raw, dict):
        raise InvalidPolicy("Each [[reminders.steps]] must be a table.")
    key = _require(raw, "key", str, "reminders.steps")
    day = _require(raw, "day", int, "reminders.steps")
    tone = _require(raw, "tone", str, "reminders.steps")
    if tone not in Tone.__members__.values():
        raise InvalidPolicy(f"Tone '{tone}' is not one of friendly, firm, final.")
    channel = raw.get("channel", "email")
    if channel != "email":
        raise InvalidPolicy(f"Channel '{channel}' is not available yet; use 'email'.")
    return ReminderStep(key=key, day=day, tone=Tone(tone), channel=channel)


def parse_policy(text: str) -> DunningPolicy:
    """Read and validate a policy document; every problem is one clear sentence."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy(f"The policy is not valid TOML: {exc}.") from exc
    meta = _require(doc, "policy", dict, "policy")
    retries = _require(doc, "retries", dict, "retries")
    reminders = _require(doc, "reminders", dict, "reminders")
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

    steps = tuple(_step(s) for s in _require(reminders, "steps", list, "reminders"))
    _days([s.day for s in steps], "reminders.steps")
    if len({s.key for s in steps}) != len(steps):
        raise InvalidPolicy("Reminder step keys must be unique.")
    quiet = _require(reminders, "quiet_hours", dict, "reminders")
    quiet_hours = QuietHours(
        start=_clock(quiet.get("start"), "quiet_hours.start"),
        end=_clock(quiet.get("end"), "quiet_hours.end"),
    )
    exhaust_day = _require(exhaustion, "day", int, "exhaustion")
    last = max([*retry_days, *(s.day for s in steps), 0])
    if exhaust_day <= last:
        raise InvalidPolicy(
            f"Exhaustion (day {exhaust_day}) must come after the last retry or reminder "
            f"(day {last})."
        )
    return DunningPolicy(
        name=str(meta.get("name", "unnamed")),
        version=version,
        retry_days=retry_days,
        technical_retry_minutes=technical,
        reminders=steps,
        quiet_hours=quiet_hours,
        exhaust_day=exhaust_day,
    )
