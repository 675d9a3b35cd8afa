"""The network-rule guard: Visa, Mastercard and SEPA ceilings no retry policy can get past."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from relance.data import decline_catalogue, network_rules_text
from relance.domain.attempts import RawCodes
from relance.domain.declines import DeclineVerdict, RetryClass
from relance.domain.network_rules import (
    Allowed,
    Forbidden,
    NetworkRules,
    PastAttempt,
    Verdict,
    check_retry,
    parse_network_rules,
)

RULES = parse_network_rules(network_rules_text())
RULES_20 = parse_network_rules(network_rules_text(), "current")
CATALOGUE = decline_catalogue()
classify = CATALOGUE.classify

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
AMOUNT = 4900

INSUFFICIENT_FUNDS = classify(RawCodes(network_response_code="51"))
SEPA_NO_FUNDS = classify(RawCodes(sepa_reason_code="AM04"))
LOST_CARD = classify(RawCodes(decline_code="lost_card"))


def declined(at: datetime, verdict: DeclineVerdict = INSUFFICIENT_FUNDS, amount: int = AMOUNT):
    return PastAttempt(at, amount, verdict)


def paid(at: datetime, amount: int = AMOUNT) -> PastAttempt:
    return PastAttempt(at, amount, None)


def check(
    network: str,
    history: Sequence[PastAttempt],
    at: datetime,
    amount: int = AMOUNT,
    rules: NetworkRules = RULES,
) -> Verdict:
    return check_retry(rules, network, history, at, amount)


def forbidden_for_good(verdict: Verdict) -> bool:
    return isinstance(verdict, Forbidden) and verdict.until is None


def a_decline_then_reattempts(count: int, every: timedelta = HOUR) -> list[PastAttempt]:
    """The first decline at T0, then `count` declined reattempts, `every` apart."""
    return [declined(T0 + i * every) for i in range(count + 1)]


# -- Visa ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["04", "07", "12", "14", "15", "41", "43", "46", "57", "R0"])
def test_a_visa_category_1_decline_forbids_any_reattempt_for_good(code):
    history = [declined(T0, classify(RawCodes(network_response_code=code)))]

    assert forbidden_for_good(check("visa", history, T0 + 60 * DAY))


def test_a_category_1_decline_is_refused_on_visa_even_if_its_class_were_to_say_later():
    entry = CATALOGUE.lookup("visa", "57")
    assert entry is not None
    mislabelled = DeclineVerdict("not_permitted", RetryClass.LATER, "x=57", (entry,))

    verdict = check("visa", [declined(T0, mislabelled)], T0 + DAY)

    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "visa-category-1"
    assert verdict.until is None


def test_a_visa_card_may_be_reattempted_15_times_in_30_days():
    assert check("visa", a_decline_then_reattempts(14), T0 + DAY) == Allowed()


def test_the_16th_visa_reattempt_in_30_days_waits_until_the_oldest_reattempt_leaves_the_window():
    history = a_decline_then_reattempts(15)

    verdict = check("visa", history, T0 + DAY)

    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "visa-reattempts-30d"
    assert verdict.until == T0 + HOUR + 30 * DAY  # the first reattempt, not the first decline
    assert isinstance(check("visa", history, verdict.until - MICRO), Forbidden)
    assert check("visa", history, verdict.until) == Allowed()


def test_the_first_decline_is_not_a_reattempt():
    # 16 declines in all: the first one and 15 reattempts.
    assert len(a_decline_then_reattempts(15)) == 16
    assert isinstance(check("visa", a_decline_then_reattempts(15), T0 + DAY), Forbidden)
    assert check("visa", a_decline_then_reattempts(14), T0 + DAY) == Allowed()


def test_over_the_visa_limit_until_waits_for_enough_reattempts_to_leave_the_window():
    history = a_decline_then_reattempts(17)  # recorded elsewhere: 2 over the limit

    verdict = check("visa", history, T0 + DAY)

    assert isinstance(verdict, Forbidden)
    assert verdict.until == T0 + 3 * HOUR + 30 * DAY
    assert check("visa", history, verdict.until) == Allowed()


def test_a_visa_reattempt_made_exactly_30_days_ago_no_longer_counts():
    history = a_decline_then_reattempts(15)
    first_reattempt = history[1].at

    assert isinstance(check("visa", history, first_reattempt + 30 * DAY - MICRO), Forbidden)
    assert check("visa", history, first_reattempt + 30 * DAY) == Allowed()


def test_the_current_visa_limit_allows_20_reattempts_in_30_days():
    assert check("visa", a_decline_then_reattempts(19), T0 + DAY, rules=RULES_20) == Allowed()
    assert isinstance(
        check("visa", a_decline_then_reattempts(20), T0 + DAY, rules=RULES_20), Forbidden
    )
    assert isinstance(check("visa", a_decline_then_reattempts(15), T0 + DAY), Forbidden)


def test_a_success_on_a_visa_card_starts_the_reattempt_count_again():
    history = [*a_decline_then_reattempts(15), paid(T0 + 16 * HOUR), declined(T0 + 17 * HOUR)]

    assert check("visa", history, T0 + DAY) == Allowed()


def test_after_a_success_the_next_visa_run_is_counted_from_its_own_first_decline():
    restart = T0 + 20 * HOUR
    history = [
        *a_decline_then_reattempts(15),
        paid(restart),
        *[declined(restart + HOUR + i * HOUR) for i in range(16)],
    ]

    verdict = check("visa", history, T0 + 3 * DAY)

    assert isinstance(verdict, Forbidden)
    assert verdict.until == restart + 2 * HOUR + 30 * DAY


def test_visa_rules_do_not_apply_to_a_mastercard_or_another_network():
    history = a_decline_then_reattempts(15, every=3 * HOUR)

    assert check("mastercard", history, T0 + 3 * DAY) == Allowed()
    assert check("amex", history, T0 + 3 * DAY) == Allowed()


# -- Mastercard ----------------------------------------------------------------------------


def test_a_mastercard_card_may_decline_10_times_in_24_hours_but_not_11():
    nine = [declined(T0 + i * HOUR) for i in range(9)]
    ten = [declined(T0 + i * HOUR) for i in range(10)]

    assert check("mastercard", nine, T0 + 10 * HOUR) == Allowed()
    verdict = check("mastercard", ten, T0 + 10 * HOUR)
    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "mastercard-declines-24h"
    assert verdict.until == T0 + 24 * HOUR


def test_the_mastercard_24_hour_count_clears_exactly_24_hours_after_the_oldest_decline():
    ten = [declined(T0 + i * HOUR) for i in range(10)]

    assert isinstance(check("mastercard", ten, T0 + 24 * HOUR - SECOND), Forbidden)
    assert check("mastercard", ten, T0 + 24 * HOUR) == Allowed()


def test_mastercard_successes_do_not_count_as_declines():
    history = [declined(T0 + i * HOUR) if i % 2 else paid(T0 + i * HOUR) for i in range(18)]

    assert check("mastercard", history, T0 + 18 * HOUR) == Allowed()


def spread_declines(count: int, amount: int = AMOUNT) -> list[PastAttempt]:
    """`count` declines 12 hours apart: never more than 2 in 24 hours."""
    return [declined(T0 + i * 12 * HOUR, amount=amount) for i in range(count)]


def test_a_mastercard_card_may_decline_35_times_for_one_amount_in_30_days_but_not_36():
    at = T0 + 18 * DAY

    assert check("mastercard", spread_declines(34), at) == Allowed()
    verdict = check("mastercard", spread_declines(35), at)
    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "mastercard-same-amount-30d"
    assert verdict.until == T0 + 30 * DAY
    assert isinstance(check("mastercard", spread_declines(35), T0 + 30 * DAY - SECOND), Forbidden)
    assert check("mastercard", spread_declines(35), T0 + 30 * DAY) == Allowed()


def test_declines_of_another_amount_do_not_count_towards_the_same_amount_limit():
    history = spread_declines(35, amount=9900)

    assert check("mastercard", history, T0 + 18 * DAY, amount=AMOUNT) == Allowed()
    assert isinstance(check("mastercard", history, T0 + 18 * DAY, amount=9900), Forbidden)


def test_the_same_amount_limit_counts_only_declines_of_that_amount():
    history = sorted(
        [*spread_declines(34), *[declined(T0 + 6 * HOUR + i * DAY, amount=100) for i in range(5)]],
        key=lambda a: a.at,
    )

    assert check("mastercard", history, T0 + 18 * DAY) == Allowed()


@pytest.mark.parametrize("code", ["03", "21"])
@pytest.mark.parametrize("network", ["mastercard", "visa"])
def test_mastercard_advice_03_or_21_forbids_any_further_attempt(code, network):
    refused = classify(RawCodes(network_response_code="05", network_advice_code=code))
    history = [declined(T0, refused)]

    assert forbidden_for_good(check(network, history, T0 + 60 * DAY))


@pytest.mark.parametrize(
    ("code", "hours"),
    [("24", 1), ("25", 24), ("26", 48), ("27", 96), ("28", 144), ("29", 192), ("30", 240)],
)
def test_mastercard_advice_24_to_30_means_waiting_exactly_that_many_hours(code, hours):
    verdict = classify(RawCodes(network_response_code="51", network_advice_code=code))
    history = [declined(T0, verdict)]
    ready = T0 + timedelta(hours=hours)

    early = check("mastercard", history, ready - SECOND)

    assert isinstance(early, Forbidden)
    assert early.rule == "mastercard-advice-wait"
    assert early.until == ready
    assert check("mastercard", history, ready) == Allowed()


# -- SEPA ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["AM04", "MS03"])
def test_a_sepa_debit_returned_for_lack_of_funds_may_be_re_presented(code):
    history = [declined(T0, classify(RawCodes(sepa_reason_code=code)))]

    assert check("sepa", history, T0 + 5 * DAY) == Allowed()


@pytest.mark.parametrize(
    "code",
    [
        *("MS02", "MD01", "MD06", "MD07", "AC04", "AC06", "AG01", "SL01", "AM05"),
        *("MD02", "AC01", "AG02", "BE05", "FF01", "RC01", "RR01", "RR04", "ED05"),
    ],
)
def test_any_other_sepa_return_may_not_be_re_presented(code):
    history = [declined(T0, classify(RawCodes(sepa_reason_code=code)))]

    assert forbidden_for_good(check("sepa", history, T0 + 5 * DAY))


def test_a_sepa_failure_without_a_sepa_reason_code_may_not_be_re_presented():
    assert forbidden_for_good(check("sepa", [declined(T0, INSUFFICIENT_FUNDS)], T0 + 5 * DAY))


def test_a_failed_sepa_debit_may_be_re_presented_twice_and_no_more():
    original = declined(T0, SEPA_NO_FUNDS)
    first = declined(T0 + 7 * DAY, SEPA_NO_FUNDS)
    second = declined(T0 + 14 * DAY, SEPA_NO_FUNDS)

    assert check("sepa", [original], T0 + 7 * DAY) == Allowed()
    assert check("sepa", [original, first], T0 + 14 * DAY) == Allowed()
    verdict = check("sepa", [original, first, second], T0 + 21 * DAY)
    assert forbidden_for_good(verdict)
    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "sepa-representments"


def test_a_sepa_debit_is_not_re_presented_56_days_or_more_after_it_first_failed():
    history = [declined(T0, SEPA_NO_FUNDS)]

    assert check("sepa", history, T0 + 56 * DAY - SECOND) == Allowed()
    verdict = check("sepa", history, T0 + 56 * DAY)
    assert forbidden_for_good(verdict)
    assert isinstance(verdict, Forbidden)
    assert verdict.rule == "sepa-refund-window"
    assert forbidden_for_good(check("sepa", history, T0 + 90 * DAY))


def test_the_56_days_count_from_the_first_failure_not_the_last():
    history = [declined(T0, SEPA_NO_FUNDS), declined(T0 + 50 * DAY, SEPA_NO_FUNDS)]

    assert forbidden_for_good(check("sepa", history, T0 + 56 * DAY))


def test_a_collected_sepa_debit_starts_a_new_count():
    history = [
        declined(T0, SEPA_NO_FUNDS),
        declined(T0 + 7 * DAY, SEPA_NO_FUNDS),
        declined(T0 + 14 * DAY, SEPA_NO_FUNDS),
        paid(T0 + 30 * DAY),
        declined(T0 + 60 * DAY, SEPA_NO_FUNDS),
    ]

    assert check("sepa", history, T0 + 65 * DAY) == Allowed()


# -- every network -------------------------------------------------------------------------


@pytest.mark.parametrize("network", ["visa", "mastercard", "sepa", "amex", "cartes_bancaires"])
@pytest.mark.parametrize(
    "codes",
    [
        RawCodes(decline_code="lost_card"),
        RawCodes(decline_code="stolen_card"),
        RawCodes(decline_code="revocation_of_authorization"),
        RawCodes(network_response_code="R1"),
        RawCodes(sepa_reason_code="MD01"),
        RawCodes(decline_code="insufficient_funds", advice_code="do_not_try_again"),
    ],
)
def test_a_never_class_decline_forbids_any_further_attempt_on_any_network(network, codes):
    verdict = classify(codes)
    assert verdict.retry_class is RetryClass.NEVER

    assert forbidden_for_good(check(network, [declined(T0, verdict)], T0 + 90 * DAY))


def test_a_never_class_decline_still_forbids_after_a_later_success():
    history = [declined(T0, LOST_CARD), paid(T0 + DAY)]

    assert forbidden_for_good(check("amex", history, T0 + 2 * DAY))


def test_another_network_has_no_ceiling_but_the_never_rule():
    history = [declined(T0 + i * SECOND) for i in range(100)]

    assert check("amex", history, T0 + 100 * SECOND) == Allowed()


def test_a_card_with_no_history_may_be_charged():
    for network in ("visa", "mastercard", "sepa", "amex"):
        assert check(network, [], T0) == Allowed()


def test_attempts_after_the_candidate_time_are_not_counted():
    history = a_decline_then_reattempts(15)

    assert check("visa", history, T0 + 15 * HOUR - MICRO) == Allowed()


def test_the_history_may_be_given_in_any_order():
    history = a_decline_then_reattempts(15)

    assert check("visa", history[::-1], T0 + DAY) == check("visa", history, T0 + DAY)


# == Properties ============================================================================
#
# Histories are built from the real tables: each decline's verdict is what
# decline_catalogue().classify makes of raw codes picked from them. They come in bursts
# (several attempts evenly spaced, for one amount, answered alike), so that a few draws make
# histories dense enough to reach every ceiling. The ceilings are recounted by `breaks`,
# written apart from the guard: plain loops over the history, windows half-open (t - w, t].

FIELD = {
    "stripe": "decline_code",
    "stripe_advice": "advice_code",
    "iso8583": "network_response_code",
    "visa": "network_response_code",
    "mastercard": "network_advice_code",
    "sepa": "sepa_reason_code",
}
RAW_CODES = sorted({(FIELD[scheme], code) for scheme, code in CATALOGUE.entries})
SOFT_CODES = [
    (field, code)
    for field, code in RAW_CODES
    if classify(RawCodes(**{field: code})).retry_class is RetryClass.LATER
]
SEPA_SOFT = [("sepa_reason_code", "AM04"), ("sepa_reason_code", "MS03")]
MAC_WAITS = [("network_advice_code", c) for c in ("24", "25", "26", "27", "28", "29", "30")]
NETWORKS = ("visa", "mastercard", "sepa", "amex")
AMOUNTS = (4900, 9900)
RULE_SETS = (RULES, RULES_20)
S = 10**6  # microseconds


def verdict_of(picks: list[tuple[str, str]]) -> DeclineVerdict:
    return classify(RawCodes(**dict(picks)))


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    return st.one_of(*[strategy for weight, strategy in choices for _ in range(weight)])


def micros(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda us: timedelta(microseconds=us))


any_verdict = st.lists(st.sampled_from(RAW_CODES), min_size=1, max_size=3).map(verdict_of)


def soft_verdicts(network: str) -> st.SearchStrategy[DeclineVerdict]:
    """A decline of class `later` from one or two codes (AM04/MS03 mostly on SEPA; now and
    then a Mastercard advice to wait)."""
    code = weighted(
        (1 if network == "sepa" else 6, st.sampled_from(SOFT_CODES)),
        (6 if network == "sepa" else 1, st.sampled_from(SEPA_SOFT)),
        (1, st.sampled_from(MAC_WAITS)),
    )
    later = st.lists(code, min_size=1, max_size=2).map(verdict_of)
    return later.filter(lambda v: v.retry_class is RetryClass.LATER)


def outcomes(network: str) -> st.SearchStrategy[DeclineVerdict | None]:
    """Mostly a soft decline; now and then a success (None) or any decline at all."""
    return weighted((8, soft_verdicts(network)), (1, st.none()), (1, any_verdict))


# How far apart attempts are: a few microseconds to ten weeks.
pace = st.one_of(
    micros(1, S),
    micros(1, 3600 * S),
    micros(1, 8 * 3600 * S),
    micros(1, 48 * 3600 * S),
    micros(1, 10 * 86400 * S),
    micros(1, 70 * 86400 * S),
)
# A steady drip of attempts, a few a day: fills the 30-day counts, not the 24-hour one.
steady = micros(3 * 3600 * S, 12 * 3600 * S)

Steps = list[tuple[timedelta, int, DeclineVerdict | None]]


@st.composite
def bursts(draw: st.DrawFn, network: str, most: int, same_instant: bool = True) -> Steps:
    """Up to `most` bursts of attempts evenly spaced, for one amount, answered alike, as
    (time since the previous attempt, amount, outcome) steps."""
    steps: Steps = []
    for _ in range(draw(st.integers(0, most))):
        lead = draw(pace)
        if draw(weighted((4, st.just(False)), (1, st.just(True)))):
            count, spacing = draw(st.integers(20, 60)), draw(steady)
        else:
            count, spacing = draw(st.one_of(st.integers(1, 3), st.integers(1, 40))), draw(pace)
        if same_instant:
            spacing = draw(weighted((6, st.just(spacing)), (1, st.just(timedelta(0)))))
        amount = draw(weighted((3, st.just(AMOUNTS[0])), (1, st.just(AMOUNTS[1]))))
        outcome = draw(outcomes(network))
        steps += [(lead if i == 0 else spacing, amount, outcome) for i in range(count)]
    return steps


def attempts_from(start: datetime, steps: Steps) -> list[PastAttempt]:
    history, at = [], start
    for wait, amount, outcome in steps:
        at += wait
        history.append(PastAttempt(at, amount, outcome))
    return history


Scenario = tuple[str, list[PastAttempt], datetime]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A network, a history on one card within about 60 days (oldest first, some attempts at
    the same instant), and a candidate time: anywhere, or soon after the last attempt."""
    network = draw(st.sampled_from(NETWORKS))
    start = T0 - draw(micros(0, 60 * 86400 * S))
    history = attempts_from(start, draw(bursts(network, most=6)))
    anywhere = micros(-60 * 86400 * S, 30 * 86400 * S).map(lambda d: T0 + d)
    if not history:
        return network, history, draw(anywhere)
    soon_after = pace.map(lambda d: history[-1].at + d)
    return network, history, draw(st.one_of(soon_after, soon_after, anywhere))


