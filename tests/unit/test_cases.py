"""The dunning case: what a new case plans, and what it decides as things happen."""

from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from relance import data
from relance.data import decline_catalogue
from relance.domain import cases
from relance.domain.attempts import RawCodes
from relance.domain.cases import (
    ALL_KINDS,
    ActionKind,
    CancelPending,
    CaseStatus,
    DunningCase,
    ExhaustAt,
    RetryAt,
    Send,
    Stop,
    decide_after_failure,
    decide_after_payment,
    decide_exhaustion,
    finish,
    may_act,
    move_case,
)
from relance.domain.declines import DeclineVerdict, RetryClass
from relance.domain.errors import Conflict
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.policy import (
    DunningPolicy,
    MessageStep,
    QuietHours,
    StartingTone,
    StepKind,
    Tone,
    parse_policy,
)
from relance.domain.respect import SendingRules

classify = decline_catalogue().classify
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)  # 14:00 in Paris: outside quiet hours
DAY = timedelta(days=1)


@cache
def default_policy() -> DunningPolicy:
    return parse_policy(data.read_text("policies/default.toml"))


def policy(
    *,
    retry_days: tuple[int, ...] = (1, 3, 5, 8),
    technical_minutes: int = 60,
    reminder_days: tuple[int, ...] = (0,),
    quiet: tuple[time, time] = (time(21), time(8)),
    sunday_quiet: bool = False,
    exhaust_day: int = 15,
) -> DunningPolicy:
    """Quiet hours alone by default (Sundays are tested on their own)."""
    return DunningPolicy(
        name="test",
        version=3,
        retry_days=retry_days,
        technical_retry_minutes=technical_minutes,
        steps=tuple(
            MessageStep(
                f"day_{d}",
                StepKind.FOLLOW_UP if d else StepKind.FAILED_PAYMENT,
                d,
                Tone.FRIENDLY,
                ("email",),
            )
            for d in reminder_days
        ),
        segments={},
        sending=SendingRules(
            quiet_hours=QuietHours(*quiet),
            quiet_weekdays=frozenset({6}) if sunday_quiet else frozenset(),
        ),
        starting_tone=StartingTone(),
        exhaust_day=exhaust_day,
    )


def plan_case(v: DeclineVerdict, p: DunningPolicy, tz: str, now: datetime) -> list:
    return cases.plan_case(v, p, p.steps, tz, None, now)


def verdict(**codes: str) -> DeclineVerdict:
    return classify(RawCodes(**codes))


def retries(plan):
    return [d for d in plan if isinstance(d, RetryAt)]


def sends(plan):
    return [d for d in plan if isinstance(d, Send)]


def cancels(plan):
    return [d for d in plan if isinstance(d, CancelPending)]


def exhausts(plan):
    return [d for d in plan if isinstance(d, ExhaustAt)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def case(status: CaseStatus = CaseStatus.ACTIVE) -> DunningCase:
    return DunningCase(
        id="case_1",
        invoice_id="inv_1",
        status=status,
        opened_at=NOW,
        policy_version=1,
        reason="insufficient_funds",
        retry_class=RetryClass.LATER,
    )


def invoice() -> Invoice:
    return Invoice.issue(
        id="inv_1",
        customer_id="cus_1",
        number="F-42",
        amount=Money(10_000, "EUR"),
        issued_at=NOW - 30 * DAY,
        due_at=NOW - DAY,
    )


# -- a case that may be retried ------------------------------------------------------------


def test_a_soft_decline_is_retried_four_times_on_days_one_three_five_and_eight():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), "UTC", NOW)

    assert [(r.number, r.due_at) for r in retries(plan)] == [
        (1, NOW + 1 * DAY),
        (2, NOW + 3 * DAY),
        (3, NOW + 5 * DAY),
        (4, NOW + 8 * DAY),
    ]


def test_each_retry_explains_its_place_the_reason_and_the_policy():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), "UTC", NOW)

    first, second = retries(plan)[:2]
    assert first.why == (
        "Retry 1 of 4, 1 day after the failure: insufficient_funds "
        "(decline_code=insufficient_funds) is usually temporary (policy 'default' v1)."
    )
    assert second.why.startswith("Retry 2 of 4, 3 days after the failure: insufficient_funds")


