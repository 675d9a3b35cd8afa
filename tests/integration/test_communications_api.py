"""How a merchant shapes what its customers receive, over the /v1 API: its profile, message
templates and previews, customers' opt-outs and messages, and webhook endpoints. The real app
over FastAPI's test client, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency
from fastapi.testclient import TestClient

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App
from relance.entrypoints.api.app import create_app
from relance.entrypoints.worker import Worker
from tests.support.http_recorder import HttpRecorder, Reply

from .conftest import Shop

PROBLEM = "application/problem+json"
EURO_49_90 = format_currency(Decimal("49.90"), "EUR", locale="fr")  # "49,90\xa0€"


@pytest.fixture
def client(app: App, shop: Shop) -> Iterator[TestClient]:
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {shop.api_key}"}) as c:
        yield c


def customer(client: TestClient, ref: str = "c1", **extra: Any) -> dict[str, Any]:
    body = {"external_id": ref, "name": "Camille Martin", "email": "camille@example.com", **extra}
    response = client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def invoice(client: TestClient, customer_id: str, amount: int = 4990) -> dict[str, Any]:
    response = client.post(
        "/v1/invoices",
        json={
            "customer_id": customer_id,
            "number": "F-2026-0042",
            "amount": amount,
            "currency": "EUR",
            "issued_at": "2026-11-01T09:00:00Z",
            "due_at": "2026-11-15T09:00:00Z",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def fail_payment(client: TestClient, invoice_id: str, amount: int = 4990) -> str:
    response = client.post(
        "/v1/payment-attempts",
        json={
            "invoice_id": invoice_id,
            "amount": amount,
            "currency": "EUR",
            "outcome": "failed",
            "attempted_at": "2026-11-21T08:00:00Z",
            "decline_code": "insufficient_funds",
        },
    )
    assert response.status_code == 201, response.text
    case_id: str = response.json()["case_id"]
    return case_id


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


# -- the merchant's profile ----------------------------------------------------------------


def test_the_merchant_profile_starts_from_the_defaults(client: TestClient, shop: Shop):
    profile = client.get("/v1/merchant").json()
    assert profile["id"] == shop.merchant_id
    assert profile["name"] == "Acme"
    assert (profile["default_locale"], profile["country"]) == ("fr", "FR")
    assert profile["sender_email"] is None


def test_a_patch_changes_only_the_fields_sent(client: TestClient):
    response = client.patch(
        "/v1/merchant",
        json={
            "brand_color": "#0a7d3b",
            "service_description": {"fr": "votre abonnement Pro", "en": "your Pro plan"},
            "support_phone": "01 23 45 67 89",
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["brand_color"] == "#0a7d3b"
    assert changed["service_description"]["fr"] == "votre abonnement Pro"
    assert changed["support_phone"] == "+33123456789"  # read with the merchant's country
    assert changed["name"] == "Acme"
    again = client.patch("/v1/merchant", json={"support_phone": None}).json()
    assert again["support_phone"] is None
    assert again["brand_color"] == "#0a7d3b"
    assert client.get("/v1/merchant").json() == again


def test_one_bad_value_refuses_the_whole_patch(client: TestClient):
    before = client.get("/v1/merchant").json()
    response = client.patch("/v1/merchant", json={"name": "Acme SAS", "brand_color": "blue"})
    assert "brand_color 'blue' is not a colour" in assert_problem(response, 422)["detail"]
    response = client.patch("/v1/merchant", json={"country": None})
    assert "'country' cannot be null" in assert_problem(response, 422)["detail"]
    assert client.get("/v1/merchant").json() == before


# -- templates -----------------------------------------------------------------------------


def test_templates_are_listed_with_the_locales_the_merchant_overrides(client: TestClient):
    listed = client.get("/v1/templates").json()
    names = {t["name"]: t["overridden_in"] for t in listed["data"]}
    assert names["failed_payment.subject"] == []
    assert {"failed_payment.txt", "failed_payment.html", "failed_payment.sms"} <= set(names)
    put = client.put(
        "/v1/templates/failed_payment.subject/en",
        json={"source": "Invoice {{ invoices[0].number }}"},
    )
    assert put.status_code == 200, put.text
    listed = client.get("/v1/templates").json()
    assert {t["name"]: t["overridden_in"] for t in listed["data"]}["failed_payment.subject"] == [
        "en"
    ]


def test_an_override_is_stored_used_and_reset(client: TestClient, clock: FrozenClock):
    default = client.get("/v1/templates/failed_payment.subject", params={"locale": "fr"}).json()
    assert default["overridden"] is False
    assert default["updated_at"] is None
    assert "{% trans" in default["source"]

    source = "Petit rappel pour la facture {{ invoices[0].number }}"
    put = client.put("/v1/templates/failed_payment.subject/fr", json={"source": source})
    assert put.status_code == 200, put.text
    assert put.json()["overridden"] is True
    shown = client.get("/v1/templates/failed_payment.subject?locale=fr").json()
    assert (shown["source"], shown["overridden"]) == (source, True)
    assert shown["updated_at"] == clock.now().isoformat().replace("+00:00", "Z")
    preview = client.post("/v1/templates/failed_payment/preview", json={"locale": "fr"}).json()
    assert preview["subject"].startswith("Petit rappel pour la facture ")

    reset = client.delete("/v1/templates/failed_payment.subject/fr")
    assert reset.status_code == 200
    assert reset.json() == default
    preview = client.post("/v1/templates/failed_payment/preview", json={"locale": "fr"}).json()
    assert not preview["subject"].startswith("Petit rappel")


def test_a_template_that_does_not_render_is_refused_with_its_line_and_not_stored(
    client: TestClient,
):
    broken = "Bonjour,\n\nVotre facture {{ invoices[0].number }\n"
    response = client.put("/v1/templates/failed_payment.txt/fr", json={"source": broken})
    problem = assert_problem(response, 422)
    assert problem["type"].endswith("/invalid-template")
    assert problem["line"] == 3
    stored = client.get("/v1/templates/failed_payment.txt?locale=fr").json()
    assert stored["overridden"] is False
    assert broken not in stored["source"]


def test_unknown_templates_and_locales_are_refused(client: TestClient):
    assert_problem(client.get("/v1/templates/nope.subject?locale=fr"), 404)
    response = client.put("/v1/templates/failed_payment.subject/de", json={"source": "Hallo"})
    assert "Locale 'de' is not supported" in assert_problem(response, 422)["detail"]
    assert_problem(client.delete("/v1/templates/nope.subject/fr"), 404)


def test_a_preview_for_a_real_customer_shows_their_name_and_amount(client: TestClient):
    c = customer(client)
    invoice(client, c["id"], amount=4990)
    response = client.post(
        "/v1/templates/failed_payment/preview",
        json={"locale": "fr", "customer_id": c["id"], "tone": "firm"},
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert "Camille Martin" in shown["text"]
    assert EURO_49_90 in shown["text"]
    assert "F-2026-0042" in shown["subject"]
    assert "49,90 €" in shown["sms"]  # GSM-7 has no non-breaking space
    assert "<html" in shown["html"].lower()
    assert "Camille Martin" in shown["html"]


def test_a_preview_of_an_unknown_step_or_customer_is_refused(client: TestClient):
    missing = client.post("/v1/templates/nope/preview", json={"locale": "fr"})
    assert "failed_payment" in assert_problem(missing, 404)["detail"]  # names the real ones
    nobody = client.post(
        "/v1/templates/failed_payment/preview", json={"locale": "fr", "customer_id": "cus_x"}
    )
    assert_problem(nobody, 404)
    rude = client.post("/v1/templates/failed_payment/preview", json={"locale": "fr", "tone": "x"})
    assert "tone" in assert_problem(rude, 422)["detail"]


# -- customers: country, segment, opt-outs, messages -------------------------------------


def test_a_customer_has_a_country_a_segment_and_its_opt_outs(client: TestClient):
    c = customer(client, country="fr", segment="b2b", phone="06 12 34 56 78")
    assert (c["country"], c["segment"], c["phone"]) == ("FR", "b2b", "+33612345678")
    assert c["email_undeliverable_at"] is None
    detail = client.get(f"/v1/customers/{c['id']}").json()
    assert detail["opt_outs"] == []
    assert "opt_outs" not in client.get("/v1/customers").json()["data"][0]


def test_the_merchant_records_an_opt_out_once(client: TestClient, clock: FrozenClock):
    c = customer(client)
    first = client.post(f"/v1/customers/{c['id']}/opt-outs", json={"channel": "sms"})
    assert first.status_code == 200, first.text
    expected = [
        {
            "object": "opt_out",
            "channel": "sms",
            "source": "merchant",
            "at": clock.now().isoformat().replace("+00:00", "Z"),
        }
    ]
    assert first.json()["data"] == expected
    clock.advance(days=1)
    again = client.post(f"/v1/customers/{c['id']}/opt-outs", json={"channel": "sms"})
    assert again.json()["data"] == expected  # the first one stands
    assert client.get(f"/v1/customers/{c['id']}/opt-outs").json()["data"] == expected
    assert client.get(f"/v1/customers/{c['id']}").json()["opt_outs"] == expected


def test_an_opt_out_needs_a_known_channel_and_customer(client: TestClient):
    c = customer(client)
    pigeon = client.post(f"/v1/customers/{c['id']}/opt-outs", json={"channel": "pigeon"})
    assert "channel" in assert_problem(pigeon, 422)["detail"]
    assert_problem(client.post("/v1/customers/cus_x/opt-outs", json={"channel": "sms"}), 404)
    assert_problem(client.get("/v1/customers/cus_x/opt-outs"), 404)


def test_the_messages_a_customer_received_are_listed_as_sent(
    client: TestClient, app: App, worker: Worker
):
    c = customer(client)
    case_id = fail_payment(client, invoice(client, c["id"])["id"])
    assert client.get(f"/v1/customers/{c['id']}/messages").json()["data"] == []
    worker.run_once()
    listed = client.get(f"/v1/customers/{c['id']}/messages").json()
    [message] = listed["data"]
    assert listed["has_more"] is False
    assert (message["status"], message["channel"], message["recipient"]) == (
        "sent",
        "email",
        "camille@example.com",
    )
    assert message["case_id"] == case_id
    assert message["template"] == "failed_payment"
    assert message["transactional"] is False
    assert message["external_id"]
    assert EURO_49_90 in message["body"]
    assert EURO_49_90 in (message["html"] or "")
    assert len(message["invoice_ids"]) == 1
    assert "link_token" not in message  # the customer's own bearer link stays theirs
    assert client.get(f"/v1/cases/{case_id}").json()["messages"] == [message]
    assert_problem(client.get("/v1/customers/cus_x/messages"), 404)


# -- webhook endpoints ---------------------------------------------------------------------


def test_an_endpoint_secret_is_shown_once(client: TestClient):
    created = client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://example.com/hooks", "events": ["case.opened", "invoice.recovered"]},
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["events"] == ["case.opened", "invoice.recovered"]
    listed = client.get("/v1/webhook-endpoints")
    assert [e["id"] for e in listed.json()["data"]] == [endpoint["id"]]
    assert endpoint["secret"] not in listed.text
    assert "secret" not in listed.json()["data"][0]


def test_an_invalid_endpoint_is_refused(client: TestClient):
    bad_url = client.post("/v1/webhook-endpoints", json={"url": "ftp://example.com", "events": []})
    assert_problem(bad_url, 422)
    unknown = client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com", "events": ["case.eaten"]}
    )
    assert "Unknown event type 'case.eaten'" in assert_problem(unknown, 422)["detail"]
    assert client.get("/v1/webhook-endpoints").json()["data"] == []


def test_deleting_an_endpoint_disables_it(client: TestClient, clock: FrozenClock):
    endpoint = client.post("/v1/webhook-endpoints", json={"url": "https://example.com/h"}).json()
    assert endpoint["events"] == ["*"]
    clock.advance(hours=1)
    disabled = client.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert "secret" not in disabled.json()
    [listed] = client.get("/v1/webhook-endpoints").json()["data"]
    assert listed["disabled_at"] is not None
    assert_problem(client.delete("/v1/webhook-endpoints/we_nope"), 404)


def test_the_delivery_log_pages_newest_first(
    client: TestClient, worker: Worker, clock: FrozenClock
):
    with HttpRecorder() as merchant_server:
        merchant_server.reply(Reply(status=500), Reply(status=204))
        endpoint = client.post(
            "/v1/webhook-endpoints",
            json={"url": f"{merchant_server.url}/relance", "events": ["case.opened"]},
        ).json()
        assert client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json() == {
            "object": "list",
            "data": [],
            "has_more": False,
            "next_before": None,
        }
        fail_payment(client, invoice(client, customer(client)["id"])["id"])
        worker.run_once()  # the first delivery fails with 500
        clock.advance(minutes=1)
        worker.run_once()  # the retry is accepted
        assert len(merchant_server.requests) == 2

    log = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    first = client.get(log, params={"limit": 1}).json()
    [latest] = first["data"]
    assert (latest["attempt"], latest["status_code"], latest["next_attempt_at"]) == (2, 204, None)
    assert latest["event_type"] == "case.opened"
    assert first["has_more"] is True
    second = client.get(log, params={"limit": 1, "before": first["next_before"]}).json()
    [earliest] = second["data"]
    assert (earliest["attempt"], earliest["status_code"]) == (1, 500)
    assert earliest["event_id"] == latest["event_id"]
    assert earliest["next_attempt_at"] == (clock.now()).isoformat().replace("+00:00", "Z")
    assert second["has_more"] is False
    assert second["next_before"] is None
    assert_problem(client.get("/v1/webhook-endpoints/we_nope/deliveries"), 404)


def test_creating_an_endpoint_with_an_idempotency_key_makes_one(client: TestClient):
    body = {"url": "https://example.com/h", "events": ["*"]}
    headers = {"Idempotency-Key": "endpoint-1"}
    first = client.post("/v1/webhook-endpoints", json=body, headers=headers)
    replay = client.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert len(client.get("/v1/webhook-endpoints").json()["data"]) == 1


def test_every_new_route_needs_the_api_key(client: TestClient):
    for method, path in [
        ("GET", "/v1/merchant"),
        ("PATCH", "/v1/merchant"),
        ("GET", "/v1/templates"),
        ("PUT", "/v1/templates/failed_payment.subject/fr"),
        ("POST", "/v1/templates/failed_payment/preview"),
        ("GET", "/v1/webhook-endpoints"),
        ("GET", "/v1/customers/cus_x/messages"),
    ]:
        response = client.request(method, path, headers={"Authorization": ""}, json={})
        assert response.status_code == 401, path
