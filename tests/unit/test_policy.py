"""Dunning policies: the shipped default, message sequences, segments, tones, the first format
still read, and every way a policy document can be wrong."""

import json
from datetime import time, timedelta
from decimal import Decimal

import pytest

from relance import data
from relance.domain.arrangements import PaymentPageRules
from relance.domain.errors import InvalidInput, InvalidPolicy
from relance.domain.policy import (
    CHANNELS,
    MAX_RETRIES,
    Anchor,
    MessageStep,
    QuietHours,
    SendingRules,
    StartingTone,
    StepKind,
    Tone,
    firmer,
    parse_policy,
)

FRIENDLY, NEUTRAL, FIRM = Tone.FRIENDLY, Tone.NEUTRAL, Tone.FIRM
EMAIL, EMAIL_SMS = ("email",), ("email", "sms")


def toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def tables(header: str, steps: list[dict]) -> str:
    return "\n".join(
        f"[[{header}]]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in s.items()) for s in steps
    )


def step(key: str, kind: str, tone: str = "friendly", channels=("email",), **place) -> dict:
    return {"key": key, "kind": kind, "tone": tone, "channels": list(channels), **place}


FAILED = step("payment_failed", "failed_payment", day=0)
FOLLOW = step("follow_up_1", "follow_up", "neutral", day=3)
FINAL = step("final_notice", "final_notice", "firm", ("email", "sms"), day=12)
STEPS = [FAILED, FOLLOW, FINAL]


def render(
    *,
    policy: str | None = 'name = "house"\nversion = 2',
    retries: str | None = "days_after_failure = [1, 3, 5, 8]",
    messages: str | None = "",
    steps: list[dict] = STEPS,
    extra: str = "",
    exhaustion: str | None = "day = 15",
) -> str:
    """A policy document in the current format; pass None to leave a section out."""
    parts = []
    if policy is not None:
        parts.append(f"[policy]\n{policy}")
    if retries is not None:
        parts.append(f"[retries]\n{retries}")
    if messages is not None:
        parts.append(f"[messages]\n{messages}")
        parts.append(tables("messages.steps", steps) if steps else "")
    parts.append(extra)
    if exhaustion is not None:
        parts.append(f"[exhaustion]\n{exhaustion}")
    return "\n\n".join(parts) + "\n"


def refused(text: str, match: str) -> None:
    with pytest.raises(InvalidPolicy, match=match):
        parse_policy(text)


# -- the shipped default -------------------------------------------------------------------


@pytest.fixture(scope="module")
def default():
    return parse_policy(data.read_text("policies/default.toml"))


def test_the_shipped_default_policy_retries_on_days_one_three_five_and_eight(default):
    assert default.name == "default"
    assert default.version == 1
    assert default.retry_days == (1, 3, 5, 8)
    assert default.technical_retry_minutes == 60
    assert default.exhaust_day == 15


def test_the_shipped_default_sequence_warns_reminds_grows_firmer_and_confirms(default):
    assert default.steps == (
        MessageStep("before_due", StepKind.PRE_DUE, 3, FRIENDLY, EMAIL),
        MessageStep("payment_failed", StepKind.FAILED_PAYMENT, 0, FRIENDLY, EMAIL),
        MessageStep("follow_up_1", StepKind.FOLLOW_UP, 3, NEUTRAL, EMAIL),
        MessageStep("follow_up_2", StepKind.FOLLOW_UP, 7, NEUTRAL, EMAIL_SMS),
        MessageStep("final_notice", StepKind.FINAL_NOTICE, 12, FIRM, EMAIL_SMS),
        MessageStep("card_expiring_30", StepKind.CARD_EXPIRING, 30, FRIENDLY, EMAIL),
        MessageStep("card_expiring_7", StepKind.CARD_EXPIRING, 7, FRIENDLY, EMAIL_SMS),
        MessageStep("receipt", StepKind.RECEIPT, 0, FRIENDLY, EMAIL),
        MessageStep("resolved", StepKind.RESOLVED, 0, FRIENDLY, EMAIL),
        MessageStep("arrangement_confirmed", StepKind.ARRANGEMENT, 0, FRIENDLY, EMAIL),
    )
    assert default.segments == {}


def test_the_shipped_default_sends_nothing_at_night_on_sundays_or_holidays_and_rarely(default):
    assert default.sending == SendingRules(
        quiet_hours=QuietHours(time(21, 0), time(8, 30)),
        quiet_weekdays=frozenset({6}),
        public_holidays=True,
        max_per_window=2,
        window=timedelta(days=7),
        min_gap=timedelta(hours=48),
    )
    assert default.sending == SendingRules()


