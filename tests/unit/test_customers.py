"""Customers and their payment methods: what is accepted, and what never is."""

import pytest

from relance.domain.customers import LOCALES, Customer, MethodType, PaymentMethod
from relance.domain.errors import InvalidInput


def customer(**overrides) -> Customer:
    fields = {
        "id": "cus_1",
        "external_id": "client-42",
        "name": "Camille Martin",
        "email": "camille@example.fr",
        "phone": "+33612345678",
        "locale": "fr",
        "timezone": "Europe/Paris",
    }
    fields.update(overrides)
    return Customer.register(**fields)


def method(**overrides) -> PaymentMethod:
    fields = {
        "id": "pm_1",
        "customer_id": "cus_1",
        "gateway_token": "pm_sandbox_abc",
        "type": MethodType.CARD,
    }
    fields.update(overrides)
    return PaymentMethod.register(**fields)


# -- customers -----------------------------------------------------------------------------


def test_a_customer_is_registered_with_what_was_given():
    registered = customer()

    assert registered == Customer(
        "cus_1",
        "client-42",
        "Camille Martin",
        "camille@example.fr",
        "+33612345678",
        "fr",
        "Europe/Paris",
    )


def test_a_customer_s_reference_and_name_are_trimmed():
    registered = customer(external_id="  client-42 ", name=" Camille ")

    assert (registered.external_id, registered.name) == ("client-42", "Camille")


def test_a_customer_may_have_neither_email_nor_phone():
    registered = customer(email=None, phone=None)

    assert (registered.email, registered.phone) == (None, None)


@pytest.mark.parametrize("external_id", ["", "   "])
def test_a_customer_without_an_external_reference_is_refused(external_id):
    with pytest.raises(InvalidInput, match="needs an external_id"):
        customer(external_id=external_id)


@pytest.mark.parametrize("email", ["a.b+tag@example.co.uk", "x@y.z", "prénom@exemple.fr"])
def test_a_plausible_email_is_accepted(email):
    assert customer(email=email).email == email


@pytest.mark.parametrize(
    "email",
    [
        "",
        "camille",
        "camille@",
        "@example.fr",
        "camille@example",
        "ca mille@example.fr",
        "a@b@example.fr",
        "camille@exa mple.fr",
    ],
)
def test_an_email_that_is_not_an_address_is_refused(email):
    with pytest.raises(InvalidInput, match="is not an email address"):
        customer(email=email)


@pytest.mark.parametrize(
    ("phone", "country", "e164"),
    [
        ("+33612345678", None, "+33612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("+33-612-345-678", None, "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),  # a national number, with the country
        ("+14155552671", None, "+14155552671"),
        ("+447911123456", "FR", "+447911123456"),  # an international number wins
    ],
)
def test_a_phone_number_is_stored_in_e164_form_for_sms_providers(phone, country, e164):
    assert customer(phone=phone, country=country).phone == e164


@pytest.mark.parametrize(
    "phone",
    [
        "0612345678",  # a national number without the customer's country
        "+0612345678",  # country codes never start with 0
        "+123456",  # too short
        "+1234567890123456",  # too long
        "+33 1",  # not a real French number
        "call me",
        "",
    ],
)
def test_a_phone_number_that_is_not_valid_is_refused(phone):
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        customer(phone=phone)


def test_a_country_must_be_an_iso_code():
    assert customer(country="fr").country == "FR"
    with pytest.raises(InvalidInput, match="ISO 3166"):
        customer(country="France")


def test_a_segment_is_a_short_slug():
    assert customer(segment="b2b").segment == "b2b"
    with pytest.raises(InvalidInput, match="segment"):
        customer(segment="Big Accounts!")


def test_an_email_ending_in_a_newline_is_refused():
    with pytest.raises(InvalidInput):
        customer(email="camille@example.fr\n")


def test_a_phone_number_never_keeps_stray_characters():
    assert customer(phone="+33612345678\n").phone == "+33612345678"


