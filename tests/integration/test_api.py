"""The /v1 API in-process (FastAPI's test client over the real app, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from relance.bootstrap import App
from relance.entrypoints.api.app import create_app
from relance.services import merchants

from .conftest import Shop

PROBLEM = "application/problem+json"


@pytest.fixture
def client(app: App, shop: Shop) -> Iterator[TestClient]:
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {shop.api_key}"}) as c:
        yield c


def customer(client: TestClient, ref: str = "c1", **extra: Any) -> dict[str, Any]:
    body = {"external_id": ref, "name": "Camille", "email": "camille@example.com", **extra}
    response = client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def invoice(client: TestClient, customer_id: str, number: str = "F-1") -> dict[str, Any]:
    response = client.post(
        "/v1/invoices",
        json={
            "customer_id": customer_id,
            "number": number,
            "amount": 4900,
            "currency": "eur",
            "issued_at": "2026-11-01T00:00:00Z",
            "due_at": "2026-11-15T00:00:00+01:00",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_every_v1_call_needs_a_valid_key(client: TestClient):
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer rk_nope_nope"},
        {"Authorization": "Basic x"},
    ):
        response = client.get("/v1/customers", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"].endswith(".")


def test_invalid_input_is_a_problem_with_a_sentence_and_creates_nothing(client: TestClient):
    response = client.post("/v1/customers", json={"external_id": "c1", "name": "X", "locale": "de"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "locale" in response.json()["detail"]
    response = client.post(
        "/v1/customers", json={"external_id": "c1", "name": "X", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    assert "IANA" in response.json()["detail"]
    assert client.get("/v1/customers").json()["data"] == []


def test_a_card_number_is_refused_as_a_token(client: TestClient):
    c = customer(client)
    response = client.post(
        "/v1/payment-methods", json={"customer_id": c["id"], "gateway_token": "4242 4242 4242 4242"}
    )
    assert response.status_code == 422
    assert "never a card number" in response.json()["detail"]


def test_the_gateway_token_is_never_echoed(client: TestClient):
    c = customer(client)
    response = client.post(
        "/v1/payment-methods", json={"customer_id": c["id"], "gateway_token": "tok_ok"}
    )
    assert response.status_code == 201
    assert "tok_ok" not in response.text


def test_an_invoice_shows_its_balance_and_status(client: TestClient):
    inv = invoice(client, customer(client)["id"])
    assert (inv["amount"], inv["balance"], inv["currency"], inv["status"]) == (
        4900,
        4900,
        "EUR",
        "open",
    )
    assert inv["due_at"] == "2026-11-14T23:00:00Z"  # stored and shown in UTC
    assert client.get(f"/v1/invoices/{inv['id']}").json() == inv


def test_amounts_are_whole_minor_units(client: TestClient):
    c = customer(client)
    body = {
        "customer_id": c["id"],
        "number": "F-1",
        "amount": 49.5,
        "currency": "EUR",
        "issued_at": "2026-11-01T00:00:00Z",
        "due_at": "2026-11-15T00:00:00Z",
    }
    assert client.post("/v1/invoices", json=body).status_code == 422
    body["amount"] = 4950
    body["due_at"] = "2026-11-15T00:00:00"
    response = client.post("/v1/invoices", json=body)
    assert response.status_code == 422
    assert "time zone" in response.json()["detail"]


def test_a_failed_attempt_opens_a_case_that_a_transfer_recovers(client: TestClient):
    inv = invoice(client, customer(client)["id"])
    attempt = client.post(
        "/v1/payment-attempts",
        json={
            "invoice_id": inv["id"],
            "amount": 4900,
            "currency": "EUR",
            "outcome": "failed",
            "attempted_at": "2026-11-21T08:00:00Z",
            "decline_code": "insufficient_funds",
            "network_response_code": "51",
            "processor": "stripe",
        },
    )
    assert attempt.status_code == 201, attempt.text
    case_id = attempt.json()["case_id"]
    case = client.get(f"/v1/cases/{case_id}").json()
    assert case["status"] == "active"
    assert [a["kind"] for a in case["actions"]].count("retry") == 4
    assert [c["id"] for c in client.get("/v1/cases?status=active").json()["data"]] == [case_id]

    paid = client.post(
        f"/v1/invoices/{inv['id']}/payments",
        json={
            "amount": 4900,
            "currency": "EUR",
            "paid_at": "2026-11-21T10:00:00Z",
            "method": "transfer",
        },
    )
    assert paid.status_code == 201
    assert paid.json()["status"] == "paid"
    case = client.get(f"/v1/cases/{case_id}").json()
    assert case["status"] == "recovered"
    # The retries, the dunning messages and the exhaustion are cancelled; what is left is the
    # message telling the customer it is settled, due at once.
    left = [(a["kind"], a["step"], a["status"]) for a in case["actions"]]
    assert [x for x in left if x[2] != "cancelled"] == [("reminder", "resolved", "pending")]
    assert len(left) == 10
    assert client.get("/v1/cases?status=active").json()["data"] == []


def test_a_payment_in_another_currency_changes_nothing(client: TestClient):
    inv = invoice(client, customer(client)["id"])
    response = client.post(
        f"/v1/invoices/{inv['id']}/payments",
        json={
            "amount": 4900,
            "currency": "USD",
            "paid_at": "2026-11-21T10:00:00Z",
            "method": "transfer",
        },
    )
    assert response.status_code == 422
    assert "EUR" in response.json()["detail"]
    assert client.get(f"/v1/invoices/{inv['id']}").json()["balance"] == 4900


def test_a_replayed_idempotency_key_returns_the_first_response(client: TestClient):
    body = {"external_id": "c1", "name": "Camille"}
    first = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    again = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get("/v1/customers").json()["data"]) == 1


def test_an_idempotency_key_reused_with_another_body_is_a_conflict(client: TestClient):
    client.post(
        "/v1/customers", json={"external_id": "c1", "name": "A"}, headers={"Idempotency-Key": "k1"}
    )
    other = client.post(
        "/v1/customers", json={"external_id": "c2", "name": "B"}, headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == PROBLEM
    assert len(client.get("/v1/customers").json()["data"]) == 1


def test_a_refusal_is_replayed_too(client: TestClient):
    customer(client, "c1")
    body = {"external_id": "c1", "name": "Again"}
    first = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k2"})
    again = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k2"})
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()


def test_lists_paginate_with_a_cursor(client: TestClient):
    made = [customer(client, f"c{n}")["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/customers", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            assert cursor is None
            break
    assert seen == made


def test_a_merchant_never_sees_another_merchants_data(client: TestClient, app: App):
    inv = invoice(client, customer(client)["id"])
    other = merchants.create_merchant(app.ctx, "Other").api_key
    headers = {"Authorization": f"Bearer {other}"}
    assert client.get(f"/v1/invoices/{inv['id']}", headers=headers).status_code == 404
    assert client.get("/v1/invoices", headers=headers).json()["data"] == []
    response = client.post(
        "/v1/invoices",
        headers=headers,
        json={
            "customer_id": inv["customer_id"],
            "number": "X",
            "amount": 1,
            "currency": "EUR",
            "issued_at": "2026-11-01T00:00:00Z",
            "due_at": "2026-11-15T00:00:00Z",
        },
    )
    assert response.status_code == 422


def test_health_docs_and_unknown_paths(client: TestClient):
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/v1/payment-attempts" in client.get("/openapi.json").json()["paths"]
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM


def test_the_policy_in_force_is_shown(client: TestClient):
    policy = client.get("/v1/policy").json()
    assert policy["retry_days"] == [1, 3, 5, 8]
    assert policy["exhaust_day"] == 15
    assert "[retries]" in policy["source"]