def last_run(past: Sequence[PastAttempt]) -> list[PastAttempt]:
    """The declines since the last success."""
    run: list[PastAttempt] = []
    for a in past:
        run = [] if a.verdict is None else [*run, a]
    return run


def in_window(t: datetime, window: timedelta, when: datetime) -> bool:
    return t - window < when <= t


def breaks(
    rules: NetworkRules, network: str, past: Sequence[PastAttempt], new: PastAttempt
) -> list[str]:
    """Every ceiling that attempting `new` after `past` (oldest first) goes through."""
    t = new.at
    declines = [a for a in past if a.verdict is not None]
    verdicts = [a.verdict for a in declines if a.verdict is not None]
    broken = []
    if any(v.retry_class is RetryClass.NEVER for v in verdicts):
        broken.append("attempted after a never-class decline")
    if network == "visa":
        if any(v.visa_category in rules.visa_never_categories for v in verdicts):
            broken.append("reattempted after a Visa category 1 decline")
        run = last_run(past)
        if run:  # `new` is a reattempt, and so is every attempt of the run after its first
            counted = 1 + sum(1 for a in run[1:] if in_window(t, rules.visa_window, a.at))
            if counted > rules.visa_max_reattempts:
                broken.append(f"{counted} Visa reattempts in 30 days")
    if network == "mastercard":
        for v in verdicts:
            advice = {r.code for r in v.readings if r.scheme == "mastercard"}
            if advice & rules.mc_never_advice_codes:
                broken.append(f"attempted after Mastercard advice {sorted(advice)}")
        last = declines[-1] if declines else None
        wait = last.verdict.retry_after_hours if last and last.verdict else None
        if last and wait and t < last.at + timedelta(hours=wait):
            broken.append("attempted before the wait Mastercard advised was over")
        if new.declined:
            counted = [*declines, new]
            day = sum(1 for a in counted if in_window(t, rules.mc_decline_window, a.at))
            same = sum(
                1
                for a in counted
                if a.amount_minor == new.amount_minor
                and in_window(t, rules.mc_same_amount_window, a.at)
            )
            if day > rules.mc_max_declines:
                broken.append(f"{day} Mastercard declines in 24 h")
            if same > rules.mc_max_same_amount_declines:
                broken.append(f"{same} Mastercard declines of one amount in 30 days")
    if network == "sepa":
        run = last_run(past)
        if run:  # `new` re-presents the debit that first failed at run[0]
            if len(run) > rules.sepa_max_representments:
                broken.append(f"re-presentment {len(run)} of a SEPA debit")
            for a in run:
                assert a.verdict is not None
                reasons = {r.code for r in a.verdict.readings if r.scheme == "sepa"}
                if not reasons or not reasons <= rules.sepa_representable:
                    broken.append(f"re-presented after SEPA return {sorted(reasons)}")
            if t - run[0].at >= rules.sepa_refund_exposure:
                broken.append("re-presented 56 days or more after the first failure")
    return broken