@pytest.mark.parametrize("locale", LOCALES)
def test_french_and_english_are_the_supported_locales(locale):
    assert customer(locale=locale).locale == locale


@pytest.mark.parametrize("locale", ["de", "FR", "fr-FR", "en_GB", ""])
def test_any_other_locale_is_refused_and_the_supported_ones_are_listed(locale):
    with pytest.raises(InvalidInput, match="use one of fr, en"):
        customer(locale=locale)


@pytest.mark.parametrize("timezone", ["Europe/Paris", "America/New_York", "UTC"])
def test_an_iana_time_zone_is_accepted(timezone):
    assert customer(timezone=timezone).timezone == timezone


@pytest.mark.parametrize(
    "timezone", ["Mars/Olympus_Mons", "", "Europe", "../../etc/passwd", "/etc/localtime", "CEST+2"]
)
def test_a_time_zone_that_is_not_iana_is_refused(timezone):
    with pytest.raises(InvalidInput, match="is not an IANA time zone"):
        customer(timezone=timezone)


# -- payment methods -----------------------------------------------------------------------


def test_a_card_is_registered_by_its_gateway_token_and_display_details():
    card = method(
        gateway_token="  pm_sandbox_abc ", brand="visa", last4="4242", exp_month=12, exp_year=2030
    )

    assert card == PaymentMethod(
        "pm_1", "cus_1", "pm_sandbox_abc", MethodType.CARD, "visa", "4242", 12, 2030
    )


def test_a_sepa_mandate_needs_no_expiry():
    sepa = method(type=MethodType.SEPA_DEBIT, last4="3000")

    assert (sepa.exp_month, sepa.exp_year) == (None, None)


@pytest.mark.parametrize("token", ["", "   "])
def test_a_payment_method_without_a_token_is_refused(token):
    with pytest.raises(InvalidInput, match="needs the gateway token"):
        method(gateway_token=token)


@pytest.mark.parametrize(
    "token",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "tok_4242424242424242",
        "pm_123456789012",  # twelve digits in a row
        "pm_1234567890123456789",  # nineteen
        "card:378282246310005",
    ],
)
def test_anything_that_looks_like_a_card_number_is_refused(token):
    with pytest.raises(InvalidInput, match="never a card number"):
        method(gateway_token=token)


def test_a_token_with_eleven_digits_in_a_row_is_accepted():
    assert method(gateway_token="pm_12345678901").gateway_token == "pm_12345678901"


def test_a_card_number_written_with_dashes_is_refused():
    with pytest.raises(InvalidInput, match="never a card number"):
        method(gateway_token="4242-4242-4242-4242")


@pytest.mark.parametrize("last4", ["424", "42424", "42a2", "", "    "])
def test_last4_must_be_exactly_four_digits(last4):
    with pytest.raises(InvalidInput, match="last4 must be exactly four digits"):
        method(last4=last4)


@pytest.mark.parametrize("month", [0, 13, -1])
def test_an_expiry_month_outside_the_year_is_refused(month):
    with pytest.raises(InvalidInput, match="exp_month must be between 1 and 12"):
        method(exp_month=month, exp_year=2030)


@pytest.mark.parametrize("year", [30, 1999, 2101])
def test_an_expiry_year_that_is_not_a_four_digit_year_is_refused(year):
    with pytest.raises(InvalidInput, match="exp_year must be a four-digit year"):
        method(exp_month=1, exp_year=year)


@pytest.mark.parametrize(("month", "year"), [(1, 2000), (12, 2100)])
def test_expiry_bounds_are_inclusive(month, year):
    assert method(exp_month=month, exp_year=year).exp_year == year


@pytest.mark.parametrize(("month", "year"), [(12, None), (None, 2030)])
def test_a_card_needs_both_expiry_month_and_year_or_neither(month, year):
    with pytest.raises(InvalidInput, match="both exp_month and exp_year"):
        method(exp_month=month, exp_year=year)