def test_a_soft_decline_cancels_nothing():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), "UTC", NOW)

    assert cancels(plan) == []


def test_an_unknown_decline_is_retried_and_says_the_reason_is_unknown():
    plan = plan_case(verdict(), default_policy(), "UTC", NOW)

    assert len(retries(plan)) == 4
    assert "unknown (no code given)" in retries(plan)[0].why


def test_messages_after_a_failure_go_on_the_days_and_channels_the_policy_sets():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), PARIS.key, NOW)

    assert [(s.step, s.channels, s.due_at) for s in sends(plan)] == [
        ("payment_failed", ("email",), NOW),
        ("follow_up_1", ("email",), NOW + 3 * DAY),
        ("follow_up_2", ("email", "sms"), NOW + 7 * DAY),
        ("final_notice", ("email", "sms"), NOW + 12 * DAY),
    ]


def test_steps_before_the_due_date_or_about_cards_are_not_part_of_a_case():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), PARIS.key, NOW)

    steps = {s.step for s in sends(plan)}
    assert not steps & {"before_due", "card_expiring_30", "card_expiring_7", "receipt"}


def test_a_message_due_on_a_sunday_waits_for_monday_morning():
    sunday = utc(2025, 1, 19, 13, 0)

    (send,) = sends(plan_case(verdict(), policy(sunday_quiet=True), PARIS.key, sunday))

    assert paris(send.due_at) == datetime(2025, 1, 20, 8, 0, tzinfo=PARIS)
    assert "Sunday" in send.why


def test_each_reminder_explains_its_step_tone_channel_and_day():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), PARIS.key, NOW)

    whys = [s.why for s in sends(plan)]
    assert whys[0] == "Message 'payment_failed' (failed_payment, friendly) by email at once."
    assert whys[2] == "Message 'follow_up_2' (follow_up, neutral) by email and sms on day 7."


def test_the_case_is_exhausted_on_day_fifteen_as_its_last_decision():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), "UTC", NOW)

    assert exhausts(plan) == [plan[-1]]
    assert plan[-1].due_at == NOW + 15 * DAY
    assert "still unpaid on day 15" in plan[-1].why


# -- a case that must not be retried -------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "explanation"),
    [
        (
            {"decline_code": "lost_card"},
            "No automatic retry: lost_or_stolen (decline_code=lost_card) must never be retried.",
        ),
        (
            {"decline_code": "expired_card"},
            "No automatic retry: expired_card (decline_code=expired_card) "
            "can only succeed once the payment details are updated.",
        ),
        (
            {"decline_code": "authentication_required"},
            "No automatic retry: authentication_required (decline_code=authentication_required) "
            "needs the customer to act (authenticate or update).",
        ),
        (
            {"decline_code": "insufficient_funds", "network_advice_code": "03"},
            "No automatic retry: do_not_honor (network_advice_code=03) must never be retried.",
        ),
    ],
)
def test_a_decline_that_forbids_retries_plans_none_and_says_why(codes, explanation):
    plan = plan_case(verdict(**codes), default_policy(), "UTC", NOW)

    assert retries(plan) == []
    assert cancels(plan) == [CancelPending(frozenset({ActionKind.RETRY}), explanation)]


def test_a_lost_card_is_never_retried():
    plan = plan_case(verdict(decline_code="lost_card"), default_policy(), "UTC", NOW)

    assert not any(isinstance(d, RetryAt) for d in plan)


def test_a_case_without_retries_still_reminds_the_customer_and_is_exhausted_in_time():
    plan = plan_case(verdict(decline_code="expired_card"), default_policy(), "UTC", NOW)

    assert len(sends(plan)) == 4
    assert [e.due_at for e in exhausts(plan)] == [NOW + 15 * DAY]


# -- technical failures --------------------------------------------------------------------


def test_a_technical_failure_is_retried_within_hours_with_backoff_before_the_schedule():
    plan = plan_case(verdict(decline_code="processing_error"), default_policy(), "UTC", NOW)

    assert [(r.number, r.due_at) for r in retries(plan)] == [
        (0, NOW + timedelta(minutes=60)),
        (0, NOW + timedelta(minutes=180)),
        (0, NOW + timedelta(minutes=540)),
        (1, NOW + 1 * DAY),
        (2, NOW + 3 * DAY),
        (3, NOW + 5 * DAY),
        (4, NOW + 8 * DAY),
    ]