def before(history: Sequence[PastAttempt], t: datetime) -> list[PastAttempt]:
    return [a for a in history if a.at < t]


def label(verdict: Verdict) -> str:
    if isinstance(verdict, Allowed):
        return "allowed"
    return f"{verdict.rule}{'' if verdict.until is None else ' (until a time)'}"


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Rules the generated histories seldom reach, checked on every run all the same.
REFUND_WINDOW = ("sepa", [declined(T0, SEPA_NO_FUNDS)], T0 + 56 * DAY)
SAME_AMOUNT = ("mastercard", spread_declines(35), T0 + 18 * DAY)


@PROPERTY
@given(
    scenario=scenarios(),
    rules=st.sampled_from(RULE_SETS),
    amount=st.sampled_from(AMOUNTS),
    outcome=soft_verdicts("any"),
)
@example(scenario=REFUND_WINDOW, rules=RULES, amount=AMOUNT, outcome=SEPA_NO_FUNDS)
@example(scenario=SAME_AMOUNT, rules=RULES, amount=AMOUNT, outcome=INSUFFICIENT_FUNDS)
def test_an_allowed_attempt_never_takes_the_card_over_a_ceiling(scenario, rules, amount, outcome):
    network, history, at = scenario

    verdict = check_retry(rules, network, history, at, amount)
    event(label(verdict))
    broken = breaks(rules, network, before(history, at), PastAttempt(at, amount, outcome))

    if isinstance(verdict, Allowed):
        assert broken == []
    else:  # nor does the guard forbid what no rule forbids
        assert broken, f"forbidden by {verdict.rule} though no ceiling would be broken"