def test_the_shipped_default_starts_friendly_and_less_gently_for_repeat_customers(default):
    assert default.starting_tone == StartingTone(first_time=FRIENDLY, repeat=NEUTRAL)


def test_each_step_of_the_default_uses_the_template_family_of_its_kind(default):
    assert [s.template for s in default.steps] == [s.kind.value for s in default.steps]


# -- steps: anchors, transactional kinds, templates ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "anchor"),
    [
        (StepKind.PRE_DUE, Anchor.DUE_DATE),
        (StepKind.FAILED_PAYMENT, Anchor.FAILURE),
        (StepKind.FOLLOW_UP, Anchor.FAILURE),
        (StepKind.FINAL_NOTICE, Anchor.FAILURE),
        (StepKind.CARD_EXPIRING, Anchor.CARD_EXPIRY),
        (StepKind.RECEIPT, Anchor.EVENT),
        (StepKind.RESOLVED, Anchor.EVENT),
        (StepKind.ARRANGEMENT, Anchor.EVENT),
    ],
)
def test_each_kind_of_step_counts_its_days_from_its_own_anchor(kind, anchor):
    assert MessageStep("a", kind, 0, FRIENDLY, EMAIL).anchor is anchor


def test_only_final_notices_receipts_resolutions_and_arrangements_are_transactional():
    transactional = {k for k in StepKind if MessageStep("a", k, 0, FRIENDLY, EMAIL).transactional}

    assert transactional == {
        StepKind.FINAL_NOTICE,
        StepKind.RECEIPT,
        StepKind.RESOLVED,
        StepKind.ARRANGEMENT,
    }


def test_an_arrangement_step_is_sent_when_the_customer_makes_one_with_no_day():
    policy = parse_policy(render(steps=[FAILED, step("agreed", "arrangement")]))

    assert policy.steps[1] == MessageStep("agreed", StepKind.ARRANGEMENT, 0, FRIENDLY, EMAIL)
    assert policy.steps[1].template == "arrangement"


def test_a_step_may_name_its_own_template_family():
    text = render(steps=[{**FAILED, "template": "gentle_failure"}])

    assert parse_policy(text).steps[0].template == "gentle_failure"


def test_messages_go_by_email_and_sms():
    assert CHANNELS == ("email", "sms")


# -- sending rules from [messages] -----------------------------------------------------------


def test_sending_rules_left_out_of_messages_take_the_defaults():
    policy = parse_policy(render(messages=""))

    assert policy.sending == SendingRules()
    assert policy.starting_tone == StartingTone()


def test_sending_rules_are_read_as_written():
    messages = (
        'quiet_hours = { start = "20:00", end = "09:00" }\n'
        'quiet_days = ["saturday", "sunday"]\n'
        "max_per_7_days = 3\nmin_gap_hours = 24\n"
        'starting_tone = { first_time = "neutral", repeat = "firm" }'
    )
    policy = parse_policy(render(messages=messages))

    assert policy.sending == SendingRules(
        quiet_hours=QuietHours(time(20), time(9)),
        quiet_weekdays=frozenset({5, 6}),
        public_holidays=False,
        max_per_window=3,
        window=timedelta(days=7),
        min_gap=timedelta(hours=24),
    )
    assert policy.starting_tone == StartingTone(first_time=NEUTRAL, repeat=FIRM)


def test_a_merchant_may_send_on_every_day_including_holidays():
    policy = parse_policy(render(messages="quiet_days = []"))

    assert policy.sending.quiet_weekdays == frozenset()
    assert policy.sending.public_holidays is False


def test_quiet_hours_may_be_written_as_toml_times():
    text = render(messages="quiet_hours = { start = 22:30:00, end = 07:15:00 }")

    assert parse_policy(text).sending.quiet_hours == QuietHours(time(22, 30), time(7, 15))


def test_no_gap_between_messages_may_be_required():
    assert parse_policy(render(messages="min_gap_hours = 0")).sending.min_gap == timedelta(0)


# -- tones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "firmest"),
    [
        (FRIENDLY, NEUTRAL, NEUTRAL),
        (NEUTRAL, FRIENDLY, NEUTRAL),
        (NEUTRAL, FIRM, FIRM),
        (FIRM, FRIENDLY, FIRM),
        (FRIENDLY, FRIENDLY, FRIENDLY),
    ],
)
def test_tones_escalate_from_friendly_to_neutral_to_firm(a, b, firmest):
    assert firmer(a, b) is firmest