def test_the_soon_retry_explains_it_is_technical():
    plan = plan_case(verdict(network_response_code="91"), default_policy(), "UTC", NOW)

    assert retries(plan)[0].why == (
        "Technical failure issuer_unavailable (network_response_code=91): "
        "quick retry 1 of 3, 60 minutes after the failure."
    )


def test_the_technical_retry_waits_as_long_as_the_policy_says():
    plan = plan_case(
        verdict(decline_code="processing_error"), policy(technical_minutes=15), "UTC", NOW
    )

    assert retries(plan)[0].due_at == NOW + timedelta(minutes=15)


def test_a_soft_decline_gets_no_technical_retry():
    plan = plan_case(verdict(decline_code="insufficient_funds"), default_policy(), "UTC", NOW)

    assert 0 not in [r.number for r in retries(plan)]


def test_a_technical_failure_under_a_policy_without_retries_gets_only_the_quick_retries():
    plan = plan_case(verdict(decline_code="processing_error"), policy(retry_days=()), "UTC", NOW)

    assert [r.number for r in retries(plan)] == [0, 0, 0]
    assert len({r.tag for r in retries(plan)}) == 3  # three distinct actions


# -- quiet hours ---------------------------------------------------------------------------


def test_a_reminder_due_late_in_the_evening_waits_for_eight_the_next_morning():
    now = utc(2025, 1, 15, 22, 30)  # 23:30 in Paris

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.due_at == utc(2025, 1, 16, 7, 0)
    assert paris(send.due_at) == datetime(2025, 1, 16, 8, 0, tzinfo=PARIS)


def test_a_reminder_due_in_the_small_hours_waits_for_eight_the_same_morning():
    now = utc(2025, 1, 15, 2, 0)  # 03:00 in Paris

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.due_at == utc(2025, 1, 15, 7, 0)


def test_a_reminder_due_in_the_afternoon_is_sent_as_planned():
    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, NOW))  # 14:00 in Paris

    assert send.due_at == NOW
    assert "moved" not in send.why


def test_a_moved_reminder_says_when_it_will_go_and_why():
    now = utc(2025, 1, 15, 22, 30)

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.why == (
        "Message 'day_0' (failed_payment, friendly) by email at once, moved to "
        "2025-01-16 08:00 Europe/Paris: quiet hours in Europe/Paris (21:00–08:00)."  # noqa: RUF001
    )


def test_a_reminder_due_as_quiet_hours_begin_is_moved():
    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, utc(2025, 1, 15, 20, 0)))

    assert send.due_at == utc(2025, 1, 16, 7, 0)


def test_a_reminder_due_as_quiet_hours_end_is_sent_at_once():
    now = utc(2025, 1, 15, 7, 0)  # 08:00 in Paris

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.due_at == now


def test_quiet_hours_are_read_in_the_customer_s_own_time_zone():
    now = utc(2025, 1, 16, 4, 30)  # 05:30 in Paris, 23:30 the evening before in New York

    (send,) = sends(plan_case(verdict(), policy(), "America/New_York", now))

    assert send.due_at == utc(2025, 1, 16, 13, 0)  # 08:00 in New York


def test_daytime_quiet_hours_push_a_reminder_to_their_end_the_same_day():
    quiet = (time(12), time(14))

    (send,) = sends(plan_case(verdict(), policy(quiet=quiet), PARIS.key, utc(2025, 1, 15, 12)))

    assert send.due_at == utc(2025, 1, 15, 13, 0)  # 14:00 in Paris


def test_quiet_hours_never_move_retries_or_exhaustion():
    now = utc(2025, 1, 15, 22, 30)  # 23:30 in Paris

    plan = plan_case(verdict(decline_code="insufficient_funds"), policy(), PARIS.key, now)

    assert [r.due_at for r in retries(plan)] == [now + d * DAY for d in (1, 3, 5, 8)]
    assert exhausts(plan)[0].due_at == now + 15 * DAY


def test_a_moved_reminder_never_lands_inside_quiet_hours_whose_end_has_seconds():
    quiet = QuietHours(time(21), time(8, 0, 30))
    now = utc(2025, 1, 15, 7, 0, 10)  # 08:00:10 in Paris, still quiet

    (send,) = sends(plan_case(verdict(), policy(quiet=(quiet.start, quiet.end)), PARIS.key, now))

    assert not quiet.contains(paris(send.due_at).time())
    assert send.due_at == utc(2025, 1, 15, 7, 0, 30)


