"""Which dunning policy applies to a merchant, and how a merchant changes it."""

from __future__ import annotations

from functools import cache, lru_cache

from relance.data import read_text
from relance.domain.errors import InvalidPolicy
from relance.domain.policy import DunningPolicy, parse_policy
from relance.ids import new_id
from relance.ports import Store
from relance.services.context import Context


@cache
def default_policy_source() -> str:
    return read_text("policies/default.toml")


@lru_cache(maxsize=256)
def _parsed(source: str) -> DunningPolicy:
    """A stored version never changes and a policy is immutable: parse each text once (every
    due message reads its case's policy)."""
    return parse_policy(source)


def policy_for(store: Store, merchant_id: str) -> DunningPolicy:
    stored = store.latest_policy(merchant_id)
    return _parsed(stored[1] if stored else default_policy_source())


def policy_of_case(store: Store, merchant_id: str, version: int) -> DunningPolicy:
    """The policy a case was planned with, even after the merchant changed it."""
    source = store.policy_source(merchant_id, version)
    return _parsed(source if source is not None else default_policy_source())


def policy_source_for(ctx: Context, merchant_id: str) -> str:
    with ctx.uow() as store:
        stored = store.latest_policy(merchant_id)
    return stored[1] if stored else default_policy_source()


def set_policy(ctx: Context, merchant_id: str, source: str) -> DunningPolicy:
    """Store a new version; cases already open keep the plan they were given."""
    policy = parse_policy(source)
    with ctx.uow() as store:
        current = store.latest_policy(merchant_id)
        # The default is version 1, so a merchant's first own policy is version 2 or more.
        floor = current[0] if current else parse_policy(default_policy_source()).version
        if policy.version <= floor:
            raise InvalidPolicy(
                f"The new policy must have a version above {floor} (it says {policy.version})."
            )
        store.add_policy(merchant_id, policy.version, source, ctx.clock.now(), new_id("pol"))
    return policy
