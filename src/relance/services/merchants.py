"""Merchants and their API keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relance.domain.errors import InvalidInput, NotFound, Unauthenticated
from relance.domain.merchants import (
    ApiKey,
    MerchantProfile,
    compose_key,
    hash_key,
    key_matches,
    key_prefix,
)
from relance.ids import new_id
from relance.ports import Store
from relance.services.context import Context


@dataclass(frozen=True, slots=True)
class NewMerchant:
    id: str
    name: str
    api_key: str  # shown once; only its hash is stored


def _new_key(store: Store, merchant_id: str, now: datetime) -> str:
    # '_' separates the parts of a key, so the secret must not contain it.
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
    key = compose_key(prefix, secret)
    store.add_api_key(ApiKey(new_id("key"), merchant_id, prefix, hash_key(key), now))
    return key


def create_merchant(ctx: Context, name: str) -> NewMerchant:
    name = name.strip()
    if not name:
        raise InvalidInput("A merchant needs a name.")
    merchant_id = new_id("mer")
    now = ctx.clock.now()
    with ctx.uow() as store:
        store.add_merchant(merchant_id, name, now)
        key = _new_key(store, merchant_id, now)
    return NewMerchant(merchant_id, name, key)


def create_api_key(ctx: Context, merchant_id: str) -> str:
    with ctx.uow() as store:
        if store.merchant_name(merchant_id) is None:
            raise InvalidInput(f"No merchant has the id '{merchant_id}'.")
        return _new_key(store, merchant_id, ctx.clock.now())


def authenticate(ctx: Context, presented: str) -> str:
    """The merchant id a key belongs to; any doubt is the same refusal."""
    prefix = key_prefix(presented)
    with ctx.uow() as store:
        stored = store.api_key_by_prefix(prefix)
    if stored is None or not key_matches(stored, presented):
        raise Unauthenticated("The API key is not valid.")
    return stored.merchant_id


DEMO_MERCHANT_ID = "mer_demo"
# Well known on purpose, so the README walkthrough works verbatim against `make run`.
# Only `relance up` (the local, embedded-defaults mode) ever creates it.
DEMO_API_KEY = compose_key("demo", "local-sandbox-key-do-not-use-in-production")


def ensure_demo_merchant(ctx: Context) -> NewMerchant:
    now = ctx.clock.now()
    with ctx.uow() as store:
        if store.merchant_name(DEMO_MERCHANT_ID) is None:
            store.add_merchant(DEMO_MERCHANT_ID, "Demo Shop", now)
            key = ApiKey(new_id("key"), DEMO_MERCHANT_ID, "demo", hash_key(DEMO_API_KEY), now)
            store.add_api_key(key)
    return NewMerchant(DEMO_MERCHANT_ID, "Demo Shop", DEMO_API_KEY)


def get_profile(ctx: Context, merchant_id: str) -> MerchantProfile:
    with ctx.uow() as store:
        profile = store.merchant_profile(merchant_id)
    if profile is None:
        raise NotFound(f"No merchant has the id '{merchant_id}'.")
    return profile


def update_profile(ctx: Context, merchant_id: str, changes: dict[str, Any]) -> MerchantProfile:
    """Change how the merchant appears in messages; every value is checked, all or nothing."""
    with ctx.uow() as store:
        current = store.merchant_profile(merchant_id)
        if current is None:
            raise NotFound(f"No merchant has the id '{merchant_id}'.")
        updated = current.changed(changes)
        store.save_merchant_profile(updated)
    return updated
