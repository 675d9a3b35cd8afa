"""SMS through Twilio (its official SDK) or through any provider with a small JSON HTTP API.

Both send `message.body` as the whole text, from `message.sender` (a merchant's own number or
alphanumeric sender id) or, when that is empty, from the `sender` the channel was built with
(the account's number). Both refuse at once, as a permanent failure, a recipient that is not an
E.164 number (`+33612345678`): no provider could deliver it, so retrying would only repeat the
refusal.

Twilio's Messages API has no idempotency key: a crash between Twilio accepting a message and
Relance recording it can send that SMS twice. The generic HTTP channel sends the key, both in
the body and as the `Idempotency-Key` header, for providers that dedupe on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from relance.ports import Delivery, DeliveryError, OutgoingMessage

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def require_e164(number: str) -> str:
    """The number itself, or a permanent DeliveryError: only E.164 numbers can be texted."""
    if not _E164.fullmatch(number):
        raise DeliveryError(
            f"'{number}' is not a phone number in international E.164 form (like "
            "+33612345678), so no SMS can be sent to it.",
            permanent=True,
        )
    return number


def verify_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str
) -> bool:
    """True when `signature` (the X-Twilio-Signature header) proves Twilio sent this request:
    `url` is the full URL Twilio called, `params` the form fields it posted."""
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, dict(params), signature))


class _RedirectedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own HTTP client, sending to `base` instead of Twilio's hosts when given one
    (a local test server, or a regional proxy); the path and query are kept as the SDK built
    them, so the request is exactly what Twilio would receive."""

    def __init__(self, base: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/") if base else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base:
            parts = urlsplit(url)
            url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(
            method, url, params, data, headers, auth, timeout, allow_redirects=allow_redirects
        )


class TwilioSmsChannel:
    """Twilio Programmable Messaging. `api_base` (e.g. "http://127.0.0.1:8123") replaces
    https://api.twilio.com for tests against a local server."""

    name = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        api_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Twilio needs both the account SID and the auth token.")
        if api_base is not None and urlsplit(api_base).scheme not in ("http", "https"):
            raise ValueError(f"The Twilio API base must be an http(s) URL, not '{api_base}'.")
        self.sender = sender
        self.timeout = timeout
        self._http = _RedirectedHttpClient(api_base, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def send(self, message: OutgoingMessage) -> Delivery:
        to = require_e164(message.to)
        try:
            sent = self._client.messages.create(
                to=to, from_=message.sender or self.sender, body=message.body
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _twilio_refusal(exc) from exc
        except requests.Timeout as exc:
            raise DeliveryError(
                f"Twilio did not answer within {self.timeout:g} s.", permanent=False
            ) from exc
        except (requests.RequestException, TwilioException) as exc:
            raise DeliveryError(
                f"Twilio could not be reached ({type(exc).__name__}).", permanent=False
            ) from exc
        return Delivery(str(sent.sid))

    def close(self) -> None:
        """Close the pooled connections (the worker keeps one channel for its lifetime)."""
        if self._http.session is not None:
            self._http.session.close()


def _twilio_refusal(exc: Any) -> DeliveryError:
    """400/404: the number or message is at fault (21211 invalid number, 21610 the recipient
    replied STOP, 21614 not a mobile): permanent. 401/403 are our credentials, 429 and 5xx
    Twilio's load: temporary. `code` is Twilio's error code when it gives one."""
    status = int(exc.status)
    code = int(exc.code) if exc.code else status
    text = exc.detail or exc.title if isinstance(exc, TwilioServiceException) else exc.msg
    text = " ".join(str(text or "").split()).rstrip(".")
    if status in (401, 403):
        detail = f"Twilio refused Relance's credentials (HTTP {status}, error {code}): {text}."
        return DeliveryError(detail, permanent=False, code=code)
    permanent = 400 <= status < 500 and status not in (408, 409, 429)
    detail = f"Twilio refused the SMS (HTTP {status}, error {code}): {text}."
    return DeliveryError(detail, permanent=permanent, code=code)


class HttpSmsChannel:
    """A provider reached by `POST url` with JSON {"to", "from", "body", "idempotency_key"},
    answering 2xx with JSON {"id": "..."}."""

    name = "sms"

    def __init__(self, url: str, *, token: str | None, sender: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"The SMS provider URL must be an http(s) URL, not '{url}'.")
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def send(self, message: OutgoingMessage) -> Delivery:
        to = require_e164(message.to)
        key = message.idempotency_key
        sender = message.sender or self.sender
        payload = {"to": to, "from": sender, "body": message.body, "idempotency_key": key}
        headers = {"Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(self.url, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"The SMS provider did not answer within {self.timeout:g} s.", permanent=False
            ) from exc
        except httpx.TransportError as exc:
            raise DeliveryError(
                f"The SMS provider could not be reached ({_one_line(str(exc)) or 'no reason'}).",
                permanent=False,
            ) from exc
        return _accepted_or_raise(response)


def _accepted_or_raise(response: httpx.Response) -> Delivery:
    status = response.status_code
    if 200 <= status < 300:
        provider_id = _json(response).get("id")
        if isinstance(provider_id, str | int) and str(provider_id):
            return Delivery(str(provider_id))
        # Accepted but unnamed: retrying is safe, the provider dedupes on the idempotency key.
        raise DeliveryError(
            f"The SMS provider answered HTTP {status} without a message id.", permanent=False
        )
    reason = _provider_reason(response)
    detail = f"The SMS provider refused the SMS with HTTP {status}{reason}."
    permanent = 400 <= status < 500 and status not in (408, 429)
    raise DeliveryError(detail, permanent=permanent, code=status)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _provider_reason(response: httpx.Response) -> str:
    """The provider's own short explanation, when its JSON error has one."""
    data = _json(response)
    for field in ("error", "message", "detail"):
        value = data.get(field)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return f": {_one_line(value)[:200]}"
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".")
