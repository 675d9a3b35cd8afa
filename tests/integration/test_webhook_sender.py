"""Signed merchant webhooks, posted to a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from relance.adapters.webhook_sender import HttpWebhookSender, sign, verify
from relance.ports import WebhookResponse
from tests.support.http_recorder import HttpRecorder, RecordedRequest, Reply, unused_port

SECRET = "whsec_merchant_endpoint_secret"
AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
BODY = json.dumps(
    {"type": "invoice.recovered", "data": {"invoice": "F-2026-0042", "note": "réglé"}},
    ensure_ascii=False,
).encode()


@pytest.fixture
def endpoint() -> Iterator[HttpRecorder]:
    with HttpRecorder() as recorder:
        yield recorder


def signature_is_valid(request: RecordedRequest, secret: str) -> bool:
    """The merchant's side, written from the documented scheme only (not Relance's code):
    t=<unix seconds>,v1=hex(HMAC-SHA256(secret, "<t>." + raw body))."""
    header = request.header("Relance-Signature") or ""
    fields = dict(item.split("=", 1) for item in header.split(","))
    signed = fields["t"].encode() + b"." + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_the_merchant_receives_the_body_verbatim_and_a_signature_it_can_check(
    endpoint: HttpRecorder,
) -> None:
    endpoint.reply(Reply(status=204))

    response = HttpWebhookSender().post(f"{endpoint.url}/hooks/relance", SECRET, BODY, AT)

    assert response == WebhookResponse(204, None, response.duration_ms)
    assert response.ok
    request = endpoint.last
    assert (request.method, request.path, request.body) == ("POST", "/hooks/relance", BODY)
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "Relance-Webhooks/1.0"
    signature = request.header("Relance-Signature")
    assert signature is not None
    assert signature.startswith(f"t={int(AT.timestamp())},v1=")
    assert signature_is_valid(request, SECRET)
    assert not signature_is_valid(request, "whsec_someone_else")
    assert not signature_is_valid(replace(request, body=BODY.replace(b"42", b"43")), SECRET)


def test_a_server_error_is_reported_not_raised(endpoint: HttpRecorder) -> None:
    endpoint.reply(Reply(status=500, body=b"Internal Server Error"))

    response = HttpWebhookSender().post(endpoint.url, SECRET, BODY, AT)

    assert not response.ok
    assert (response.status_code, response.error) == (500, "HTTP 500")


def test_a_redirect_is_not_followed_and_counts_as_a_failure(endpoint: HttpRecorder) -> None:
    endpoint.reply(Reply.redirect("https://elsewhere.example/hooks"))

    response = HttpWebhookSender().post(endpoint.url, SECRET, BODY, AT)

    assert not response.ok
    assert response.status_code == 302
    assert response.error is not None
    assert response.error.startswith("the endpoint redirected")
    assert len(endpoint.requests) == 1  # the signed body went nowhere else


def test_a_refused_connection_has_no_status_and_says_so() -> None:
    response = HttpWebhookSender().post(f"http://127.0.0.1:{unused_port()}/", SECRET, BODY, AT)

    assert not response.ok
    assert (response.status_code, response.error) == (None, "connection refused")


def test_a_slow_endpoint_times_out(endpoint: HttpRecorder) -> None:
    endpoint.reply(Reply(status=200, delay=5.0))  # cut short when the server closes

    response = HttpWebhookSender(timeout=0.3).post(endpoint.url, SECRET, BODY, AT)

    assert (response.status_code, response.error) == (None, "timed out after 0.3 s")
    assert 300 <= response.duration_ms < 5000


def test_verify_accepts_a_fresh_signature_and_refuses_a_stale_or_foreign_one() -> None:
    header = sign(SECRET, BODY, AT)

    assert verify(SECRET, BODY, header, AT + timedelta(minutes=4))
    assert not verify(SECRET, BODY, header, AT + timedelta(minutes=6))  # replayed later
    assert not verify(SECRET, BODY, header, AT - timedelta(minutes=6))  # from the future
    assert not verify("whsec_someone_else", BODY, header, AT)
    assert not verify(SECRET, BODY + b" ", header, AT)
    assert not verify(SECRET, BODY, "v1=deadbeef", AT)  # no timestamp
    assert not verify(SECRET, BODY, "", AT)


def test_verify_accepts_any_of_several_signatures_while_a_secret_is_rotated() -> None:
    old = sign("whsec_old", BODY, AT)
    new = sign(SECRET, BODY, AT).split(",")[1]

    assert verify(SECRET, BODY, f"{old},{new}", AT)
    assert verify("whsec_old", BODY, f"{old},{new}", AT)


@pytest.mark.parametrize("url", ["ftp://merchant.example/hooks", "http://", "not a url"])
def test_a_url_that_cannot_be_posted_to_is_reported_not_raised(url: str) -> None:
    response = HttpWebhookSender(timeout=0.3).post(url, SECRET, BODY, AT)

    assert response.status_code is None
    assert response.error
