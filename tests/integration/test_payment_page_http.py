"""The customer's payment page over HTTP, as a browser without JavaScript uses it: every form
is read from the page's HTML and sent as a plain POST, and every redirect followed by hand.
The real application over FastAPI's test client, SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as email_policy
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.entrypoints import logs, web
from relance.entrypoints.api.app import create_app
from relance.entrypoints.worker import Worker
from relance.services import customers, merchants

from .conftest import Shop

CSP = re.compile(
    r"default-src 'none'; script-src 'self'; style-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'; "
    r"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
VISA_OK = "4242 4242 4242 4242"
REFUSED_AT_SAVE = "4000 0000 0000 0002"
IBAN = "FR7630006000011234567890189"
SECTIONS = ("arrangement", "card", "pay-now", "plan", "promise", "transfer")


# -- a small DOM, enough to read the page like a browser ----------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = list(self.texts)
        for child in self.children:
            parts.append(child.text())
        return re.sub(r"[ \t\r\n\f]+", " ", " ".join(parts)).strip()  # keeps no-break spaces

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, id_: str) -> Node | None:
        found = self.find(id=id_)
        return found[0] if found else None

    def get(self, id_: str) -> Node:
        node = self.by_id(id_)
        assert node is not None, f"no #{id_}"
        return node


_VOID = {"input", "meta", "link", "br", "img", "hr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].texts.append(data)


def dom(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def form_of(page: Node, form_id: str) -> tuple[str, dict[str, str]]:
    """The form's action and the fields a browser would send before anyone types."""
    form = page.by_id(form_id)
    assert form is not None, f"no #{form_id} on the page"
    assert form.attrs["method"] == "post"
    fields = {
        n.attrs["name"]: n.attrs.get("value", "")
        for n in form.find("input")
        if "name" in n.attrs and n.attrs.get("type") not in ("radio", "checkbox")
    }
    return form.attrs["action"], fields


# -- the application and a link ------------------------------------------------------------


def web_app(app: App) -> FastAPI:
    """The API with the payment page, whether or not app.py installs it already."""
    api = create_app(app)
    if not any(getattr(r, "path", None) == "/pay/{url_token}" for r in api.routes):
        web.install(api)
    return api


@pytest.fixture
def browser(app: App) -> Iterator[TestClient]:
    with TestClient(web_app(app), follow_redirects=False) as client:
        yield client


def link_path(shop: Shop, token: str = "tok_insufficient_funds", ref: str = "c1") -> str:
    """A payment fails; the reminder the worker sends carries the page's link."""
    customer_id = shop.customer(ref, token=token)
    shop.fail(shop.invoice(customer_id, "F-2026-001" if ref == "c1" else f"F-{ref}"))
    before = set(shop.app.outbox.sent())
    Worker(shop.app.ctx, "test-worker", lease_seconds=60, batch=50).run_once()
    [sent] = set(shop.app.outbox.sent()) - before
    email = message_from_bytes(sent.read_bytes(), policy=email_policy)
    body = email.get_body(("plain",))
    assert body is not None
    found = re.search(r"/pay/[A-Za-z0-9_.\-]+", body.get_content())
    assert found is not None
    return found[0]


@pytest.fixture
def link(shop: Shop) -> str:
    return link_path(shop)


def page_of(browser: TestClient, path: str, **params: str) -> Node:
    response = browser.get(path, params=params) if params else browser.get(path)
    assert response.status_code == 200, response.text
    return dom(response.text)


def submit(
    browser: TestClient,
    page: Node,
    form_id: str,
    headers: dict[str, str] | None = None,
    **typed: str,
) -> tuple[httpx.Response, dict[str, str]]:
    action, fields = form_of(page, form_id)
    fields.update(typed)
    return browser.post(action, data=fields, headers=headers or {}), fields


def follow(browser: TestClient, response: httpx.Response) -> Node:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return page_of(browser, location)


def outcome(page: Node) -> tuple[str, str]:
    node = page.by_id("outcome")
    assert node is not None, "no #outcome"
    assert node.attrs["role"] == "status"
    kind = next(c for c in node.attrs["class"].split() if c != "outcome")
    return kind, node.text()


def section_order(page: Node) -> list[str]:
    return [n.attrs["id"] for n in page.find("section") if n.attrs.get("id") in SECTIONS]


def charges(shop: Shop) -> int:
    return len(shop.app.gateway.charges())


# -- what the page shows -------------------------------------------------------------------


