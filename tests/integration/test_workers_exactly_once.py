"""Several real worker processes share one PostgreSQL queue, one sandbox gateway and one outbox:
every due action runs exactly once, and a worker killed mid-batch loses and doubles nothing.

The cases are opened in-process through the real services on a clock set 20 days in the past,
so every retry and reminder they plan is due now for the workers (which read the system clock),
while the exhaustion step (day 60) is still in the future and stays out of the way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine, create_engine, func, select

from relance.adapters.clock import FrozenClock
from relance.adapters.db import tables as t
from relance.adapters.files import key_digest
from relance.bootstrap import build
from relance.domain.attempts import Outcome, RawCodes
from relance.domain.money import Money
from relance.services import customers, invoices, merchants, payments, policies

from ..conftest import make_settings

pytestmark = pytest.mark.slow

# Four retries and four reminders, all due 20 days after the case opened; exhaustion is not.
# The respect guards are opened wide (no quiet time, no cap, no gap), so every reminder is sent
# whatever the day and hour at which the test runs: this test is about the queue.
POLICY = """
[policy]
name = "exactly-once"
version = 2

[retries]
days_after_failure = [1, 3, 5, 8]

[messages]
quiet_hours = { start = "00:00", end = "00:00" }
quiet_days = []
max_per_7_days = 14
min_gap_hours = 0

[[messages.steps]]
key = "payment_failed"
kind = "failed_payment"
day = 0
channels = ["email"]
tone = "friendly"

[[messages.steps]]
key = "follow_up_1"
kind = "follow_up"
day = 3
channels = ["email"]
tone = "friendly"

[[messages.steps]]
key = "follow_up_2"
kind = "follow_up"
day = 7
channels = ["email"]
tone = "neutral"

[[messages.steps]]
key = "final_notice"
kind = "final_notice"
day = 12
channels = ["email"]
tone = "firm"

