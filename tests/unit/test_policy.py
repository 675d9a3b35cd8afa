"""Dunning policies: the shipped default, and every way a policy document can be wrong."""

from datetime import time

import pytest

from relance import data
from relance.domain.errors import InvalidInput, InvalidPolicy
from relance.domain.policy import MAX_RETRIES, QuietHours, ReminderStep, Tone, parse_policy

STEPS = (("first", 0, "friendly"), ("second", 3, "firm"), ("last", 12, "final"))


def render(
    *,
    policy: str | None = 'name = "house"\nversion = 2',
    retries: str | None = "days_after_failure = [1, 3, 5, 8]",
    reminders: str | None = 'quiet_hours = { start = "21:00", end = "08:00" }',
    steps: tuple = STEPS,
    exhaustion: str | None = "day = 15",
) -> str:
    """A policy document; pass None to leave a section out."""
    parts = []
    if policy is not None:
        parts.append(f"[policy]\n{policy}")
    if retries is not None:
        parts.append(f"[retries]\n{retries}")
    if reminders is not None:
        parts.append(f"[reminders]\n{reminders}")
        parts.extend(
            f'[[reminders.steps]]\nkey = "{key}"\nday = {day}\ntone = "{tone}"'
            for key, day, tone in steps
        )
    if exhaustion is not None:
        parts.append(f"[exhaustion]\n{exhaustion}")
    return "\n\n".join(parts) + "\n"


# -- the shipped default -------------------------------------------------------------------


def test_the_shipped_default_policy_retries_on_days_one_three_five_and_eight():
    policy = parse_policy(data.read_text("policies/default.toml"))

    assert policy.name == "default"
    assert policy.version == 1
    assert policy.retry_days == (1, 3, 5, 8)
    assert policy.technical_retry_minutes == 60
    assert policy.exhaust_day == 15


def test_the_shipped_default_policy_sends_four_reminders_growing_firmer():
    policy = parse_policy(data.read_text("policies/default.toml"))

    assert policy.reminders == (
        ReminderStep("first_notice", 0, Tone.FRIENDLY, "email"),
        ReminderStep("second_notice", 3, Tone.FRIENDLY, "email"),
        ReminderStep("third_notice", 7, Tone.FIRM, "email"),
        ReminderStep("final_notice", 12, Tone.FINAL, "email"),
    )


def test_the_shipped_default_policy_is_quiet_from_nine_in_the_evening_to_eight_in_the_morning():
    policy = parse_policy(data.read_text("policies/default.toml"))

    assert policy.quiet_hours == QuietHours(time(21, 0), time(8, 0))


# -- a valid custom policy -----------------------------------------------------------------


