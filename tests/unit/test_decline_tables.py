"""The decline tables as data: complete, sourced, dated, and saying what the networks say."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from typing import Any

import pytest

from relance.data import decline_catalogue, network_rules_text, read_text
from relance.domain.attempts import RawCodes
from relance.domain.declines import LOCALES, SCHEMES, CodeEntry, RetryClass
from relance.domain.network_rules import parse_network_rules

CODE_TABLES = ("stripe", "iso8583", "visa", "mastercard", "sepa")
CLASSES = {c.value for c in RetryClass}

NEVER = RetryClass.NEVER
FIX_DATA = RetryClass.FIX_DATA
LATER = RetryClass.LATER
TECHNICAL = RetryClass.TECHNICAL

catalogue = decline_catalogue()


def document(name: str) -> dict[str, Any]:
    return tomllib.loads(read_text(f"declines/{name}.toml"))


def raw_entries() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(table, code, entry, the table's [meta]) for every code of every table, as written."""
    found = []
    for name in CODE_TABLES:
        doc = document(name)
        for section in ("codes", "advice"):
            for code, entry in doc.get(section, {}).items():
                found.append((f"{name}.{section}", code, entry, doc["meta"]))
    return found


RAW = raw_entries()
RAW_IDS = [f"{table}:{code}" for table, code, _, _ in RAW]
REASONS = document("reasons")["reasons"]


def is_iso_date(value: object) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def entry(scheme: str, code: str) -> CodeEntry:
    found = catalogue.lookup(scheme, code)
    assert found is not None, f"{scheme} {code} is not in the tables"
    return found


# -- every entry is complete ---------------------------------------------------------------


@pytest.mark.parametrize(("table", "code", "raw", "meta"), RAW, ids=RAW_IDS)
def test_every_code_names_a_reason_that_exists(table, code, raw, meta):
    assert raw.get("reason") in REASONS


@pytest.mark.parametrize(("table", "code", "raw", "meta"), RAW, ids=RAW_IDS)
def test_every_code_has_a_valid_retry_class(table, code, raw, meta):
    assert raw.get("class") in CLASSES


@pytest.mark.parametrize(("table", "code", "raw", "meta"), RAW, ids=RAW_IDS)
def test_every_code_has_a_description(table, code, raw, meta):
    assert str(raw.get("description", "")).strip()


@pytest.mark.parametrize(("table", "code", "raw", "meta"), RAW, ids=RAW_IDS)
def test_every_code_has_a_source_and_an_iso_effective_date_of_its_own_or_its_table(
    table, code, raw, meta
):
    assert str(raw.get("source") or meta.get("source") or "").strip()
    assert is_iso_date(raw.get("effective") or meta.get("effective"))


def test_the_catalogue_holds_every_code_written_in_the_tables():
    assert len(catalogue.entries) == len(RAW)


@pytest.mark.parametrize("key", sorted(catalogue.entries), ids=lambda k: f"{k[0]}:{k[1]}")
def test_every_catalogue_entry_is_complete_once_read(key):
    e = catalogue.entries[key]

    assert e.scheme in SCHEMES
    assert e.reason in catalogue.reasons
    assert isinstance(e.retry_class, RetryClass)
    assert e.description.strip()
    assert e.source.strip()
    assert is_iso_date(e.effective)


# -- every reason is complete --------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(REASONS))
def test_every_reason_tells_the_merchant_what_happened_and_what_to_do(key):
    assert str(REASONS[key].get("merchant", "")).strip()
    assert str(REASONS[key].get("action", "")).strip()


@pytest.mark.parametrize("key", sorted(REASONS))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_reason_has_a_customer_message_in_french_and_english(key, locale):
    assert str(REASONS[key].get("customer", {}).get(locale, "")).strip()


# -- a refused card never tells the customer why -------------------------------------------

DISCREET = ("lost_or_stolen", "suspected_fraud")
TELLTALE = {
    "fr": re.compile(r"\bfraud|\bfrauduleu|\bvols?\b|\bvolée?s?\b|\bperdu|\bsuspect", re.I),
    "en": re.compile(r"\bfraud|\bstolen\b|\blost\b|\btheft\b|\bsuspicio|\bsuspect", re.I),
}


@pytest.mark.parametrize("key", DISCREET)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_fraud_loss_or_theft_decline_reads_as_a_plain_refusal(key, locale):
    message = catalogue.reasons[key].customer[locale]

    assert not TELLTALE[locale].search(message), message