def test_the_page_shows_what_is_due_and_why_in_the_customers_language(
    browser: TestClient, link: str
):
    response = browser.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "fr"
    page = dom(response.text)

    [html] = page.find("html")
    assert html.attrs["lang"] == "fr"
    assert "Acme" in page.find("header")[0].text()
    invoices = page.by_id("invoices")
    assert invoices is not None
    row = invoices.find("tbody")[0].find("tr")[0].text()
    assert row == "F-2026-001 20 novembre 2026 49,00\u00a0€"
    assert "Total 49,00\u00a0€" in invoices.find("tfoot")[0].text()
    reason = page.by_id("reason")
    assert reason is not None
    assert "Le solde disponible sur votre compte ne suffisait pas" in reason.text()
    assert section_order(page) == ["card", "pay-now", "plan", "promise"]  # no IBAN: no transfer
    for section in page.find("section"):
        assert section.find("h2"), f"#{section.attrs.get('id')} has no heading"
    assert "Visa ••4242, exp 12/30" in page.get("card").text()
    switch = {a.attrs["hreflang"]: a for a in page.find("a") if "hreflang" in a.attrs}
    assert switch["fr"].text() == "Français"
    assert switch["en"].text() == "English"
    assert switch["en"].attrs["href"] == f"{link}?lang=en"


def test_the_language_switch_keeps_the_link_and_writes_the_english_way(
    browser: TestClient, link: str
):
    page = page_of(browser, link, lang="en")

    assert page.find("html")[0].attrs["lang"] == "en"
    assert "F-2026-001 November 20, 2026 €49.00" in page.get("invoices").text()
    assert "There wasn't enough money available" in page.get("reason").text()
    assert page.get("pay-now").find("button")[0].text() == "Pay €49.00 now"
    action, _ = form_of(page, "card-form")
    assert action == f"{link}/card?lang=en"


def test_the_plans_show_their_exact_schedule_before_anything_is_accepted(
    browser: TestClient, link: str
):
    page = page_of(browser, link, lang="en")
    plan = page.by_id("plan-form")
    assert plan is not None

    radios = [n for n in plan.find("input") if n.attrs.get("type") == "radio"]
    assert [r.attrs["value"] for r in radios] == ["2", "3", "4"]
    assert all(r.attrs["name"] == "count" for r in radios)
    three = plan.by_id("plan-3-schedule")
    assert three is not None
    assert [li.text() for li in three.find("li")] == [
        "November 21, 2026 €16.34",
        "December 21, 2026 €16.33",
        "January 21, 2027 €16.33",
    ]
    promise = page.by_id("promise-form")
    assert promise is not None
    [date_input] = promise.find("input", type="date")
    assert (date_input.attrs["name"], date_input.attrs["min"], date_input.attrs["max"]) == (
        "date",
        "2026-11-22",
        "2026-12-05",
    )


# -- security ------------------------------------------------------------------------------


def assert_secured(response: httpx.Response, tls: bool = False) -> None:
    headers = response.headers
    nonce = CSP.fullmatch(headers["content-security-policy"])
    assert nonce, headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    if tls:
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    else:
        assert "strict-transport-security" not in headers
    body = response.text
    if "<html" in body:
        page = dom(body)
        [style] = page.find("style")
        assert style.attrs["nonce"] == nonce[1]  # the one inline style the CSP allows
        assert all("src" in s.attrs for s in page.find("script"))  # no inline script
        for node in page.walk():
            assert "style" not in node.attrs
            assert not any(name.startswith("on") for name in node.attrs)


def test_every_response_of_the_page_is_sent_with_the_security_headers(
    browser: TestClient, link: str, shop: Shop
):
    page = browser.get(link)
    assert_secured(page)
    other = browser.get(link)
    nonces = {CSP.findall(r.headers["content-security-policy"])[0] for r in (page, other)}
    assert len(nonces) == 2  # a nonce per response
    posted, _ = submit(browser, dom(page.text), "pay-now-form")
    assert_secured(posted)
    assert_secured(browser.post(f"{link}/pay", data={}))  # refused
    assert_secured(browser.get("/pay/not-a-link"))
    assert_secured(browser.get(f"{link}/nowhere"))  # the router's own 404
    css = browser.get(dom(page.text).find("link")[0].attrs["href"])
    assert css.status_code == 200
    assert css.headers["x-content-type-options"] == "nosniff"
    assert css.headers["content-type"].startswith("text/css")
    js = browser.get(dom(page.text).find("script")[0].attrs["src"])
    assert js.status_code == 200
    assert "text/javascript" in js.headers["content-type"]