def test_a_custom_policy_is_read_as_written():
    policy = parse_policy(render())

    assert policy.name == "house"
    assert policy.version == 2
    assert policy.retry_days == (1, 3, 5, 8)
    assert [(s.key, s.day, s.tone) for s in policy.reminders] == [
        ("first", 0, Tone.FRIENDLY),
        ("second", 3, Tone.FIRM),
        ("last", 12, Tone.FINAL),
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


def test_quiet_hours_may_be_written_as_toml_times():
    text = render(reminders="quiet_hours = { start = 22:30:00, end = 07:15:00 }")

    assert parse_policy(text).quiet_hours == QuietHours(time(22, 30), time(7, 15))


def test_an_invalid_policy_is_a_kind_of_invalid_input():
    assert issubclass(InvalidPolicy, InvalidInput)


# -- every way to be wrong -----------------------------------------------------------------


def test_a_document_that_is_not_toml_is_refused():
    with pytest.raises(InvalidPolicy, match="not valid TOML"):
        parse_policy("[policy\nversion = ")


@pytest.mark.parametrize("section", ["policy", "retries", "reminders", "exhaustion"])
def test_a_policy_missing_a_section_is_refused_and_names_it(section):
    with pytest.raises(InvalidPolicy, match=f"missing '{section}'"):
        parse_policy(render(**{section: None}))


def test_a_section_that_is_not_a_table_is_refused():
    text = 'retries = "daily"\n' + render(retries=None)

    with pytest.raises(InvalidPolicy, match="'retries' in \\[retries\\] must be a dict"):
        parse_policy(text)


def test_a_policy_without_a_version_is_refused():
    with pytest.raises(InvalidPolicy, match="missing 'version'"):
        parse_policy(render(policy='name = "x"'))


@pytest.mark.parametrize("version", ['"1"', "1.0", "true"])
def test_a_version_that_is_not_a_whole_number_is_refused(version):
    with pytest.raises(InvalidPolicy, match="'version' in \\[policy\\] must be a int"):
        parse_policy(render(policy=f"version = {version}"))


@pytest.mark.parametrize("version", [0, -1])
def test_a_version_below_one_is_refused(version):
    with pytest.raises(InvalidPolicy, match="version must be 1 or more"):
        parse_policy(render(policy=f"version = {version}"))


def test_retry_days_must_be_a_list():
    with pytest.raises(InvalidPolicy, match="days_after_failure"):
        parse_policy(render(retries="days_after_failure = 3"))


@pytest.mark.parametrize("days", ["[1, 3, 3]", "[3, 1]", "[1, 5, 4, 8]"])
def test_retry_days_that_do_not_strictly_increase_are_refused(days):
    with pytest.raises(InvalidPolicy, match="strictly increasing"):
        parse_policy(render(retries=f"days_after_failure = {days}"))


@pytest.mark.parametrize("days", ["[1, -2]", "[1.5]", '["1"]', "[true]"])
def test_retry_days_that_are_not_whole_days_are_refused(days):
    with pytest.raises(InvalidPolicy, match="whole numbers of days"):
        parse_policy(render(retries=f"days_after_failure = {days}"))


def test_a_first_retry_on_the_day_of_the_failure_is_refused():
    with pytest.raises(InvalidPolicy, match="at least one day"):
        parse_policy(render(retries="days_after_failure = [0, 3]"))


def test_more_retries_than_the_maximum_are_refused():
    days = list(range(1, MAX_RETRIES + 2))
    text = render(retries=f"days_after_failure = {days}", exhaustion="day = 30")

    with pytest.raises(InvalidPolicy, match=f"at most {MAX_RETRIES} retries"):
        parse_policy(text)


@pytest.mark.parametrize("minutes", ["0", "1441", "-5", "1.5", '"60"'])
def test_a_technical_retry_delay_outside_a_day_is_refused(minutes):
    text = render(retries=f"days_after_failure = [1]\ntechnical_retry_minutes = {minutes}")

    with pytest.raises(InvalidPolicy, match="technical_retry_minutes"):
        parse_policy(text)


def test_a_technical_retry_delay_given_as_a_boolean_is_refused():
    text = render(retries="days_after_failure = [1]\ntechnical_retry_minutes = true")

    with pytest.raises(InvalidPolicy, match="technical_retry_minutes"):
        parse_policy(text)


def test_reminder_steps_must_be_a_list():
    text = render(reminders='quiet_hours = { start = "21:00", end = "08:00" }\nsteps = 3', steps=())

    with pytest.raises(InvalidPolicy, match="'steps'"):
        parse_policy(text)


def test_a_reminder_step_that_is_not_a_table_is_refused():
    text = render(
        reminders='quiet_hours = { start = "21:00", end = "08:00" }\nsteps = [1, 2]', steps=()
    )

    with pytest.raises(InvalidPolicy, match="must be a table"):
        parse_policy(text)


@pytest.mark.parametrize("missing", ["key", "day", "tone"])
def test_a_reminder_step_missing_a_field_is_refused(missing):
    fields = {"key": 'key = "first"', "day": "day = 0", "tone": 'tone = "friendly"'}
    del fields[missing]
    text = render(steps=()) + "[[reminders.steps]]\n" + "\n".join(fields.values()) + "\n"

    with pytest.raises(InvalidPolicy, match=f"missing '{missing}'"):
        parse_policy(text)


@pytest.mark.parametrize("tone", ["shouty", "Friendly", ""])
def test_a_reminder_in_an_unknown_tone_is_refused(tone):
    with pytest.raises(InvalidPolicy, match=f"Tone '{tone}' is not one of"):
        parse_policy(render(steps=(("first", 0, tone),)))


def test_a_reminder_on_a_channel_that_does_not_exist_yet_is_refused():
    text = render(steps=()) + '[[reminders.steps]]\nkey = "a"\nday = 0\ntone = "firm"\n'
    text += 'channel = "sms"\n'

    with pytest.raises(InvalidPolicy, match="Channel 'sms' is not available"):
        parse_policy(text)


def test_reminder_days_that_do_not_strictly_increase_are_refused():
    steps = (("a", 3, "friendly"), ("b", 3, "firm"))

    with pytest.raises(InvalidPolicy, match=r"reminders\.steps.*strictly increasing"):
        parse_policy(render(steps=steps))


def test_a_reminder_on_a_negative_day_is_refused():
    with pytest.raises(InvalidPolicy, match="zero or more"):
        parse_policy(render(steps=(("early", -1, "friendly"),)))


def test_two_reminder_steps_with_the_same_key_are_refused():
    steps = (("notice", 0, "friendly"), ("notice", 3, "firm"))

    with pytest.raises(InvalidPolicy, match="keys must be unique"):
        parse_policy(render(steps=steps))


def test_exhaustion_on_the_day_of_the_last_reminder_is_refused():
    steps = (("a", 0, "friendly"), ("b", 20, "final"))

    with pytest.raises(InvalidPolicy, match=r"Exhaustion \(day 20\).*\(day 20\)"):
        parse_policy(render(steps=steps, exhaustion="day = 20"))


def test_exhaustion_before_the_last_retry_is_refused():
    text = render(retries="days_after_failure = [1, 10]", steps=(), exhaustion="day = 9")
    text = text.replace('end = "08:00" }', 'end = "08:00" }\nsteps = []')

    with pytest.raises(InvalidPolicy, match=r"Exhaustion \(day 9\).*last retry.*\(day 10\)"):
        parse_policy(text)


def test_exhaustion_on_the_day_of_the_failure_is_refused_even_with_no_steps():
    text = render(retries="days_after_failure = []", steps=(), exhaustion="day = 0")
    text = text.replace('end = "08:00" }', 'end = "08:00" }\nsteps = []')

    with pytest.raises(InvalidPolicy, match="Exhaustion"):
        parse_policy(text)


def test_an_exhaustion_day_that_is_not_a_whole_number_is_refused():
    with pytest.raises(InvalidPolicy, match="'day' in \\[exhaustion\\]"):
        parse_policy(render(exhaustion='day = "15"'))


def test_a_policy_without_quiet_hours_is_refused():
    with pytest.raises(InvalidPolicy, match="missing 'quiet_hours'"):
        parse_policy(render(reminders=""))


@pytest.mark.parametrize(
    ("quiet", "which"),
    [
        ('{ start = "9pm", end = "08:00" }', "start"),
        ('{ start = "21:00", end = "25:00" }', "end"),
        ('{ end = "08:00" }', "start"),
        ('{ start = "21:00" }', "end"),
        ('{ start = "21:00", end = "" }', "end"),
    ],
)
def test_quiet_hours_that_are_not_times_of_day_are_refused(quiet, which):
    with pytest.raises(InvalidPolicy, match=f"quiet_hours.{which} must be a local time of day"):
        parse_policy(render(reminders=f"quiet_hours = {quiet}"))


def test_quiet_hours_with_a_utc_offset_are_refused():
    with pytest.raises(InvalidPolicy, match="quiet_hours"):
        parse_policy(render(reminders='quiet_hours = { start = "21:00+01:00", end = "08:00" }'))


# -- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59, 59), True),
        (time(8, 0), False),
        (time(14, 0), False),
        (time(20, 59, 59), False),
    ],
)
def test_overnight_quiet_hours_cover_the_night_and_end_at_their_end(local, quiet):
    assert QuietHours(time(21), time(8)).contains(local) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [(time(11, 59), False), (time(12, 0), True), (time(13, 59), True), (time(14, 0), False)],
)
def test_daytime_quiet_hours_cover_only_the_hours_between(local, quiet):
    assert QuietHours(time(12), time(14)).contains(local) is quiet
