"""The SMTP channel against a real SMTP server (aiosmtpd, in this process, on 127.0.0.1)."""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from relance.adapters.channels.smtp import SmtpChannel, parse_smtp_url
from relance.adapters.clock import FrozenClock
from relance.ports import DeliveryError, OutgoingMessage
from tests.support.http_recorder import unused_port

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
BODY = "Bonjour Camille,\n\nVotre paiement de 49,00 € a échoué. Réglez-le ici : https://pay/x\n"
HTML = "<p>Bonjour Camille, votre paiement de 49,00&nbsp;€ a échoué.</p>"
SUBJECT = "Votre paiement a échoué — facture F-2026-0042 à régler"
# As long as a real signed link: a header this long must still arrive as one usable URL.
UNSUBSCRIBE = "https://relance.example/u/" + "tok_" + "a1b2c3d4" * 16 + "?m=msg_01"


def reminder(**changes: Any) -> OutgoingMessage:
    message = OutgoingMessage(
        channel="email",
        sender="Acme Facturation <facturation@acme.example>",
        to="Camille Martin <camille@example.com>",
        subject=SUBJECT,
        body=BODY,
        locale="fr",
        idempotency_key="act_01/reminder/1",
        html=HTML,
        reply_to="support@acme.example",
        unsubscribe_url=UNSUBSCRIBE,
    )
    return replace(message, **changes)


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it received and can refuse on demand."""

    received: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the bytes as they came over the wire
    rcpt_answer: str | None = None  # e.g. "451 4.7.1 Greylisted": refuse every recipient
    data_answer: str | None = None  # e.g. "554 5.7.1 Spam": refuse the message
    tls_used: list[bool] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, _: Any
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.data_answer:
            return self.data_answer
        assert isinstance(envelope.content, bytes)
        self.raw.append(envelope.content)
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        self.tls_used.append(session.ssl is not None)
        return "250 2.0.0 Queued"


@dataclass
class Server:
    mailbox: Mailbox
    port: int


def start(**options: Any) -> tuple[Controller, Server]:
    mailbox = Mailbox()
    port = unused_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, Server(mailbox, port)


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    controller, server = start()
    yield server
    controller.stop()


def text_of(part: MIMEPart) -> str:
    """A decoded text part, with the wire's CRLF line ends read back as \\n."""
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def channel(url: str, timeout: float = 5.0) -> SmtpChannel:
    return SmtpChannel(url, clock=FrozenClock(AT), timeout=timeout)


def test_a_reminder_arrives_as_text_and_html_with_its_accents_intact(smtp_server: Server) -> None:
    delivery = channel(f"smtp://127.0.0.1:{smtp_server.port}").send(reminder())

    [received] = smtp_server.mailbox.received
    assert received.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in received.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    # 7-bit safe on the wire, so a relay without 8BITMIME cannot mangle the accents.
    assert {part["Content-Transfer-Encoding"] for part in received.iter_parts()} == {
        "quoted-printable"
    }
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert text_of(plain) == BODY
    assert text_of(html).strip() == HTML
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == delivery.external_id
    assert delivery.external_id.endswith("@acme.example>")


def test_the_headers_carry_one_click_unsubscribe_reply_to_and_the_key(smtp_server: Server) -> None:
    channel(f"smtp://127.0.0.1:{smtp_server.port}").send(reminder())

    [received] = smtp_server.mailbox.received
    assert received["From"] == "Acme Facturation <facturation@acme.example>"
    assert received["To"] == "Camille Martin <camille@example.com>"
    assert received["Reply-To"] == "support@acme.example"
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    # Verbatim on the wire, not folded into encoded-words: mailbox providers read it as is.
    assert f"\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n".encode() in smtp_server.mailbox.raw[0]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Content-Language"] == "fr"
    assert received["X-Relance-Idempotency-Key"] == "act_01/reminder/1"
    assert received["Date"].datetime == AT


def test_a_transactional_plain_text_notice_has_one_part_and_no_unsubscribe(
    smtp_server: Server,
) -> None:
    notice = reminder(html=None, unsubscribe_url=None, reply_to=None)
    channel(f"smtp://127.0.0.1:{smtp_server.port}").send(notice)

    [received] = smtp_server.mailbox.received
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert text_of(received) == BODY
    for absent in ("List-Unsubscribe", "List-Unsubscribe-Post", "Reply-To"):
        assert absent not in received


def test_a_resend_of_the_same_message_carries_the_same_message_id(smtp_server: Server) -> None:
    smtp = channel(f"smtp://127.0.0.1:{smtp_server.port}")
    first = smtp.send(reminder())
    again = smtp.send(reminder())
    other = smtp.send(reminder(idempotency_key="act_02/reminder/1"))

    ids = [m["Message-ID"] for m in smtp_server.mailbox.received]
    assert ids == [first.external_id, first.external_id, other.external_id]
    assert again.external_id == first.external_id != other.external_id


