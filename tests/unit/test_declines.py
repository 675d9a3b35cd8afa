"""Decline classification: raw processor codes -> a reason and what may be retried."""

import pytest

from relance.data import decline_catalogue
from relance.domain.attempts import RawCodes
from relance.domain.declines import DeclineVerdict, RetryClass

classify = decline_catalogue().classify


def summary(v: DeclineVerdict) -> tuple[str, RetryClass, str]:
    return (v.reason, v.retry_class, v.decided_by)


NEVER = RetryClass.NEVER
FIX_DATA = RetryClass.FIX_DATA
CUSTOMER_ACTION = RetryClass.CUSTOMER_ACTION
LATER = RetryClass.LATER
TECHNICAL = RetryClass.TECHNICAL


@pytest.mark.parametrize(
    ("code", "reason", "retry_class"),
    [
        ("insufficient_funds", "insufficient_funds", LATER),
        ("card_velocity_exceeded", "limit_exceeded", LATER),
        ("withdrawal_count_limit_exceeded", "limit_exceeded", LATER),
        ("generic_decline", "do_not_honor", LATER),
        ("do_not_honor", "do_not_honor", LATER),
        ("call_issuer", "do_not_honor", LATER),
        ("expired_card", "expired_card", FIX_DATA),
        ("incorrect_cvc", "invalid_card_data", FIX_DATA),
        ("incorrect_number", "invalid_card_data", FIX_DATA),
        ("invalid_expiry_month", "invalid_card_data", FIX_DATA),
        ("invalid_expiry_year", "invalid_card_data", FIX_DATA),
        ("authentication_required", "authentication_required", CUSTOMER_ACTION),
        ("lost_card", "lost_or_stolen", NEVER),
        ("stolen_card", "lost_or_stolen", NEVER),
        ("pickup_card", "lost_or_stolen", NEVER),
        ("fraudulent", "suspected_fraud", NEVER),
        ("revocation_of_authorization", "revoked_authorization", NEVER),
        ("revocation_of_all_authorizations", "revoked_authorization", NEVER),
        ("stop_payment_order", "revoked_authorization", NEVER),
        ("invalid_account", "closed_account", NEVER),
        ("transaction_not_allowed", "not_permitted", NEVER),
        ("not_permitted", "not_permitted", NEVER),
        ("duplicate_transaction", "duplicate", NEVER),
        ("processing_error", "processing_error", TECHNICAL),
        ("issuer_not_available", "issuer_unavailable", TECHNICAL),
        ("try_again_later", "issuer_unavailable", TECHNICAL),
    ],
)
def test_a_stripe_decline_code_is_read_as_its_reason_and_class(code, reason, retry_class):
    verdict = classify(RawCodes(decline_code=code))

    assert summary(verdict) == (reason, retry_class, f"decline_code={code}")


@pytest.mark.parametrize(
    ("code", "reason", "retry_class"),
    [
        ("05", "do_not_honor", LATER),
        ("51", "insufficient_funds", LATER),
        ("54", "expired_card", FIX_DATA),
        ("04", "lost_or_stolen", NEVER),
        ("07", "suspected_fraud", NEVER),
        ("41", "lost_or_stolen", NEVER),
        ("43", "lost_or_stolen", NEVER),
        ("46", "closed_account", NEVER),
        ("57", "not_permitted", NEVER),
        ("R0", "revoked_authorization", NEVER),
        ("R1", "revoked_authorization", NEVER),
        ("R3", "revoked_authorization", NEVER),
        ("91", "issuer_unavailable", TECHNICAL),
        ("96", "processing_error", TECHNICAL),
    ],
)
def test_an_iso_8583_response_code_is_read_as_its_reason_and_class(code, reason, retry_class):
    verdict = classify(RawCodes(network_response_code=code))

    assert summary(verdict) == (reason, retry_class, f"network_response_code={code}")


@pytest.mark.parametrize(
    ("code", "reason", "retry_class"),
    [
        ("01", "new_account_information", FIX_DATA),
        ("03", "do_not_honor", NEVER),
        ("21", "revoked_authorization", NEVER),
    ],
)
def test_a_mastercard_advice_code_is_read_as_its_reason_and_class(code, reason, retry_class):
    verdict = classify(RawCodes(network_advice_code=code))

    assert summary(verdict) == (reason, retry_class, f"network_advice_code={code}")


@pytest.mark.parametrize(
    ("code", "reason", "retry_class"),
    [
        ("AM04", "insufficient_funds", LATER),
        ("MS03", "do_not_honor", LATER),
        ("MS02", "revoked_authorization", NEVER),
        ("MD01", "mandate_invalid", NEVER),
        ("MD06", "refund_requested", NEVER),
        ("MD07", "debtor_deceased", NEVER),
        ("AC04", "closed_account", NEVER),
        ("AC01", "invalid_bank_details", FIX_DATA),
    ],
)
def test_a_sepa_reason_code_is_read_as_its_reason_and_class(code, reason, retry_class):
    verdict = classify(RawCodes(sepa_reason_code=code))

    assert summary(verdict) == (reason, retry_class, f"sepa_reason_code={code}")


def test_a_lost_card_is_never_retried():
    verdict = classify(RawCodes(decline_code="lost_card"))

    assert verdict.retry_class is NEVER
    assert not verdict.allows_automatic_retry


# -- several codes -------------------------------------------------------------------------


def test_a_do_not_try_again_advice_overrides_a_soft_decline():
    verdict = classify(RawCodes(decline_code="insufficient_funds", network_advice_code="03"))

    assert verdict.retry_class is NEVER
    assert verdict.reason == "do_not_honor"
    assert verdict.decided_by == "network_advice_code=03"


