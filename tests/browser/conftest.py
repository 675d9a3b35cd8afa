"""The browser harness: the whole application in this process behind a real HTTP server, email
through a real SMTP server, and one headless Chromium driven by Playwright.

Fixtures:

- `browser`: one Chromium (the Debian package, never a download) for the whole browser folder;
  every test skips with the reason when /usr/bin/chromium is absent (fails instead when
  RELANCE_BROWSER_REQUIRED=1, as on CI).
- `context`, `page`: a fresh desktop context (1280x900, en-GB) and a page in it, per test.
- `phone`: a fresh context like a small French phone: 360x740, mobile, touch, device scale 2.
- `new_context(**options)`: any other context (e.g. `java_script_enabled=False`), closed after
  the test.
- `served` -> `Served`: the application on SQLite in tmp_path, a FrozenClock at T0 that the test
  advances, reminders sent through aiosmtpd, and uvicorn serving `create_app(app)` on a free
  port of 127.0.0.1 in a thread; `settings.public_url` is that server, so the links in emails
  point at it. It records every response the server sends and every log line.
- `screens` -> `Screens`: `screens.take(page, "card-1-invoice")` saves a full-page PNG.

Nothing here waits for time to pass: the clock is moved by hand; the only waits are for the
server thread to start listening and for the browser.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import MetaData, or_, select

from relance.adapters.clock import FrozenClock
from relance.adapters.db import tables as t
from relance.bootstrap import App, build
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.payments import PaymentMethodUsed
from relance.entrypoints import logs
from relance.entrypoints.api.app import create_app
from relance.entrypoints.worker import Worker
from relance.services import cases, invoices, merchants, payments
from relance.services.cases import CaseView
from tests.conftest import make_settings
from tests.integration.conftest import Shop, _Recorder
from tests.support.http_recorder import unused_port

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set by .ci/run: there, a missing Chromium fails the browser tests instead of skipping them.
REQUIRED_ENV = "RELANCE_BROWSER_REQUIRED"
# Short, so a missing element fails the test in seconds instead of the default 30.
TIMEOUT_MS = 5_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS_ENV = "RELANCE_SCREENSHOTS"

MERCHANT = "Acme Presse"
SUPPORT_EMAIL = "aide@acme.example"
CUSTOMER_EMAIL = "camille@example.com"
# A valid French IBAN and BIC for the merchant's bank details (the transfer option).
MERCHANT_IBAN = "FR7630006000011234567890189"
MERCHANT_BIC = "AGRIFRPP"

_LINK = re.compile(r"https?://[^\s<>\"']+/pay/[^\s<>\"']+")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: real headless Chromium (deselect with -m 'not browser')"
    )


# -- Chromium ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the browser folder, closed before the other folders run (Playwright's
    sync API keeps an event loop on this thread while it lives)."""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is absent: install the Debian package `chromium` (.ci/run does)"
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(why)
        pytest.skip(why)
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def open_context(**options: Any) -> Any:
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "Europe/Paris")
        made = browser.new_context(**options)
        made.set_default_timeout(TIMEOUT_MS)
        opened.append(made)
        return made

    yield open_context
    for made in opened:
        made.close()


@pytest.fixture
def context(new_context: Callable[..., Any]) -> Any:
    return new_context(viewport={"width": 1280, "height": 900})


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def phone(new_context: Callable[..., Any]) -> Any:
    return new_context(
        locale="fr-FR",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )


# -- screenshots ---------------------------------------------------------------------------


@dataclass
class Screens:
    """Always written to the test's tmp folder (so the capture itself is tested); copied to
    docs/screenshots/ only when RELANCE_SCREENSHOTS=1, so `make test` leaves the checkout
    clean."""

    folder: Path
    publish: bool
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        self.taken.append(path)
        if self.publish:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return Screens(folder, os.environ.get(SCREENSHOTS_ENV) == "1")


# -- what the server sent, what was logged -------------------------------------------------


@dataclass(frozen=True)
class ServedResponse:
    method: str
    path: str  # with the query string
    status: int
    content_type: str
    body: str


