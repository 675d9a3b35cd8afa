"""Merchant webhook endpoints and their retry schedule."""

from datetime import UTC, datetime, timedelta

import pytest

from relance.domain.errors import InvalidInput
from relance.domain.webhooks import (
    MAX_BACKOFF,
    RETRY_FOR,
    WebhookEndpoint,
    WebhookEvent,
    next_attempt,
    validate_endpoint,
)

T = datetime(2026, 11, 21, 9, tzinfo=UTC)


def test_backoff_doubles_from_one_minute_and_is_capped():
    delays = [next_attempt(T, n, T) - T for n in range(1, 12)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == MAX_BACKOFF
    assert delays == sorted(delays)


def test_retrying_stops_three_days_after_the_first_attempt():
    assert next_attempt(T, 20, T + RETRY_FOR - timedelta(hours=5)) is None
    assert next_attempt(T, 20, T + RETRY_FOR - timedelta(hours=6)) is not None


def test_endpoints_take_http_urls_and_known_events():
    assert validate_endpoint("https://shop.example/hooks", ["*"]) == ("*",)
    with pytest.raises(InvalidInput, match="not an http"):
        validate_endpoint("ftp://shop.example", ["*"])
    with pytest.raises(InvalidInput, match=r"Unknown event type 'case\.opend'"):
        validate_endpoint("https://shop.example", ["case.opend"])
    with pytest.raises(InvalidInput, match="at least one"):
        validate_endpoint("https://shop.example", [])


def test_an_endpoint_wants_what_it_subscribed_to_until_disabled():
    endpoint = WebhookEndpoint("we_1", "mer_1", "https://x.example", "s", ("case.opened",), T)
    assert endpoint.wants(WebhookEvent.CASE_OPENED)
    assert not endpoint.wants(WebhookEvent.RETRY_FAILED)
    everything = WebhookEndpoint("we_2", "mer_1", "https://x.example", "s", ("*",), T, T)
    assert not everything.wants(WebhookEvent.CASE_OPENED)  # disabled
