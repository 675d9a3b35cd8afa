"""The card networks' and SEPA's retry ceilings: a guard no policy can get past.

The figures are versioned data (data/declines/network_rules.toml, each with its source and
the date it took effect). `check_retry` looks at what already happened on one card (or one
SEPA mandate) at one merchant and says whether one more attempt at `at` is allowed, and if not,
which rule forbids it and until when.

Rolling windows are half-open, (at - window, at]: an attempt made exactly `window` before `at`
no longer counts, one made at `at` itself does.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from relance.domain.cases import Decision, RetryAt, RetryStopped
from relance.domain.declines import DeclineVerdict, RetryClass


@dataclass(frozen=True, slots=True)
class NetworkRules:
    version: int
    visa_window: timedelta
    visa_max_reattempts: int
    visa_never_categories: frozenset[int]
    mc_decline_window: timedelta
    mc_max_declines: int
    mc_same_amount_window: timedelta
    mc_max_same_amount_declines: int
    mc_never_advice_codes: frozenset[str]
    sepa_max_representments: int
    sepa_representable: frozenset[str]
    sepa_refund_exposure: timedelta
    sources: dict[str, str]


def parse_network_rules(text: str, visa_limit: str | None = None) -> NetworkRules:
    """`visa_limit` picks one of visa.reattempts_per_window_choices (e.g. "current" = 20)."""
    doc: dict[str, Any] = tomllib.loads(text)
    visa, mc, sepa = doc["visa"], doc["mastercard"], doc["sepa"]
    limit = visa["reattempts_per_window"]
    if visa_limit is not None:
        choices = visa.get("reattempts_per_window_choices", {})
        if visa_limit not in choices:
            raise ValueError(f"Visa limit '{visa_limit}' is not one of {', '.join(choices)}.")
        limit = choices[visa_limit]
    return NetworkRules(
        version=int(doc["meta"]["version"]),
        visa_window=timedelta(days=visa["reattempt_window_days"]),
        visa_max_reattempts=int(limit),
        visa_never_categories=frozenset(visa["never_categories"]),
        mc_decline_window=timedelta(hours=mc["declines_window_hours"]),
        mc_max_declines=int(mc["declines_per_window"]),
        mc_same_amount_window=timedelta(days=mc["same_amount_window_days"]),
        mc_max_same_amount_declines=int(mc["same_amount_declines_per_window"]),
        mc_never_advice_codes=frozenset(mc["never_advice_codes"]),
        sepa_max_representments=int(sepa["max_representments"]),
        sepa_representable=frozenset(sepa["representable_reasons"]),
        sepa_refund_exposure=timedelta(days=sepa["refund_exposure_days"]),
        sources={name: f"{doc[name]['source']} (in force since {doc[name]['effective']})"
                 for name in ("visa", "mastercard", "sepa")},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PastAttempt:
    at: datetime
    amount_minor: int
    verdict: DeclineVerdict | None  # None: the attempt succeeded

    @property
    def declined(self) -> bool:
        return self.verdict is not None


@dataclass(frozen=True, slots=True)
class Allowed:
    pass


@dataclass(frozen=True, slots=True)
class Forbidden:
    rule: str  # e.g. "visa-category-1", "mastercard-10-declines-24h"
    why: str
    until: datetime | None  # the first moment it becomes allowed; None: never on this card


Verdict = Allowed | Forbidden


def _clear_at(times: Sequence[datetime], limit: int, window: timedelta) -> datetime | None:
    """When fewer than `limit` of these times lie in the window: None if already so."""
    if len(times) < limit:
        return None
    return sorted(times)[len(times) - limit] + window


def _since_last_success(history: Sequence[PastAttempt]) -> list[PastAttempt]:
    last_ok = max((i for i, a in enumerate(history) if not a.declined), default=-1)
    return list(history[last_ok + 1 :])


def _never(history: Sequence[PastAttempt]) -> Forbidden | None:
    for a in history:
        if a.verdict and a.verdict.retry_class is RetryClass.NEVER:
            why = f"the issuer answered {a.verdict.decided_by} ({a.verdict.reason}): never retry"
            return Forbidden("never-retry-decline", why, None)
    return None


def _visa(rules: NetworkRules, history: Sequence[PastAttempt], at: datetime) -> Forbidden | None:
    declines = [a for a in history if a.verdict]
    for a in declines:
        category = a.verdict.visa_category if a.verdict else None
        if category in rules.visa_never_categories:
            why = f"Visa category {category} decline ({a.verdict.decided_by if a.verdict else ''})"
            return Forbidden("visa-category-1", why + ": the issuer will never approve", None)
    run = _since_last_success(history)
    # Every attempt after the first decline of the run is a reattempt.
    reattempts = [a.at for a in run[1:] if a.at > at - rules.visa_window]
    clear = _clear_at(reattempts, rules.visa_max_reattempts, rules.visa_window)
    if run and clear:
        why = f"Visa allows {rules.visa_max_reattempts} reattempts in {rules.visa_window.days} days"
        return Forbidden("visa-reattempts-30d", why, clear)
    return None


def _mastercard(
    rules: NetworkRules, history: Sequence[PastAttempt], at: datetime, amount_minor: int
) -> Forbidden | None:
    declines = [a for a in history if a.verdict]
    for a in declines:
        codes = (
            {r.code for r in a.verdict.readings if r.scheme == "mastercard"} if a.verdict else set()
        )
        if codes & rules.mc_never_advice_codes:
            why = f"Mastercard advice code {', '.join(sorted(codes))}: do not try again"
            return Forbidden("mastercard-advice-never", why, None)
    if declines and declines[-1].verdict and declines[-1].verdict.retry_after_hours:
        wait = timedelta(hours=declines[-1].verdict.retry_after_hours)
        if at < declines[-1].at + wait:
            why = f"Mastercard advised waiting {wait.total_seconds() / 3600:g} h after the decline"
            return Forbidden("mastercard-advice-wait", why, declines[-1].at + wait)
    recent = [a.at for a in declines if a.at > at - rules.mc_decline_window]
    clear = _clear_at(recent, rules.mc_max_declines, rules.mc_decline_window)
    if clear:
        why = f"Mastercard allows {rules.mc_max_declines} declines per card in 24 h"
        return Forbidden("mastercard-declines-24h", why, clear)
    same = [
        a.at
        for a in declines
        if a.amount_minor == amount_minor and a.at > at - rules.mc_same_amount_window
    ]
    clear = _clear_at(same, rules.mc_max_same_amount_declines, rules.mc_same_amount_window)
    if clear:
        limit = rules.mc_max_same_amount_declines
        why = f"Mastercard allows {limit} declines of one amount in 30 days"
        return Forbidden("mastercard-same-amount-30d", why, clear)
    return None


def _sepa(rules: NetworkRules, history: Sequence[PastAttempt], at: datetime) -> Forbidden | None:
    run = _since_last_success(history)
    if not run:
        return None
    for a in run:
        codes = {r.code for r in a.verdict.readings if r.scheme == "sepa"} if a.verdict else set()
        if codes - rules.sepa_representable or not codes:
            label = ", ".join(sorted(codes)) or "no SEPA reason code"
            why = f"SEPA return {label} may not be re-presented: ask the customer"
            return Forbidden("sepa-not-representable", why, None)
    if len(run) > rules.sepa_max_representments:
        why = f"SEPA allows {rules.sepa_max_representments} re-presentments of a failed debit"
        return Forbidden("sepa-representments", why, None)
    if at >= run[0].at + rules.sepa_refund_exposure:
        why = f"re-presenting after {rules.sepa_refund_exposure.days} days leaves the refund window"
        return Forbidden("sepa-refund-window", why, None)
    return None


def check_retry(
    rules: NetworkRules,
    network: str,
    history: Sequence[PastAttempt],
    at: datetime,
    amount_minor: int,
) -> Verdict:
    """May one more attempt be made at `at` on this card or mandate (`network`: visa,
    mastercard, sepa, or anything else)? `history` is every attempt on it; those made at or
    before `at` count. Times are compared in UTC, so a window never stretches across a
    daylight-saving change."""
    at = at.astimezone(UTC)
    utc = sorted((replace(a, at=a.at.astimezone(UTC)) for a in history), key=lambda a: a.at)
    past = [a for a in utc if a.at <= at]
    forbidden = _never(past)
    if forbidden is None and network == "visa":
        forbidden = _visa(rules, past, at)
    elif forbidden is None and network == "mastercard":
        forbidden = _mastercard(rules, past, at, amount_minor)
    elif forbidden is None and network == "sepa":
        forbidden = _sepa(rules, past, at)
    return forbidden or Allowed()


def screen_retries(
    rules: NetworkRules,
    network: str,
    history: Sequence[PastAttempt],
    plan: Sequence[Decision],
    amount_minor: int,
    assumed: DeclineVerdict,
) -> list[Decision]:
    """The plan with every retry the rules forbid replaced by a RetryStopped. Each kept retry
    is assumed to decline like the failure that opened the case, so later ones are judged
    against the worst case."""
    simulated = list(history)
    screened: list[Decision] = []
    for decision in plan:
        if not isinstance(decision, RetryAt):
            screened.append(decision)
            continue
        verdict = check_retry(rules, network, simulated, decision.due_at, amount_minor)
        if isinstance(verdict, Forbidden):
            why = f"Retry {decision.number} not scheduled: {verdict.why} ({verdict.rule})."
            screened.append(RetryStopped(decision.number, decision.due_at, verdict.rule, why))
            continue
        screened.append(decision)
        simulated.append(PastAttempt(decision.due_at, amount_minor, assumed))
    return screened
