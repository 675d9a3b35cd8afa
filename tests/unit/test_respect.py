"""The respect guards: no message at night, on Sundays, on public holidays, too often or too
close together, on the customer's own clock, across DST changes and odd time zones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relance.domain import policy, respect
from relance.domain.errors import InvalidInput, InvalidPolicy
from relance.domain.respect import (
    QuietHours,
    SendingRules,
    SendSlot,
    is_public_holiday,
    next_send_slot,
    quiet_reason,
    supported_country,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
RULES = SendingRules()
# The same rules without quiet weekdays, to reach the DST changes, which fall on Sundays.
EVERY_DAY = SendingRules(quiet_weekdays=frozenset())
SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)
NAIVE = datetime(2026, 11, 17, 10, tzinfo=UTC).replace(tzinfo=None)

NIGHT = "quiet hours in Europe/Paris (21:00\u201308:30)"
SUNDAY = "no messages on Sunday"
CAP = "at most 2 messages per 7 days"
GAP = "at least 48 h between messages"


def paris(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=PARIS, fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def slot(
    wanted: datetime,
    rules: SendingRules = RULES,
    *,
    timezone: str = "Europe/Paris",
    country: str | None = "FR",
    sent: Sequence[datetime] = (),
) -> SendSlot:
    return next_send_slot(wanted, rules, timezone=timezone, country=country, sent=sent)


def reason(
    at: datetime, rules: SendingRules = RULES, timezone: str = "Europe/Paris", country: str = "FR"
) -> str | None:
    return quiet_reason(at, rules, timezone=timezone, country=country)


# -- the rules themselves --------------------------------------------------------------------


def test_quiet_hours_are_the_same_value_whether_read_from_the_policy_or_the_guards():
    assert policy.QuietHours is respect.QuietHours
    assert policy.SendingRules is respect.SendingRules


def test_by_default_nothing_goes_out_at_night_on_sundays_or_holidays_nor_often():
    assert SendingRules() == SendingRules(
        quiet_hours=QuietHours(time(21, 0), time(8, 30)),
        quiet_weekdays=frozenset({6}),
        public_holidays=True,
        max_per_window=2,
        window=timedelta(days=7),
        min_gap=timedelta(hours=48),
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"quiet_weekdays": frozenset(range(7))}, "Every day of the week is quiet"),
        ({"quiet_weekdays": frozenset({7})}, "numbered 0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ({"max_per_window": 0}, "At least one message"),
        ({"window": timedelta(0)}, "window must be positive"),
        ({"min_gap": -SECOND}, "gap zero or more"),
    ],
)
def test_sending_rules_that_could_never_be_met_are_refused(change, match):
    with pytest.raises(InvalidPolicy, match=match):
        SendingRules(**change)


# -- public holidays -------------------------------------------------------------------------


def test_armistice_day_and_christmas_are_public_holidays_in_france():
    assert is_public_holiday(date(2026, 11, 11), "FR") == "Armistice Day"
    assert is_public_holiday(date(2026, 12, 25), "FR") == "Christmas Day"
    assert is_public_holiday(date(2026, 11, 12), "FR") is None


def test_holidays_are_the_customers_countrys():
    assert is_public_holiday(date(2026, 11, 26), "US") == "Thanksgiving Day"
    assert is_public_holiday(date(2026, 11, 26), "FR") is None
    assert is_public_holiday(date(2026, 11, 11), "fr") == "Armistice Day"


@pytest.mark.parametrize(("code", "known"), [("FR", True), ("US", True), ("in", True)])
def test_the_countries_of_the_world_have_holiday_calendars(code, known):
    assert supported_country(code) is known


@pytest.mark.parametrize("code", ["ZZ", "FRA", "", "France"])
def test_a_country_code_relance_has_no_calendar_for_is_not_supported(code):
    assert supported_country(code) is False


def test_asking_for_the_holidays_of_an_unknown_country_is_refused():
    with pytest.raises(InvalidInput, match="no public holiday calendar for the country 'ZZ'"):
        is_public_holiday(date(2026, 1, 1), "ZZ")


# -- quiet_reason: is this instant allowed? ------------------------------------------------


@pytest.mark.parametrize(
    ("at", "why"),
    [
        (paris(2026, 11, 17, 10, 0), None),  # a Tuesday morning
        (paris(2026, 11, 17, 8, 30), None),  # the quiet hours end at 08:30 sharp
        (paris(2026, 11, 17, 20, 59, 59), None),
        (paris(2026, 11, 17, 21, 0), NIGHT),
        (paris(2026, 11, 18, 0, 15), NIGHT),  # the night wraps midnight
        (paris(2026, 11, 17, 8, 29, 59), NIGHT),
        (paris(2026, 11, 22, 12, 0), SUNDAY),
        (paris(2026, 11, 11, 10, 0), "public holiday in FR (Armistice Day)"),  # a Wednesday
        (paris(2026, 12, 25, 10, 0), "public holiday in FR (Christmas Day)"),
    ],
)
def test_an_instant_is_quiet_at_night_on_sundays_and_on_public_holidays(at, why):
    assert reason(at) == why


def test_without_a_country_public_holidays_are_not_known_and_not_quiet():
    assert (
        quiet_reason(paris(2026, 12, 25, 10), RULES, timezone="Europe/Paris", country=None) is None
    )


def test_a_merchant_may_send_on_public_holidays():
    rules = SendingRules(public_holidays=False)

    assert reason(paris(2026, 12, 25, 10), rules) is None


def test_the_day_and_the_hour_are_the_customers_not_utc():
    saturday_evening_utc = utc(2026, 11, 21, 20, 0)  # already Sunday 09:00 in Auckland

    assert reason(saturday_evening_utc, timezone="UTC", country="NZ") is None
    assert reason(saturday_evening_utc, timezone="Pacific/Auckland", country="NZ") == SUNDAY
    assert reason(utc(2026, 11, 17, 4, 0), timezone="Asia/Kolkata", country="IN") is None
    assert reason(utc(2026, 11, 17, 2, 59), timezone="Asia/Kolkata", country="IN") is not None


# -- next_send_slot: one rule at a time ------------------------------------------------------


def test_a_message_wanted_at_an_allowed_instant_goes_out_then():
    found = slot(paris(2026, 11, 17, 10, 0))

    assert found == SendSlot(paris(2026, 11, 17, 10, 0), ())
    assert not found.moved


def test_the_slot_is_given_in_the_time_zone_of_the_wanted_instant():
    wanted = utc(2026, 11, 17, 22, 0)

    assert slot(wanted).at.tzinfo is UTC
    assert slot(wanted.astimezone(NEW_YORK)).at.tzinfo is NEW_YORK


def test_a_message_wanted_late_in_the_evening_waits_for_the_next_morning():
    found = slot(paris(2026, 11, 17, 22, 0))

    assert found == SendSlot(paris(2026, 11, 18, 8, 30), (NIGHT,))
    assert found.moved


def test_a_message_wanted_after_midnight_waits_for_the_same_morning():
    assert slot(paris(2026, 11, 18, 1, 0)).at == paris(2026, 11, 18, 8, 30)


def test_a_message_wanted_on_a_sunday_waits_for_monday_morning():
    assert slot(paris(2026, 11, 22, 15, 0)) == SendSlot(paris(2026, 11, 23, 8, 30), (SUNDAY,))


def test_a_message_wanted_on_saturday_night_waits_past_sunday_and_says_both():
    found = slot(paris(2026, 11, 21, 23, 0))

    assert found == SendSlot(paris(2026, 11, 23, 8, 30), (NIGHT, SUNDAY))


def test_a_message_wanted_the_night_before_armistice_day_waits_two_nights():
    found = slot(paris(2026, 11, 10, 22, 0))

    assert found.at == paris(2026, 11, 12, 8, 30)
    assert found.reasons == (NIGHT, "public holiday in FR (Armistice Day)")


def test_a_message_due_on_christmas_goes_out_on_boxing_day_morning_in_france():
    found = slot(paris(2026, 12, 25, 9, 0))

    assert found == SendSlot(paris(2026, 12, 26, 8, 30), ("public holiday in FR (Christmas Day)",))


def test_without_a_country_christmas_is_an_ordinary_friday():
    assert not slot(paris(2026, 12, 25, 9, 0), country=None).moved


def test_daytime_quiet_hours_end_the_same_day_and_a_quiet_day_ends_at_midnight():
    rules = SendingRules(quiet_hours=QuietHours(time(12), time(14)))

    assert slot(paris(2026, 11, 17, 12, 30), rules).at == paris(2026, 11, 17, 14, 0)
    assert slot(paris(2026, 11, 22, 15, 0), rules).at == paris(2026, 11, 23, 0, 0)


def test_when_only_sunday_is_allowed_a_message_waits_the_whole_week():
    rules = SendingRules(quiet_weekdays=frozenset(range(6)))

    assert slot(paris(2026, 11, 16, 10, 0), rules).at == paris(2026, 11, 22, 8, 30)


def test_a_third_message_in_seven_days_waits_for_the_oldest_to_leave_the_window():
    sent = [paris(2026, 11, 2, 10, 0), paris(2026, 11, 4, 10, 0)]

    found = slot(paris(2026, 11, 6, 10, 0), sent=sent)

    assert found == SendSlot(paris(2026, 11, 9, 10, 0), (CAP,))


def test_a_message_exactly_seven_days_after_the_oldest_is_within_the_cap():
    sent = [paris(2026, 11, 2, 10, 0), paris(2026, 11, 4, 10, 0)]

    assert not slot(paris(2026, 11, 9, 10, 0), sent=sent).moved
    assert slot(paris(2026, 11, 9, 10, 0) - MICRO, sent=sent).at == paris(2026, 11, 9, 10, 0)


def test_a_cap_of_one_message_a_week_says_so_in_the_singular():
    rules = SendingRules(max_per_window=1, min_gap=timedelta(0))

    found = slot(paris(2026, 11, 6, 10, 0), rules, sent=[paris(2026, 11, 4, 10, 0)])

    # A week after Wednesday the 4th is Armistice Day, so the Thursday morning.
    assert found == SendSlot(
        paris(2026, 11, 12, 8, 30),
        ("at most 1 message per 7 days", "public holiday in FR (Armistice Day)"),
    )


def test_a_message_too_soon_after_the_last_waits_for_the_gap():
    found = slot(paris(2026, 11, 18, 9, 0), sent=[paris(2026, 11, 17, 10, 0)])

    assert found == SendSlot(paris(2026, 11, 19, 10, 0), (GAP,))


def test_a_message_exactly_the_gap_after_the_last_is_not_moved():
    assert not slot(paris(2026, 11, 19, 10, 0), sent=[paris(2026, 11, 17, 10, 0)]).moved


def test_a_gap_that_ends_on_a_sunday_waits_for_monday_morning():
    found = slot(paris(2026, 11, 21, 10, 0), sent=[paris(2026, 11, 20, 12, 0)])

    assert found == SendSlot(paris(2026, 11, 23, 8, 30), (GAP, SUNDAY))


def test_a_gap_in_hours_that_are_not_whole_is_said_in_minutes():
    rules = SendingRules(min_gap=timedelta(minutes=90))

    found = slot(paris(2026, 11, 17, 10, 0), rules, sent=[paris(2026, 11, 17, 9, 0)])

    assert found == SendSlot(paris(2026, 11, 17, 10, 30), ("at least 90 min between messages",))


def test_sent_messages_may_come_in_any_order():
    sent = [paris(2026, 11, 4, 10, 0), paris(2026, 11, 2, 10, 0)]

    assert slot(paris(2026, 11, 6, 10, 0), sent=sent).at == paris(2026, 11, 9, 10, 0)


def test_a_message_already_queued_for_later_counts_and_the_new_one_follows_it():
    queued = paris(2026, 11, 19, 10, 0)

    assert slot(paris(2026, 11, 17, 10, 0), sent=[queued]) == SendSlot(
        paris(2026, 11, 21, 10, 0), (GAP,)
    )
    no_gap = SendingRules(min_gap=timedelta(0))
    assert slot(paris(2026, 11, 17, 10, 0), no_gap, sent=[queued]) == SendSlot(
        queued, ("after the messages already queued",)
    )


@pytest.mark.parametrize(
    ("wanted", "sent", "match"),
    [
        (NAIVE, (), "wanted sending instant must carry a time zone"),
        (paris(2026, 11, 17, 10), (NAIVE,), "sent message's instant"),
    ],
)
def test_instants_without_a_time_zone_are_refused(wanted, sent, match):
    with pytest.raises(InvalidInput, match=match):
        slot(wanted, sent=sent)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(InvalidInput, match="'Europe/Lyon' is not an IANA time zone"):
        slot(paris(2026, 11, 17, 10), timezone="Europe/Lyon")
    with pytest.raises(InvalidInput, match="not an IANA time zone"):
        reason(paris(2026, 11, 17, 10), timezone="../etc/passwd")


def test_an_unknown_country_is_refused_even_on_an_ordinary_day():
    with pytest.raises(InvalidInput, match="country 'ZZ'"):
        slot(paris(2026, 11, 17, 10), country="ZZ")
    with pytest.raises(InvalidInput, match="country 'ZZ'"):
        reason(paris(2026, 11, 17, 10), country="ZZ")


# -- daylight saving time and odd offsets ----------------------------------------------------


# Python compares a wall time in a repeated hour with another zone's instants as unequal
# (PEP 495), and subtracts within one zone by the wall clock: these tests compare in UTC.
NO_WEEKDAYS_NIGHT_TO_02_30 = SendingRules(
    quiet_hours=QuietHours(time(21), time(2, 30)), quiet_weekdays=frozenset()
)


def in_utc(found: SendSlot) -> datetime:
    return found.at.astimezone(UTC)


def test_the_morning_after_paris_springs_forward_is_08_30_summer_time():
    found = slot(paris(2026, 3, 28, 23, 0), EVERY_DAY)

    assert in_utc(found) == utc(2026, 3, 29, 6, 30)  # 08:30 CEST, not 07:30 UTC (08:30 CET)
    assert in_utc(slot(paris(2026, 3, 28, 23, 0))) == utc(2026, 3, 30, 6, 30)  # Monday


def test_the_morning_after_paris_falls_back_is_08_30_winter_time():
    assert in_utc(slot(paris(2026, 10, 24, 23, 0), EVERY_DAY)) == utc(2026, 10, 25, 7, 30)
    assert in_utc(slot(paris(2026, 10, 24, 23, 0))) == utc(2026, 10, 26, 7, 30)


def test_quiet_hours_ending_in_the_hour_paris_skips_end_when_the_clocks_go_forward():
    found = slot(paris(2026, 3, 28, 23, 0), NO_WEEKDAYS_NIGHT_TO_02_30)

    assert in_utc(found) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST: 02:30 never happened
    assert found.at.astimezone(PARIS).time() == time(3, 0)
    assert reason(in_utc(found) - SECOND, NO_WEEKDAYS_NIGHT_TO_02_30) is not None


def test_quiet_hours_ending_in_the_hour_paris_lives_twice_end_at_the_first_02_30():
    found = slot(paris(2026, 10, 24, 23, 0), NO_WEEKDAYS_NIGHT_TO_02_30)

    assert in_utc(found) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST


def test_a_message_wanted_in_the_repeated_hour_waits_for_the_second_02_30():
    wanted = paris(2026, 10, 25, 2, 10, fold=1)  # 02:10 CET, after the clocks went back

    assert wanted.astimezone(UTC) == utc(2026, 10, 25, 1, 10)
    assert reason(wanted, NO_WEEKDAYS_NIGHT_TO_02_30) is not None
    assert in_utc(slot(wanted, NO_WEEKDAYS_NIGHT_TO_02_30)) == utc(2026, 10, 25, 1, 30)


def test_new_york_mornings_follow_its_own_dst_changes():
    ny = {"timezone": "America/New_York", "country": "US"}

    friday_night = slot(datetime(2026, 3, 6, 23, 0, tzinfo=NEW_YORK), **ny)
    saturday_night = slot(datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK), **ny)

    assert in_utc(friday_night) == utc(2026, 3, 7, 13, 30)  # Saturday 08:30 EST
    assert in_utc(saturday_night) == utc(2026, 3, 9, 12, 30)  # Monday 08:30 EDT
    assert saturday_night.reasons == ("quiet hours in America/New_York (21:00\u201308:30)", SUNDAY)


def test_new_york_quiet_hours_ending_in_its_skipped_and_its_repeated_hour():
    ny = {"timezone": "America/New_York", "country": "US"}
    to_01_30 = SendingRules(
        quiet_hours=QuietHours(time(21), time(1, 30)), quiet_weekdays=frozenset()
    )
    repeated = datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK, fold=1)  # 01:10 EST, the second

    skipped = slot(datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK), NO_WEEKDAYS_NIGHT_TO_02_30, **ny)

    assert in_utc(skipped) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert in_utc(slot(repeated, to_01_30, **ny)) == utc(2026, 11, 1, 6, 30)  # 01:30 EST


def test_kolkata_mornings_are_half_an_hour_off_the_utc_hour():
    wanted = utc(2026, 11, 17, 18, 0)  # 23:30 in Kolkata

    found = slot(wanted, timezone="Asia/Kolkata", country="IN")

    assert found.at == utc(2026, 11, 18, 3, 0)  # 08:30 IST
    assert found.at.astimezone(KOLKATA).time() == time(8, 30)


# -- properties --------------------------------------------------------------------------

ZONES = sorted(available_timezones())
COUNTRIES = [None, "FR", "US", "IN", "GB", "DE", "NZ", "JP", "BR"]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

zones = st.sampled_from(ZONES)
countries = st.sampled_from(COUNTRIES)
# Hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=utc(1995, 1, 1).replace(tzinfo=None),
    max_value=utc(2040, 1, 1).replace(tzinfo=None),
    timezones=st.just(UTC),
)
minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
rules_st = st.builds(
    SendingRules,
    quiet_hours=st.builds(QuietHours, minutes, minutes),
    quiet_weekdays=st.frozensets(st.integers(0, 6), max_size=6),
    public_holidays=st.booleans(),
    max_per_window=st.integers(1, 4),
    window=st.sampled_from([timedelta(days=7), timedelta(days=3), timedelta(hours=36)]),
    min_gap=st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=48)]),
)


def allowed(at: datetime, rules: SendingRules, zone: str, country: str | None, sent) -> bool:
    """The rules as the brief states them, checked independently of how the slot was found."""
    if quiet_reason(at, rules, timezone=zone, country=country) is not None:
        return False
    past = [s for s in sent if s <= at]
    if sum(at - rules.window < s for s in past) >= rules.max_per_window:
        return False
    return not past or at - max(past) >= rules.min_gap


@PROPERTY
@given(wanted=instants, zone=zones, country=countries, rules=rules_st)
@example(utc(2011, 12, 29, 12), "Pacific/Apia", None, RULES)  # Samoa skipped 30 Dec 2011
@example(utc(2026, 3, 28, 22), "Europe/Paris", "FR", EVERY_DAY)
@example(utc(2026, 10, 3, 14), "Australia/Lord_Howe", None, RULES)  # a half-hour DST change
def test_the_slot_is_the_first_allowed_instant_at_or_after_the_wanted_one(
    wanted, zone, country, rules
):
    found = next_send_slot(wanted, rules, timezone=zone, country=country, sent=())

    assert found.at >= wanted
    assert quiet_reason(found.at, rules, timezone=zone, country=country) is None
    assert found.moved is (found.at != wanted)
    if found.moved:
        assert not allowed(found.at - MICRO, rules, zone, country, ())
        assert len(found.reasons) == len(set(found.reasons))


@PROPERTY
@given(wanted=instants, zone=zones, country=countries, rules=rules_st)
def test_asking_again_for_the_slot_found_gives_the_same_slot(wanted, zone, country, rules):
    found = next_send_slot(wanted, rules, timezone=zone, country=country, sent=())

    again = next_send_slot(found.at, rules, timezone=zone, country=country, sent=())

    assert again == SendSlot(found.at, ())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=instants,
    delays=st.lists(st.integers(0, 5 * 24 * 60), min_size=2, max_size=12),
    zone=zones,
    country=countries,
    rules=rules_st,
)
def test_a_customer_never_gets_more_than_the_cap_nor_two_messages_too_close(
    start, delays, zone, country, rules
):
    scheduled: list[datetime] = []
    wanted = start
    for delay in delays:
        wanted += timedelta(minutes=delay)
        found = next_send_slot(wanted, rules, timezone=zone, country=country, sent=scheduled)
        assert allowed(found.at, rules, zone, country, scheduled)
        assert next_send_slot(found.at, rules, timezone=zone, country=country, sent=scheduled) == (
            SendSlot(found.at, ())
        )
        scheduled.append(found.at)

    assert scheduled == sorted(scheduled)
    for at in scheduled:
        assert sum(at - rules.window < s <= at for s in scheduled) <= rules.max_per_window
    for before, after in pairwise(scheduled):
        assert after - before >= rules.min_gap