# -- daylight saving time in Paris ---------------------------------------------------------


def test_a_reminder_moved_across_the_spring_change_goes_at_eight_summer_time():
    now = utc(2025, 3, 29, 22, 30)  # 23:30 CET; clocks go forward at 02:00 on 30 March

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.due_at == utc(2025, 3, 30, 6, 0)
    assert paris(send.due_at).time() == time(8, 0)


def test_reminders_planned_before_the_spring_change_still_go_at_eight_local_after_it():
    now = utc(2025, 3, 26, 22, 30)  # 23:30 CET, four days before the change

    plan = plan_case(verdict(), policy(reminder_days=(0, 3, 7, 12)), PARIS.key, now)

    assert [s.due_at for s in sends(plan)] == [
        utc(2025, 3, 27, 7, 0),  # 08:00 CET
        utc(2025, 3, 30, 6, 0),  # 08:00 CEST, the morning of the change
        utc(2025, 4, 3, 6, 0),  # 08:00 CEST
        utc(2025, 4, 8, 6, 0),  # 08:00 CEST
    ]
    assert {paris(s.due_at).time() for s in sends(plan)} == {time(8, 0)}


def test_a_reminder_moved_across_the_autumn_change_goes_at_eight_winter_time():
    now = utc(2025, 10, 25, 21, 30)  # 23:30 CEST; clocks go back at 03:00 on 26 October

    (send,) = sends(plan_case(verdict(), policy(), PARIS.key, now))

    assert send.due_at == utc(2025, 10, 26, 7, 0)
    assert paris(send.due_at).time() == time(8, 0)


def test_the_same_utc_hour_is_moved_to_a_different_utc_hour_either_side_of_the_autumn_change():
    now = utc(2025, 10, 22, 5, 30)  # 07:30 CEST; a week later 05:30 UTC is 06:30 CET

    plan = plan_case(verdict(), policy(reminder_days=(0, 7)), PARIS.key, now)

    assert [s.due_at for s in sends(plan)] == [utc(2025, 10, 22, 6, 0), utc(2025, 10, 29, 7, 0)]


# -- after the plan ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "advice"),
    [
        ({"decline_code": "stolen_card"}, "must never be retried"),
        ({"network_response_code": "54"}, "payment details are updated"),
        ({"decline_code": "authentication_required"}, "needs the customer to act"),
    ],
)
def test_a_new_failure_that_forbids_retries_cancels_the_pending_ones(codes, advice):
    (decision,) = decide_after_failure(case(), verdict(**codes))

    assert isinstance(decision, CancelPending)
    assert decision.kinds == frozenset({ActionKind.RETRY})
    assert advice in decision.why


@pytest.mark.parametrize("code", ["insufficient_funds", "processing_error"])
def test_a_new_failure_that_allows_retries_changes_nothing(code):
    assert decide_after_failure(case(), verdict(decline_code=code)) == []


@pytest.mark.parametrize("status", [CaseStatus.PAUSED, CaseStatus.CLOSED, CaseStatus.RECOVERED])
def test_a_new_failure_on_a_case_that_is_not_active_changes_nothing(status):
    assert decide_after_failure(case(status), verdict(decline_code="lost_card")) == []


def test_a_partial_payment_changes_nothing():
    assert decide_after_payment(invoice().apply_payment(Money(9_999, "EUR"))) == []


def test_a_payment_that_settles_the_invoice_cancels_everything_and_recovers_the_case():
    decisions = decide_after_payment(invoice().apply_payment(Money(10_000, "EUR")))

    why = "Invoice F-42 is paid in full."
    assert decisions == [CancelPending(ALL_KINDS, why), Stop(CaseStatus.RECOVERED, why)]


def test_cancelling_everything_means_retries_reminders_and_exhaustion():
    assert frozenset({ActionKind.RETRY, ActionKind.REMINDER, ActionKind.EXHAUST}) == ALL_KINDS


def test_an_overpayment_also_recovers_the_case():
    decisions = decide_after_payment(invoice().apply_payment(Money(15_000, "EUR")))

    assert Stop(CaseStatus.RECOVERED, "Invoice F-42 is paid in full.") in decisions