def run_policy(rules: NetworkRules, network: str, steps: Steps) -> list[PastAttempt]:
    """Propose each step's attempt in turn; make only those the guard allows."""
    made: list[PastAttempt] = []
    refused = set()
    for proposal in attempts_from(T0, steps):
        verdict = check_retry(rules, network, made, proposal.at, proposal.amount_minor)
        if isinstance(verdict, Allowed):
            made.append(proposal)
        else:
            refused.add(label(verdict))
    for rule in refused:
        event(f"{network}: refused by {rule}")
    return made


def assert_within_ceilings(rules: NetworkRules, network: str, history: list[PastAttempt]):
    for i, attempt in enumerate(history):
        broken = breaks(rules, network, history[:i], attempt)
        assert broken == [], f"attempt {i} at {attempt.at.isoformat()}: {broken}"


@st.composite
def policies(draw: st.DrawFn, same_instant: bool = False) -> tuple[str, Steps]:
    network = draw(st.sampled_from(NETWORKS))
    return network, draw(bursts(network, most=8, same_instant=same_instant))


@PROPERTY
@given(policy=policies(), rules=st.sampled_from(RULE_SETS))
def test_a_policy_that_only_makes_allowed_attempts_stays_within_every_ceiling(policy, rules):
    network, steps = policy

    made = run_policy(rules, network, steps)

    assert_within_ceilings(rules, network, made)