@pytest.mark.parametrize(
    ("step_tone", "repeat", "tone"),
    [
        (FRIENDLY, False, FRIENDLY),
        (FRIENDLY, True, NEUTRAL),
        (NEUTRAL, False, NEUTRAL),
        (NEUTRAL, True, NEUTRAL),
        (FIRM, False, FIRM),
        (FIRM, True, FIRM),
    ],
)
def test_a_repeat_customer_starts_less_gently_but_a_firm_step_stays_firm(
    default, step_tone, repeat, tone
):
    step = MessageStep("a", StepKind.FOLLOW_UP, 3, step_tone, EMAIL)

    assert default.tone_for(step, repeat_customer=repeat) is tone


def test_the_starting_tone_comes_from_the_policy():
    text = render(messages='starting_tone = { first_time = "firm" }')
    policy = parse_policy(text)

    assert policy.starting_tone == StartingTone(first_time=FIRM, repeat=NEUTRAL)
    assert policy.tone_for(policy.steps[0], repeat_customer=False) is FIRM


# -- segments --------------------------------------------------------------------------------

VIP = [
    step("payment_failed", "failed_payment", "neutral", day=1),
    step("vip_call", "follow_up", "neutral", ("email", "sms"), day=5),
]


@pytest.fixture
def segmented():
    extra = tables("segments.vip.steps", VIP) + "\n" + tables("segments.no-sms.steps", [FAILED])
    return parse_policy(render(extra=extra))


def test_a_segment_has_its_own_whole_sequence(segmented):
    assert [s.key for s in segmented.steps_for("vip")] == ["payment_failed", "vip_call"]
    assert [s.key for s in segmented.steps_for("no-sms")] == ["payment_failed"]
    assert list(segmented.segments) == ["vip", "no-sms"]


def test_customers_outside_any_listed_segment_get_the_default_sequence(segmented):
    assert segmented.steps_for(None) == segmented.steps
    assert segmented.steps_for("unknown") == segmented.steps
    assert [s.key for s in segmented.steps] == ["payment_failed", "follow_up_1", "final_notice"]


def test_a_step_is_found_by_key_in_the_default_sequence_or_any_segment(segmented):
    assert segmented.find_step("follow_up_1") == segmented.steps[1]
    assert segmented.find_step("vip_call") == segmented.segments["vip"][1]
    assert segmented.find_step("nothing") is None


def test_a_key_used_in_two_sequences_is_found_in_the_customers_segment_first(segmented):
    assert segmented.find_step("payment_failed").offset_days == 0
    assert segmented.find_step("payment_failed", segment="vip").offset_days == 1


def test_an_empty_segment_sends_nothing_to_its_customers():
    policy = parse_policy(render(extra="[segments.quiet]\nsteps = []"))

    assert policy.steps_for("quiet") == ()


def test_the_segments_of_a_policy_cannot_be_changed_after_reading(segmented):
    with pytest.raises(TypeError):
        segmented.segments["new"] = ()


# -- a valid custom policy (retries and exhaustion) -----------------------------------------


def test_a_custom_policy_is_read_as_written():
    policy = parse_policy(render())

    assert policy.name == "house"
    assert policy.version == 2
    assert policy.retry_days == (1, 3, 5, 8)
    assert [(s.key, s.kind, s.offset_days, s.tone, s.channels) for s in policy.steps] == [
        ("payment_failed", StepKind.FAILED_PAYMENT, 0, FRIENDLY, EMAIL),
        ("follow_up_1", StepKind.FOLLOW_UP, 3, NEUTRAL, EMAIL),
        ("final_notice", StepKind.FINAL_NOTICE, 12, FIRM, EMAIL_SMS),
    ]
    assert policy.exhaust_day == 15


def test_a_policy_without_a_name_is_called_unnamed():
    assert parse_policy(render(policy="version = 1")).name == "unnamed"


def test_technical_retries_wait_an_hour_unless_the_policy_says_otherwise():
    assert parse_policy(render()).technical_retry_minutes == 60


def test_a_policy_may_choose_how_soon_a_technical_failure_is_retried():
    text = render(retries="days_after_failure = [1]\ntechnical_retry_minutes = 15")

    assert parse_policy(text).technical_retry_minutes == 15


def test_a_policy_may_schedule_no_retries_at_all():
    assert parse_policy(render(retries="days_after_failure = []")).retry_days == ()


def test_a_policy_may_schedule_exactly_the_maximum_number_of_retries():
    days = list(range(1, MAX_RETRIES + 1))
    text = render(retries=f"days_after_failure = {days}", exhaustion="day = 30")

    assert len(parse_policy(text).retry_days) == MAX_RETRIES


def test_steps_before_the_due_date_or_the_card_expiry_do_not_delay_exhaustion():
    steps = [FAILED, step("early", "pre_due", days_before_due=20)]
    steps.append(step("card", "card_expiring", days_before_expiry=60))

    assert parse_policy(render(steps=steps, exhaustion="day = 9")).exhaust_day == 9


