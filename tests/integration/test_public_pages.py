"""What customers and SMS providers reach without an API key: the unsubscribe pages behind the
link in every reminder (and RFC 8058 one-click), and the inbound SMS hooks where STOP arrives.
The real app over FastAPI's test client, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App, build
from relance.entrypoints import logs
from relance.entrypoints.api.app import create_app
from relance.entrypoints.worker import Worker
from relance.services import customers, merchants

from ..conftest import make_settings
from .conftest import Shop

PUBLIC_URL = "https://relance.example"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
SMS_TOKEN = "sms-hook-token-for-tests"
PHONE = "+33612345678"


@pytest.fixture
def hooked_app(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[App]:
    """The application as deployed behind a public URL, with both inbound SMS hooks set up."""
    settings = make_settings(
        database_url,
        tmp_path,
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_TOKEN,
        sms_webhook_token=SMS_TOKEN,
    )
    built = build(settings, clock=clock)
    built.migrate()
    yield built
    built.close()


@pytest.fixture
def shop(hooked_app: App) -> Shop:
    made = merchants.create_merchant(hooked_app.ctx, "Acme")
    return Shop(hooked_app, made.id, made.api_key)


@pytest.fixture
def public(hooked_app: App) -> Iterator[TestClient]:
    """A client with no API key, like a customer's browser or an SMS provider."""
    with TestClient(create_app(hooked_app), base_url=PUBLIC_URL) as c:
        yield c


def unsubscribe_path(shop: Shop) -> str:
    """A reminder goes out; its List-Unsubscribe header is what a mail client would use."""
    shop.failed_case()
    worker = Worker(shop.app.ctx, "test-worker", lease_seconds=60, batch=50)
    worker.run_once()
    [eml] = shop.app.outbox.sent()
    email = message_from_bytes(eml.read_bytes(), policy=email_policy)
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(email["List-Unsubscribe"]).strip("<>")
    assert url.startswith(f"{PUBLIC_URL}/unsubscribe/")
    return urlsplit(url).path


def opt_outs(shop: Shop) -> list[tuple[str, str]]:
    [customer] = customers.list_customers(shop.app.ctx, shop.merchant_id, None, 10).items
    found = customers.opt_outs_of(shop.app.ctx, shop.merchant_id, customer.id)
    return [(o.channel, o.source.value) for o in found]


# -- unsubscribe -----------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_first_and_records_nothing(public: TestClient, shop: Shop):
    path = unsubscribe_path(shop)
    page = public.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Acme" in page.text
    assert '<form method="post">' in page.text
    assert "Confirmer / Confirm" in page.text  # no language asked for: both
    assert opt_outs(shop) == []  # mail scanners open links; only the button counts


