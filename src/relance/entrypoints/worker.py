"""The worker: claim due actions, carry each out, log one line per action.

Stopping is cooperative: `stop()` (SIGTERM, or the server shutting down) lets the action in
hand finish and gives the rest of the claimed batch back to the queue at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from relance.entrypoints.logs import log
from relance.services.context import Context
from relance.services.execution import execute_action
from relance.services.queue import claim_due_actions, postpone_crashed, release_actions


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        ctx: Context,
        name: str,
        lease_seconds: int = 60,
        batch: int = 20,
        poll_seconds: float = 1.0,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self.executed = 0

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def recover(self) -> int:
        """A restarted worker of the same name takes back what its previous life held,
        without waiting for those leases to expire."""
        released = release_actions(self.ctx, self.name)
        if released:
            log("worker.recovered", worker=self.name, released=released)
        return released

    def run_once(self) -> int:
        """Claim one batch and carry it out; the number of actions handled."""
        claimed = claim_due_actions(self.ctx, self.name, self.lease, self.batch)
        for index, action in enumerate(claimed):
            if self.stopping:
                rest = [a.id for a in claimed[index:]]
                release_actions(self.ctx, self.name, rest)
                log("worker.released", worker=self.name, released=len(rest))
                return index
            started = time.perf_counter()
            try:
                outcome = execute_action(self.ctx, action, self.name) or "lost_lease"
            except Exception as exc:
                outcome = "crashed"
                postpone_crashed(self.ctx, action, self.name, type(exc).__name__)
                log("action.crashed", logging.ERROR, action_id=action.id, exc_info=True)
            self.executed += 1
            log(
                "action",
                worker=self.name,
                action_id=action.id,
                case_id=action.case_id,
                kind=action.kind.value,
                outcome=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return len(claimed)

    def run(self, exit_when_idle: bool = False) -> None:
        log("worker.started", worker=self.name)
        try:
            while not self.stopping:
                if self.run_once() == 0:
                    if exit_when_idle:
                        break
                    self._stop.wait(self.poll_seconds)
        finally:
            release_actions(self.ctx, self.name)
            log("worker.stopped", worker=self.name, executed=self.executed)
