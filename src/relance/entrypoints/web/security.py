"""What keeps the payment page safe to leave open on the internet without a login.

- Headers: a strict Content-Security-Policy (no inline script at all; one inline <style> per
  response, allowed by a nonce, carries the merchant's colour), no framing, no sniffing, no
  Referer (the URL is the customer's key), no caching, HSTS when the request came over TLS.
- Forms: each carries a nonce and a signed token binding it to this link and to the moment it
  was issued (2 hours to use it). The time is signed inside the payload, from the injected
  clock, rather than by itsdangerous's timed serializer, which reads time.time().
- Origin: a POST from another site is refused even with a valid form token.
- Rate limits: a sliding window per client address and link, in this process. It is a first
  line against floods and card testing; the limit on refused cards across processes is the
  service's (CoolingDown).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_MAX_AGE = timedelta(hours=2)
PAGE_PREFIXES = ("/pay/", "/pay-assets/")
_FORM_SALT = "relance.pay-form"
_NONCE_STATE = "csp_nonce"
# A few seconds of difference between processes' clocks must not refuse a fresh form.
_CLOCK_SKEW = timedelta(minutes=5)


def link_digest(url_token: str) -> str:
    """Stands for the link wherever the link itself must not be written (form tokens, stored
    outcomes, rate-limit keys)."""
    return hashlib.sha256(url_token.encode()).hexdigest()[:32]


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


# -- form tokens ------------------------------------------------------------------------------


def issue_form_token(secret: str, url_token: str, nonce: str, now: datetime) -> str:
    serializer = URLSafeSerializer(secret, salt=_FORM_SALT)
    return serializer.dumps([link_digest(url_token), nonce, int(now.timestamp())])


def form_token_valid(
    secret: str, url_token: str, nonce: str, presented: str, now: datetime
) -> bool:
    """Whether `presented` was issued by this installation, for this link and this nonce,
    less than FORM_MAX_AGE ago."""
    if not presented or not nonce:
        return False
    try:
        payload: Any = URLSafeSerializer(secret, salt=_FORM_SALT).loads(presented)
    except BadSignature:
        return False
    if not (isinstance(payload, list) and len(payload) == 3 and isinstance(payload[2], int)):
        return False
    digest, signed_nonce, issued = payload
    age = now - datetime.fromtimestamp(issued, now.tzinfo)
    return (
        isinstance(digest, str)
        and isinstance(signed_nonce, str)
        and hmac.compare_digest(digest, link_digest(url_token))
        and hmac.compare_digest(signed_nonce, nonce)
        and -_CLOCK_SKEW <= age <= FORM_MAX_AGE
    )


def request_fingerprint(secret: str, action: str, fields: Mapping[str, str]) -> str:
    """The idempotency hash of a form. The card number and CVC enter it through an HMAC under
    the installation's secret: a plain hash of a card number can be brute-forced (PCI DSS asks
    for a keyed hash), and the idempotency table keeps this value."""
    digest = hashlib.sha256(action.encode())
    for name in sorted(fields):
        value = fields[name]
        if name in ("number", "cvc"):
            value = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
        digest.update(f"\n{name}={value}".encode())
    return digest.hexdigest()


# -- origin -----------------------------------------------------------------------------------


def origin_allowed(request: Request, public_url: str) -> bool:
    """A POST is refused when the browser says it comes from another site. Browsers send
    `Origin: null` for a same-site form when the page's Referrer-Policy is no-referrer (ours),
    so "null" is no evidence either way: the signed form token decides."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    own = {_origin_of(str(request.base_url)), _origin_of(public_url)}
    return origin.rstrip("/").lower() in own


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# -- headers ----------------------------------------------------------------------------------


def over_tls(request: Request) -> bool:
    """Behind a proxy, uvicorn's proxy headers already make the scheme https; the header is
    read too for deployments without them. Sending HSTS over plain HTTP would be ignored."""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


def page_headers(style_nonce: str, tls: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; "
            f"style-src 'self' 'nonce-{style_nonce}'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
    }
    if tls:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def style_nonce(request: Request) -> str:
    """This response's CSP nonce: set by PageHeaders before the route runs, so the header it
    writes and the <style nonce> the template writes agree."""
    state = request.scope.setdefault("state", {})
    nonce = state.get(_NONCE_STATE)
    if not isinstance(nonce, str):
        nonce = state[_NONCE_STATE] = new_nonce()
    return nonce


class PageHeaders:
    """ASGI middleware: the security headers on every response under the page's paths,
    including those the page's routes did not write (404, 405, errors). Static assets keep
    their own caching: they hold nothing secret."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = PAGE_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        nonce = style_nonce(request)
        wanted = page_headers(nonce, over_tls(request))
        if path.startswith("/pay-assets/"):
            del wanted["Cache-Control"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- rate limits ------------------------------------------------------------------------------


@dataclass
class SlidingWindow:
    """At most `limit` hits per `window` for each key. Memory is bounded: past `max_keys`, the
    keys idle longest are forgotten (an attacker cycling addresses gains nothing from that:
    each new key starts empty anyway)."""

    limit: int
    window: timedelta
    max_keys: int = 10_000
    _hits: OrderedDict[str, deque[datetime]] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hit(self, key: str, now: datetime) -> int | None:
        """Counts a hit; None when allowed, else the seconds to wait before the next one."""
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # most recently used last
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= self.limit:
                wait = hits[0] + self.window - now
                return max(1, ceil(wait.total_seconds()))
            hits.append(now)
            return None


@dataclass
class PageLimits:
    """The page's limits per client address and link: views, and form submissions."""

    views: SlidingWindow = field(default_factory=lambda: SlidingWindow(60, timedelta(minutes=1)))
    posts: SlidingWindow = field(default_factory=lambda: SlidingWindow(10, timedelta(minutes=1)))

    def view(self, request: Request, url_token: str, now: datetime) -> int | None:
        return self.views.hit(_client_key(request, url_token), now)

    def post(self, request: Request, url_token: str, now: datetime) -> int | None:
        return self.posts.hit(_client_key(request, url_token), now)


def _client_key(request: Request, url_token: str) -> str:
    address = request.client.host if request.client else "unknown"
    return f"{address}|{link_digest(url_token)}"