def test_it_logs_in_with_the_percent_decoded_user_and_password() -> None:
    logins: list[tuple[str, str]] = []

    def authenticator(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        # handled=False: aiosmtpd answers a failure itself, with 535.
        return AuthResult(success=data.password == b"p@ss w/rd", handled=False)

    controller, server = start(authenticator=authenticator, auth_require_tls=False)
    try:
        url = f"smtp://relance%40acme:p%40ss%20w%2Frd@127.0.0.1:{server.port}"
        channel(url).send(reminder())
        with pytest.raises(DeliveryError) as refused:
            channel(f"smtp://relance%40acme:wrong@127.0.0.1:{server.port}").send(reminder())
    finally:
        controller.stop()

    assert logins[0] == ("relance@acme", "p@ss w/rd")
    assert set(logins[1:]) == {("relance@acme", "wrong")}  # smtplib tries PLAIN, then LOGIN
    assert len(server.mailbox.received) == 1
    # Our login failing says nothing about the customer's address: retry, never mark it dead.
    assert not refused.value.permanent
    assert refused.value.code == 535
    assert "rejected Relance's login (535" in refused.value.detail
    assert "the recipient's address is not at fault" in refused.value.detail


@pytest.mark.parametrize(
    ("answer", "permanent", "code"),
    [
        ("451 4.7.1 Greylisted, please try again later", False, 451),
        ("550 5.1.1 No such user here", True, 550),
    ],
)
def test_a_refused_recipient_is_permanent_only_for_a_5xx_answer(
    smtp_server: Server, answer: str, permanent: bool, code: int
) -> None:
    smtp_server.mailbox.rcpt_answer = answer

    with pytest.raises(DeliveryError) as refused:
        channel(f"smtp://127.0.0.1:{smtp_server.port}").send(reminder())

    assert refused.value.permanent is permanent
    assert refused.value.code == code
    assert answer.rstrip(".") in refused.value.detail
    assert "Bonjour" not in refused.value.detail  # the body never ends up in an error
    assert smtp_server.mailbox.received == []


def test_a_message_refused_after_data_is_permanent_with_the_servers_code(
    smtp_server: Server,
) -> None:
    smtp_server.mailbox.data_answer = "554 5.7.1 Message rejected as spam"

    with pytest.raises(DeliveryError) as refused:
        channel(f"smtp://127.0.0.1:{smtp_server.port}").send(reminder())

    assert (refused.value.permanent, refused.value.code) == (True, 554)
    assert "554 5.7.1 Message rejected as spam" in refused.value.detail


def test_a_closed_port_is_a_temporary_failure() -> None:
    port = unused_port()

    with pytest.raises(DeliveryError) as refused:
        channel(f"smtp://127.0.0.1:{port}").send(reminder())

    assert not refused.value.permanent
    assert refused.value.code is None
    assert f"127.0.0.1:{port} refused the connection" in refused.value.detail


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_is_required_and_the_private_ca_is_trusted_with_cafile(
    certificate: tuple[Path, Path],
) -> None:
    controller, server = start(tls_context=server_context(certificate), require_starttls=True)
    try:
        url = f"smtp://127.0.0.1:{server.port}?starttls=required&cafile={certificate[0]}"
        channel(url).send(reminder())
        with pytest.raises(DeliveryError) as untrusted:  # the same server, its CA not trusted
            channel(f"smtp://127.0.0.1:{server.port}?starttls=required").send(reminder())
    finally:
        controller.stop()

    assert server.mailbox.tls_used == [True]
    assert not untrusted.value.permanent
    assert "could not be verified" in untrusted.value.detail


def test_starttls_is_used_whenever_the_server_offers_it(certificate: tuple[Path, Path]) -> None:
    controller, server = start(tls_context=server_context(certificate))
    try:
        channel(f"smtp://127.0.0.1:{server.port}?cafile={certificate[0]}").send(reminder())
        channel(f"smtp://127.0.0.1:{server.port}?starttls=never").send(reminder())
    finally:
        controller.stop()

    assert server.mailbox.tls_used == [True, False]


def test_nothing_is_sent_in_clear_when_starttls_is_required_but_not_offered(
    smtp_server: Server,
) -> None:
    with pytest.raises(DeliveryError) as refused:
        channel(f"smtp://127.0.0.1:{smtp_server.port}?starttls=required").send(reminder())

    assert not refused.value.permanent
    assert "does not offer STARTTLS" in refused.value.detail
    assert smtp_server.mailbox.received == []


def test_smtps_speaks_tls_from_the_first_byte(certificate: tuple[Path, Path]) -> None:
    controller, server = start(ssl_context=server_context(certificate))
    try:
        channel(f"smtps://127.0.0.1:{server.port}?cafile={certificate[0]}").send(reminder())
    finally:
        controller.stop()

    [received] = server.mailbox.received
    assert received["Subject"] == SUBJECT


# -- the URL ---------------------------------------------------------------------------------


def test_the_url_gives_defaults_for_ports_and_decodes_credentials() -> None:
    plain = parse_smtp_url("smtp://mail.acme.example")
    implicit = parse_smtp_url("smtps://apikey:s%3Acret%40x@smtp.provider.example")

    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls) == (
        "mail.acme.example", 25, False, "auto",
    )  # fmt: skip
    assert (implicit.port, implicit.implicit_tls) == (465, True)
    assert (implicit.user, implicit.password) == ("apikey", "s:cret@x")
    assert "s:cret@x" not in repr(implicit)  # a password never lands in a log line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example", "must start with smtp:// or smtps://"),
        ("smtp://", "no host name"),
        ("smtp://mail.example:99999", "port"),
        ("smtp://mail.example?starttls=maybe", "starttls must be"),
        ("smtp://mail.example?tls=yes", "unknown option 'tls'"),
        ("smtps://mail.example?starttls=never", "applies only to smtp://"),
        ("smtp://mail.example?cafile=/no/such/ca.pem", "does not exist"),
        ("smtp://mail.example?verify=no", "verify must be"),
        ("smtp://:secret@mail.example", "password but no user"),
    ],
)
def test_a_wrong_url_is_refused_with_a_sentence_when_the_channel_is_built(
    url: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        channel(url)


def test_a_ca_file_that_is_not_a_certificate_is_refused_when_the_channel_is_built(
    tmp_path: Path,
) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not a certificate\n")

    with pytest.raises(ValueError, match="is not a PEM certificate file"):
        channel(f"smtp://mail.example?cafile={cafile}")
