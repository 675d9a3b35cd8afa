"""Merchant API keys: `rk_<prefix>_<secret>`, found by prefix, checked by hash."""

from datetime import UTC, datetime

import pytest

from relance.domain.errors import InvalidInput, Unauthenticated
from relance.domain.merchants import (
    ApiKey,
    MerchantProfile,
    compose_key,
    hash_key,
    key_matches,
    key_prefix,
)

KEY = "rk_a1b2c3d4e5f6_S3cr3t-value-with-dashes"


def stored(key: str) -> ApiKey:
    return ApiKey(
        id="key_1",
        merchant_id="mer_1",
        prefix=key_prefix(key),
        key_hash=hash_key(key),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_the_prefix_is_the_middle_part_of_a_key():
    assert key_prefix(KEY) == "a1b2c3d4e5f6"


def test_a_composed_key_reads_back_its_prefix():
    key = compose_key("abc123", "secret")

    assert key == "rk_abc123_secret"
    assert key_prefix(key) == "abc123"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "rk",
        "rk_abc",
        "rk_abc_",
        "rk__secret",
        "_abc_secret",
        "sk_abc_secret",
        "RK_abc_secret",
        "rk_abc_sec_ret",
        "rk-abc-secret",
        "Bearer rk_abc_secret",
    ],
)
def test_a_malformed_key_is_refused_before_any_lookup(key):
    with pytest.raises(Unauthenticated, match="malformed"):
        key_prefix(key)


def test_the_hash_is_the_sha256_of_the_whole_key_in_hex():
    # Stored hashes depend on this exact digest: changing it locks every merchant out.
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_two_keys_with_the_same_prefix_hash_differently():
    assert hash_key("rk_abc_one") != hash_key("rk_abc_two")


def test_the_key_that_was_issued_matches_its_stored_hash():
    assert key_matches(stored(KEY), KEY)


@pytest.mark.parametrize(
    "presented",
    [
        "rk_a1b2c3d4e5f6_S3cr3t-value-with-dashez",
        "rk_a1b2c3d4e5f6_s3cr3t-value-with-dashes",
        KEY + " ",
        "",
    ],
)
def test_any_other_key_does_not_match(presented):
    assert not key_matches(stored(KEY), presented)


def test_a_profile_change_checks_every_value_and_leaves_the_rest():
    profile = MerchantProfile("mer_1", "Acme", country="BE")
    changed = profile.changed({"brand_color": "#0a7d55", "support_phone": "02 512 34 56"})
    assert changed.brand_color == "#0a7d55"
    # A national number is read in the merchant's own country (Belgium here, not France).
    assert changed.support_phone == "+3225123456"
    assert changed.name == "Acme"
    for bad in (
        {"brand_color": "green"},
        {"support_email": "nobody"},
        {"default_locale": "de"},
        {"country": "Belgium"},
        {"sms_sender": "A sender id that is far too long"},
        {"service_description": {"de": "Ihr Abo"}},
        {"name": " "},
    ):
        with pytest.raises(InvalidInput):
            profile.changed(bad)


# -- bank details, shown to customers who pay by transfer -----------------------------------


def test_bank_details_are_stored_compact_and_upper_case():
    profile = MerchantProfile("mer_1", "Acme").changed(
        {"iban": " fr76 3000 6000 0112 3456 7890 189 ", "bic": "bnpafrppxxx"}
    )

    assert profile.iban == "FR7630006000011234567890189"
    assert profile.bic == "BNPAFRPPXXX"


def test_a_merchant_has_no_bank_details_until_it_gives_them():
    profile = MerchantProfile("mer_1", "Acme")

    assert (profile.iban, profile.bic) == (None, None)


def test_bank_details_are_removed_with_an_empty_value_and_kept_when_not_mentioned():
    profile = MerchantProfile("mer_1", "Acme", iban="DE89370400440532013000", bic="COBADEFFXXX")

    assert profile.changed({"name": "Acme SA"}).iban == "DE89370400440532013000"
    cleared = profile.changed({"iban": "", "bic": None})
    assert (cleared.iban, cleared.bic) == (None, None)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("FR7630006000011234567890188", "check digits do not match"),
        ("XX7630006000011234567890189", "known country code"),
        ("FR763000600001123456789018", "too many or too few characters"),
        ("FR76 3000 6000 0112 3456 7890 18!", "not laid out as an IBAN"),
    ],
)
def test_a_wrong_iban_is_refused_with_why_and_without_repeating_it(iban, why):
    profile = MerchantProfile("mer_1", "Acme")

    with pytest.raises(InvalidInput, match=f"The IBAN is not valid: .*{why}") as caught:
        profile.changed({"iban": iban})
    assert "3000" not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("bic", ["BNPAFRP", "BNPAXXPP", "BNPA FRPP XX", "12345678"])
def test_a_wrong_bic_is_refused_with_what_a_bic_looks_like(bic):
    with pytest.raises(InvalidInput, match="The BIC is not valid: it is 8 or 11"):
        MerchantProfile("mer_1", "Acme").changed({"bic": bic})