def test_the_page_speaks_the_browsers_language(public: TestClient, shop: Shop):
    path = unsubscribe_path(shop)
    english = public.get(path, headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in english.text
    assert "Stop receiving payment reminder emails from Acme?" in english.text
    assert "Confirmer" not in english.text
    french = public.get(path, headers={"Accept-Language": "de-DE, fr;q=0.8, en;q=0.3"})
    assert '<html lang="fr">' in french.text
    assert "Ne plus recevoir les emails de relance de Acme ?" in french.text


def test_a_one_click_post_unsubscribes_and_repeating_it_is_fine(public: TestClient, shop: Shop):
    path = unsubscribe_path(shop)
    one_click = {"List-Unsubscribe": "One-Click"}
    done = public.post(path, data=one_click, headers={"Accept-Language": "en"})
    assert done.status_code == 200
    assert "You will no longer receive these emails from Acme." in done.text
    assert opt_outs(shop) == [("email", "unsubscribe_link")]
    again = public.post(path, data=one_click, headers={"Accept-Language": "fr"})
    assert again.status_code == 200
    assert "Vous ne recevrez plus ces emails de Acme." in again.text
    assert opt_outs(shop) == [("email", "unsubscribe_link")]


def test_an_unknown_link_is_a_friendly_page_that_reveals_nothing(public: TestClient, shop: Shop):
    unsubscribe_path(shop)  # a real token exists, for another customer
    for response in (
        public.get("/unsubscribe/not-a-real-token"),
        public.post("/unsubscribe/not-a-real-token", data={"List-Unsubscribe": "One-Click"}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Lien non valide" in response.text
        assert "Invalid link" in response.text
        assert "Acme" not in response.text
        assert "not-a-real-token" not in response.text
        assert "<form" not in response.text
    assert opt_outs(shop) == []


def test_the_request_log_never_holds_the_unsubscribe_token(public: TestClient, shop: Shop):
    path = unsubscribe_path(shop)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    previous = (logs.logger.handlers[:], logs.logger.level)
    logs.logger.handlers[:] = [handler]
    logs.logger.setLevel(logging.INFO)
    try:
        public.get(path)
    finally:
        logs.logger.handlers[:], level = previous
        logs.logger.setLevel(level)
    [line] = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["path"] == "/unsubscribe/{token}"
    assert path.rsplit("/", 1)[1] not in stream.getvalue()


# -- inbound SMS ---------------------------------------------------------------------------


def texted_customer(shop: Shop) -> str:
    c = customers.register_customer(
        shop.app.ctx,
        shop.merchant_id,
        customers.CustomerInput("c-sms", "Camille Martin", None, PHONE, "fr", "Europe/Paris"),
    )
    return c.id


def sms_opt_outs(shop: Shop, customer_id: str) -> list[tuple[str, str]]:
    found = customers.opt_outs_of(shop.app.ctx, shop.merchant_id, customer_id)
    return [(o.channel, o.source.value) for o in found]


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's scheme, written from its documentation: base64 of the HMAC-SHA1, keyed with the
    auth token, of the full URL followed by every POST field name and value, sorted by name."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_a_signed_twilio_stop_opts_the_number_out(public: TestClient, shop: Shop):
    customer_id = texted_customer(shop)
    path = f"/hooks/sms/{shop.merchant_id}/twilio"
    params = {"From": PHONE, "To": "+33700000000", "Body": "Stop", "MessageSid": "SM123"}
    signature = twilio_signature(TWILIO_TOKEN, PUBLIC_URL + path, params)
    response = public.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response/>")
    assert sms_opt_outs(shop, customer_id) == [("sms", "sms_stop")]


def test_a_twilio_request_with_a_wrong_signature_is_refused(public: TestClient, shop: Shop):
    customer_id = texted_customer(shop)
    path = f"/hooks/sms/{shop.merchant_id}/twilio"
    params = {"From": PHONE, "Body": "STOP"}
    forged = twilio_signature("another-token", PUBLIC_URL + path, params)
    other_url = twilio_signature(TWILIO_TOKEN, "https://elsewhere.example" + path, params)
    for headers in ({"X-Twilio-Signature": forged}, {"X-Twilio-Signature": other_url}, {}):
        response = public.post(path, data=params, headers=headers)
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    tampered = twilio_signature(TWILIO_TOKEN, PUBLIC_URL + path, {**params, "Body": "Hello"})
    assert public.post(path, data=params, headers={"X-Twilio-Signature": tampered}).status_code == (
        403
    )
    assert sms_opt_outs(shop, customer_id) == []


def test_the_generic_hook_takes_the_bearer_token(public: TestClient, shop: Shop):
    customer_id = texted_customer(shop)
    path = f"/hooks/sms/{shop.merchant_id}"
    chat = public.post(
        path,
        json={"from": PHONE, "text": "Stop calling me names", "id": "x"},
        headers={"Authorization": f"Bearer {SMS_TOKEN}"},
    )
    assert chat.json() == {"opted_out": 0}  # not a STOP request
    stop = public.post(
        path,
        json={"from": PHONE, "text": "ARRÊT"},
        headers={"Authorization": f"Bearer {SMS_TOKEN}"},
    )
    assert stop.status_code == 200, stop.text
    assert stop.json() == {"opted_out": 1}
    assert sms_opt_outs(shop, customer_id) == [("sms", "sms_stop")]


def test_the_generic_hook_refuses_a_wrong_or_missing_token(public: TestClient, shop: Shop):
    customer_id = texted_customer(shop)
    path = f"/hooks/sms/{shop.merchant_id}"
    for headers in ({"Authorization": "Bearer nope"}, {"Authorization": SMS_TOKEN}, {}):
        # Even a malformed body: a stranger learns nothing about what the hook expects.
        for body in ({"from": PHONE, "text": "STOP"}, {"nothing": True}):
            response = public.post(path, json=body, headers=headers)
            assert response.status_code == 403, response.text
            assert response.headers["content-type"] == "application/problem+json"
    assert sms_opt_outs(shop, customer_id) == []


def test_hooks_that_are_not_set_up_are_not_there(app: App):
    """Without a Twilio auth token or an SMS token nothing could prove who is calling."""
    merchant = merchants.create_merchant(app.ctx, "Acme").id
    with TestClient(create_app(app)) as plain:
        twilio = plain.post(
            f"/hooks/sms/{merchant}/twilio",
            data={"From": PHONE, "Body": "STOP"},
            headers={"X-Twilio-Signature": "anything"},
        )
        generic = plain.post(
            f"/hooks/sms/{merchant}",
            json={"from": PHONE, "text": "STOP"},
            headers={"Authorization": "Bearer anything"},
        )
    assert (twilio.status_code, generic.status_code) == (404, 404)
