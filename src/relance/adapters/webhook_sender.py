"""Signed webhooks to merchants: Relance tells a merchant's server what happened (a case opened,
an invoice recovered) with a POST it can prove came from us.

The signature follows Stripe's scheme, which most merchants already know how to check:

    Relance-Signature: t=1795251600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d…

`v1` is the hex HMAC-SHA256, keyed with the endpoint's secret, of `"{t}."` followed by the raw
body. The merchant recomputes it over the bytes it received (before parsing the JSON) and refuses
a `t` too far from its own clock, so a captured request cannot be replayed later; `verify` is
that check, for the merchants' documentation and our own tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import httpx

from relance.ports import WebhookResponse

SIGNATURE_HEADER = "Relance-Signature"
USER_AGENT = "Relance-Webhooks/1.0"


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The Relance-Signature header value for `body` sent at `at`."""
    if at.tzinfo is None:
        raise ValueError("A webhook signature needs a timezone-aware datetime.")
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """True when `header` signs `body` with `secret` and its time is within `tolerance` of now.

    Several `v1=` entries are accepted (any one matching is enough), so a secret can be rotated
    by signing with both for a while.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    sent_at = datetime.fromtimestamp(timestamp, UTC)
    if abs(now - sent_at) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    # compare_digest takes the same time wherever the strings differ: no timing oracle.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class HttpWebhookSender:
    """POSTs a signed JSON body; reports what happened as a WebhookResponse and never raises
    for HTTP or network trouble (the caller records it and retries later).

    Redirects are not followed: a signed request should reach the endpoint the merchant
    registered, not wherever a 3xx points, so a redirect counts as a failure.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def post(self, url: str, secret: str, body: bytes, at: datetime) -> WebhookResponse:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret, body, at),
        }
        started = time.perf_counter()
        status: int | None = None
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("POST", url, content=body, headers=headers) as response,
            ):
                status = response.status_code  # the answer's body is not read: we need no more
            error = _status_error(status)
        except httpx.TimeoutException:
            error = f"timed out after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = _transport_error(exc)
        except (httpx.InvalidURL, ValueError) as exc:  # a URL httpx cannot even parse
            error = f"the URL is invalid ({exc})"
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        return WebhookResponse(status_code=status, error=error, duration_ms=elapsed_ms)


def _status_error(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"the endpoint redirected (HTTP {status})"
    return f"HTTP {status}"


def _transport_error(exc: httpx.HTTPError) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "the URL is not a valid http:// or https:// address"
    reason = text or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({reason})"
    return f"the request failed ({reason})"