def test_the_telltale_words_are_caught_whatever_their_case_and_not_inside_other_words():
    assert TELLTALE["fr"].search("Carte VOLÉE")
    assert TELLTALE["fr"].search("paiement frauduleux")
    assert TELLTALE["fr"].search("carte perdue")
    assert TELLTALE["en"].search("Suspicious activity")
    assert not TELLTALE["fr"].search("nous le ferons volontiers, quel que soit le volume")
    assert not TELLTALE["en"].search("the slot is closed")


DISCREET_CODES = sorted(
    (e.scheme, e.code)
    for e in catalogue.entries.values()
    if e.scheme in ("stripe", "iso8583", "visa") and e.reason in DISCREET
)
FIELD = {
    "stripe": "decline_code",
    "iso8583": "network_response_code",
    "visa": "network_response_code",
}


def test_there_are_fraud_loss_and_theft_codes_to_check():
    schemes = {scheme for scheme, _ in DISCREET_CODES}
    assert {"stripe", "iso8583"} <= schemes
    assert len(DISCREET_CODES) >= 10


@pytest.mark.parametrize(("scheme", "code"), DISCREET_CODES, ids=lambda v: str(v))
@pytest.mark.parametrize("locale", LOCALES)
def test_the_customer_never_reads_why_a_card_reported_lost_stolen_or_fraudulent_was_refused(
    scheme, code, locale
):
    verdict = catalogue.classify(RawCodes(**{FIELD[scheme]: code}))
    message = catalogue.reason(verdict.reason).customer[locale]

    assert message.strip()
    assert not TELLTALE[locale].search(message), message


# -- the codes the networks single out -----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "retry_class"),
    [
        ("01", FIX_DATA),
        ("02", LATER),
        ("03", NEVER),
        ("04", FIX_DATA),
        ("21", NEVER),
        ("40", LATER),
        ("41", LATER),
        ("43", LATER),
    ],
)
def test_a_mastercard_advice_code_has_its_class(code, retry_class):
    assert entry("mastercard", code).retry_class is retry_class


@pytest.mark.parametrize(
    ("code", "hours"),
    [("24", 1), ("25", 24), ("26", 48), ("27", 96), ("28", 144), ("29", 192), ("30", 240)],
)
def test_mastercard_advice_codes_24_to_30_say_how_many_hours_to_wait(code, hours):
    e = entry("mastercard", code)

    assert e.retry_class is LATER
    assert e.retry_after_hours == hours
    assert catalogue.classify(RawCodes(network_advice_code=code)).retry_after_hours == hours


@pytest.mark.parametrize("code", ["40", "41", "43"])
def test_mastercard_advice_codes_40_41_43_only_inform_and_never_decide(code):
    assert entry("mastercard", code).note == "informational"
    verdict = catalogue.classify(RawCodes(network_response_code="05", network_advice_code=code))

    assert verdict.decided_by == "network_response_code=05"


@pytest.mark.parametrize(
    ("code", "retry_class", "representable"),
    [
        ("AM04", LATER, True),
        ("MS03", LATER, True),
        ("MS02", NEVER, False),
        ("MD01", NEVER, False),
        ("MD06", NEVER, False),
        ("MD07", NEVER, False),
        ("AC04", NEVER, False),
        ("AC06", NEVER, False),
        ("AG01", NEVER, False),
        ("SL01", NEVER, False),
        ("MD02", FIX_DATA, False),
        ("AC01", FIX_DATA, False),
        ("AG02", TECHNICAL, False),
        ("AM05", NEVER, False),
        ("BE05", TECHNICAL, False),
        ("FF01", TECHNICAL, False),
        ("RC01", TECHNICAL, False),
        ("RR01", TECHNICAL, False),
        ("RR02", TECHNICAL, False),
        ("RR03", TECHNICAL, False),
        ("RR04", TECHNICAL, False),
        ("ED05", TECHNICAL, False),
    ],
)
def test_a_sepa_reason_code_has_its_class_and_only_am04_and_ms03_may_be_re_presented(
    code, retry_class, representable
):
    e = entry("sepa", code)

    assert e.retry_class is retry_class
    assert e.representable is representable


def test_only_am04_and_ms03_are_re_presentable_in_the_whole_sepa_table():
    representable = {e.code for e in catalogue.entries.values() if e.representable}

    assert representable == {"AM04", "MS03"}


