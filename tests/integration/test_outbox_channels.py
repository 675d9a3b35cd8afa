"""The outbox channels, the embedded default: files written once, shared by worker processes."""

from __future__ import annotations

import email
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from relance.adapters.channels.email_mime import message_id_for
from relance.adapters.channels.outbox import OutboxChannel, OutboxSmsChannel
from relance.adapters.clock import FrozenClock
from relance.ports import DeliveryError, OutgoingMessage

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def reminder(**changes: Any) -> OutgoingMessage:
    message = OutgoingMessage(
        channel="email",
        sender="Acme <facturation@acme.example>",
        to="camille@example.com",
        subject="Votre paiement a échoué",
        body="Bonjour Camille, votre paiement de 49,00 € a échoué.\n",
        locale="fr",
        idempotency_key="act_01/reminder/1",
        html="<p>Bonjour Camille, votre paiement de 49,00&nbsp;€ a échoué.</p>",
        unsubscribe_url="https://relance.example/u/tok",
    )
    return replace(message, **changes)


def sms(**changes: Any) -> OutgoingMessage:
    message = OutgoingMessage(
        channel="sms", sender="Acme", to="+33612345678", subject="",
        body="Acme : paiement de 49,00 € échoué. https://pay.example/x", locale="fr",
        idempotency_key="act_01/reminder/2",
    )  # fmt: skip
    return replace(message, **changes)


def read_eml(path: Path) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


# -- email -----------------------------------------------------------------------------------


def test_an_email_becomes_one_eml_file_with_the_mime_smtp_would_send(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path, FrozenClock(AT))

    delivery = outbox.send(reminder())

    [path] = outbox.sent()
    written = read_eml(path)
    assert delivery.external_id == message_id_for("act_01/reminder/1", "facturation@acme.example")
    assert written["Message-ID"] == delivery.external_id
    assert written["Date"].datetime == AT
    assert written["List-Unsubscribe"] == "<https://relance.example/u/tok>"
    assert [p.get_content_type() for p in written.iter_parts()] == ["text/plain", "text/html"]
    plain = written.get_body(("plain",))
    assert plain is not None
    assert plain.get_content() == "Bonjour Camille, votre paiement de 49,00 € a échoué.\n"
    assert outbox.name == "email"


def test_sending_the_same_email_again_writes_nothing_and_is_counted(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path, FrozenClock(AT))
    first = outbox.send(reminder())
    before = outbox.sent()[0].read_bytes()

    again = outbox.send(reminder(body="a different text the second time"))

    assert again == replace(first, replayed=True)
    assert [p.read_bytes() for p in outbox.sent()] == [before]
    assert (tmp_path / "replays.log").read_text().splitlines() == ["act_01/reminder/1"]


def test_workers_racing_on_one_key_send_it_exactly_once(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path, FrozenClock(AT))

    with ThreadPoolExecutor(max_workers=8) as pool:
        deliveries = list(pool.map(lambda _: outbox.send(reminder()), range(8)))

    assert sorted(d.replayed for d in deliveries) == [False] + [True] * 7
    assert len({d.external_id for d in deliveries}) == 1
    assert len(outbox.sent()) == 1


@pytest.mark.parametrize(
    ("to", "permanent", "code"),
    [
        ("bounce@example.com", True, 550),
        ("Camille <BOUNCE@acme.example>", True, 550),
        ("tempfail@example.com", False, 451),
    ],
)
def test_sandbox_addresses_simulate_a_bounce_and_a_temporary_failure(
    tmp_path: Path, to: str, permanent: bool, code: int
) -> None:
    outbox = OutboxChannel(tmp_path, FrozenClock(AT))

    with pytest.raises(DeliveryError) as refused:
        outbox.send(reminder(to=to))

    assert (refused.value.permanent, refused.value.code) == (permanent, code)
    assert outbox.sent() == []


# -- SMS -------------------------------------------------------------------------------------


def test_an_sms_becomes_one_json_file_and_a_resend_is_a_replay(tmp_path: Path) -> None:
    outbox = OutboxSmsChannel(tmp_path, FrozenClock(AT))

    first = outbox.send(sms())
    again = outbox.send(sms())

    [path] = outbox.sent()
    assert path.parent == tmp_path / "sms"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "to": "+33612345678",
        "from": "Acme",
        "body": "Acme : paiement de 49,00 € échoué. https://pay.example/x",
        "locale": "fr",
        "idempotency_key": "act_01/reminder/2",
        "at": "2026-11-21T09:00:00+00:00",
    }
    assert (first.replayed, again) == (False, replace(first, replayed=True))
    assert (tmp_path / "sms" / "replays.log").read_text().splitlines() == ["act_01/reminder/2"]
    assert not (tmp_path / "replays.log").exists()  # email replays stay countable on their own
    assert outbox.name == "sms"


@pytest.mark.parametrize(("to", "code"), [("+15005550001", 21211), ("06 12 34 56 78", None)])
def test_an_invalid_number_is_refused_permanently(
    tmp_path: Path, to: str, code: int | None
) -> None:
    outbox = OutboxSmsChannel(tmp_path, FrozenClock(AT))

    with pytest.raises(DeliveryError) as refused:
        outbox.send(sms(to=to))

    assert (refused.value.permanent, refused.value.code) == (True, code)
    assert outbox.sent() == []


def test_email_and_sms_share_a_folder_without_mixing(tmp_path: Path) -> None:
    clock = FrozenClock(AT)
    emails, texts = OutboxChannel(tmp_path, clock), OutboxSmsChannel(tmp_path, clock)

    emails.send(reminder())
    texts.send(sms())

    assert [p.suffix for p in emails.sent()] == [".eml"]
    assert [p.suffix for p in texts.sent()] == [".json"]