def test_an_active_case_with_an_unpaid_invoice_is_exhausted():
    decisions = decide_exhaustion(case(), invoice())

    why = "Every planned step ran and invoice F-42 is still unpaid."
    assert decisions == [CancelPending(ALL_KINDS, why), Stop(CaseStatus.EXHAUSTED, why)]


def test_a_partly_paid_invoice_is_still_exhausted():
    decisions = decide_exhaustion(case(), invoice().apply_payment(Money(1, "EUR")))

    assert decisions[-1].status is CaseStatus.EXHAUSTED


def test_a_case_whose_invoice_is_paid_is_not_exhausted():
    assert decide_exhaustion(case(), invoice().apply_payment(Money(10_000, "EUR"))) == []


@pytest.mark.parametrize(
    "status",
    [CaseStatus.PAUSED, CaseStatus.CLOSED, CaseStatus.RECOVERED, CaseStatus.EXHAUSTED],
)
def test_a_case_that_is_not_active_is_not_exhausted(status):
    assert decide_exhaustion(case(status), invoice()) == []


def test_an_active_case_with_an_unpaid_invoice_may_act():
    assert may_act(case(), invoice()) is None


@pytest.mark.parametrize(
    "status",
    [CaseStatus.PAUSED, CaseStatus.CLOSED, CaseStatus.RECOVERED, CaseStatus.EXHAUSTED],
)
def test_a_case_that_is_not_active_may_not_act_and_says_its_status(status):
    assert may_act(case(status), invoice()) == f"The case is {status}."


def test_a_case_whose_invoice_is_paid_may_not_act():
    paid = invoice().apply_payment(Money(10_000, "EUR"))

    assert may_act(case(), paid) == "Invoice F-42 is already paid."


# -- manual transitions --------------------------------------------------------------------


def test_an_active_case_can_be_paused_and_resumed():
    later = NOW + DAY

    paused = move_case(case(), CaseStatus.PAUSED, NOW)
    resumed = move_case(paused, CaseStatus.ACTIVE, later)

    assert (paused.status, paused.closed_at) == (CaseStatus.PAUSED, None)
    assert (resumed.status, resumed.closed_at) == (CaseStatus.ACTIVE, None)


@pytest.mark.parametrize("status", [CaseStatus.ACTIVE, CaseStatus.PAUSED])
def test_an_active_or_paused_case_can_be_closed_and_records_when(status):
    closed = move_case(case(status), CaseStatus.CLOSED, NOW + DAY)

    assert closed.status is CaseStatus.CLOSED
    assert closed.closed_at == NOW + DAY


def test_moving_a_case_leaves_the_original_untouched():
    original = case()

    move_case(original, CaseStatus.PAUSED, NOW)

    assert original.status is CaseStatus.ACTIVE


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (CaseStatus.ACTIVE, CaseStatus.ACTIVE),
        (CaseStatus.PAUSED, CaseStatus.PAUSED),
        (CaseStatus.CLOSED, CaseStatus.ACTIVE),
        (CaseStatus.CLOSED, CaseStatus.PAUSED),
        (CaseStatus.CLOSED, CaseStatus.CLOSED),
        (CaseStatus.RECOVERED, CaseStatus.ACTIVE),
        (CaseStatus.RECOVERED, CaseStatus.CLOSED),
        (CaseStatus.EXHAUSTED, CaseStatus.ACTIVE),
        (CaseStatus.EXHAUSTED, CaseStatus.PAUSED),
        (CaseStatus.EXHAUSTED, CaseStatus.CLOSED),
        (CaseStatus.ACTIVE, CaseStatus.RECOVERED),
        (CaseStatus.ACTIVE, CaseStatus.EXHAUSTED),
    ],
)
def test_a_transition_that_makes_no_sense_is_a_conflict(start, to):
    with pytest.raises(Conflict, match=f"A {start} case cannot become {to}."):
        move_case(case(start), to, NOW)


@pytest.mark.parametrize("status", [CaseStatus.RECOVERED, CaseStatus.EXHAUSTED])
def test_finishing_a_case_records_its_outcome_and_when(status):
    finished = finish(case(), Stop(status, "why"), NOW + 2 * DAY)

    assert finished.status is status
    assert finished.closed_at == NOW + 2 * DAY