def test_an_invalid_policy_is_a_kind_of_invalid_input():
    assert issubclass(InvalidPolicy, InvalidInput)


# -- every way to be wrong: the document -----------------------------------------------------


def test_a_document_that_is_not_toml_is_refused():
    refused("[policy\nversion = ", "not valid TOML")


@pytest.mark.parametrize("section", ["policy", "retries", "messages", "exhaustion"])
def test_a_policy_missing_a_section_is_refused_and_names_it(section):
    refused(render(**{section: None}), f"missing '{section}'")


def test_a_section_that_is_not_a_table_is_refused():
    refused(
        'retries = "daily"\n' + render(retries=None), r"'retries' in \[retries\] must be a dict"
    )


def test_a_policy_with_both_formats_at_once_is_refused():
    refused(render(extra='[reminders]\nquiet_hours = { start = "21:00", end = "08:00" }'), "both")


def test_an_unknown_table_is_refused_and_named():
    refused(render(extra="[mesages]\nmax_per_7_days = 1"), "unknown table: 'mesages'")


def test_an_unknown_field_in_messages_is_refused_and_named():
    refused(
        render(messages="max_per_week = 1"), r"\[messages\] has an unknown field: 'max_per_week'"
    )


def test_a_policy_without_a_version_is_refused():
    refused(render(policy='name = "x"'), "missing 'version'")


@pytest.mark.parametrize("version", ['"1"', "1.0", "true"])
def test_a_version_that_is_not_a_whole_number_is_refused(version):
    refused(render(policy=f"version = {version}"), r"'version' in \[policy\] must be a int")


@pytest.mark.parametrize("version", [0, -1])
def test_a_version_below_one_is_refused(version):
    refused(render(policy=f"version = {version}"), "version must be 1 or more")


# -- every way to be wrong: retries and exhaustion -------------------------------------------


def test_retry_days_must_be_a_list():
    refused(render(retries="days_after_failure = 3"), "days_after_failure")


@pytest.mark.parametrize("days", ["[1, 3, 3]", "[3, 1]", "[1, 5, 4, 8]"])
def test_retry_days_that_do_not_strictly_increase_are_refused(days):
    refused(render(retries=f"days_after_failure = {days}"), "strictly increasing")


@pytest.mark.parametrize("days", ["[1, -2]", "[1.5]", '["1"]', "[true]"])
def test_retry_days_that_are_not_whole_days_are_refused(days):
    refused(render(retries=f"days_after_failure = {days}"), "whole numbers of days")


def test_a_first_retry_on_the_day_of_the_failure_is_refused():
    refused(render(retries="days_after_failure = [0, 3]"), "at least one day")


def test_more_retries_than_the_maximum_are_refused():
    days = list(range(1, MAX_RETRIES + 2))
    text = render(retries=f"days_after_failure = {days}", exhaustion="day = 30")

    refused(text, f"at most {MAX_RETRIES} retries")


@pytest.mark.parametrize("minutes", ["0", "1441", "-5", "1.5", '"60"', "true"])
def test_a_technical_retry_delay_outside_a_day_is_refused(minutes):
    refused(
        render(retries=f"days_after_failure = [1]\ntechnical_retry_minutes = {minutes}"),
        "technical_retry_minutes",
    )


def test_exhaustion_on_the_day_of_the_last_failure_message_is_refused():
    steps = [FAILED, {**FINAL, "day": 20}]

    refused(render(steps=steps, exhaustion="day = 20"), r"Exhaustion \(day 20\).*\(day 20\)")


def test_exhaustion_before_the_last_retry_is_refused():
    text = render(retries="days_after_failure = [1, 10]", steps=[FAILED], exhaustion="day = 9")

    refused(text, r"Exhaustion \(day 9\).*last retry.*\(day 10\)")


def test_exhaustion_before_the_last_failure_message_of_a_segment_is_refused():
    late = [step("late", "final_notice", "firm", day=16)]

    refused(render(extra=tables("segments.vip.steps", late)), "segment 'vip' \\(day 16\\)")


def test_exhaustion_on_the_day_of_the_failure_is_refused_even_with_no_steps():
    text = render(retries="days_after_failure = []", steps=[], exhaustion="day = 0")

    refused(text.replace("[messages]\n", "[messages]\nsteps = []"), "Exhaustion")


def test_an_exhaustion_day_that_is_not_a_whole_number_is_refused():
    refused(render(exhaustion='day = "15"'), r"'day' in \[exhaustion\]")


# -- every way to be wrong: sending rules ----------------------------------------------------


@pytest.mark.parametrize("value", ["0", "15", '"2"', "true", "1.5"])
def test_a_weekly_cap_outside_one_to_fourteen_is_refused(value):
    refused(render(messages=f"max_per_7_days = {value}"), "'max_per_7_days'.*from 1 to 14")


