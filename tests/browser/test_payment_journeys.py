"""The customer's payment page in real headless Chromium: every journey starts from the failure
email a real SMTP server received, and follows its link, as a customer would.

Screenshots: every page state is captured as a full-page PNG named `<journey>-<n>-<state>.png`
into the test's tmp folder on every run (so capturing is itself exercised); with
RELANCE_SCREENSHOTS=1 they are also copied to docs/screenshots/, which is how the committed
ones are refreshed:

    RELANCE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser -q

Sandbox test cards (the gateway's documented list): 4242 4242 4242 4242 succeeds;
4000 0000 0000 9995 is saved but the charge is declined for insufficient funds;
4000 0000 0000 0069 is refused when saved (expired card); 4000 0000 0000 0002 is refused when
saved (generic decline).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from playwright.sync_api import expect

from relance.domain.actions import ActionStatus
from relance.domain.cases import CaseStatus
from tests.browser.conftest import (
    CUSTOMER_EMAIL,
    MERCHANT,
    MERCHANT_BIC,
    MERCHANT_IBAN,
    SUPPORT_EMAIL,
    TIMEOUT_MS,
    Debtor,
    Screens,
    Served,
    text_of,
)
from tests.browser.leaks import Leak, card_pattern, cvc_pattern, iban_pattern, search
from tests.conftest import T0

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)

GOOD = "4242 4242 4242 4242"
INSUFFICIENT = "4000 0000 0000 9995"
EXPIRED = "4000 0000 0000 0069"
DECLINED = "4000 0000 0000 0002"
EXPIRY = "12/34"
CVC = "731"
HOLDER = "Camille Martin"
CARD_FIELDS = {"name": "cc-name", "number": "cc-number", "expiry": "cc-exp", "cvc": "cc-csc"}

PARIS = ZoneInfo("Europe/Paris")
TODAY = T0.astimezone(PARIS).date()  # Saturday 21 November 2026
BALANCE = 4990  # 49.90 EUR: three instalments of 16.64 + 16.63 + 16.63
PAID = re.compile(r"\bpaid\b|payée?s?\b|réglée?s?\b", re.IGNORECASE)
# Tables where the merchant's own IBAN belongs: its bank details, and the transfer instructions
# sent to the customer. Anywhere else (and in any log line) a full IBAN is a leak.
IBAN_BELONGS_IN = frozenset({"merchants", "messages"})


# -- reading pages -------------------------------------------------------------------------


def normalise(text: str) -> str:
    """One plain space for any run of spaces, including Babel's no-break ones."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", text).strip()


def money(minor: int, locale: str) -> str:
    return normalise(format_currency(Decimal(minor) / 100, "EUR", locale=locale))


def date_forms(day: date, locale: str) -> set[str]:
    """The ways a page may write a date in this locale; the page picks one of them."""
    patterns = ["short", "medium", "long", "full", "d MMMM y", "d MMM y", "d MMMM", "MMMM d"]
    return {day.isoformat()} | {normalise(format_date(day, p, locale=locale)) for p in patterns}


def shows_date(text: str, day: date, locale: str) -> bool:
    return any(form in text for form in date_forms(day, locale))


def text_at(page: Any, selector: str) -> str:
    located = page.locator(selector)
    expect(located).to_be_visible()
    return normalise(located.inner_text())


