"""The worker's side of the action queue: claim due work, give it back."""

from __future__ import annotations

from datetime import timedelta

from relance.domain.actions import ScheduledAction
from relance.services.context import Context

# An action that crashed (a bug, the gateway down) is tried again after this pause.
CRASH_BACKOFF = timedelta(minutes=5)


def claim_due_actions(
    ctx: Context, owner: str, lease: timedelta, limit: int
) -> list[ScheduledAction]:
    with ctx.uow() as store:
        return store.actions.claim_due(owner, ctx.clock.now(), lease, limit)


def release_actions(ctx: Context, owner: str, action_ids: list[str] | None = None) -> int:
    with ctx.uow() as store:
        return store.actions.release(owner, action_ids)


def postpone_crashed(ctx: Context, action: ScheduledAction, owner: str, error: str) -> None:
    with ctx.uow() as store:
        store.actions.postpone(
            action.id, owner, ctx.clock.now() + CRASH_BACKOFF, f"crashed, will retry: {error}"
        )


def queue_counts(ctx: Context) -> dict[str, int]:
    with ctx.uow() as store:
        return store.actions.count_by_status()