class ResponseRecorder:
    """ASGI middleware keeping every HTTP response the application sends: the pages a browser
    saw, redirects and error pages included, as the server wrote them."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.responses: list[ServedResponse] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        query = scope.get("query_string", b"").decode()
        self.responses.append(
            ServedResponse(
                scope["method"],
                scope["path"] + (f"?{query}" if query else ""),
                int(start.get("status", 0)),
                headers.get("content-type", ""),
                b"".join(chunks).decode("utf-8", "replace"),
            )
        )


class LogCapture(logging.Handler):
    """Every line the application, uvicorn or anything else logs during the test, formatted as
    in production (JSON lines), exception text included."""

    LOGGERS = ("", "relance", "uvicorn", "uvicorn.error", "uvicorn.access")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.JsonLines())
        self.lines: list[str] = []
        self._levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def __enter__(self) -> LogCapture:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.addHandler(self)
        logs.logger.setLevel(logging.INFO)  # the one-line-per-request and per-action records
        return self

    def __exit__(self, *_: object) -> None:
        for name, level in self._levels.items():
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            logger.setLevel(level)


# -- the application behind a real server --------------------------------------------------


@dataclass(frozen=True)
class Debtor:
    """A customer whose card failed, and the payment link their email carried."""

    customer_id: str
    invoice_id: str
    case_id: str
    number: str
    email: EmailMessage
    link: str

    @property
    def url_token(self) -> str:
        return self.link.rsplit("/pay/", 1)[1].split("?")[0]


@dataclass(frozen=True)
class Cell:
    table: str
    column: str
    value: str


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "the email has no text part"
    content: str = body.get_content()
    return content


@dataclass
class Served:
    app: App
    url: str
    clock: FrozenClock
    shop: Shop
    smtp: _Recorder
    recorder: ResponseRecorder
    logs: LogCapture
    worker: Worker
    _refs: int = 0

    @property
    def ctx(self) -> Any:
        return self.app.ctx

    @property
    def responses(self) -> list[ServedResponse]:
        return self.recorder.responses

    def html_pages(self) -> list[ServedResponse]:
        return [r for r in self.responses if r.content_type.startswith("text/html")]

    def log_text(self) -> str:
        return "\n".join(self.logs.lines)

    def run_worker(self) -> int:
        """What `relance worker` does at this instant: every due action, until none is left."""
        done = 0
        while handled := self.worker.run_once():
            done += handled
        return done

    def give_bank_details(self) -> None:
        """The merchant's IBAN and BIC: the page then offers a bank transfer."""
        merchants.update_profile(
            self.ctx, self.shop.merchant_id, {"iban": MERCHANT_IBAN, "bic": MERCHANT_BIC}
        )

    def debtor(
        self,
        *,
        locale: str = "en",
        amount: int = 4990,
        number: str = "F-2026-0042",
        token: str = "tok_insufficient_funds",
        paid_on: Sequence[date] = (),
    ) -> Debtor:
        """A customer, an invoice due yesterday, a failed charge, and the failure email sent by
        the worker through the SMTP server: the link is read from that email's text.
        `paid_on`: earlier invoices the customer paid on those days (their payment history)."""
        self._refs += 1
        customer_id = self.shop.customer(f"cus-{self._refs}", token=token, locale=locale)
        for n, day in enumerate(paid_on, 1):
            self._paid_invoice(customer_id, f"{number}-P{n}", amount, day)
        invoice_id = self.shop.invoice(customer_id, number, amount)
        case_id = self.shop.fail(invoice_id, amount).case_id
        assert case_id is not None
        self.run_worker()
        mails = [r.message for r in self.smtp.received if number in str(r.message["Subject"])]
        subjects = [str(r.message["Subject"]) for r in self.smtp.received]
        assert mails, f"no email about {number} arrived, only: {subjects}"
        links = _LINK.findall(text_of(mails[-1]))
        assert links, "the failure email carries no payment link"
        return Debtor(customer_id, invoice_id, case_id, number, mails[-1], links[0])

    def _paid_invoice(self, customer_id: str, number: str, amount: int, day: date) -> None:
        due = datetime.combine(day, dtime(9), UTC)
        invoice = invoices.issue_invoice(
            self.ctx,
            self.shop.merchant_id,
            invoices.InvoiceInput(
                customer_id, number, Money(amount, "EUR"), due - timedelta(days=14), due
            ),
        )
        payments.record_payment(
            self.ctx,
            self.shop.merchant_id,
            invoice.id,
            payments.PaymentInput(
                Money(amount, "EUR"), due + timedelta(hours=1), PaymentMethodUsed.CARD_ELSEWHERE
            ),
        )

    def emails_to(self, address: str = CUSTOMER_EMAIL) -> list[EmailMessage]:
        return [r.message for r in self.smtp.received if address in r.rcpt_tos]

    def case(self, debtor: Debtor) -> CaseView:
        return cases.get_case(self.ctx, self.shop.merchant_id, debtor.case_id)

    def invoice(self, debtor: Debtor) -> Invoice:
        return invoices.get_invoice(self.ctx, self.shop.merchant_id, debtor.invoice_id)

    def actions(self, debtor: Debtor) -> list[dict[str, Any]]:
        """Every scheduled action of the debtor's case or of the debtor (instalments and
        promised charges may belong to an arrangement rather than to one case)."""
        query = select(t.actions).where(
            or_(
                t.actions.c.case_id == debtor.case_id, t.actions.c.customer_id == debtor.customer_id
            )
        )
        with self.app.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def database_text(self) -> list[Cell]:
        """Every value of every column of every table, as text (tables found by reflection, so
        a table added later is searched too)."""
        meta = MetaData()
        meta.reflect(self.app.engine)
        cells: list[Cell] = []
        with self.app.engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    for column, value in row._mapping.items():
                        if value is None or isinstance(value, bool | int | float):
                            continue
                        if isinstance(value, bytes):
                            value = value.decode("utf-8", "replace")
                        elif not isinstance(value, str):
                            value = json.dumps(value, default=str, ensure_ascii=False)
                        cells.append(Cell(table.name, column, value))
        return cells