def untranslated(page: Any) -> list[str]:
    """Lines of this French page that read the same on its English version: words the French
    catalogue lacks. A line of fewer than three words (a name, a number, "Total") may rightly
    be the same. Leaves the page in French."""

    def lines() -> list[str]:
        text: str = page.locator("body").inner_text()
        return [normalise(line) for line in text.splitlines() if line.strip()]

    french = lines()
    page.locator('a[hreflang="en"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    english = set(lines())
    page.locator('a[hreflang="fr"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    return [
        line for line in french if line in english and len(re.findall(r"[^\W\d_]{2,}", line)) >= 3
    ]


def card_form(page: Any) -> Any:
    return page.locator("#card-form")


def submit_button(form: Any) -> Any:
    return form.locator("button[type=submit], input[type=submit], button:not([type])").first


def submit(page: Any, form: Any) -> None:
    """Press the form's button and wait for the answer (a 303 back to the page)."""
    with page.expect_navigation():
        submit_button(form).click()


def fill_card(page: Any, number: str, *, expiry: str = EXPIRY, cvc: str = CVC) -> None:
    form = card_form(page)
    form.locator("input[name=name]").fill(HOLDER)
    form.locator("input[name=number]").fill(number)
    form.locator("input[name=expiry]").fill(expiry)
    form.locator("input[name=cvc]").fill(cvc)


def outcome(page: Any) -> str:
    status = page.locator("#outcome")
    expect(status).to_be_visible()
    expect(status).to_have_attribute("role", "status")
    text = normalise(status.inner_text())
    assert text, "the outcome says nothing"
    return text


def advice(served: Served, reason: str, locale: str) -> str:
    """The first sentence of what decline intelligence tells the customer."""
    words: str = served.ctx.catalogue.reason(reason).customer[locale]
    return words.split(". ")[0]


# -- reading the database ------------------------------------------------------------------


def local_day(at: Any) -> date:
    day: date = at.astimezone(PARIS).date()
    return day


def pending_dunning(served: Served, debtor: Debtor) -> set[str]:
    """The retries, follow-ups and exhaustion the failure planned and that are still ahead."""
    return {
        a.id
        for a in served.case(debtor).actions
        if a.status is ActionStatus.PENDING and a.kind.value in ("retry", "reminder", "exhaust")
    }


def still_pending(served: Served, debtor: Debtor, ids: set[str]) -> set[str]:
    return {a.id for a in served.case(debtor).actions if a.id in ids and a.status == "pending"}


def scheduled_charges(served: Served, debtor: Debtor, planned_before: set[str]) -> list[date]:
    """Days of the charges planned since (instalments, a promised payment), not messages."""
    return sorted(
        local_day(row["due_at"])
        for row in served.actions(debtor)
        if row["status"] == "pending"
        and row["id"] not in planned_before
        and row["kind"] not in ("reminder", "webhook", "exhaust")
    )


def assert_nothing_leaked(served: Served, numbers: list[str], links: Sequence[str] = ()) -> None:
    """No card number or CVC anywhere; the merchant's IBAN only where it belongs; no payment
    link token (it acts for the customer) in a log line."""
    secrets = [card_pattern(n) for n in numbers] + [cvc_pattern(CVC)]
    iban = iban_pattern(MERCHANT_IBAN)
    cells = [(f"database {c.table}.{c.column}", c.value) for c in served.database_text()]
    log = [("log", line) for line in served.logs.lines]
    pages = [(f"page {r.method} {r.path} {r.status}", r.body) for r in served.responses]
    mails = [
        (f"email {m['Subject']}", part.get_content())
        for m in served.emails_to()
        for part in m.walk()
        if part.get_content_maintype() == "text"
    ]
    # Searching nothing would prove nothing.
    assert cells
    assert any('"event": "request"' in line for _, line in log)
    assert any("/pay/" in where for where, _ in pages)
    assert mails
    leaks: list[Leak] = search(cells + log + pages + mails, secrets)
    leaks += search(log, [iban, *(re.compile(re.escape(link.rsplit("/", 1)[1])) for link in links)])
    leaks += search(
        [(w, v) for w, v in cells if w.split()[1].split(".")[0] not in IBAN_BELONGS_IN], [iban]
    )
    assert not leaks, "\n".join(f"{leak.where}: {leak.excerpt!r}" for leak in leaks)
    assert not [r for r in served.responses if r.status >= 500], "the server failed a request"


# -- 1. card -------------------------------------------------------------------------------


def assert_card_fields_are_labelled(page: Any) -> None:
    form = card_form(page)
    for name, autocomplete in CARD_FIELDS.items():
        field = form.locator(f"input[name={name}]")
        expect(field).to_have_attribute("autocomplete", autocomplete)
        expect(field).to_have_accessible_name(re.compile(r"\w"))


def test_a_customer_replaces_a_declined_card_from_the_email_and_the_invoice_is_paid(
    served: Served, page: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="en")
    dunning = pending_dunning(served, debtor)
    assert dunning, "the failure planned retries and follow-ups"

    response = page.goto(debtor.link)
    assert response is not None
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "en")
    invoices = text_at(page, "table#invoices")
    assert debtor.number in invoices
    assert money(BALANCE, "en") in invoices  # €49.90
    assert advice(served, "insufficient_funds", "en") in text_at(page, "#reason")
    assert_card_fields_are_labelled(page)
    screens.take(page, "card-1-invoice")

    fill_card(page, DECLINED)
    submit(page, card_form(page))
    outcome(page)
    # Refused: the number and the CVC are not sent back into the page.
    assert card_form(page).locator("input[name=number]").input_value() == ""
    assert card_form(page).locator("input[name=cvc]").input_value() == ""
    assert not served.invoice(debtor).is_settled
    screens.take(page, "card-2-declined")

    fill_card(page, GOOD)
    submit(page, card_form(page))
    assert PAID.search(outcome(page))
    screens.take(page, "card-3-paid")

    assert served.invoice(debtor).is_settled
    view = served.case(debtor)
    assert view.case.status is CaseStatus.RECOVERED
    statuses = {a.id: a.status for a in view.actions}
    assert {statuses[i] for i in dunning} == {ActionStatus.CANCELLED}

    page.goto(debtor.link)
    expect(page.locator("#settled")).to_be_visible()
    expect(page.locator("#pay-now-form")).to_have_count(0)
    expect(page.locator("#plan-form")).to_have_count(0)
    screens.take(page, "card-4-settled")
    assert_nothing_leaked(served, [DECLINED, GOOD], [debtor.link])