def test_a_revoked_mandate_overrides_insufficient_funds_whichever_field_comes_first():
    verdict = classify(RawCodes(sepa_reason_code="MD01", network_response_code="51"))

    assert verdict.retry_class is NEVER
    assert verdict.decided_by == "sepa_reason_code=MD01"


def test_a_refusal_is_more_restrictive_than_fixing_data():
    verdict = classify(RawCodes(decline_code="expired_card", network_response_code="41"))

    assert verdict.retry_class is NEVER
    assert verdict.reason == "lost_or_stolen"


def test_a_refusal_is_more_restrictive_than_a_customer_action():
    verdict = classify(RawCodes(decline_code="authentication_required", sepa_reason_code="MD07"))

    assert verdict.retry_class is NEVER
    assert verdict.reason == "debtor_deceased"


def test_fixing_data_is_more_restrictive_than_waiting():
    verdict = classify(RawCodes(decline_code="insufficient_funds", network_response_code="54"))

    assert verdict.retry_class is FIX_DATA
    assert verdict.reason == "expired_card"


def test_a_customer_action_is_more_restrictive_than_waiting():
    verdict = classify(RawCodes(decline_code="authentication_required", network_response_code="05"))

    assert verdict.retry_class is CUSTOMER_ACTION


def test_fixing_data_is_more_restrictive_than_a_customer_action():
    verdict = classify(RawCodes(decline_code="authentication_required", network_advice_code="01"))

    assert verdict.retry_class is FIX_DATA


def test_waiting_is_more_restrictive_than_a_technical_retry():
    verdict = classify(RawCodes(decline_code="processing_error", network_response_code="51"))

    assert verdict.retry_class is LATER
    assert verdict.reason == "insufficient_funds"


def test_a_known_reason_is_preferred_over_an_unknown_one_of_the_same_class():
    verdict = classify(RawCodes(decline_code="something_new", sepa_reason_code="AM04"))

    assert verdict.reason == "insufficient_funds"
    assert verdict.decided_by == "sepa_reason_code=AM04"


def test_a_known_refusal_overrides_an_unknown_code():
    verdict = classify(RawCodes(decline_code="something_new", network_response_code="41"))

    assert verdict.retry_class is NEVER
    assert verdict.reason == "lost_or_stolen"


def test_an_unknown_code_is_read_more_cautiously_than_a_technical_one():
    verdict = classify(RawCodes(decline_code="something_new", network_response_code="91"))

    assert verdict.retry_class is LATER
    assert verdict.reason == "unknown"


# -- unknown and missing codes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "decided_by"),
    [
        (RawCodes(decline_code="brand_new_code"), "decline_code=brand_new_code"),
        (RawCodes(network_response_code="99"), "network_response_code=99"),
        (RawCodes(network_advice_code="40"), "network_advice_code=40"),
        (RawCodes(sepa_reason_code="ZZ99"), "sepa_reason_code=ZZ99"),
    ],
)
def test_an_unknown_code_is_read_as_a_later_retry_for_an_unknown_reason(codes, decided_by):
    assert summary(classify(codes)) == ("unknown", LATER, decided_by)


def test_a_code_from_one_table_is_not_looked_up_in_another():
    # "51" means insufficient funds as an ISO response code, not as an advice code.
    assert classify(RawCodes(network_advice_code="51")).reason == "unknown"


def test_no_code_at_all_reads_as_unknown_and_may_be_retried_later():
    assert classify(RawCodes()) == DeclineVerdict("unknown", LATER, "no code given")


def test_a_processor_name_alone_is_not_a_code():
    verdict = classify(RawCodes(processor="stripe"))

    assert summary(verdict) == ("unknown", LATER, "no code given")


def test_empty_strings_count_as_no_code():
    codes = RawCodes(decline_code="", network_response_code="", sepa_reason_code="")

    assert classify(codes).decided_by == "no code given"


# -- spelling ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "reason", "retry_class"),
    [
        (RawCodes(decline_code="INSUFFICIENT_FUNDS"), "insufficient_funds", LATER),
        (RawCodes(decline_code="Lost_Card"), "lost_or_stolen", NEVER),
        (RawCodes(network_response_code="r0"), "revoked_authorization", NEVER),
        (RawCodes(sepa_reason_code="am04"), "insufficient_funds", LATER),
        (RawCodes(sepa_reason_code="Md01"), "mandate_invalid", NEVER),
    ],
)
def test_codes_are_recognised_whatever_their_case(codes, reason, retry_class):
    verdict = classify(codes)

    assert (verdict.reason, verdict.retry_class) == (reason, retry_class)


def test_surrounding_spaces_are_ignored_and_the_trimmed_code_is_recorded():
    verdict = classify(RawCodes(network_response_code=" 51 "))

    assert verdict.reason == "insufficient_funds"
    assert verdict.decided_by == "network_response_code=51"


# -- the verdict and the raw codes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_class", "allowed"),
    [
        (NEVER, False),
        (FIX_DATA, False),
        (CUSTOMER_ACTION, False),
        (LATER, True),
        (TECHNICAL, True),
    ],
)
def test_only_later_and_technical_declines_allow_an_automatic_retry(retry_class, allowed):
    assert DeclineVerdict("r", retry_class, "x").allows_automatic_retry is allowed


def test_raw_codes_with_only_a_processor_are_empty():
    assert RawCodes(processor="stripe").is_empty()
    assert RawCodes().is_empty()


@pytest.mark.parametrize(
    "codes",
    [
        RawCodes(decline_code="x"),
        RawCodes(network_response_code="05"),
        RawCodes(network_advice_code="03"),
        RawCodes(sepa_reason_code="AM04"),
    ],
)
def test_raw_codes_with_any_code_are_not_empty(codes):
    assert not codes.is_empty()