# A policy may propose two attempts for one instant (two plans overlapping, a retry due at
# the very moment of the failure, a frozen clock). check_retry counts only attempts strictly
# before `at`, so the attempt just made at that instant is not seen: the next one is allowed
# whatever the first said, even after a lost card. Minimal example below; see the report.
LOST_CARD_THEN_SAME_INSTANT = (
    "amex",
    [(timedelta(0), AMOUNT, LOST_CARD), (timedelta(0), AMOUNT, None)],
)


@PROPERTY
@given(policy=policies(same_instant=True), rules=st.sampled_from(RULE_SETS))
@example(policy=LOST_CARD_THEN_SAME_INSTANT, rules=RULES)
def test_a_policy_proposing_several_attempts_for_one_instant_stays_within_every_ceiling(
    policy, rules
):
    network, steps = policy

    assert_within_ceilings(rules, network, run_policy(rules, network, steps))


@PROPERTY
@given(scenario=scenarios(), rules=st.sampled_from(RULE_SETS), amount=st.sampled_from(AMOUNTS))
@example(scenario=SAME_AMOUNT, rules=RULES, amount=AMOUNT)
def test_until_is_the_first_instant_the_rule_allows_again(scenario, rules, amount):
    network, history, at = scenario
    past = before(history, at)  # attempts after `at` would change the answer at `until`

    verdict = check_retry(rules, network, past, at, amount)
    event(label(verdict))
    if not isinstance(verdict, Forbidden) or verdict.until is None:
        return

    assert verdict.until > at
    just_before = check_retry(rules, network, past, verdict.until - MICRO, amount)
    assert isinstance(just_before, Forbidden)
    assert just_before.rule == verdict.rule
    then = check_retry(rules, network, past, verdict.until, amount)
    # Allowed there, unless a rule checked after this one still forbids.
    assert isinstance(then, Allowed) or then.rule != verdict.rule