# -- 2. plan -------------------------------------------------------------------------------


def schedule_text(radio: Any) -> str:
    """What the page says of one plan: the elements the radio names in aria-describedby, or
    else the smallest block around that radio alone (its label, its list item)."""
    text: str = radio.evaluate(
        """el => {
            const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
            if (ids.length) {
                return ids.map(id => (document.getElementById(id) || {}).innerText || '').join(' ');
            }
            let block = el;
            while (block.parentElement &&
                   block.parentElement.querySelectorAll('input[name=count]').length === 1) {
                block = block.parentElement;
            }
            return block.innerText;
        }"""
    )
    return normalise(text)


def test_a_customer_splits_the_balance_in_three_after_seeing_the_exact_schedule(
    served: Served, page: Any, screens: Screens
) -> None:
    from relance.services import payment_page

    # The full amount failed, but the card holds enough for an instalment.
    debtor = served.debtor(locale="fr", token="tok_ok")
    dunning = pending_dunning(served, debtor)
    page.goto(debtor.link)
    plan = page.locator("#plan-form")
    counts = plan.locator("input[type=radio][name=count]")
    assert counts.evaluate_all("els => els.map(e => e.value)") == ["2", "3", "4"]

    schedule = payment_page.view_page(served.ctx, debtor.url_token, visit=False).schedules[3]
    # The remainder goes on the first instalment; the three add up to the cent.
    assert [i.amount.minor for i in schedule] == [1664, 1663, 1663]
    assert [(i.due_on - schedule[0].due_on).days // 28 for i in schedule] == [0, 1, 2]
    three = plan.locator("input[name=count][value='3']")
    three.check()
    shown = schedule_text(three)
    for instalment in schedule:
        assert money(instalment.amount.minor, "fr") in shown  # "16,64 €"
        assert shows_date(shown, instalment.due_on, "fr"), (instalment.due_on, shown)
    screens.take(page, "plan-1-schedule")

    sent_before = len(served.emails_to())
    submit(page, plan)
    arrangement = text_at(page, "#arrangement")
    for instalment in schedule:
        assert money(instalment.amount.minor, "fr") in arrangement
        assert shows_date(arrangement, instalment.due_on, "fr")
    screens.take(page, "plan-2-accepted")
    assert untranslated(page) == []

    assert served.case(debtor).case.status is CaseStatus.PAUSED
    assert not still_pending(served, debtor, dunning), "the dunning sequence did not pause"
    # An instalment due today is charged at once; each later one is a charge on its day.
    charged_now = sum(i.amount.minor for i in schedule if i.due_on <= TODAY)
    assert served.invoice(debtor).balance.minor == BALANCE - charged_now
    later = [i.due_on for i in schedule if i.due_on > TODAY]
    assert scheduled_charges(served, debtor, dunning) == later
    served.run_worker()
    confirmations = served.emails_to()[sent_before:]
    assert confirmations, "no confirmation of the plan was sent"
    confirmation = normalise(text_of(confirmations[0]))
    assert all(money(i.amount.minor, "fr") in confirmation for i in schedule)


# -- 3. promise to pay ---------------------------------------------------------------------


def test_a_customer_promises_to_pay_on_their_usual_day_and_dunning_waits_until_then(
    served: Served, page: Any, screens: Screens
) -> None:
    from relance.services import payment_page

    # Paid on the 25th three months running: the page suggests the 25th.
    history = (date(2026, 8, 25), date(2026, 9, 25), date(2026, 10, 25))
    debtor = served.debtor(locale="en", paid_on=history)
    dunning = pending_dunning(served, debtor)
    window = payment_page.view_page(served.ctx, debtor.url_token, visit=False).promise
    assert (window.earliest, window.suggested) == (TODAY + timedelta(days=1), date(2026, 11, 25))
    assert window.latest == TODAY + timedelta(days=14)

    page.goto(debtor.link)
    form = page.locator("#promise-form")
    day = form.locator("input[type=date][name=date]")
    expect(day).to_have_attribute("min", window.earliest.isoformat())
    expect(day).to_have_attribute("max", window.latest.isoformat())
    expect(day).to_have_value("2026-11-25")
    screens.take(page, "promise-1-suggested")

    # Beyond the window the browser itself refuses; a hand-made request (the limits taken
    # off the field) is refused by the server with a sentence.
    too_late = (window.latest + timedelta(days=7)).isoformat()
    day.fill(too_late)
    assert day.evaluate("el => el.validity.rangeOverflow")
    day.evaluate("el => { el.removeAttribute('min'); el.removeAttribute('max'); }")
    submit(page, form)
    refusal = outcome(page)
    assert len(refusal.split()) >= 4
    assert refusal.endswith((".", "!"))
    expect(page.locator("#arrangement")).to_have_count(0)
    assert served.case(debtor).case.status is CaseStatus.ACTIVE
    screens.take(page, "promise-2-refused")

    form = page.locator("#promise-form")
    form.locator("input[name=date]").fill("2026-11-25")
    submit(page, form)
    assert shows_date(text_at(page, "#arrangement"), date(2026, 11, 25), "en")
    screens.take(page, "promise-3-accepted")

    assert served.case(debtor).case.status is CaseStatus.PAUSED
    assert not still_pending(served, debtor, dunning)
    assert scheduled_charges(served, debtor, dunning) == [date(2026, 11, 25)]
    served.run_worker()  # the confirmation
    sent = len(served.emails_to())
    # The day-3 follow-up (Tuesday 24th) would have gone out by now: dunning waits instead.
    served.clock.advance(days=3, hours=3)
    served.run_worker()
    assert len(served.emails_to()) == sent


# -- 4. expired and tampered links ---------------------------------------------------------


def tampered(link: str) -> str:
    """The same link with one character of the token changed."""
    base, token = link.rsplit("/pay/", 1)
    swapped = "B" if token[2] != "B" else "C"
    return f"{base}/pay/{token[:2]}{swapped}{token[3:]}"


def test_a_tampered_or_expired_link_shows_a_friendly_page_that_reveals_nothing(
    served: Served, page: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="en")
    about_the_account = [HOLDER, CUSTOMER_EMAIL, debtor.number, "49.90", "49,90", "4242"]

    response = page.goto(tampered(debtor.link))
    assert response is not None
    assert response.status == 404
    expect(page.locator("#link-problem")).to_be_visible()
    html = page.content()
    for secret in [*about_the_account, MERCHANT, SUPPORT_EMAIL, "Traceback"]:
        assert secret not in html, secret
    screens.take(page, "links-1-tampered")

    served.clock.advance(days=15)
    response = page.goto(debtor.link)
    assert response is not None
    assert response.status == 410
    expect(page.locator("#link-problem")).to_contain_text(SUPPORT_EMAIL)
    html = page.content()
    for secret in [*about_the_account, "Traceback"]:
        assert secret not in html, secret
    screens.take(page, "links-2-expired")


# -- 5. French and English -----------------------------------------------------------------

FRENCH = {"facture", "factures", "paiement", "carte", "payer", "régler", "virement", "échéances"}
ENGLISH = {"invoice", "invoices", "payment", "card", "pay", "instalments", "transfer", "date"}


def heading_words(page: Any) -> set[str]:
    texts = page.locator("h1, h2").all_inner_texts()
    return set(re.findall(r"[\wéèêàâùûôîçë]+", " ".join(texts).lower()))


def test_the_page_speaks_the_customers_french_and_switches_to_english(
    served: Served, page: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="fr")
    page.goto(debtor.link)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    invoices = text_at(page, "table#invoices")
    assert "49,90 €" in invoices
    assert shows_date(invoices, date(2026, 11, 20), "fr")  # due yesterday, "20 novembre 2026"
    french = heading_words(page)
    assert len(french & FRENCH) >= 2, french
    assert untranslated(page) == []
    screens.take(page, "language-1-fr")

    page.locator('a[hreflang="en"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    invoices = text_at(page, "table#invoices")
    assert "€49.90" in invoices
    assert shows_date(invoices, date(2026, 11, 20), "en")
    english = heading_words(page)
    assert len(english & ENGLISH) >= 2, english
    assert not english & FRENCH
    screens.take(page, "language-2-en")

    page.locator('a[hreflang="fr"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")


# -- 6. a phone ----------------------------------------------------------------------------

SHORT_BUTTONS = """() => Array.from(document.querySelectorAll(
        'button, input[type=submit], input[type=button], [role=button]'))
    .filter(e => e.getClientRects().length > 0)
    .map(e => [(e.innerText || e.value || '').trim(), e.getBoundingClientRect().height])
    .filter(([, height]) => height < 44)
    .map(([name, height]) => `${name}: ${height}px`)"""


def test_on_a_narrow_phone_the_page_fits_and_the_card_form_works_by_touch(
    served: Served, phone: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="fr")
    page = phone.new_page()
    page.goto(debtor.link)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate(SHORT_BUTTONS) == []  # every button at least 44 px high
    for name in CARD_FIELDS:
        box = card_form(page).locator(f"input[name={name}]").bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 360, name
    screens.take(page, "mobile-1-page")

    fill_card(page, GOOD)
    with page.expect_navigation():
        submit_button(card_form(page)).tap()
    assert PAID.search(outcome(page))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screens.take(page, "mobile-2-paid")
    assert served.invoice(debtor).is_settled


# -- 7. keyboard only ----------------------------------------------------------------------

FOCUSED = """() => {
    const e = document.activeElement;
    return [e && e.form ? e.form.id : null, e ? e.getAttribute('name') : null];
}"""


def test_the_card_form_is_filled_and_sent_with_the_keyboard_alone(
    served: Served, page: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="en")
    page.goto(debtor.link)
    values = {"name": HOLDER, "number": GOOD, "expiry": EXPIRY, "cvc": CVC}
    typed: set[str] = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        form, name = page.evaluate(FOCUSED)
        if form == "card-form" and name in values and name not in typed:
            page.keyboard.press("ControlOrMeta+A")  # a field the page filled in is replaced
            page.keyboard.type(values[name])
            typed.add(name)
            if typed == set(values):
                break
    assert typed == set(values), f"Tab never reached {set(values) - typed}"
    screens.take(page, "keyboard-1-filled")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert PAID.search(outcome(page))
    assert served.invoice(debtor).is_settled


# -- 8. without JavaScript -----------------------------------------------------------------


def test_without_javascript_the_card_journey_still_works(
    served: Served, new_context: Any, screens: Screens
) -> None:
    debtor = served.debtor(locale="en")
    page = new_context(java_script_enabled=False).new_page()
    page.goto(debtor.link)
    expect(page.locator("#plan-form input[name=count]")).to_have_count(3)
    fill_card(page, GOOD)
    submit(page, card_form(page))
    assert PAID.search(outcome(page))
    screens.take(page, "nojs-1-paid")
    assert served.invoice(debtor).is_settled


# -- bank transfer -------------------------------------------------------------------------


def test_a_customer_choosing_a_transfer_gets_the_iban_and_a_structured_reference(
    served: Served, page: Any, screens: Screens
) -> None:
    from relance.domain.transfers import is_valid_reference
    from relance.services import payment_page

    served.give_bank_details()
    debtor = served.debtor(locale="fr")
    page.goto(debtor.link)
    expect(page.locator("#transfer-details")).to_have_count(0)
    submit(page, page.locator("#transfer-form"))
    details = re.sub(r"\s", "", text_at(page, "#transfer-details"))
    arrangement = payment_page.view_page(served.ctx, debtor.url_token, visit=False).arrangement
    assert arrangement is not None
    assert arrangement.reference is not None
    reference = re.sub(r"\s", "", arrangement.reference)
    assert is_valid_reference(reference)
    assert MERCHANT_IBAN in details
    assert MERCHANT_BIC in details
    assert reference in details
    screens.take(page, "transfer-1-details")
    assert untranslated(page) == []
    assert served.case(debtor).case.status is CaseStatus.PAUSED


# -- 9. nothing secret kept ----------------------------------------------------------------


def test_no_card_number_cvc_or_full_iban_is_left_in_the_database_logs_pages_or_emails(
    served: Served, page: Any
) -> None:
    served.give_bank_details()
    payer = served.debtor(locale="en", number="F-2026-0042")
    page.goto(payer.link)
    for number in (DECLINED, EXPIRED, INSUFFICIENT, GOOD):
        fill_card(page, number)
        submit(page, card_form(page))
        outcome(page)
    assert served.invoice(payer).is_settled

    mover = served.debtor(locale="fr", number="F-2026-0043")
    page.goto(mover.link)
    submit(page, page.locator("#transfer-form"))
    expect(page.locator("#transfer-details")).to_be_visible()
    served.run_worker()  # the confirmations and receipts go out too

    assert_nothing_leaked(served, [DECLINED, EXPIRED, INSUFFICIENT, GOOD], [payer.link, mover.link])