VISA_CATEGORY_1 = ["04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"]
VISA_CATEGORY_2 = [
    *("03", "19", "39", "51", "52", "53", "59", "61", "62", "65", "75", "78", "86"),
    *("91", "93", "96", "5C", "9G", "N3", "N4", "Z5"),
]
VISA_CATEGORY_3 = ["54", "55", "82", "6P", "N7"]


@pytest.mark.parametrize("code", VISA_CATEGORY_1)
def test_a_visa_category_1_code_is_never_retried(code):
    e = entry("visa", code)
    verdict = catalogue.classify(RawCodes(network_response_code=code))

    assert (e.visa_category, e.retry_class) == (1, NEVER)
    assert (verdict.visa_category, verdict.retry_class) == (1, NEVER)


@pytest.mark.parametrize("code", VISA_CATEGORY_2)
def test_a_visa_category_2_code_is_in_category_2(code):
    assert entry("visa", code).visa_category == 2
    assert catalogue.classify(RawCodes(network_response_code=code)).visa_category == 2


@pytest.mark.parametrize("code", VISA_CATEGORY_3)
def test_a_visa_category_3_code_is_in_category_3(code):
    assert entry("visa", code).visa_category == 3
    assert catalogue.classify(RawCodes(network_response_code=code)).visa_category == 3


def test_every_visa_category_1_code_is_never_retried_and_only_those_have_category_1():
    visa = [e for e in catalogue.entries.values() if e.scheme == "visa"]
    category_1 = {e.code for e in visa if e.visa_category == 1}

    assert category_1 == set(VISA_CATEGORY_1)
    assert all(e.retry_class is NEVER for e in visa if e.visa_category == 1)


def test_the_stripe_and_iso_8583_tables_are_substantial():
    stripe = sorted(code for scheme, code in catalogue.entries if scheme == "stripe")
    iso = sorted(code for scheme, code in catalogue.entries if scheme == "iso8583")
    print(f"{len(stripe)} Stripe decline codes: {', '.join(stripe)}")
    print(f"{len(iso)} ISO 8583 response codes: {', '.join(iso)}")

    assert len(stripe) >= 45
    assert len(iso) >= 40


# -- the network rules -----------------------------------------------------------------------


def test_the_network_rules_parse_and_visa_defaults_to_15_reattempts_in_30_days():
    rules = parse_network_rules(network_rules_text())

    assert rules.visa_max_reattempts == 15
    assert rules.visa_window.days == 30
    assert rules.visa_never_categories == frozenset({1})


def test_the_current_visa_limit_is_20_reattempts_when_chosen():
    assert parse_network_rules(network_rules_text(), "current").visa_max_reattempts == 20
    assert parse_network_rules(network_rules_text(), "conservative").visa_max_reattempts == 15


def test_an_unknown_visa_limit_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="conservative, current"):
        parse_network_rules(network_rules_text(), "generous")


def test_the_mastercard_and_sepa_ceilings_are_read_from_the_data():
    rules = parse_network_rules(network_rules_text())

    assert (rules.mc_max_declines, rules.mc_decline_window.total_seconds()) == (10, 24 * 3600)
    assert (rules.mc_max_same_amount_declines, rules.mc_same_amount_window.days) == (35, 30)
    assert rules.mc_never_advice_codes == frozenset({"03", "21"})
    assert rules.sepa_max_representments == 2
    assert rules.sepa_representable == frozenset({"AM04", "MS03"})
    assert rules.sepa_refund_exposure.days == 56


RULES_DOC = tomllib.loads(network_rules_text())
SECTIONS = [name for name in RULES_DOC if name != "meta"]
FIGURES = [
    (section, figure) for section in SECTIONS for figure in RULES_DOC[section].get("figures", {})
]


def test_the_network_rules_have_a_section_per_network():
    assert {"visa", "mastercard", "sepa"} <= set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
def test_every_network_rules_section_has_a_source_and_an_effective_date(section):
    assert str(RULES_DOC[section].get("source", "")).strip()
    assert is_iso_date(RULES_DOC[section].get("effective"))


@pytest.mark.parametrize(("section", "figure"), FIGURES, ids=lambda v: str(v))
def test_every_network_figure_has_a_source_and_an_effective_date(section, figure):
    recorded = RULES_DOC[section]["figures"][figure]

    assert str(recorded.get("source", "")).strip()
    assert is_iso_date(recorded.get("effective"))


def test_the_parsed_rules_say_where_each_networks_figures_come_from():
    sources = parse_network_rules(network_rules_text()).sources

    assert set(sources) == {"visa", "mastercard", "sepa"}
    assert all("in force since" in text for text in sources.values())
