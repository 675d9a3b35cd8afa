"""What a decline code means, over the API (GET /v1/declines/...) and the CLI (`declines`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from relance.bootstrap import App
from relance.entrypoints.api.app import create_app
from relance.entrypoints.cli import cli

from .conftest import Shop

PROBLEM = "application/problem+json"


@pytest.fixture
def client(app: App, shop: Shop) -> Iterator[TestClient]:
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {shop.api_key}"}) as c:
        yield c


def assert_problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    detail = response.json()["detail"]
    assert detail.endswith(".")
    return detail


# -- API -----------------------------------------------------------------------------------


def test_an_iso_8583_code_is_explained_for_the_merchant_and_the_customer(client: TestClient):
    response = client.get("/v1/declines/iso8583/51")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "decline_code"
    assert (body["scheme"], body["code"]) == ("iso8583", "51")
    assert body["reason"] == "insufficient_funds"
    assert body["retry_class"] == "later"
    assert body["visa_category"] == 2
    assert body["customer_message"]["fr"].strip()
    assert body["customer_message"]["en"].strip()
    assert body["merchant_explanation"].strip()
    assert body["recommended_action"].strip()
    assert body["source"].strip()
    assert body["effective"] == "2026-04-18"


def test_a_sepa_code_is_explained_whatever_its_case(client: TestClient):
    for spelling in ("AM04", "am04"):
        response = client.get(f"/v1/declines/sepa/{spelling}")

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["scheme"], body["code"]) == ("sepa", "AM04")
        assert (body["reason"], body["retry_class"]) == ("insufficient_funds", "later")
        assert body["visa_category"] is None
        assert set(body["customer_message"]) >= {"fr", "en"}


def test_a_mastercard_advice_code_says_how_long_to_wait(client: TestClient):
    body = client.get("/v1/declines/mastercard/30").json()

    assert (body["retry_class"], body["retry_after_hours"]) == ("later", 240)


def test_an_unknown_scheme_is_a_problem_with_a_sentence(client: TestClient):
    detail = assert_problem(client.get("/v1/declines/amex/51"), 422)

    assert "scheme" in detail


def test_an_unknown_code_is_not_found(client: TestClient):
    detail = assert_problem(client.get("/v1/declines/iso8583/ZZ"), 404)

    assert "ZZ" in detail


def test_a_huge_code_is_refused_as_the_client_s_mistake(client: TestClient):
    response = client.get(f"/v1/declines/stripe/{'x' * 10_000}")

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM
    assert len(response.text) < 2_000  # the code is not echoed back


def test_explaining_a_code_needs_a_valid_key(client: TestClient):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer rk_nope_nope"}):
        assert_problem(client.get("/v1/declines/iso8583/51", headers=headers), 401)


# -- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args))

    return invoke


def test_declines_explain_prints_json_with_every_field(run):
    result = run("declines", "explain", "51", "--scheme", "iso8583", "--json")

    assert result.exit_code == 0, result.output
    [explained] = json.loads(result.stdout)
    assert (explained["scheme"], explained["code"]) == ("iso8583", "51")
    assert explained["reason"] == "insufficient_funds"
    assert explained["retry_class"] == "later"
    assert explained["visa_category"] == 2
    assert set(explained["customer_message"]) >= {"fr", "en"}
    for field in ("description", "merchant_explanation", "recommended_action", "source"):
        assert explained[field].strip()
    assert explained["effective"] == "2026-04-18"


def test_declines_explain_without_a_scheme_gives_every_reading(run):
    result = run("declines", "explain", "51", "--json")

    assert result.exit_code == 0, result.output
    schemes = {e["scheme"] for e in json.loads(result.stdout)}
    assert {"iso8583", "visa"} <= schemes


def test_declines_explain_prints_the_customer_message_in_the_locale_asked(run):
    result = run("declines", "explain", "AM04", "--scheme", "sepa", "--locale", "fr")

    assert result.exit_code == 0, result.output
    assert "customer (fr)" in result.stdout


def test_declines_explain_an_unknown_code_is_one_line_and_exit_1(run):
    result = run("declines", "explain", "ZZ", "--scheme", "iso8583")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "ZZ" in result.stderr


def test_declines_explain_refuses_a_locale_it_does_not_speak(run):
    result = run("declines", "explain", "51", "--locale", "de")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "de" in result.stderr


def test_declines_list_prints_every_code_as_json(run):
    result = run("declines", "list", "--json")

    assert result.exit_code == 0, result.output
    every = json.loads(result.stdout)
    assert len(every) > 150
    assert {e["scheme"] for e in every} == {
        "stripe",
        "stripe_advice",
        "iso8583",
        "visa",
        "mastercard",
        "sepa",
    }
    assert all(e["reason"] and e["retry_class"] and e["source"] for e in every)
