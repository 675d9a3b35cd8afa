"""The email a customer receives, as MIME: built once here so the SMTP channel and the outbox
write byte-for-byte the same message.

Headers worth knowing:

- `Message-ID` is derived from the idempotency key (`message_id_for`), so a resend after a crash
  carries the same id and the receiving system drops the duplicate.
- `List-Unsubscribe` + `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) let
  mailbox providers show a one-click unsubscribe button; Gmail and Yahoo require them from bulk
  senders. Receipts and legal notices have no unsubscribe link and so no such headers.
- `Auto-Submitted: auto-generated` (RFC 3834) stops vacation auto-replies from answering us.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from typing import Any

from relance.ports import OutgoingMessage

# A domain reserved by RFC 2606 for what can never exist: used only when the sender has none.
FALLBACK_DOMAIN = "relance.invalid"

# Headers carrying a URL: the standard folding turns a long URL into RFC 2047 encoded-words,
# which mail clients then cannot use as a link, so these are written on one line (RFC 5322
# allows up to 998 characters; URLs are far shorter).
_VERBATIM = frozenset({"list-unsubscribe"})


class _MailPolicy(EmailPolicy):
    """The default policy, except that URL headers are never folded or encoded."""

    def fold(self, name: str, value: Any) -> str:
        text = str(value)
        if name.lower() in _VERBATIM and text.isascii():
            return f"{name}: {text}{self.linesep}"
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: Any) -> bytes:
        text = str(value)
        if name.lower() in _VERBATIM and text.isascii():
            return f"{name}: {text}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = _MailPolicy()


def message_id_for(idempotency_key: str, sender: str) -> str:
    """`<sha256(key)[:32]@sender's domain>`: stable for one key, so resends share one id."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{_domain_of(sender)}>"


def _domain_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2].strip().lower() if "@" in address else ""
    if not domain:
        return FALLBACK_DOMAIN
    if domain.isascii():
        return domain
    try:  # an internationalised domain goes into a header as its ASCII (punycode) form
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return FALLBACK_DOMAIN


def build_email(message: OutgoingMessage, *, message_id: str, at: datetime) -> EmailMessage:
    """The MIME message: text/plain, plus text/html as an alternative when `message.html` is set.

    Parts are UTF-8 in quoted-printable, which survives any relay (even one without 8BITMIME)
    and stays readable in a raw .eml file.
    """
    if at.tzinfo is None:
        raise ValueError("An email's Date needs a timezone-aware datetime.")
    email = EmailMessage(policy=POLICY)
    email["From"] = message.sender
    email["To"] = message.to
    # A template may leave a line break in a subject; a header cannot hold one.
    email["Subject"] = " ".join(message.subject.split())
    email["Date"] = format_datetime(at)
    email["Message-ID"] = message_id
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Auto-Submitted"] = "auto-generated"
    email["X-Relance-Idempotency-Key"] = message.idempotency_key
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if message.html:
        email.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # Last: setting the content drops every Content-* header already there.
    email["Content-Language"] = message.locale.replace("_", "-")  # BCP 47: fr-FR, not fr_FR
    return email
