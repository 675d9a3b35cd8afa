"""The README walkthrough against real processes: `relance up` (SQLite, worker inside), and
`relance serve --no-worker` + `relance worker` sharing PostgreSQL, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from relance.domain.respect import is_public_holiday
from relance.services.merchants import DEMO_API_KEY

RELANCE = str(Path(sys.executable).with_name("relance"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def daytime_zone() -> str:
    """A customer zone where it is a working day's daytime now, so the failure notice is due at
    once (the walkthrough's customer has no country: the demo merchant's, France, gives the
    public holidays)."""
    now = datetime.now(UTC)
    zones = [
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Pacific/Auckland",
    ]
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone))
        if (
            9 <= local.hour < 20
            and local.weekday() != 6
            and is_public_holiday(local.date(), "FR") is None
        ):
            return zone
    pytest.skip("it is night, Sunday or a French public holiday in every candidate zone")


class Server:
    def __init__(self, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.banner = folder / f"{args[0]}-{self.port}.out"
        self.log = folder / f"{args[0]}-{self.port}.log"  # the structured log lines (stderr)
        with self.banner.open("wb") as out, self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [RELANCE, *args],
                cwd=folder,
                env={**env, "PORT": str(self.port)},
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # waiting for another process to listen
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def env_for(folder: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")}
    env.update(
        RELANCE_DATABASE_URL=database_url,
        RELANCE_OUTBOX_DIR=str(folder / "outbox"),
        RELANCE_SANDBOX_DIR=str(folder / "sandbox"),
        RELANCE_SECRET_KEY_FILE=str(folder / "secret_key"),
        RELANCE_WORKER_POLL_SECONDS="0.2",
    )
    return env


def walkthrough(api: httpx.Client, zone: str) -> tuple[str, str]:
    """Customer -> card -> invoice -> failed attempt; returns (invoice id, case id)."""
    c = api.post(
        "/v1/customers",
        json={
            "external_id": "cus-42",
            "name": "Camille Martin",
            "email": "camille@example.com",
            "locale": "fr",
            "timezone": zone,
        },
    )
    assert c.status_code == 201, c.text
    pm = api.post(
        "/v1/payment-methods",
        json={
            "customer_id": c.json()["id"],
            "gateway_token": "tok_insufficient_funds",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
        },
    )
    assert pm.status_code == 201, pm.text
    inv = api.post(
        "/v1/invoices",
        json={
            "customer_id": c.json()["id"],
            "number": "F-2026-0042",
            "amount": 4900,
            "currency": "EUR",
            "issued_at": "2026-11-01T09:00:00Z",
            "due_at": "2026-11-15T09:00:00Z",
        },
    )
    assert inv.status_code == 201, inv.text
    attempt = api.post(
        "/v1/payment-attempts",
        headers={"Idempotency-Key": "att-1"},
        json={
            "invoice_id": inv.json()["id"],
            "amount": 4900,
            "currency": "EUR",
            "outcome": "failed",
            "attempted_at": "2026-11-21T09:00:00Z",
            "decline_code": "insufficient_funds",
            "network_response_code": "51",
            "processor": "stripe",
        },
    )
    assert attempt.status_code == 201, attempt.text
    return inv.json()["id"], attempt.json()["case_id"]


def wait_for_message(api: httpx.Client, case_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # waiting for the worker process, not for time to pass
        case = api.get(f"/v1/cases/{case_id}").json()
        if any(m["status"] == "sent" for m in case["messages"]):
            return case
        time.sleep(0.1)
    raise AssertionError("the worker sent no message")


def pay_and_check_recovered(api: httpx.Client, invoice_id: str, case_id: str) -> None:
    paid = api.post(
        f"/v1/invoices/{invoice_id}/payments",
        json={
            "amount": 4900,
            "currency": "EUR",
            "paid_at": "2026-11-21T10:00:00Z",
            "method": "transfer",
            "reference": "VIR-0042",
        },
    )
    assert paid.status_code == 201, paid.text
    case = api.get(f"/v1/cases/{case_id}").json()
    assert case["status"] == "recovered"
    # Nothing of the dunning is left; only the "all settled, thank you" message is on its way.
    pending = [a["step"] for a in case["actions"] if a["status"] == "pending"]
    assert pending == ["resolved"]


def assert_logs_are_clean(log: Path) -> None:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line["event"] == "request" for line in lines)
    text = log.read_text()
    for secret in (DEMO_API_KEY, "tok_insufficient_funds", "Bonjour"):
        assert secret not in text


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


def test_the_walkthrough_works_against_relance_up(folder: Path):
    server = Server(["up"], env_for(folder, f"sqlite:///{folder / 'relance.db'}"), folder)
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers) as api:
            invoice_id, case_id = walkthrough(api, daytime_zone())
            case = wait_for_message(api, case_id)
            assert case["status"] == "active"
            assert len(list((folder / "outbox").glob("*.eml"))) == 1
            pay_and_check_recovered(api, invoice_id, case_id)
    finally:
        assert server.stop() == 0  # graceful: the worker released its batch and exited
    assert DEMO_API_KEY in server.banner.read_text()  # `make run` prints the demo key once
    assert "worker.stopped" in server.log.read_text()
    assert_logs_are_clean(server.log)


def test_api_and_worker_processes_share_postgresql(folder: Path, pg_url: str):
    env = env_for(folder, pg_url)
    migrated = subprocess.run([RELANCE, "migrate"], env=env, cwd=folder, capture_output=True)
    assert migrated.returncode == 0, migrated.stderr
    made = subprocess.run(
        [RELANCE, "merchants", "create", "--name", "Acme", "--json"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(made.stdout)["api_key"]
    server = Server(["serve", "--no-worker"], env, folder)
    with (folder / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [RELANCE, "worker", "--name", "w1"],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
            invoice_id, case_id = walkthrough(api, daytime_zone())
            wait_for_message(api, case_id)
            pay_and_check_recovered(api, invoice_id, case_id)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert server.stop() == 0
    action_lines = [
        json.loads(line)
        for line in (folder / "worker.log").read_text().splitlines()
        if '"event": "action"' in line
    ]
    assert action_lines[0]["kind"] == "reminder"
    assert {"case_id", "outcome", "duration_ms"} <= action_lines[0].keys()


def test_the_readme_walkthrough_runs_verbatim(folder: Path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```sh\n(KEY=.*?)```", readme, re.S)
    assert block, "the README lost its walkthrough"
    server = Server(["up"], env_for(folder, f"sqlite:///{folder / 'relance.db'}"), folder)
    try:
        script = block.group(1).replace("http://127.0.0.1:8000", server.url)
        run = subprocess.run(
            ["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        assert server.stop() == 0
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "recovered"
