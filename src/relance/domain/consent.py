"""Who may be contacted on which channel. Opt-outs are honoured forever; only transactional
notices (a receipt, the legal notice before suspension) still go out, marked as such."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

CHANNELS = ("email", "sms")


class OptOutSource(StrEnum):
    UNSUBSCRIBE_LINK = "unsubscribe_link"  # the link in an email, or the one-click POST
    SMS_STOP = "sms_stop"  # the customer replied STOP
    MERCHANT = "merchant"  # the merchant recorded it through the API


@dataclass(frozen=True, slots=True)
class OptOut:
    customer_id: str
    channel: str
    source: OptOutSource
    at: datetime


# The keywords carriers and regulators expect (CTIA in the US, the French "STOP SMS" rule).
_STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arreter", "desabonner"}
)


def is_stop_request(text: str) -> bool:
    """A reply that asks to stop SMS: the keyword alone, any case, accents or punctuation
    ("Stop", "STOP SMS", "Arrêt.") — not any message that merely contains the word."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    if not words:
        return False
    return words[0] in _STOP_WORDS and all(w in _STOP_WORDS | {"sms", "me", "all"} for w in words)


@dataclass(frozen=True, slots=True)
class Reachability:
    """Where a message may go, decided from the customer's addresses and consent."""

    channels: tuple[str, ...]  # the channels to use, in the step's order
    notes: tuple[str, ...]  # why a wanted channel was dropped or replaced (for the timeline)


def reach(
    wanted: tuple[str, ...],
    *,
    email: str | None,
    email_undeliverable: bool,
    phone: str | None,
    opted_out: frozenset[str],
    transactional: bool,
) -> Reachability:
    """The channels a step will use. A channel without an address, opted out (unless the notice
    is transactional) or undeliverable is dropped; when email is undeliverable and the step
    used email only, SMS takes over if the customer has a phone and accepts SMS."""
    notes: list[str] = []
    usable: list[str] = []

    def allowed(channel: str) -> bool:
        return transactional or channel not in opted_out

    for channel in wanted:
        if channel == "email":
            if email is None:
                notes.append("no email address on file")
            elif email_undeliverable:
                notes.append(f"{email} is undeliverable")
            elif not allowed("email"):
                notes.append("the customer unsubscribed from emails")
            else:
                usable.append("email")
        elif channel == "sms":
            if phone is None:
                notes.append("no phone number on file for SMS")
            elif not allowed("sms"):
                notes.append("the customer replied STOP to SMS")
            else:
                usable.append("sms")
    if (
        "email" in wanted
        and email_undeliverable
        and "sms" not in usable
        and phone is not None
        and allowed("sms")
    ):
        usable.append("sms")
        notes.append("sent by SMS instead because the email address is undeliverable")
    return Reachability(tuple(usable), tuple(notes))