@pytest.mark.parametrize("value", ["-1", "169", "1.5", '"48"'])
def test_a_gap_between_messages_outside_a_week_is_refused(value):
    refused(render(messages=f"min_gap_hours = {value}"), "'min_gap_hours'.*from 0 to 168")


@pytest.mark.parametrize("day", ["sundays", "Sunday", "holidays", "7"])
def test_an_unknown_quiet_day_is_refused_and_named(day):
    refused(render(messages=f"quiet_days = [{json.dumps(day)}]"), f"Quiet day '{day}'")


def test_quiet_days_must_be_a_list():
    refused(render(messages='quiet_days = "sunday"'), "'quiet_days'.*must be a list")


def test_a_week_where_every_day_is_quiet_is_refused():
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    refused(render(messages=f"quiet_days = {toml(days)}"), "Every day of the week is quiet")


@pytest.mark.parametrize(
    ("quiet", "which"),
    [
        ('{ start = "9pm", end = "08:00" }', "start"),
        ('{ start = "21:00", end = "25:00" }', "end"),
        ('{ end = "08:00" }', "start"),
        ('{ start = "21:00" }', "end"),
        ('{ start = "21:00", end = "" }', "end"),
        ('{ start = "21:00+01:00", end = "08:00" }', "start"),
        ('{ start = "21:00:30", end = "08:00" }', "start"),
    ],
)
def test_quiet_hours_that_are_not_local_times_of_day_are_refused(quiet, which):
    refused(render(messages=f"quiet_hours = {quiet}"), f"quiet_hours.{which} must be a local time")


def test_quiet_hours_that_are_not_a_table_are_refused():
    refused(render(messages='quiet_hours = "21:00-08:00"'), "quiet_hours must be a table")


@pytest.mark.parametrize(
    ("starting", "match"),
    [
        ('{ first_time = "gentle" }', "has tone 'gentle'"),
        ('{ repeat = "final" }', "has tone 'final'"),
        ('{ second_time = "firm" }', "unknown field: 'second_time'"),
        ('"friendly"', "'starting_tone'.*must be a table"),
    ],
)
def test_a_starting_tone_that_is_not_two_known_tones_is_refused(starting, match):
    refused(render(messages=f"starting_tone = {starting}"), match)


# -- every way to be wrong: steps ------------------------------------------------------------


def test_steps_must_be_a_list():
    refused(render(messages="steps = 3", steps=[]), r"'steps' in \[messages\] must be a list")


def test_a_step_that_is_not_a_table_is_refused():
    refused(render(messages="steps = [1, 2]", steps=[]), "must be a table")


@pytest.mark.parametrize("missing", ["kind", "tone", "channels", "day"])
def test_a_step_missing_a_field_is_refused_and_named(missing):
    incomplete = {k: v for k, v in FOLLOW.items() if k != missing}

    refused(render(steps=[FAILED, incomplete]), f"Step 'follow_up_1'.* is missing '{missing}'")


def test_a_step_without_a_key_is_refused():
    refused(render(steps=[{k: v for k, v in FAILED.items() if k != "key"}]), "missing 'key'")


@pytest.mark.parametrize("key", ["Payment", "follow-up", "", "a" * 41, "relance ça"])
def test_a_step_key_that_is_not_plain_lower_case_is_refused(key):
    refused(render(steps=[{**FAILED, "key": key}]), f"Step key '{key}'.* lower-case")


def test_a_step_key_of_forty_characters_is_accepted():
    assert parse_policy(render(steps=[{**FAILED, "key": "a" * 40}])).steps[0].key == "a" * 40


def test_a_misspelt_step_field_is_refused_rather_than_ignored():
    text = render(steps=[FAILED, {**FOLLOW, "chanels": ["sms"]}])

    refused(text, "Step 'follow_up_1'.*unknown field: 'chanels'")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": "reminder"}, "kind 'reminder', which is not one of pre_due, failed_payment"),
        ({"tone": "shouty"}, "tone 'shouty', which is not one of friendly, neutral, firm"),
        ({"tone": "final"}, "tone 'final'"),
        ({"channels": ["email", "fax"]}, "channel 'fax', not one of email, sms"),
        ({"channels": ["sms", "sms"]}, "channel 'sms' twice"),
        ({"channels": []}, "at least one channel"),
        ({"channels": "email"}, "'channels' must be a list"),
        ({"template": "Follow Up"}, "'template' must name a template family"),
        ({"day": -1}, "'day' must be a whole number, 0 or more"),
        ({"day": 1.5}, "'day' must be a whole number"),
        ({"day": "3"}, "'day' must be a whole number"),
        ({"day": True}, "'day' must be a whole number"),
        ({"kind": 3}, "'kind' must be a text"),
    ],
)
def test_a_step_with_a_wrong_field_is_refused_and_named(change, match):
    refused(render(steps=[FAILED, {**FOLLOW, **change}]), f"Step 'follow_up_1'.*{match}")