[exhaustion]
day = 60
"""
ACTIONS_PER_CASE = 8
OPENED_DAYS_AGO = 20

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture
RELANCE_BIN = Path(sys.executable).with_name("relance")  # no relance/__main__.py to -m
WORKERS_TIMEOUT = 240.0
a = t.actions


@dataclass
class World:
    engine: Engine
    folder: Path
    env: dict[str, str]

    @property
    def sandbox(self) -> Path:
        return self.folder / "sandbox"

    @property
    def outbox(self) -> Path:
        return self.folder / "outbox"


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    stderr_path: Path

    def tail(self, lines: int = 25) -> str:
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        return f"--- {self.name} stderr (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.stdout.close()
        self.stderr.close()

    def log_lines(self) -> list[dict[str, object]]:
        lines = self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def open_cases(pg_url: str, folder: Path, count: int) -> None:
    """`count` customers on tok_insufficient_funds, each with a failed invoice: a case each,
    planned with POLICY by the real services, `OPENED_DAYS_AGO` days before now."""
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=OPENED_DAYS_AGO))
    app = build(make_settings(pg_url, folder), clock=clock)
    try:
        app.migrate()
        ctx = app.ctx
        merchant = merchants.create_merchant(ctx, "Exactly Once SARL")
        policies.set_policy(ctx, merchant.id, POLICY)
        for n in range(count):
            customer = customers.register_customer(
                ctx,
                merchant.id,
                customers.CustomerInput(
                    external_id=f"c{n}", name=f"Client {n}", email=f"client{n}@example.com"
                ),
            )
            customers.add_payment_method(
                ctx,
                merchant.id,
                customers.PaymentMethodInput(customer.id, "tok_insufficient_funds"),
            )
            issued = clock.now() - timedelta(days=1)
            invoice = invoices.issue_invoice(
                ctx,
                merchant.id,
                invoices.InvoiceInput(
                    customer.id, f"F-{n:05d}", Money.of(4_900, "EUR"), issued, issued
                ),
            )
            payments.record_payment_attempt(
                ctx,
                merchant.id,
                payments.AttemptInput(
                    invoice.id,
                    invoice.amount,
                    Outcome.FAILED,
                    clock.now(),
                    RawCodes("insufficient_funds", "51", processor="sandbox"),
                ),
            )
    finally:
        app.close()


@pytest.fixture
def world(pg_url: str, tmp_path: Path) -> Iterator[World]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")}
    env |= {
        "RELANCE_DATABASE_URL": pg_url,
        "RELANCE_SANDBOX_DIR": str(tmp_path / "sandbox"),
        "RELANCE_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "RELANCE_OUTBOX_DIR": str(tmp_path / "outbox"),
        "RELANCE_LOG_LEVEL": "INFO",
    }
    engine = create_engine(pg_url)
    try:
        yield World(engine, tmp_path, env)
    finally:
        engine.dispose()


def start_worker(world: World, name: str, *args: str) -> WorkerProcess:
    logs = world.folder / "logs"
    logs.mkdir(exist_ok=True)
    life = len(list(logs.glob(f"{name}.*.stderr")))
    stdout_path = logs / f"{name}.{life}.stdout"
    stderr_path = logs / f"{name}.{life}.stderr"
    stdout, stderr = stdout_path.open("wb"), stderr_path.open("wb")
    process = subprocess.Popen(
        [str(RELANCE_BIN), "worker", "--name", name, *args],
        env=world.env,
        cwd=world.folder,
        stdout=stdout,
        stderr=stderr,
    )
    return WorkerProcess(name, process, stdout, stderr, stderr_path)


def wait_all(workers: list[WorkerProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for w in workers:
        try:
            w.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            tails = "\n".join(x.tail() for x in workers)
            pytest.fail(f"worker {w.name} still running after {timeout:.0f} s\n{tails}")
    failed = [w for w in workers if w.process.returncode != 0]
    assert not failed, "workers exited non-zero: " + "\n".join(
        f"{w.name}={w.process.returncode}\n{w.tail()}" for w in failed
    )


def outcomes(worker: WorkerProcess) -> set[object]:
    return {x["outcome"] for x in worker.log_lines() if x["event"] == "action"}


def scalar(engine: Engine, query: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def due_pending(engine: Engine) -> int:
    now = datetime.now(UTC)
    return scalar(engine, select(func.count()).where(a.c.status == "pending", a.c.due_at <= now))


def due_actions(engine: Engine) -> list[tuple[str, str, str, str, int]]:
    """(id, kind, idempotency_key, status, claims) of every retry and reminder."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(a.c.id, a.c.kind, a.c.idempotency_key, a.c.status, a.c.claims).where(
                a.c.kind.in_(["retry", "reminder"])
            )
        ).all()
    return [(r.id, r.kind, r.idempotency_key, r.status, r.claims) for r in rows]


def replayed_keys(folder: Path) -> list[str]:
    log = folder / "replays.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def assert_side_effects_match(world: World, actions: list[tuple[str, str, str, str, int]]) -> None:
    """One charge file per retry, one .eml per reminder, one row per side effect."""
    retry_keys = {key for _, kind, key, _, _ in actions if kind == "retry"}
    reminder_keys = {key for _, kind, key, _, _ in actions if kind == "reminder"}
    charges = sorted((world.sandbox / "charges").glob("*.json"))
    emails = sorted(world.outbox.glob("*.eml"))
    assert len(charges) == len(retry_keys), "charge files != retry actions"
    assert len(emails) == len(reminder_keys), ".eml files != reminder actions"
    charged = {json.loads(p.read_text())["idempotency_key"] for p in charges}
    assert charged == retry_keys, "a retry was charged under a key no action owns, or not at all"
    assert {p.stem for p in emails} == {key_digest(f"{k}/email") for k in reminder_keys}
    with world.engine.connect() as conn:
        messages = conn.execute(select(func.count()).select_from(t.messages)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(t.messages.c.action_id)))).scalar()
        relance_attempts = conn.execute(
            select(func.count()).where(t.payment_attempts.c.source == "relance")
        ).scalar_one()
        refs = conn.execute(
            select(func.count(func.distinct(t.payment_attempts.c.gateway_reference))).where(
                t.payment_attempts.c.source == "relance"
            )
        ).scalar()
    assert messages == distinct == len(reminder_keys), "a reminder was recorded twice or never"
    assert relance_attempts == refs == len(retry_keys), "a retry was recorded twice or never"


