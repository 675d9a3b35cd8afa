"""The outbox channels: the embedded default for email and SMS. Nothing leaves the machine; each
message becomes a file named by its idempotency key, written once, so several worker processes
can share the folder and a repeated send writes nothing new (it is counted in replays.log).

    <folder>/<digest>.eml        one email, the exact MIME the SMTP channel would send
    <folder>/replays.log         email keys sent again
    <folder>/sms/<digest>.json   one SMS: {"to", "from", "body", "locale", "idempotency_key", "at"}
    <folder>/sms/replays.log     SMS keys sent again
"""

from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path

from relance.adapters.channels.email_mime import build_email, message_id_for
from relance.adapters.channels.sms import require_e164
from relance.adapters.files import key_digest, note_replay, write_once
from relance.ports import Clock, Delivery, DeliveryError, OutgoingMessage

# Twilio's magic test number for "invalid number": the fake refuses it the same way.
INVALID_SMS_NUMBER = "+15005550001"


class OutboxChannel:
    """Email into .eml files (open one in any mail client).

    Sandbox conventions, so tests and demos can see failures without a mail server (like the
    sandbox gateway's tokens): an address whose local part is `bounce` (bounce@example.com)
    fails permanently with 550, as a mailbox that does not exist; local part `tempfail` fails
    temporarily with 451, as a greylisting server. Neither writes a file.
    """

    name = "email"

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = Path(folder)
        self.clock = clock

    def send(self, message: OutgoingMessage) -> Delivery:
        _simulate_email_failure(message.to)
        message_id = message_id_for(message.idempotency_key, message.sender)
        email = build_email(message, message_id=message_id, at=self.clock.now())
        path = self.folder / f"{key_digest(message.idempotency_key)}.eml"
        if write_once(path, email.as_bytes()):
            return Delivery(message_id)
        note_replay(self.folder, message.idempotency_key)
        return Delivery(message_id, replayed=True)

    def sent(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []


def _simulate_email_failure(to: str) -> None:
    local_part = parseaddr(to)[1].rpartition("@")[0].lower()
    if local_part == "bounce":
        raise DeliveryError(
            f"The mail server refused the recipient {to}: 550 5.1.1 no such mailbox "
            "(outbox sandbox: the local part 'bounce' always bounces).",
            permanent=True,
            code=550,
        )
    if local_part == "tempfail":
        raise DeliveryError(
            f"The mail server refused the recipient {to}: 451 4.7.1 try again later "
            "(outbox sandbox: the local part 'tempfail' always fails for now).",
            permanent=False,
            code=451,
        )


class OutboxSmsChannel:
    """SMS into JSON files under `<folder>/sms/`.

    Like the real SMS channels it refuses, permanently, a number that is not E.164. Sandbox
    convention: +15005550001 (Twilio's magic invalid number) is refused permanently with
    Twilio's code 21211, as Twilio's test credentials do.
    """

    name = "sms"

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = Path(folder) / "sms"
        self.clock = clock

    def send(self, message: OutgoingMessage) -> Delivery:
        to = require_e164(message.to)
        if to == INVALID_SMS_NUMBER:
            raise DeliveryError(
                f"Twilio refused the SMS (HTTP 400, error 21211): the 'To' number {to} is not "
                "a valid phone number (outbox sandbox convention).",
                permanent=True,
                code=21211,
            )
        digest = key_digest(message.idempotency_key)
        record = {
            "to": to,
            "from": message.sender,
            "body": message.body,
            "locale": message.locale,
            "idempotency_key": message.idempotency_key,
            "at": self.clock.now().isoformat(),
        }
        content = json.dumps(record, ensure_ascii=False, indent=2).encode() + b"\n"
        delivery_id = f"outbox-sms-{digest[:32]}"
        if write_once(self.folder / f"{digest}.json", content):
            return Delivery(delivery_id)
        note_replay(self.folder, message.idempotency_key)
        return Delivery(delivery_id, replayed=True)

    def sent(self) -> list[Path]:
        return sorted(self.folder.glob("*.json")) if self.folder.exists() else []
