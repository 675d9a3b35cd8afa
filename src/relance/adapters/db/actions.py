"""The durable action queue. Rows are written in the caller's transaction, next to the state
change that decided them; workers claim due rows under a lease.

Claiming is one statement on both backends: on PostgreSQL the sub-select takes
`FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on, nor share, a row; on SQLite the
transaction starts with BEGIN IMMEDIATE, which serialises claimers. A running row whose lease
has expired (its worker died) is due again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from relance.adapters.db import tables as t
from relance.domain.actions import ActionStatus, ScheduledAction
from relance.domain.cases import ActionKind

_a = t.actions


def _action(r: Row[Any]) -> ScheduledAction:
    return ScheduledAction(
        id=r.id,
        merchant_id=r.merchant_id,
        case_id=r.case_id,
        invoice_id=r.invoice_id,
        kind=ActionKind(r.kind),
        due_at=r.due_at,
        status=ActionStatus(r.status),
        idempotency_key=r.idempotency_key,
        explanation=r.explanation,
        step=r.step,
        number=r.number,
        result=r.result,
        claims=r.claims,
        lease_owner=r.lease_owner,
        customer_id=r.customer_id,
        payload=r.payload,
    )


class ActionQueue:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def schedule(self, actions: Iterable[ScheduledAction], at: datetime) -> None:
        rows = [
            {
                "id": a.id,
                "merchant_id": a.merchant_id,
                "case_id": a.case_id,
                "invoice_id": a.invoice_id,
                "customer_id": a.customer_id,
                "payload": a.payload,
                "kind": a.kind.value,
                "step": a.step,
                "number": a.number,
                "due_at": a.due_at,
                "status": a.status.value,
                "idempotency_key": a.idempotency_key,
                "explanation": a.explanation,
                "claims": 0,
                "created_at": at,
            }
            for a in actions
        ]
        if rows:
            self.conn.execute(insert(_a), rows)

    def for_case(self, case_id: str) -> list[ScheduledAction]:
        rows = self.conn.execute(
            select(_a).where(_a.c.case_id == case_id).order_by(_a.c.due_at, _a.c.id)
        )
        return [_action(r) for r in rows]

    def cancel_open(
        self, case_id: str, kinds: Iterable[ActionKind], reason: str, at: datetime
    ) -> int:
        """Cancel what has not started. A running action is left to its worker, which checks
        the case again before recording anything."""
        result = self.conn.execute(
            update(_a)
            .where(
                _a.c.case_id == case_id,
                _a.c.kind.in_([k.value for k in kinds]),
                _a.c.status.in_([ActionStatus.PENDING.value, ActionStatus.HELD.value]),
            )
            .values(status=ActionStatus.CANCELLED.value, result=reason, finished_at=at)
        )
        return result.rowcount

    def cancel_open_for_invoice(
        self, invoice_id: str, kinds: Iterable[ActionKind], reason: str, at: datetime
    ) -> int:
        """Messages about an invoice outside any case (the pre-due reminder)."""
        result = self.conn.execute(
            update(_a)
            .where(
                _a.c.invoice_id == invoice_id,
                _a.c.case_id.is_(None),
                _a.c.kind.in_([k.value for k in kinds]),
                _a.c.status.in_([ActionStatus.PENDING.value, ActionStatus.HELD.value]),
            )
            .values(status=ActionStatus.CANCELLED.value, result=reason, finished_at=at)
        )
        return result.rowcount

    def reschedule_open(self, case_id: str, kind: ActionKind, due_at: datetime) -> int:
        """Move a case's pending action of this kind later (never earlier)."""
        result = self.conn.execute(
            update(_a)
            .where(
                _a.c.case_id == case_id,
                _a.c.kind == kind.value,
                _a.c.status.in_([ActionStatus.PENDING.value, ActionStatus.HELD.value]),
                _a.c.due_at < due_at,
            )
            .values(due_at=due_at)
        )
        return result.rowcount

    def pending_reminders_of_customer(
        self, customer_id: str, due_before: datetime
    ) -> list[ScheduledAction]:
        rows = self.conn.execute(
            select(_a)
            .where(
                _a.c.customer_id == customer_id,
                _a.c.kind == ActionKind.REMINDER.value,
                _a.c.status == ActionStatus.PENDING.value,
                _a.c.due_at <= due_before,
            )
            .order_by(_a.c.due_at, _a.c.id)
        )
        return [_action(r) for r in rows]

    def skip_pending(self, action_ids: Iterable[str], reason: str, at: datetime) -> int:
        ids = list(action_ids)
        if not ids:
            return 0
        result = self.conn.execute(
            update(_a)
            .where(_a.c.id.in_(ids), _a.c.status == ActionStatus.PENDING.value)
            .values(status=ActionStatus.SKIPPED.value, result=reason, finished_at=at)
        )
        return result.rowcount

    def hold(self, case_id: str) -> int:
        result = self.conn.execute(
            update(_a)
            .where(_a.c.case_id == case_id, _a.c.status == ActionStatus.PENDING.value)
            .values(status=ActionStatus.HELD.value)
        )
        return result.rowcount

    def unhold(self, case_id: str, now: datetime, shift: timedelta | None = None) -> int:
        """Resume a paused case: what fell due while paused becomes due now. `shift` first
        moves every held action later by the time the pause lasted (a broken payment plan
        resumes the sequence where it stood, rather than firing everything at once)."""
        held = and_(_a.c.case_id == case_id, _a.c.status == ActionStatus.HELD.value)
        if shift:
            rows = self.conn.execute(select(_a.c.id, _a.c.due_at).where(held)).all()
            for action_id, due_at in rows:
                self.conn.execute(
                    update(_a).where(_a.c.id == action_id).values(due_at=due_at + shift)
                )
        self.conn.execute(update(_a).where(held, _a.c.due_at < now).values(due_at=now))
        result = self.conn.execute(update(_a).where(held).values(status=ActionStatus.PENDING.value))
        return result.rowcount

    def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ScheduledAction]:
        due = or_(
            and_(_a.c.status == ActionStatus.PENDING.value, _a.c.due_at <= now),
            and_(_a.c.status == ActionStatus.RUNNING.value, _a.c.lease_expires_at < now),
        )
        chosen = (
            select(_a.c.id)
            .where(due)
            .order_by(_a.c.due_at, _a.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = self.conn.execute(
            update(_a)
            .where(_a.c.id.in_(chosen.scalar_subquery()))
            .values(
                status=ActionStatus.RUNNING.value,
                lease_owner=owner,
                lease_expires_at=now + lease,
                claims=_a.c.claims + 1,
            )
            .returning(*_a.c)
        ).all()
        return sorted((_action(r) for r in claimed), key=lambda a: (a.due_at, a.id))

    def claim(
        self, action_ids: Iterable[str], owner: str, now: datetime, lease: timedelta
    ) -> list[ScheduledAction]:
        """Claim these pending actions now, whatever their due time (the payment page charges
        at once what it just scheduled); those another worker holds are left to it."""
        ids = list(action_ids)
        if not ids:
            return []
        chosen = (
            select(_a.c.id)
            .where(_a.c.id.in_(ids), _a.c.status == ActionStatus.PENDING.value)
            .with_for_update(skip_locked=True)
        )
        self.conn.execute(
            update(_a)
            .where(_a.c.id.in_(chosen.scalar_subquery()))
            .values(
                status=ActionStatus.RUNNING.value,
                lease_owner=owner,
                lease_expires_at=now + lease,
                claims=_a.c.claims + 1,
            )
        )
        rows = self.conn.execute(
            select(_a).where(_a.c.id.in_(ids), _a.c.lease_owner == owner).order_by(_a.c.id)
        )
        return [_action(r) for r in rows]

    def holds_lease(self, action_id: str, owner: str, lock: bool = False) -> bool:
        q = select(_a.c.id).where(
            _a.c.id == action_id,
            _a.c.status == ActionStatus.RUNNING.value,
            _a.c.lease_owner == owner,
        )
        return self.conn.execute(q.with_for_update() if lock else q).first() is not None

    def finish(
        self, action_id: str, owner: str, status: ActionStatus, result: str, at: datetime
    ) -> bool:
        """Record the outcome if this worker still holds the lease; False means another
        worker took the action over and will record it instead."""
        done = self.conn.execute(
            update(_a)
            .where(
                _a.c.id == action_id,
                _a.c.status == ActionStatus.RUNNING.value,
                _a.c.lease_owner == owner,
            )
            .values(
                status=status.value,
                result=result,
                finished_at=at,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return done.rowcount == 1

    def postpone(self, action_id: str, owner: str, due_at: datetime, note: str) -> bool:
        """Give an action that crashed back to the queue, due again later."""
        done = self.conn.execute(
            update(_a)
            .where(_a.c.id == action_id, _a.c.lease_owner == owner)
            .values(
                status=ActionStatus.PENDING.value,
                due_at=due_at,
                result=note,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return done.rowcount == 1

    def release(self, owner: str, action_ids: Iterable[str] | None = None) -> int:
        """Give claimed-but-unstarted actions back (graceful shutdown, or a restarted worker
        of the same name reclaiming what its previous life held)."""
        q = update(_a).where(_a.c.status == ActionStatus.RUNNING.value, _a.c.lease_owner == owner)
        if action_ids is not None:
            q = q.where(_a.c.id.in_(list(action_ids)))
        done = self.conn.execute(
            q.values(status=ActionStatus.PENDING.value, lease_owner=None, lease_expires_at=None)
        )
        return done.rowcount

    def next_due_at(self) -> datetime | None:
        return self.conn.execute(
            select(func.min(_a.c.due_at)).where(_a.c.status == ActionStatus.PENDING.value)
        ).scalar_one_or_none()

    def count_by_status(self) -> dict[str, int]:
        rows = self.conn.execute(select(_a.c.status, func.count()).group_by(_a.c.status))
        return {status: count for status, count in rows}