def test_four_worker_processes_execute_two_thousand_due_actions_exactly_once(
    world: World, record_property: RecordProperty
) -> None:
    cases = 250
    open_cases(world.env["RELANCE_DATABASE_URL"], world.folder, cases)
    expected = cases * ACTIONS_PER_CASE
    assert due_pending(world.engine) == expected == 2_000

    started = time.perf_counter()
    workers = [
        start_worker(world, f"w{k}", "--exit-when-idle", "--batch", "10") for k in range(1, 5)
    ]
    try:
        wait_all(workers, WORKERS_TIMEOUT)
    finally:
        for w in workers:
            w.close()
    wall = time.perf_counter() - started
    tails = "\n".join(w.tail(10) for w in workers)

    actions = due_actions(world.engine)
    assert len(actions) == expected
    statuses: dict[str, int] = {}
    for _, _, _, status, _ in actions:
        statuses[status] = statuses.get(status, 0) + 1
    # Every token declines with insufficient_funds, a 'later' decline that allows retries:
    # decide_after_failure cancels nothing and no payment ever settles an invoice, so nothing is
    # cancelled or skipped — each retry is 'done' with a failed outcome.
    assert statuses == {"done": expected}, f"{statuses}\n{tails}"
    claimed_twice = [(i, c) for i, _, _, _, c in actions if c != 1]
    assert not claimed_twice, f"actions claimed more than once: {claimed_twice[:10]}"
    assert_side_effects_match(world, actions)
    for w in workers:  # no lost lease, no crash: each worker recorded what it claimed
        assert outcomes(w) == {"done"}, w.tail()
    assert sum(1 for _, kind, *_ in actions if kind == "retry") == 1_000
    assert sum(1 for _, kind, *_ in actions if kind == "reminder") == 1_000
    assert not (world.sandbox / "replays.log").exists(), "a charge was sent twice"
    assert not (world.outbox / "replays.log").exists(), "an email was sent twice"
    # The exhaustion steps are still waiting for day 60.
    assert due_pending(world.engine) == 0

    # Throughput, for the record (no assertion): wall time includes process start-up; the
    # busy span runs from the first worker starting to the last one stopping, per the logs.
    per_worker = []
    spans = []
    for w in workers:
        lines = w.log_lines()
        ts = [datetime.fromisoformat(str(x["ts"])) for x in lines]
        span = (max(ts) - min(ts)).total_seconds()
        executed = sum(1 for x in lines if x["event"] == "action")
        spans.extend([min(ts), max(ts)])
        per_worker.append((w.name, executed, span))
    busy = (max(spans) - min(spans)).total_seconds()
    report = {
        "actions": expected,
        "workers": len(workers),
        "wall_seconds": round(wall, 2),
        "busy_seconds": round(busy, 2),
        "overall_actions_per_second_wall": round(expected / wall, 1),
        "overall_actions_per_second_busy": round(expected / busy, 1),
        "per_worker_actions_per_second_wall": round(expected / wall / len(workers), 1),
        "per_worker_actions_per_second_busy": round(expected / busy / len(workers), 1),
        "per_worker": {n: {"executed": e, "seconds": round(s, 2)} for n, e, s in per_worker},
    }
    for key, value in report.items():
        record_property(key, value)
    print(f"\nTHROUGHPUT {json.dumps(report)}")


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing_after_restart(
    world: World, record_property: RecordProperty
) -> None:
    cases = 60
    open_cases(world.env["RELANCE_DATABASE_URL"], world.folder, cases)
    expected = cases * ACTIONS_PER_CASE
    assert due_pending(world.engine) == expected == 480

    def done() -> int:
        return scalar(world.engine, select(func.count()).where(a.c.status == "done"))

    def running_under_victim() -> dict[str, str]:
        with world.engine.connect() as conn:
            rows = conn.execute(
                select(a.c.id, a.c.idempotency_key).where(
                    a.c.status == "running", a.c.lease_owner == "victim"
                )
            ).all()
        return {key: action_id for action_id, key in rows}

    # Kill the victim while it holds a batch. The kill is usually in-batch at the first try
    # (a batch of 50 takes far longer than claiming it); if it landed between batches, nothing
    # was in flight, so let it go on and kill it again a little later.
    in_flight: dict[str, str] = {}
    lives: list[WorkerProcess] = []
    try:
        for attempt in range(3):
            victim = start_worker(world, "victim", "--batch", "50")
            lives.append(victim)
            threshold = done() + 20
            deadline = time.monotonic() + 60
            while done() < threshold or not running_under_victim():
                if victim.process.poll() is not None:
                    pytest.fail(f"the victim exited on its own\n{victim.tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the victim made no progress in 60 s\n{victim.tail()}")
                time.sleep(0.05)  # waiting for another process's progress, not for time
            os.kill(victim.process.pid, signal.SIGKILL)
            victim.process.wait(timeout=10)
            in_flight = running_under_victim()
            if in_flight:
                break
            print(f"\nkill attempt {attempt + 1} landed between batches; again")
        done_at_kill = done()
        assert in_flight, "three kills in a row landed between batches"
        assert done_at_kill < expected, "the victim finished everything before the kill"
        print(
            f"\nkilled the victim with {done_at_kill} done and {len(in_flight)} running "
            f"(after {len(lives)} kill(s))"
        )

        # Same name: Worker.recover gives the dead life's leases back at once.
        survivor = start_worker(world, "victim", "--exit-when-idle")
        lives.append(survivor)
        wait_all([survivor], WORKERS_TIMEOUT)
    finally:
        for life in lives:
            life.close()
    tails = "\n".join(life.tail(10) for life in lives)

    actions = due_actions(world.engine)
    assert len(actions) == expected
    not_done = [(i, s) for i, _, _, s, _ in actions if s != "done"]
    assert not not_done, f"actions lost: {not_done[:10]}\n{tails}"
    assert_side_effects_match(world, actions)
    # Only what was in flight at a kill could be claimed a second time.
    in_flight_ids = set(in_flight.values())
    claimed_again = {i for i, _, _, _, c in actions if c > 1}
    assert claimed_again <= in_flight_ids, "an action not in flight was claimed twice"
    claims = {i: c for i, _, _, _, c in actions}
    assert all(claims[i] == 2 for i in in_flight_ids), "an in-flight action ran 0 or 2+ times"
    assert outcomes(lives[-1]) == {"done"}, tails

    # An action carried out at the gateway or the outbox but not recorded before the kill runs
    # again under the same key: the replay is answered from the first result, charging or
    # sending nothing new. Only actions in flight at the kill may be replayed.
    replays = replayed_keys(world.sandbox) + replayed_keys(world.outbox)
    assert len(replays) == len(set(replays)), f"a key was replayed more than once: {replays}"
    # A message's key is its action's key and its channel ("…/reminder/payment_failed/email").
    gateway = set(replayed_keys(world.sandbox))
    actions = gateway | {key.rsplit("/", 1)[0] for key in replayed_keys(world.outbox)}
    assert actions <= set(in_flight), f"replayed keys not in flight at the kill: {replays}"
    record_property("in_flight_at_kill", len(in_flight))
    record_property("replays", len(replays))
    print(
        f"replays: {len(replays)} (gateway {len(replayed_keys(world.sandbox))}, "
        f"outbox {len(replayed_keys(world.outbox))}); "
        f"re-claimed after restart: {len(claimed_again)} of {len(in_flight)} in flight"
    )