@pytest.mark.parametrize(
    ("kind", "given", "wanted"),
    [
        ("failed_payment", "days_before_due", "day"),
        ("follow_up", "days_before_expiry", "day"),
        ("pre_due", "day", "days_before_due"),
        ("pre_due", "days_before_expiry", "days_before_due"),
        ("card_expiring", "days_before_due", "days_before_expiry"),
    ],
)
def test_a_step_placed_by_the_field_of_another_anchor_is_refused(kind, given, wanted):
    text = render(steps=[step("misplaced", kind, **{given: 3, wanted: 3})])

    refused(text, f"Step 'misplaced'.* is a {kind} step, placed by '{wanted}': remove '{given}'")


@pytest.mark.parametrize("kind", ["receipt", "resolved", "arrangement"])
@pytest.mark.parametrize("field", ["day", "days_before_due"])
def test_a_receipt_resolution_or_arrangement_with_a_day_is_refused(kind, field):
    text = render(steps=[step("done", kind, **{field: 0})])

    refused(text, f"Step 'done'.* is a {kind} step, sent when its event happens: remove '{field}'")


@pytest.mark.parametrize(
    ("kind", "field"), [("pre_due", "days_before_due"), ("card_expiring", "days_before_expiry")]
)
def test_a_step_before_the_due_date_or_expiry_must_be_at_least_a_day_before(kind, field):
    refused(render(steps=[step("early", kind, **{field: 0})]), f"'{field}' must be .* 1 or more")


@pytest.mark.parametrize("days", [(0, 3, 3), (0, 5, 3)])
def test_failure_message_days_that_do_not_strictly_increase_are_refused(days):
    steps = [step(f"s{i}", "follow_up", day=d) for i, d in enumerate(days)]

    refused(render(steps=steps), r"Step 's2' \(day 3\).*after step 's1'.*strictly increasing")


def test_steps_of_other_anchors_do_not_take_part_in_the_failure_day_order():
    steps = [FAILED, step("early", "pre_due", days_before_due=5), FOLLOW]

    assert len(parse_policy(render(steps=steps)).steps) == 3


def test_two_steps_with_the_same_key_are_refused():
    refused(
        render(steps=[FAILED, {**FOLLOW, "key": "payment_failed"}]),
        "'payment_failed' appears twice",
    )


@pytest.mark.parametrize("kind", ["receipt", "resolved", "arrangement"])
def test_a_sequence_with_two_receipts_resolutions_or_arrangements_is_refused(kind):
    steps = [FAILED, step("one", kind), step("two", kind)]

    refused(render(steps=steps), f"more than one '{kind}' step")


# -- every way to be wrong: segments ---------------------------------------------------------


@pytest.mark.parametrize("name", ["VIP", "très", "a" * 41, "two words"])
def test_a_segment_with_an_unusable_name_is_refused(name):
    extra = tables(f"segments.{json.dumps(name)}.steps", [FAILED])

    refused(render(extra=extra), f"Segment name '{name}'")


def test_a_segment_that_is_not_a_table_is_refused():
    refused(render(extra='[segments]\nvip = "gold"'), r"\[segments.vip\] must be a table")


def test_segments_that_are_not_a_table_are_refused():
    refused('segments = "vip"\n' + render(), r"\[segments\] must be a table")


def test_a_segment_without_steps_is_refused():
    refused(render(extra="[segments.vip]\n"), r"missing 'steps' in \[segments.vip\]")


def test_a_segment_with_an_unknown_field_is_refused():
    refused(render(extra="[segments.vip]\nsteps = []\nquiet_days = []"), "unknown field")


def test_a_mistake_in_a_segment_step_names_the_segment():
    text = render(extra=tables("segments.vip.steps", [{**FAILED, "tone": "warm"}]))

    refused(text, r"Step 'payment_failed' in \[\[segments.vip.steps\]\] has tone 'warm'")


def test_each_segment_is_checked_as_a_whole_sequence():
    steps = [step("twice", "follow_up", day=3), step("twice", "follow_up", day=5)]

    refused(render(extra=tables("segments.vip.steps", steps)), r"twice.*segments.vip.steps")


# -- [payment_page] -----------------------------------------------------------------------------


def page_rules(body: str) -> PaymentPageRules:
    return parse_policy(render(extra=f"[payment_page]\n{body}")).payment_page


