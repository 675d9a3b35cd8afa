"""The browser harness itself: Chromium reaches the application served in this process, and the
failure email sent through the SMTP server carries a link to that server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import Served
from tests.browser.leaks import card_pattern, cvc_pattern, iban_pattern, search

pytestmark = pytest.mark.browser


def test_chromium_reaches_the_application_served_in_this_process(served: Served, page: Any) -> None:
    response = page.goto(f"{served.url}/healthz")
    assert response is not None
    assert response.status == 200
    assert json.loads(page.locator("body").inner_text()) == {
        "status": "ok",
        "database": "sqlite",
    }
    assert ("GET", "/healthz", 200) in [(r.method, r.path, r.status) for r in served.responses]
    assert any('"event": "request"' in line for line in served.logs.lines)


def test_the_failure_email_links_to_this_server_and_time_is_the_tests_to_move(
    served: Served,
) -> None:
    debtor = served.debtor()
    assert debtor.link.startswith(f"{served.url}/pay/")
    assert debtor.url_token
    assert served.emails_to() == [debtor.email]
    before = served.clock.now()
    served.clock.advance(days=15)
    assert (served.ctx.clock.now() - before).days == 15  # the server sees the same clock


def test_the_leak_search_finds_a_card_number_written_any_way_and_a_cvc_standing_alone() -> None:
    patterns = [card_pattern("4242 4242 4242 4242"), cvc_pattern("731")]
    written = {
        "spaces": "card 4242 4242 4242 4242 saved",
        "digits": '{"number": "4242424242424242"}',
        "dashes": "4242-4242-4242-4242",
        "no-break spaces": "4242\u00a04242\u00a04242\u00a04242",
        "cvc in a form body": "number=x&cvc=731&name=y",
        "cvc in json": '{"cvc": "731"}',
    }
    innocent = {
        "last four": "Visa ••4242, exp 12/34",
        "an id": "act_01J731QX",
        "a time": "2026-11-21T09:00:00.731+00:00",
        "a duration": '{"duration_ms": 12.731}',
        "a colour": "#731f2a",
    }
    assert {leak.where for leak in search(written.items(), patterns)} == set(written)
    assert search(innocent.items(), patterns) == []
    assert search(
        [("log", "FR76 3000 6000 0112 3456 7890 189")],
        [iban_pattern("FR7630006000011234567890189")],
    )
