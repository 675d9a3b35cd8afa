"""Idempotent requests: a replayed key returns the first response; another body is a conflict."""

from __future__ import annotations

from dataclasses import dataclass

from relance.domain.errors import IdempotencyConflict
from relance.ports import StoredResponse
from relance.services.context import Context


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: str


def begin_request(ctx: Context, merchant_id: str, key: str, request_hash: str) -> Replay | None:
    """A Replay when this key already answered; None when the caller should go ahead."""
    with ctx.uow() as store:
        stored: StoredResponse | None = store.stored_response(merchant_id, key)
        if stored is None:
            store.reserve_response(merchant_id, key, request_hash, ctx.clock.now())
            return None
    if stored.request_hash != request_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request; use a new key."
        )
    if stored.status_code == 0:
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        )
    return Replay(stored.status_code, stored.body)


def finish_request(ctx: Context, merchant_id: str, key: str, status_code: int, body: str) -> None:
    with ctx.uow() as store:
        store.save_response(merchant_id, key, status_code, body)


def abandon_request(ctx: Context, merchant_id: str, key: str) -> None:
    """An unexpected failure: forget the key so the client can safely try again."""
    with ctx.uow() as store:
        store.drop_response(merchant_id, key)


def stored_answer(ctx: Context, merchant_id: str, key: str) -> StoredResponse | None:
    """The answer kept for a key (status 0 while the first request is still running)."""
    with ctx.uow() as store:
        return store.stored_response(merchant_id, key)