# check_retry subtracts its windows from `at` as given: written in a zone with daylight
# saving time, `at - 30 days` is wall-clock arithmetic and the window gains or loses an hour
# across a DST change. Minimal example below (spring forward in Paris); see the report.
SPRING_AT = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
SPRING_RUN = [
    declined(datetime(2026, 3, 16, 7, 30, tzinfo=UTC)),
    *[declined(datetime(2026, 3, 16, 8, 30, tzinfo=UTC) + i * HOUR) for i in range(15)],
]
PARIS = ZoneInfo("Europe/Paris")
ZONES = [PARIS, ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")]


@PROPERTY
@given(scenario=scenarios(), amount=st.sampled_from(AMOUNTS), zone=st.sampled_from(ZONES))
@example(scenario=("visa", SPRING_RUN, SPRING_AT), amount=AMOUNT, zone=PARIS)
def test_the_verdict_does_not_depend_on_the_zone_the_times_are_written_in(scenario, amount, zone):
    network, history, at = scenario
    written_elsewhere = [
        PastAttempt(a.at.astimezone(zone), a.amount_minor, a.verdict) for a in history
    ]

    in_utc = check_retry(RULES, network, history, at, amount)
    elsewhere = check_retry(RULES, network, written_elsewhere, at.astimezone(zone), amount)

    assert label(elsewhere) == label(in_utc)
    if isinstance(in_utc, Forbidden) and isinstance(elsewhere, Forbidden):
        assert (elsewhere.rule, elsewhere.until) == (in_utc.rule, in_utc.until)
