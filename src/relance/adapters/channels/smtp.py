"""Email through any SMTP server (a relay, Postfix, or a provider's SMTP endpoint).

The server is one URL:

    smtp://[user[:password]@]host[:port][?starttls=required|never][&cafile=/ca.pem][&verify=false]
    smtps://[user[:password]@]host[:port][?cafile=/ca.pem][&verify=false]

- `smtp://` connects in clear on port 25 by default and upgrades with STARTTLS whenever the
  server offers it; `?starttls=required` refuses to send if it does not (use this in
  production), `?starttls=never` never upgrades (a local relay on a trusted socket).
- `smtps://` is TLS from the first byte (implicit TLS), port 465 by default.
- user and password are percent-decoded: a password holding `@` is written `%40`.
- `?cafile=/path.pem` trusts a private CA besides the system's; `?verify=false` turns
  certificate checks off and is meant only for local testing.

A bad URL raises ValueError with a sentence when the channel is built, never at send time.

Each message uses a new connection (reminders are few and spread out; no pool to go stale).
Failures become ports.DeliveryError: permanent for a 5xx answer about the address or message,
temporary for 4xx, timeouts, refused connections, TLS trouble, and our own login being refused
(that is a configuration problem, not the customer's address).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from relance.adapters.channels.email_mime import build_email, message_id_for
from relance.ports import Clock, Delivery, DeliveryError, OutgoingMessage

StartTls = Literal["auto", "required", "never"]
_OPTIONS = ("starttls", "cafile", "verify")


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """Where and how to connect, as read from the URL."""

    host: str
    port: int
    implicit_tls: bool
    starttls: StartTls
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    verify: bool = True


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Read an `smtp://` or `smtps://` URL; ValueError with a sentence when it is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(
            f"The email server URL must start with smtp:// or smtps://, not '{scheme}://'."
        )
    if not parts.hostname:
        raise ValueError("The email server URL has no host name (smtp://host:port).")
    if parts.path not in ("", "/"):
        raise ValueError("The email server URL cannot have a path: write smtp://host:port.")
    options = _options(parts)
    starttls = options.get("starttls", "auto")
    if starttls not in ("auto", "required", "never"):
        raise ValueError("In the email server URL, starttls must be 'required' or 'never'.")
    if scheme == "smtps" and "starttls" in options:
        raise ValueError("smtps:// is TLS from the start: starttls= applies only to smtp://.")
    verify = options.get("verify", "true").lower()
    if verify not in ("true", "false"):
        raise ValueError("In the email server URL, verify must be 'true' or 'false'.")
    cafile = Path(options["cafile"]) if "cafile" in options else None
    if cafile is not None and not cafile.is_file():
        raise ValueError(f"The CA file named in the email server URL does not exist: {cafile}.")
    user, password = _credentials(parts)
    return SmtpEndpoint(
        host=parts.hostname,
        port=_port(parts, 465 if scheme == "smtps" else 25),
        implicit_tls=scheme == "smtps",
        starttls=starttls,  # type: ignore[arg-type]  # checked against the Literal above
        user=user,
        password=password,
        cafile=cafile,
        verify=verify == "true",
    )


def _options(parts: SplitResult) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _OPTIONS:
            known = ", ".join(_OPTIONS)
            raise ValueError(f"The email server URL has an unknown option '{key}' ({known}).")
        if key in options:
            raise ValueError(f"The email server URL gives the option '{key}' twice.")
        options[key] = value
    return options


def _port(parts: SplitResult, default: int) -> int:
    try:
        port = parts.port  # urllib raises ValueError for a non-number or out-of-range port
    except ValueError:
        raise ValueError(
            "The port in the email server URL must be a number from 1 to 65535."
        ) from None
    return port or default


def _credentials(parts: SplitResult) -> tuple[str | None, str | None]:
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and user is None:
        raise ValueError("The email server URL has a password but no user name.")
    return user, password


def tls_context(endpoint: SmtpEndpoint) -> ssl.SSLContext:
    """The system's trusted CAs, plus the URL's cafile when given."""
    context = ssl.create_default_context()
    try:
        if endpoint.cafile is not None:
            context.load_verify_locations(cafile=endpoint.cafile)
    except ssl.SSLError as exc:
        raise ValueError(
            f"The CA file {endpoint.cafile} is not a PEM certificate file ({exc.reason})."
        ) from exc
    if not endpoint.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpChannel:
    name = "email"

    def __init__(self, url: str, *, clock: Clock, timeout: float = 10.0) -> None:
        self.endpoint = parse_smtp_url(url)
        self.clock = clock
        self.timeout = timeout
        self._tls = tls_context(self.endpoint)

    def send(self, message: OutgoingMessage) -> Delivery:
        message_id = message_id_for(message.idempotency_key, message.sender)
        mime = build_email(message, message_id=message_id, at=self.clock.now())
        try:
            with self._session() as smtp:
                smtp.send_message(mime)
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc, self._where, self.timeout) from exc
        return Delivery(message_id)

    @property
    def _where(self) -> str:
        return f"{self.endpoint.host}:{self.endpoint.port}"

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        e = self.endpoint
        smtp = (
            smtplib.SMTP_SSL(e.host, e.port, timeout=self.timeout, context=self._tls)
            if e.implicit_tls
            else smtplib.SMTP(e.host, e.port, timeout=self.timeout)
        )
        try:
            smtp.ehlo_or_helo_if_needed()
            if not e.implicit_tls:
                self._upgrade(smtp)
            if e.user is not None:
                smtp.login(e.user, e.password or "")
            yield smtp
        except BaseException:
            smtp.close()
            raise
        # The server has accepted the message: a failing goodbye must not turn it into a failure.
        with suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()

    def _upgrade(self, smtp: smtplib.SMTP) -> None:
        mode = self.endpoint.starttls
        if mode == "never":
            return
        if not smtp.has_extn("starttls"):
            if mode == "required":
                raise DeliveryError(
                    f"The mail server at {self._where} does not offer STARTTLS, which the "
                    "email server URL requires (starttls=required); nothing was sent.",
                    permanent=False,
                )
            return
        smtp.starttls(context=self._tls)
        smtp.ehlo()


def classify(exc: BaseException, where: str, timeout: float) -> DeliveryError:
    """One sentence with the server's code and text; never the message itself."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        address, (code, reply) = next(iter(exc.recipients.items()))
        return DeliveryError(
            f"The mail server refused the recipient {address}: {code} {_text(reply)}.",
            permanent=_is_permanent(code),
            code=code,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"The mail server at {where} rejected Relance's login ({exc.smtp_code} "
            f"{_text(exc.smtp_error)}): check the user and password in the email server URL; "
            "the recipient's address is not at fault.",
            permanent=False,
            code=exc.smtp_code,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our From: (its domain, SPF…) is at fault, not the customer's address: never mark
        # every customer undeliverable because of our own configuration.
        return DeliveryError(
            f"The mail server refused Relance's sender {exc.sender}: {exc.smtp_code} "
            f"{_text(exc.smtp_error)}; check the sender address and its domain.",
            permanent=False,
            code=exc.smtp_code,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        what = {
            smtplib.SMTPSenderRefused: "refused the sender",
            smtplib.SMTPDataError: "refused the message",
        }.get(type(exc), "answered")
        code = exc.smtp_code
        return DeliveryError(
            f"The mail server {what}: {code} {_text(exc.smtp_error)}.",
            permanent=_is_permanent(code),
            code=code,
        )
    return DeliveryError(_transport_sentence(exc, where, timeout), permanent=False)


def _transport_sentence(exc: BaseException, where: str, timeout: float) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"The mail server at {where} closed the connection unexpectedly."
    if isinstance(exc, smtplib.SMTPException):
        return f"The conversation with the mail server at {where} failed: {_text(str(exc))}."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"The TLS certificate of the mail server at {where} could not be verified "
            f"({exc.verify_message}); trust its CA with ?cafile= in the email server URL."
        )
    if isinstance(exc, ssl.SSLError):
        return f"The TLS handshake with the mail server at {where} failed ({exc.reason})."
    if isinstance(exc, ConnectionRefusedError):
        return f"The mail server at {where} refused the connection."
    if isinstance(exc, TimeoutError):
        return f"The mail server at {where} did not answer within {timeout:g} s."
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"The mail server at {where} could not be reached ({reason})."


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _text(reply: bytes | str) -> str:
    """The server's reply on one line, without a trailing full stop (we add ours)."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split()).rstrip(".")[:300]