def test_the_shipped_default_payment_page_offers_plans_promises_and_transfers(default):
    assert default.payment_page == PaymentPageRules(
        plans=True,
        plan_max_instalments=4,
        plan_min_instalment=Decimal("10"),
        plan_refused_after_broken_months=12,
        promise_window_days=14,
        transfer_grace_days=5,
        card_attempts_per_hour=5,
    )


def test_a_policy_without_a_payment_page_section_takes_the_defaults():
    assert parse_policy(render()).payment_page == PaymentPageRules()


def test_the_payment_page_rules_are_read_as_written_and_the_rest_defaulted():
    rules = page_rules(
        "plans = false\nplan_max_instalments = 12\nplan_min_instalment = 25.5\n"
        "plan_refused_after_broken_months = 0\npromise_window_days = 60\n"
        "transfer_grace_days = 30"
    )

    assert rules == PaymentPageRules(
        plans=False,
        plan_max_instalments=12,
        plan_min_instalment=Decimal("25.5"),
        plan_refused_after_broken_months=0,
        promise_window_days=60,
        transfer_grace_days=30,
        card_attempts_per_hour=5,
    )


@pytest.mark.parametrize(
    ("written", "amount"),
    [("10", "10"), ("0.1", "0.1"), ('"12.50"', "12.50"), ("0", "0"), ("1000000", "1000000")],
)
def test_the_minimum_instalment_is_read_exactly_as_written(written, amount):
    # Read through its text: 0.1 stays 0.1, never 0.1000000000000000055511151231257827.
    rules = page_rules(f"plan_min_instalment = {written}")

    assert rules.plan_min_instalment == Decimal(amount)
    assert str(rules.plan_min_instalment) == amount


def test_a_first_format_policy_may_have_a_payment_page_section():
    rules = parse_policy(V1_DEFAULT + "\n[payment_page]\npromise_window_days = 7\n").payment_page

    assert rules == PaymentPageRules(promise_window_days=7)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("plan_max_instalments = 1", r"'plan_max_instalments' in \[payment_page\].* from 2 to 12"),
        ("plan_max_instalments = 13", "'plan_max_instalments'.* from 2 to 12"),
        ("plan_max_instalments = 4.0", "'plan_max_instalments'.* whole number"),
        ('plan_max_instalments = "4"', "'plan_max_instalments'.* whole number"),
        ("plan_refused_after_broken_months = -1", "'plan_refused_after_broken_months'.* 0 to"),
        ("promise_window_days = 0", "'promise_window_days'.* from 1 to 60"),
        ("promise_window_days = 61", "'promise_window_days'.* from 1 to 60"),
        ("transfer_grace_days = 0", "'transfer_grace_days'.* from 1 to 30"),
        ("transfer_grace_days = 31", "'transfer_grace_days'.* from 1 to 30"),
        ("card_attempts_per_hour = 0", "'card_attempts_per_hour'.* from 1 to 50"),
        ("card_attempts_per_hour = true", "'card_attempts_per_hour'.* whole number"),
        ("plans = 1", r"'plans' in \[payment_page\] must be true or false"),
        ('plans = "yes"', "'plans'.* true or false"),
        ("plan_min_instalment = -1", "'plan_min_instalment'.* amount from 0 to 1000000"),
        ("plan_min_instalment = 1000000.01", "'plan_min_instalment'.* amount"),
        ('plan_min_instalment = "ten"', "'plan_min_instalment'.* amount"),
        ('plan_min_instalment = "NaN"', "'plan_min_instalment'.* amount"),
        ("plan_min_instalment = inf", "'plan_min_instalment'.* amount"),
        ("plan_min_instalment = true", "'plan_min_instalment'.* amount"),
        (
            "plan_min_instalments = 10",
            r"\[payment_page\] has an unknown field: 'plan_min_instalments'",
        ),
    ],
)
def test_a_payment_page_rule_out_of_its_range_is_refused_and_named(body, match):
    refused(render(extra=f"[payment_page]\n{body}"), match)


def test_a_payment_page_section_that_is_not_a_table_is_refused():
    refused('payment_page = "on"\n' + render(), r"\[payment_page\] must be a table")


# -- the first format, [reminders], still read --------------------------------------------

V1_DEFAULT = """
[policy]
name = "default"
version = 1

[retries]
days_after_failure = [1, 3, 5, 8]
technical_retry_minutes = 60

[reminders]
quiet_hours = { start = "21:00", end = "08:00" }

[[reminders.steps]]
key = "first_notice"
day = 0
tone = "friendly"

[[reminders.steps]]
key = "second_notice"
day = 3
tone = "friendly"

[[reminders.steps]]
key = "third_notice"
day = 7
tone = "firm"
channel = "email"

[[reminders.steps]]
key = "final_notice"
day = 12
tone = "final"

[exhaustion]
day = 15
"""


