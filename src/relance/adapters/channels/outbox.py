"""The outbox channel: the embedded default. Each message becomes an .eml file (open it in any
mail client) named by its idempotency key, so a repeated send writes nothing new."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from relance.adapters.files import key_digest, note_replay, write_once
from relance.ports import Clock, Delivery, OutgoingMessage


class OutboxChannel:
    name = "outbox"

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = Path(folder)
        self.clock = clock

    def send(self, message: OutgoingMessage) -> Delivery:
        digest = key_digest(message.idempotency_key)
        message_id = f"<{digest}@outbox.relance>"
        email = EmailMessage()
        email["From"] = message.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = format_datetime(self.clock.now())
        email["Message-ID"] = message_id
        email["Content-Language"] = message.locale
        email["X-Relance-Idempotency-Key"] = message.idempotency_key
        email.set_content(message.body)
        if write_once(self.folder / f"{digest}.eml", email.as_bytes()):
            return Delivery(message_id)
        note_replay(self.folder, message.idempotency_key)
        return Delivery(message_id, replayed=True)

    def sent(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []
