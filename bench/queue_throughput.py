"""Queue throughput: how fast one in-process worker drains due actions, against the bare queue.

    .venv/bin/python bench/queue_throughput.py [--cases N] [--runs R] [--pg URL]

For each backend (SQLite file always; PostgreSQL when --pg or RELANCE_TEST_DATABASE_URL is
given, in a fresh schema dropped afterwards) and each run, two fresh databases are filled the
same way: one merchant, N failed invoices on `tok_insufficient_funds` (9 actions per case: the
default policy's retries and messages, with the respect guards opened wide so that none of them
is held back), then the frozen clock jumps 30 days so that every action is due.

- full: one `Worker` (batch 20) calls `run_once()` until it returns 0 — the real gateway,
  outbox, templates (HTML, text), respect guards and business logic.
- bare: the same number of due rows go through `ActionQueue.claim_due` (20 per transaction)
  and `finish` (one transaction each) and nothing else: the cost of the queue alone.

Only the drain is timed, not building the data. The machine is noisy, so read the medians and
the ratio bare/full, measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relance.adapters.clock import FrozenClock
from relance.bootstrap import App, build
from relance.config import Settings
from relance.data import read_text
from relance.domain.actions import ActionStatus
from relance.domain.attempts import Outcome, RawCodes
from relance.domain.money import Money
from relance.entrypoints.worker import Worker
from relance.services import customers, invoices, merchants, payments, policies

PG_ENV = "RELANCE_TEST_DATABASE_URL"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # a Saturday morning in Paris, as in the tests
BATCH = 20
LEASE = timedelta(seconds=60)


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_app(backend: str, pg_base: str | None) -> Iterator[tuple[App, FrozenClock]]:
    """A migrated application on an empty database, with a frozen clock at T0."""
    with tempfile.TemporaryDirectory(prefix="relance-bench-") as tmp:
        folder = Path(tmp)
        database = pg_schema(pg_base) if backend == "postgresql" and pg_base else _sqlite(folder)
        with database as database_url:
            settings = Settings(
                database_url=database_url,
                outbox_dir=folder / "outbox",
                sandbox_dir=folder / "sandbox",
                secret_key_file=folder / "secret_key",
            )
            clock = FrozenClock(T0)
            app = build(settings, clock=clock)
            try:
                app.migrate()
                yield app, clock
            finally:
                app.close()


@contextmanager
def _sqlite(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'relance.db'}"


# The default sequence with no quiet time, cap or gap: the bench measures the worker, and with
# the real guards a 30-day backlog would (rightly) be spread over weeks.
OPEN_POLICY = (
    read_text("policies/default.toml")
    .replace("version = 1", "version = 2", 1)
    .replace('quiet_days = ["sunday", "public_holidays"]', "quiet_days = []")
    .replace(
        'quiet_hours = { start = "21:00", end = "08:30" }',
        'quiet_hours = { start = "00:00", end = "00:00" }',
    )
    .replace("max_per_7_days = 2", "max_per_7_days = 14")
    .replace("min_gap_hours = 48", "min_gap_hours = 0")
)


def fill(app: App, clock: FrozenClock, cases: int) -> None:
    """One merchant and `cases` failed invoices whose retries keep declining; then 30 days
    pass, so every retry, reminder and exhaustion is due."""
    ctx = app.ctx
    merchant_id = merchants.create_merchant(ctx, "Bench Shop").id
    policies.set_policy(ctx, merchant_id, OPEN_POLICY)
    now = ctx.clock.now()
    for i in range(cases):
        customer = customers.register_customer(
            ctx,
            merchant_id,
            customers.CustomerInput(
                f"c{i}", "Camille Martin", f"c{i}@example.com", None, "fr", "Europe/Paris"
            ),
        )
        customers.add_payment_method(
            ctx,
            merchant_id,
            customers.PaymentMethodInput(
                customer.id, "tok_insufficient_funds", brand="visa", last4="4242"
            ),
        )  # fmt: skip  (no expiry: card notices would be years away, never due)
        invoice = invoices.issue_invoice(
            ctx,
            merchant_id,
            invoices.InvoiceInput(
                customer.id,
                f"F-{i:05d}",
                Money(4900, "EUR"),
                now - timedelta(days=30),
                now - timedelta(days=1),
            ),
        )
        payments.record_payment_attempt(
            ctx,
            merchant_id,
            payments.AttemptInput(
                invoice.id,
                Money(4900, "EUR"),
                Outcome.FAILED,
                now,
                RawCodes(decline_code="insufficient_funds"),
            ),
        )
    clock.advance(days=30)


def drain_full(app: App, clock: FrozenClock) -> int:
    """Drain; a final notice sent late moves its case's exhaustion a few days on (the customer
    gets the notice period it states), so jump to those and drain again."""
    worker = Worker(app.ctx, "bench-worker", lease_seconds=int(LEASE.total_seconds()), batch=BATCH)
    while True:
        while worker.run_once():
            pass
        with app.ctx.uow() as store:
            later = store.actions.next_due_at()
        if later is None:
            return worker.executed
        clock.advance(seconds=(later - clock.now()).total_seconds())


def drain_bare(app: App, clock: FrozenClock) -> int:
    ctx, owner, done = app.ctx, "bench-queue", 0
    while True:
        with ctx.uow() as store:
            claimed = store.actions.claim_due(owner, ctx.clock.now(), LEASE, BATCH)
        if not claimed:
            return done
        for action in claimed:
            with ctx.uow() as store:
                store.actions.finish(action.id, owner, ActionStatus.DONE, "bench", ctx.clock.now())
            done += 1


def still_due(app: App) -> int:
    with app.ctx.uow() as store:
        counts = store.actions.count_by_status()
    return counts.get(ActionStatus.PENDING.value, 0) + counts.get(ActionStatus.RUNNING.value, 0)


@dataclass
class Measure:
    rates: list[float] = field(default_factory=list)  # actions per second, one per run
    counts: list[int] = field(default_factory=list)


def measure(
    backend: str,
    pg_base: str | None,
    cases: int,
    drain: Callable[[App, FrozenClock], int],
    into: Measure,
) -> float:
    with fresh_app(backend, pg_base) as (app, clock):
        fill(app, clock, cases)
        gc.collect()
        started = time.perf_counter()
        handled = drain(app, clock)
        seconds = time.perf_counter() - started
        left = still_due(app)
    if left:
        raise SystemExit(f"{backend}: {left} actions still pending after the drain")
    rate = handled / seconds
    into.rates.append(rate)
    into.counts.append(handled)
    return rate


def row(name: str, m: Measure) -> str:
    med = statistics.median(m.rates)
    counts = sorted(set(m.counts))
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"| {name:<13} | {n:>7} | {med:>10.0f} | {min(m.rates):>7.0f} .. {max(m.rates):<7.0f} |"


def report(backend: str, full: Measure, bare: Measure) -> None:
    paired = sorted(b / f for f, b in zip(full.rates, bare.rates, strict=True))
    ratio = statistics.median(bare.rates) / statistics.median(full.rates)
    print(f"\n{backend}")
    print("| measure       | actions | median a/s | range (min .. max) |")
    print("|---------------|--------:|-----------:|--------------------|")
    print(row("full worker", full))
    print(row("bare queue", bare))
    print(
        f"ratio of medians bare/full: {ratio:.1f}x "
        f"(full execution runs at {100 / ratio:.0f}% of the bare queue's rate; "
        f"per-run ratios {paired[0]:.1f}x .. {paired[-1]:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="failed invoices (9 actions each)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions, fresh databases each")
    parser.add_argument("--pg", default=os.environ.get(PG_ENV), help=f"PostgreSQL URL ({PG_ENV})")
    args = parser.parse_args()
    logging.getLogger("relance").setLevel(logging.WARNING)

    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, ", end="")
    print(f"{args.cases} cases, {args.runs} runs, batch {BATCH}, backends: {', '.join(backends)}")
    results = {b: (Measure(), Measure()) for b in backends}
    began = time.perf_counter()
    for run in range(1, args.runs + 1):
        for backend in backends:
            full, bare = results[backend]
            # Alternate which goes first, so a slow drift of the machine favours neither.
            order = [(drain_full, full), (drain_bare, bare)]
            for drain, into in order if run % 2 else order[::-1]:
                measure(backend, args.pg, args.cases, drain, into)
            print(
                f"run {run}/{args.runs} {backend:<10} full {full.rates[-1]:7.0f} a/s  "
                f"bare {bare.rates[-1]:7.0f} a/s",
                flush=True,
            )
    for backend in backends:
        report(backend, *results[backend])
    print(f"\ntotal {time.perf_counter() - began:.0f}s")


if __name__ == "__main__":
    main()
