"""Payment links: `/pay/<token>.<signature>`.

The token is 128 random bits stored in `payment_links` (scoped to one customer of one merchant,
expiring, revocable). The signature (HMAC through itsdangerous, keyed by the installation's
secret) lets the page turn away a mistyped or forged link before touching the database, so
guessing tokens costs an attacker nothing but also learns them nothing."""

from __future__ import annotations

from itsdangerous import BadSignature, Signer

SALT = "relance.pay-link"


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=SALT)


def sign_token(secret_key: str, token: str) -> str:
    return _signer(secret_key).sign(token).decode()


def read_token(secret_key: str, url_token: str) -> str | None:
    """The stored token behind a link, or None when the link was altered or forged."""
    try:
        return _signer(secret_key).unsign(url_token).decode()
    except (BadSignature, UnicodeError, ValueError):
        return None