def v1(steps: str, quiet: str = 'quiet_hours = { start = "21:00", end = "08:00" }') -> str:
    head = V1_DEFAULT[: V1_DEFAULT.index("[[reminders.steps]]")]
    head = head.replace('quiet_hours = { start = "21:00", end = "08:00" }', quiet)
    return head + steps + "\n[exhaustion]\nday = 15\n"


def test_a_stored_first_format_policy_still_reads_as_a_failure_sequence():
    policy = parse_policy(V1_DEFAULT)

    assert policy.steps == (
        MessageStep("first_notice", StepKind.FAILED_PAYMENT, 0, FRIENDLY, EMAIL),
        MessageStep("second_notice", StepKind.FOLLOW_UP, 3, FRIENDLY, EMAIL),
        MessageStep("third_notice", StepKind.FOLLOW_UP, 7, FIRM, EMAIL),
        MessageStep("final_notice", StepKind.FINAL_NOTICE, 12, FIRM, EMAIL),
    )
    assert policy.segments == {}
    assert (policy.retry_days, policy.technical_retry_minutes) == ((1, 3, 5, 8), 60)
    assert policy.exhaust_day == 15


def test_a_first_format_policy_keeps_its_quiet_hours_and_takes_the_other_defaults():
    policy = parse_policy(V1_DEFAULT)

    assert policy.sending == SendingRules(quiet_hours=QuietHours(time(21), time(8)))
    assert policy.starting_tone == StartingTone()


def test_a_first_format_final_reminder_on_day_zero_is_a_firm_failure_notice():
    policy = parse_policy(v1('[[reminders.steps]]\nkey = "only"\nday = 0\ntone = "final"\n'))

    assert policy.steps == (MessageStep("only", StepKind.FAILED_PAYMENT, 0, FIRM, EMAIL),)


def test_a_first_format_key_the_current_format_would_refuse_still_loads():
    policy = parse_policy(v1('[[reminders.steps]]\nkey = "First-Notice"\nday = 0\ntone = "firm"\n'))

    assert policy.steps[0].key == "First-Notice"


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        (
            'key = "a"\nday = 0\ntone = "neutral"',
            "Tone 'neutral' is not one of friendly, firm, final",
        ),
        ('key = "a"\nday = 0\ntone = "firm"\nchannel = "sms"', "Channel 'sms' is not available"),
        ('key = "a"\nday = -1\ntone = "firm"', "zero or more"),
        ('key = "a"\ntone = "firm"', "missing 'day'"),
        ('day = 0\ntone = "firm"', "missing 'key'"),
        ('key = "a"\nday = 0', "missing 'tone'"),
    ],
)
def test_a_wrong_first_format_reminder_is_refused(steps, match):
    refused(v1("[[reminders.steps]]\n" + steps + "\n"), match)


def test_first_format_reminder_days_that_do_not_strictly_increase_are_refused():
    steps = '[[reminders.steps]]\nkey = "a"\nday = 3\ntone = "friendly"\n'
    steps += '[[reminders.steps]]\nkey = "b"\nday = 3\ntone = "firm"\n'

    refused(v1(steps), r"reminders\.steps.*strictly increasing")


def test_first_format_reminders_with_the_same_key_are_refused():
    steps = '[[reminders.steps]]\nkey = "a"\nday = 0\ntone = "friendly"\n'
    steps += '[[reminders.steps]]\nkey = "a"\nday = 3\ntone = "firm"\n'

    refused(v1(steps), "keys must be unique")


def test_a_first_format_policy_without_quiet_hours_is_refused():
    refused(v1('[[reminders.steps]]\nkey = "a"\nday = 0\ntone = "firm"\n', quiet=""), "quiet_hours")


def test_a_first_format_policy_without_steps_is_refused():
    refused(v1(""), r"missing 'steps' in \[reminders\]")


def test_a_first_format_reminder_after_exhaustion_is_refused():
    refused(v1('[[reminders.steps]]\nkey = "a"\nday = 20\ntone = "final"\n'), "Exhaustion")


# -- quiet hours (kept importable from the policy) -----------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(8, 29, 59), True),
        (time(8, 30), False),
        (time(14, 0), False),
        (time(20, 59, 59), False),
    ],
)
def test_overnight_quiet_hours_cover_the_night_and_end_at_their_end(local, quiet):
    assert QuietHours(time(21), time(8, 30)).contains(local) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [(time(11, 59), False), (time(12, 0), True), (time(13, 59), True), (time(14, 0), False)],
)
def test_daytime_quiet_hours_cover_only_the_hours_between(local, quiet):
    assert QuietHours(time(12), time(14)).contains(local) is quiet
