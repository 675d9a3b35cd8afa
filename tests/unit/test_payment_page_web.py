"""The payment page's pieces that need no server: its French catalogue, the signed form
tokens, the idempotency hash of a card form, the rate limiter, and pay.js's checks held to
the server's."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from relance.domain.cards import InvalidCard, read_card
from relance.domain.merchants import MerchantProfile
from relance.entrypoints.web import rendering
from relance.entrypoints.web.page_model import common
from relance.entrypoints.web.security import (
    FORM_MAX_AGE,
    SlidingWindow,
    form_token_valid,
    issue_form_token,
    page_headers,
    request_fingerprint,
)
from tests.conftest import T0

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "relance" / "data"
BABEL_CFG = ROOT / "src" / "relance" / "entrypoints" / "web" / "babel.cfg"
SECRET = "a-secret-key-for-tests-only-0123456789"
LINK = "hIkawUKOSNZ8HYlkaQzt3g.ZW4cgbpEjhnv-l46vLdkb5N1RIU"
NONCE = "E6DA9EjECegdKisQA-4gQA"


def test_the_french_catalogue_translates_every_message_of_the_page() -> None:
    """Extracted from the page templates as `pybabel extract` does: nothing untranslated,
    nothing fuzzy, nothing left over from wording that no longer exists."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(DATA), method_map, options_map
        )
    }
    with (DATA / "locale" / "fr" / "LC_MESSAGES" / "pages.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}

    assert len(extracted) > 50
    assert sorted(extracted - translated.keys()) == []  # untranslated
    assert sorted(translated.keys() - extracted) == []  # no longer used
    assert list(catalog.obsolete) == []
    assert not catalog.fuzzy
    for msgid, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"empty French translation for {msgid!r}"
        assert not message.fuzzy, f"fuzzy French translation for {msgid!r}"
    assert [(m.id, errors) for m, errors in catalog.check() if errors] == []


@pytest.mark.parametrize("language", rendering.LANGUAGES)
@pytest.mark.parametrize("kind", ["too_many", "expired_form", "bad_request", "error"])
def test_every_problem_page_renders_in_both_languages(kind: str, language: str) -> None:
    page = rendering.render(
        "problem.html.j2", language, {**common(language, LINK, None, NONCE), "kind": kind}
    )

    assert f'<html lang="{language}">' in page
    assert f'<style nonce="{NONCE}">' in page
    assert f'href="/pay/{LINK}?lang={language}"' in page  # back to the page
    assert "<form" not in page


def test_the_button_text_is_whichever_of_white_or_near_black_reads_better() -> None:
    def colours(brand: str) -> tuple[str, str]:
        variables = common("fr", LINK, MerchantProfile("mer_1", "Acme", brand_color=brand), NONCE)
        return variables["brand"], variables["on_brand"]

    assert colours("#1f4e79") == ("#1f4e79", "#ffffff")
    assert colours("#F4B400") == ("#f4b400", "#111827")  # yellow: dark text
    assert colours("red; }</style>") == ("#1f4e79", "#ffffff")  # never written into the CSS


# -- form tokens ----------------------------------------------------------------------------


def test_a_form_token_is_good_for_its_link_and_nonce_for_two_hours() -> None:
    token = issue_form_token(SECRET, LINK, NONCE, T0)

    assert form_token_valid(SECRET, LINK, NONCE, token, T0 + FORM_MAX_AGE)
    assert not form_token_valid(SECRET, LINK, NONCE, token, T0 + FORM_MAX_AGE + timedelta(1))
    assert not form_token_valid(SECRET, LINK + "x", NONCE, token, T0)  # another link
    assert not form_token_valid(SECRET, LINK, NONCE[:-1] + "B", token, T0)  # another form
    assert not form_token_valid(SECRET + "x", LINK, NONCE, token, T0)  # another installation
    assert not form_token_valid(SECRET, LINK, NONCE, token[:-1] + "A", T0)
    assert not form_token_valid(SECRET, LINK, NONCE, "", T0)
    assert not form_token_valid(SECRET, LINK, NONCE, token, T0 - timedelta(hours=1))  # future
    assert LINK not in token  # the token travels in the page; the link is already in the URL


def test_a_card_forms_hash_keeps_no_trace_of_the_number_that_a_plain_hash_would() -> None:
    fields = {"number": "4242424242424242", "cvc": "123", "nonce": NONCE, "expiry": "08/29"}
    same = request_fingerprint(SECRET, "card", dict(fields))
    other_card = request_fingerprint(SECRET, "card", {**fields, "number": "4000000000009995"})
    other_key = request_fingerprint(SECRET + "x", "card", fields)

    assert same == request_fingerprint(SECRET, "card", fields)
    assert len({same, other_card, other_key}) == 3  # keyed: the secret is needed to test a guess
    assert same != request_fingerprint(SECRET, "pay", fields)


def test_hsts_is_only_promised_over_tls() -> None:
    assert "Strict-Transport-Security" not in page_headers(NONCE, tls=False)
    assert page_headers(NONCE, tls=True)["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains"
    )
    assert f"'nonce-{NONCE}'" in page_headers(NONCE, tls=False)["Content-Security-Policy"]
    assert "unsafe-inline" not in page_headers(NONCE, tls=False)["Content-Security-Policy"]


# -- rate limits ----------------------------------------------------------------------------


def test_a_sliding_window_admits_the_limit_then_says_how_long_to_wait() -> None:
    window = SlidingWindow(limit=3, window=timedelta(minutes=1))

    assert [window.hit("a", T0 + timedelta(seconds=s)) for s in (0, 10, 20)] == [None] * 3
    assert window.hit("a", T0 + timedelta(seconds=30)) == 30  # the first hit leaves at 60 s
    assert window.hit("b", T0 + timedelta(seconds=30)) is None  # keys are independent
    assert window.hit("a", T0 + timedelta(seconds=60)) is None
    assert window.hit("a", T0 + timedelta(seconds=61)) == 9


def test_a_sliding_window_forgets_the_keys_idle_longest_past_its_size() -> None:
    window = SlidingWindow(limit=1, window=timedelta(minutes=1), max_keys=2)
    window.hit("a", T0)
    window.hit("b", T0)
    window.hit("c", T0)

    assert window.hit("b", T0) is not None  # still counted
    assert window.hit("a", T0) is None  # forgotten, starts afresh


# -- pay.js holds the server's checks -------------------------------------------------------

CARDS = [
    ("Camille Martin", "4242 4242 4242 4242", "08/29", "123"),
    ("Camille Martin", "4242-4242-4242-4242", "0829", "123"),
    ("", "4242 4242 4242 4241", "13/29", "12"),
    ("C", "3782 822463 10005", "11/2026", "123"),  # Amex wants 4 digits
    ("C", "3782 822463 10005", "10/26", "1234"),  # expired last month
    ("C", "6011 1111 1111 1117", "08/29", "123"),  # Discover
    ("C", "5555 5555 5555 4444", "08/29", "123"),
    ("C", "1234 5678 9012 3452", "08/29", "123"),  # Luhn-valid, no brand
    ("C", "4111 1111 1111 111", "08/29", "123"),  # a digit short
    ("C", "4242424242424242", "08/60", "123"),  # too far ahead
    ("x" * 101, "", "", ""),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run pay.js")
def test_the_browser_refuses_exactly_what_the_server_refuses() -> None:
    today = date(2026, 11, 21)
    script = (
        f"const pay = require({json.dumps(str(DATA / 'static' / 'pay.js'))});"
        f"const cards = {json.dumps(CARDS)};"
        "const today = new Date(2026, 10, 21);"
        "console.log(JSON.stringify(cards.map(([name, number, expiry, cvc]) =>"
        " pay.cardProblems({name, number, expiry, cvc}, today))));"
    )
    done = subprocess.run(
        ["node", "-e", script], capture_output=True, text=True, check=True, timeout=30
    )
    browser = json.loads(done.stdout)

    for card, seen in zip(CARDS, browser, strict=True):
        try:
            read_card(card[1], card[2], card[3], card[0], today)
            server: dict[str, str] = {}
        except InvalidCard as exc:
            server = {str(p.field): p.code for p in exc.problems}
        assert seen == server, card
