"""Who may be contacted on which channel: opt-outs, undeliverable addresses, SMS fallback."""

import pytest

from relance.domain.consent import is_stop_request, reach


@pytest.mark.parametrize(
    "text", ["STOP", "stop", " Stop. ", "STOP SMS", "Arrêt", "ARRET", "unsubscribe", "Stop all"]
)
def test_stop_and_its_variants_opt_out(text):
    assert is_stop_request(text)


@pytest.mark.parametrize(
    "text", ["", "Please don't stop my service", "Je paie demain, stop aux relances svp", "OK"]
)
def test_a_message_that_merely_contains_the_word_is_not_a_stop(text):
    assert not is_stop_request(text)


def ways(wanted=("email",), **kw):
    base = {
        "email": "c@example.com",
        "email_undeliverable": False,
        "phone": "+33612345678",
        "opted_out": frozenset(),
        "transactional": False,
    }
    return reach(wanted, **{**base, **kw})


def test_every_wanted_channel_is_used_when_reachable():
    assert ways(("email", "sms")).channels == ("email", "sms")


def test_an_opt_out_drops_the_channel_and_says_why():
    found = ways(("email", "sms"), opted_out=frozenset({"sms"}))
    assert found.channels == ("email",)
    assert found.notes == ("the customer replied STOP to SMS",)


def test_a_transactional_notice_ignores_opt_outs():
    assert ways(("email",), opted_out=frozenset({"email"}), transactional=True).channels == (
        "email",
    )


def test_an_undeliverable_email_falls_back_to_sms():
    found = ways(("email",), email_undeliverable=True)
    assert found.channels == ("sms",)
    assert "undeliverable" in found.notes[0]


def test_no_sms_fallback_for_a_customer_who_said_stop_or_has_no_phone():
    assert ways(("email",), email_undeliverable=True, opted_out=frozenset({"sms"})).channels == ()
    assert ways(("email",), email_undeliverable=True, phone=None).channels == ()


def test_an_unsubscribed_email_never_falls_back_to_sms():
    # Opting out of email is not a request to be texted instead.
    assert ways(("email",), opted_out=frozenset({"email"})).channels == ()