def test_hsts_is_sent_only_to_requests_that_came_over_tls(app: App, link: str):
    with TestClient(web_app(app), base_url="https://pay.relance.example") as tls:
        assert_secured(tls.get(link), tls=True)
    with TestClient(web_app(app)) as proxied:
        assert_secured(proxied.get(link, headers={"X-Forwarded-Proto": "https"}), tls=True)
        assert_secured(proxied.get(link))


def test_every_form_is_a_plain_post_with_its_nonce_and_signed_token(browser: TestClient, link: str):
    page = page_of(browser, link)
    nonces = set()
    for form_id in ("card-form", "pay-now-form", "plan-form", "promise-form"):
        action, fields = form_of(page, form_id)
        assert action.startswith(f"{link}/")
        assert fields["csrf"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", fields["nonce"])
        nonces.add(fields["nonce"])
        [button] = page.get(form_id).find("button")
        assert button.attrs["type"] == "submit"
    assert len(nonces) == 4  # one per form: sending one is never a replay of another
    card = page.by_id("card-form")
    assert card is not None
    expected = {
        "name": ("cc-name", None),
        "number": ("cc-number", "numeric"),
        "expiry": ("cc-exp", "numeric"),
        "cvc": ("cc-csc", "numeric"),
    }
    for name, (autocomplete, inputmode) in expected.items():
        [field_] = card.find("input", name=name)
        assert field_.attrs["autocomplete"] == autocomplete
        assert field_.attrs.get("inputmode") == inputmode
        assert card.find("label", for_=field_.attrs["id"]), f"{name} has no label"
    assert card.find("input", name="expiry")[0].attrs["placeholder"] == "MM/YY"


def test_a_form_without_a_valid_signed_token_is_refused_and_does_nothing(
    browser: TestClient, clock: FrozenClock, shop: Shop
):
    first, second = link_path(shop), link_path(shop, token="tok_ok", ref="c2")
    page = page_of(browser, first)
    action, fields = form_of(page, "pay-now-form")
    other_action, other_fields = form_of(page_of(browser, second), "pay-now-form")
    before = charges(shop)

    refused = [
        browser.post(action, data={"nonce": fields["nonce"]}),  # no token
        browser.post(action, data={**fields, "csrf": fields["csrf"][:-2] + "xx"}),  # altered
        browser.post(action, data={**fields, "nonce": other_fields["nonce"]}),  # another form's
        browser.post(action, data=other_fields),  # a form of another link
    ]
    clock.advance(hours=2, minutes=1)
    refused.append(browser.post(action, data=fields))  # too old

    for response in refused:
        assert response.status_code == 403
        problem = dom(response.text)
        assert problem.by_id("problem") is not None
        assert "Ce formulaire a expiré" in problem.text()
        assert "Traceback" not in response.text
    assert charges(shop) == before
    assert other_action != action


def test_a_form_sent_from_another_site_is_refused(browser: TestClient, link: str, shop: Shop):
    page = page_of(browser, link)
    before = charges(shop)

    foreign, _ = submit(browser, page, "pay-now-form", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert charges(shop) == before
    # A browser sends "Origin: null" for the page's own forms under Referrer-Policy no-referrer.
    own, _ = submit(browser, page, "pay-now-form", headers={"Origin": "null"})
    assert own.status_code == 303
    assert charges(shop) == before + 1


# -- the card ------------------------------------------------------------------------------


def test_a_new_card_pays_the_invoice_and_the_page_says_so_after_the_redirect(
    browser: TestClient, link: str, shop: Shop
):
    page = page_of(browser, link)
    response, fields = submit(
        browser, page, "card-form", name="Camille Martin", number=VISA_OK, expiry="08/29", cvc="123"
    )

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == link
    assert parse_qs(location.query) == {"r": [fields["nonce"]], "lang": ["fr"]}
    after = follow(browser, response)
    assert outcome(after) == (
        "success",
        "Carte enregistrée. La facture F-2026-001 est réglée.",
    )
    assert after.by_id("settled") is not None
    assert after.find("form") == []
    assert "Visa" not in after.get("outcome").text()
    with shop.app.engine.connect() as conn:
        stored = conn.execute(text("SELECT request_hash, response_body FROM idempotency_keys"))
        rows = [" ".join(str(v) for v in row) for row in stored]
    assert rows
    assert not any("4242" in row or "123" in row.split()[-1] for row in rows)


def test_sending_the_same_form_twice_acts_once_and_answers_the_same(
    browser: TestClient, link: str, shop: Shop
):
    page = page_of(browser, link)
    action, fields = form_of(page, "pay-now-form")
    before = charges(shop)

    first = browser.post(action, data=fields)
    second = browser.post(action, data=fields)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert charges(shop) == before + 1
    kind, words = outcome(follow(browser, second))
    assert kind == "error"
    assert words.startswith("Votre banque a refusé le paiement. Le solde disponible")


def test_a_mistyped_card_comes_back_with_each_problem_next_to_its_field(
    browser: TestClient, link: str, shop: Shop
):
    page = page_of(browser, link, lang="en")
    response, _ = submit(
        browser, page, "card-form", name="Camille", number="4242 4242 4242 4241", expiry="01/26",
        cvc="12",
    )  # fmt: skip

    assert response.status_code == 422
    assert "4242 4242 4242 4241" not in response.text
    again = dom(response.text)
    form = again.by_id("card-form")
    assert form is not None
    summary = again.by_id("card-errors")
    assert summary is not None
    assert summary.attrs["role"] == "alert"
    assert "hidden" not in summary.attrs
    problems = {
        "number": "This card number is not valid: please check the digits.",
        "expiry": "This card has expired: please use a card that is still valid.",
        "cvc": "Enter the security code: 3 digits on the back of the card (4 digits on the "
        "front for American Express).",
    }
    for name, sentence in problems.items():
        [input_] = form.find("input", name=name)
        assert input_.attrs["aria-invalid"] == "true"
        error = again.by_id(f"card-{name}-error")
        assert error is not None
        assert error.attrs["id"] in input_.attrs["aria-describedby"].split()
        assert error.text() == sentence
        assert sentence in summary.text()
    [name_input] = form.find("input", name="name")
    assert "aria-invalid" not in name_input.attrs
    assert name_input.attrs["value"] == "Camille"
    assert form.find("input", name="expiry")[0].attrs["value"] == "01/26"
    assert form.find("input", name="number")[0].attrs["value"] == ""
    assert form.find("input", name="cvc")[0].attrs["value"] == ""
    assert charges(shop) == 0
    reopened = browser.get(f"{link}/card", params={"lang": "en"})  # from the address bar
    assert reopened.status_code == 303
    assert reopened.headers["location"] == f"{link}?lang=en"


def test_a_card_the_bank_refuses_is_explained_in_words(browser: TestClient, link: str):
    page = page_of(browser, link, lang="en")
    response, _ = submit(
        browser, page, "card-form", name="Camille Martin", number=REFUSED_AT_SAVE,
        expiry="08/29", cvc="123",
    )  # fmt: skip

    kind, words = outcome(follow(browser, response))
    assert kind == "error"
    assert words.startswith("Your bank refused this card, so it was not saved.")
    assert "0002" not in words


def test_after_too_many_refused_cards_the_card_form_pauses(
    browser: TestClient, link: str, clock: FrozenClock
):
    stale = page_of(browser, link)  # opened before the pause
    for _ in range(5):  # the policy's card_attempts_per_hour
        page = page_of(browser, link)
        response, _ = submit(
            browser, page, "card-form", name="C M", number=REFUSED_AT_SAVE, expiry="08/29",
            cvc="123",
        )  # fmt: skip
        assert response.status_code == 303

    paused, _ = submit(
        browser, stale, "card-form", name="C M", number=VISA_OK, expiry="08/29", cvc="123"
    )
    assert paused.status_code == 429
    assert 0 < int(paused.headers["retry-after"]) <= 3600
    notice = dom(paused.text).by_id("card-cooldown")
    assert notice is not None
    assert "21 novembre 2026 à 11:00" in notice.text()  # the first refusal + 1 hour, Paris
    assert dom(paused.text).by_id("card-form") is None
    page = page_of(browser, link)
    assert page.by_id("card-cooldown") is not None
    assert page.by_id("pay-now-form") is not None  # the other ways stay open
    clock.advance(hours=1)
    assert page_of(browser, link).by_id("card-form") is not None


def test_too_many_requests_from_one_browser_are_slowed_down(
    browser: TestClient, link: str, clock: FrozenClock
):
    for _ in range(60):
        assert browser.get(link, params={"lang": "fr"}).status_code == 200
    slowed = browser.get(link, headers={"Accept-Language": "fr"})  # no database read to know
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) == 60
    assert "Trop de tentatives" in slowed.text
    assert_secured(slowed)
    clock.advance(seconds=61)
    page = page_of(browser, link)

    action, fields = form_of(page, "promise-form")
    for _ in range(10):
        assert browser.post(action, data={**fields, "date": "nope"}).status_code == 422
    assert browser.post(action, data=fields).status_code == 429


# -- arrangements --------------------------------------------------------------------------


def test_an_accepted_plan_is_shown_first_and_replaces_the_plan_and_promise_forms(
    browser: TestClient, shop: Shop
):
    link = link_path(shop, token="tok_ok")
    page = page_of(browser, link, lang="en")
    response, _ = submit(browser, page, "plan-form", count="2")

    after = follow(browser, response)
    kind, words = outcome(after)
    assert kind == "success"
    assert words.startswith("Plan accepted: 2 monthly instalments.")
    assert "November 21, 2026 €24.50 Paid" in words  # the first is charged at once
    assert "December 21, 2026 €24.50" in words
    assert section_order(after) == ["arrangement", "card", "pay-now"]
    assert after.by_id("plan-form") is None
    assert after.by_id("promise-form") is None


def test_forms_from_a_page_opened_before_the_state_changed_are_refused_in_words(
    browser: TestClient, shop: Shop
):
    # Two tabs: the plan is accepted in one, then the other's promise and pay-now are sent.
    link = link_path(shop, token="tok_ok")
    stale = page_of(browser, link, lang="en")
    accepted, _ = submit(browser, page_of(browser, link, lang="en"), "plan-form", count="2")
    assert accepted.status_code == 303

    promise, _ = submit(browser, stale, "promise-form", date="2026-11-30")
    assert promise.status_code == 409
    assert outcome(dom(promise.text)) == (
        "error",
        "An arrangement is already in place: it is shown below.",
    )


def test_paying_from_a_second_tab_after_the_first_paid_is_refused_in_words(
    browser: TestClient, shop: Shop
):
    link = link_path(shop, token="tok_ok")
    first, second = page_of(browser, link, lang="en"), page_of(browser, link, lang="en")
    paid, _ = submit(browser, first, "pay-now-form")
    assert paid.status_code == 303
    before = charges(shop)

    again, _ = submit(browser, second, "pay-now-form")
    assert again.status_code == 409
    assert outcome(dom(again.text)) == ("error", "There is nothing left to pay.")
    assert charges(shop) == before


def test_a_plan_that_is_not_offered_is_refused_in_words(browser: TestClient, link: str):
    page = page_of(browser, link, lang="en")
    response, _ = submit(browser, page, "plan-form", count="7")

    assert response.status_code == 422
    assert outcome(dom(response.text)) == (
        "error",
        "Please choose one of the plans offered.",
    )


def test_a_promise_must_fall_in_the_window_and_is_then_recorded(browser: TestClient, link: str):
    page = page_of(browser, link)
    late, _ = submit(browser, page, "promise-form", date="2026-12-24")
    assert late.status_code == 422
    assert outcome(dom(late.text)) == (
        "error",
        "Merci de choisir une date entre le 22 novembre 2026 et le 5 décembre 2026.",
    )

    again = dom(late.text)
    response, _ = submit(browser, again, "promise-form", date="2026-12-01")
    after = follow(browser, response)
    kind, words = outcome(after)
    assert kind == "success"
    assert words.startswith("Engagement enregistré : 49,00\u00a0€ le 1 décembre 2026.")
    arrangement = after.by_id("arrangement")
    assert arrangement is not None
    assert "1 décembre 2026" in arrangement.text()
    assert after.by_id("promise-form") is None


def test_a_bank_transfer_shows_the_account_and_a_reference_to_quote(
    browser: TestClient, shop: Shop
):
    merchants.update_profile(shop.app.ctx, shop.merchant_id, {"iban": IBAN, "bic": "BNPAFRPP"})
    link = link_path(shop)
    page = page_of(browser, link, lang="en")
    assert page.by_id("transfer-details") is None
    assert section_order(page)[-1] == "transfer"

    response, _ = submit(browser, page, "transfer-form")
    after = follow(browser, response)
    details = after.by_id("transfer-details")
    assert details is not None
    words = details.text()
    assert "FR76 3000 6000 0112 3456 7890 189" in words
    assert "BNPAFRPP" in words
    assert "Acme" in words
    assert "€49.00" in words
    reference = re.search(r"RF\d\d(?: [0-9A-Z]{1,4})+", words)
    assert reference is not None
    assert outcome(after)[0] == "success"


def test_when_nothing_is_due_the_page_thanks_and_offers_no_form(
    browser: TestClient, link: str, shop: Shop
):
    page = page_of(browser, link)
    submit(browser, page, "card-form", name="C M", number=VISA_OK, expiry="08/29", cvc="123")

    settled = page_of(browser, link, lang="en")
    assert settled.by_id("settled") is not None
    assert settled.by_id("invoices") is None
    assert settled.find("form") == []


# -- links that cannot be used -------------------------------------------------------------


def test_an_expired_link_gives_the_merchants_contact_and_nothing_about_the_account(
    browser: TestClient, shop: Shop, clock: FrozenClock
):
    merchants.update_profile(
        shop.app.ctx,
        shop.merchant_id,
        {"support_email": "aide@acme.example", "support_phone": "+33 1 99 00 12 34"},
    )
    link = link_path(shop)
    clock.advance(days=15)

    for response in (browser.get(link), browser.post(f"{link}/pay", data={})):
        assert response.status_code in (410, 403)
    expired = browser.get(link, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert expired.status_code == 410
    assert_secured(expired)
    page = dom(expired.text)
    problem = page.by_id("link-problem")
    assert problem is not None
    assert page.find("html")[0].attrs["lang"] == "en"
    assert "This payment link has expired" in problem.text()
    assert problem.find("a", href="mailto:aide@acme.example")
    assert any(a.attrs["href"].startswith("tel:+33") for a in problem.find("a"))
    for secret in ("F-2026-001", "49", "Camille", "4242"):
        assert secret not in expired.text
    assert page.find("form") == []


def test_a_replaced_link_says_so(browser: TestClient, shop: Shop):
    link = link_path(shop)
    [customer] = customers.list_customers(shop.app.ctx, shop.merchant_id, None, 10).items
    customers.revoke_payment_links(shop.app.ctx, shop.merchant_id, customer.id)

    response = browser.get(link, params={"lang": "fr"})
    assert response.status_code == 410
    assert "Ce lien de paiement a été remplacé" in response.text


def test_a_tampered_or_unknown_link_reveals_nothing(browser: TestClient, link: str):
    token = link.rsplit("/", 1)[1]
    tampered = f"/pay/{token[:-3]}{'abc' if token[-3:] != 'abc' else 'xyz'}"
    for path in (tampered, "/pay/unknown", "/pay/" + "x" * 500):
        response = browser.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        assert response.status_code == 404
        page = dom(response.text)
        assert page.by_id("link-problem") is not None
        assert "Ce lien ne fonctionne pas" in page.text()
        assert "Acme" not in response.text
        assert "Traceback" not in response.text
    posted = browser.post(f"{tampered}/card", data={"number": VISA_OK})
    assert posted.status_code == 403  # the form token is checked first


def test_a_failure_on_our_side_is_a_page_without_a_trace_and_the_log_has_no_link(
    browser: TestClient, link: str, shop: Shop
):
    with shop.app.engine.begin() as conn:  # the database loses a table under the page
        conn.execute(text("ALTER TABLE payment_links RENAME TO payment_links_gone"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    previous = (logs.logger.handlers[:], logs.logger.level)
    logs.logger.handlers[:] = [handler]
    logs.logger.setLevel(logging.INFO)
    try:
        response = browser.get(link, headers={"Accept-Language": "en"})
    finally:
        logs.logger.handlers[:], level = previous
        logs.logger.setLevel(level)

    assert response.status_code == 500
    assert_secured(response)
    assert "Something went wrong" in response.text
    for leak in ("Traceback", "payment_links", "sqlite", "psycopg", "Error"):
        assert leak not in response.text
    stored_token = link.rsplit("/", 1)[1].split(".")[0]  # what the database knows the link by
    assert stored_token not in stream.getvalue()
    failures = [json.loads(line) for line in stream.getvalue().splitlines()]
    [failure] = [f for f in failures if f["event"] == "payment page failed"]
    assert failure["path"] == "/pay/{url_token}"
    assert failure["error"] in ("OperationalError", "ProgrammingError")  # SQLite, PostgreSQL
    assert "view_page" in failure["trace"]