@pytest.fixture
def mailbox(clock: FrozenClock) -> Iterator[_Recorder]:
    """A real SMTP server (aiosmtpd) on a free port, recording what arrives (the integration
    tests' recorder)."""
    recorder = _Recorder(clock)
    recorder.port = unused_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()


def _listening_socket() -> socket.socket:
    """Bound before the server starts, so its port is known without a race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def served(tmp_path: Path, clock: FrozenClock, mailbox: _Recorder) -> Iterator[Served]:
    sock = _listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        f"sqlite:///{tmp_path / 'relance.db'}",
        tmp_path,
        public_url=url,
        smtp_url=f"smtp://127.0.0.1:{mailbox.port}?starttls=never",
    )
    app = build(settings, clock=clock)
    app.migrate()
    made = merchants.create_merchant(app.ctx, MERCHANT)
    merchants.update_profile(
        app.ctx,
        made.id,
        {
            "support_email": SUPPORT_EMAIL,
            "brand_color": "#0a7d55",
            "service_description": {
                "fr": "votre abonnement Acme Presse",
                "en": "your Acme Presse subscription",
            },
        },
    )
    recorder = ResponseRecorder(create_app(app))
    config = uvicorn.Config(
        recorder,
        log_level="warning",
        access_log=False,  # as `relance serve`: the app's middleware logs one line per request
        log_config=None,  # leave the process's logging alone; LogCapture listens instead
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    with LogCapture() as captured:
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="browser-uvicorn", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:  # waiting for the thread to listen, not for time to pass
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start:\n" + "\n".join(captured.lines))
            time.sleep(0.01)
        try:
            yield Served(
                app,
                url,
                clock,
                Shop(app, made.id, made.api_key),
                mailbox,
                recorder,
                captured,
                Worker(app.ctx, "browser-worker", lease_seconds=60, batch=50),
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            app.close()
