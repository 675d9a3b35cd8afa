"""The SMS channels against a real local HTTP server: Twilio's official SDK redirected to it, and
the generic JSON provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from relance.adapters.channels.sms import (
    HttpSmsChannel,
    TwilioSmsChannel,
    verify_twilio_signature,
)
from relance.ports import DeliveryError, OutgoingMessage
from tests.support.http_recorder import HttpRecorder, Reply, unused_port

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
TEXT = "Acme : votre paiement de 49,00 € a échoué. Réglez-le ici : https://pay.example/x"


def sms(**changes: Any) -> OutgoingMessage:
    message = OutgoingMessage(
        channel="sms", sender="Acme", to="+33612345678", subject="", body=TEXT, locale="fr",
        idempotency_key="act_01/reminder/2",
    )  # fmt: skip
    return replace(message, **changes)


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    with HttpRecorder() as recorder:
        yield recorder


@pytest.fixture
def twilio(server: HttpRecorder) -> Iterator[TwilioSmsChannel]:
    channel = TwilioSmsChannel(SID, TOKEN, "+15005550006", api_base=server.url)
    yield channel
    channel.close()


def twilio_error(status: int, code: int, message: str) -> Reply:
    """An error exactly as Twilio's API writes it."""
    more = f"https://www.twilio.com/docs/errors/{code}"
    return Reply.json({"code": code, "message": message, "more_info": more, "status": status},
                      status=status)  # fmt: skip


# -- Twilio ----------------------------------------------------------------------------------


def test_twilio_receives_the_sdks_request_and_the_sid_is_the_delivery_id(
    server: HttpRecorder, twilio: TwilioSmsChannel
) -> None:
    server.reply(Reply.json({"sid": "SM" + "f" * 32, "status": "queued"}, status=201))

    delivery = twilio.send(sms())

    assert delivery.external_id == "SM" + "f" * 32
    request = server.last
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert request.form() == {"To": ["+33612345678"], "From": ["Acme"], "Body": [TEXT]}
    credentials = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.header("Authorization") == f"Basic {credentials}"


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, 21211, "The 'To' number +33612345678 is not a valid phone number."),
        (400, 21610, "Attempt to send to unsubscribed recipient"),
        (400, 21614, "'To' number is not a valid mobile number"),
        (404, 20404, "The requested resource was not found"),
    ],
)
def test_twilio_refusing_the_number_is_permanent_and_keeps_twilios_code(
    server: HttpRecorder, twilio: TwilioSmsChannel, status: int, code: int, message: str
) -> None:
    server.reply(twilio_error(status, code, message))

    with pytest.raises(DeliveryError) as refused:
        twilio.send(sms())

    assert refused.value.permanent
    assert refused.value.code == code
    assert f"HTTP {status}, error {code}" in refused.value.detail
    assert TEXT not in refused.value.detail


def test_a_problem_json_refusal_from_twilio_is_read_too(
    server: HttpRecorder, twilio: TwilioSmsChannel
) -> None:
    # Newer Twilio APIs answer RFC 9457 problem details; the SDK raises another exception.
    problem = {
        "type": "https://www.twilio.com/docs/errors/21211",
        "title": "Invalid 'To' number",
        "status": 400,
        "code": 21211,
        "detail": "+33612345678 is not a valid number",
    }
    server.reply(Reply.json(problem, status=400))

    with pytest.raises(DeliveryError) as refused:
        twilio.send(sms())

    assert (refused.value.permanent, refused.value.code) == (True, 21211)
    assert "+33612345678 is not a valid number" in refused.value.detail


@pytest.mark.parametrize(
    ("status", "code"), [(401, 20003), (403, 20003), (429, 20429), (500, 20500), (503, 20503)]
)
def test_twilio_refusing_our_credentials_or_being_overloaded_is_temporary(
    server: HttpRecorder, twilio: TwilioSmsChannel, status: int, code: int
) -> None:
    server.reply(twilio_error(status, code, "Try later or check the account"))

    with pytest.raises(DeliveryError) as refused:
        twilio.send(sms())

    assert not refused.value.permanent
    assert refused.value.code == code


def test_twilio_unreachable_is_temporary() -> None:
    channel = TwilioSmsChannel(
        SID, TOKEN, "+15005550006", api_base=f"http://127.0.0.1:{unused_port()}"
    )

    with pytest.raises(DeliveryError) as refused:
        channel.send(sms())

    assert not refused.value.permanent
    assert "Twilio could not be reached" in refused.value.detail


def test_a_slow_twilio_times_out_as_a_temporary_failure(server: HttpRecorder) -> None:
    server.reply(replace(Reply.json({"sid": "SM1"}, status=201), delay=5.0))
    channel = TwilioSmsChannel(SID, TOKEN, "+15005550006", api_base=server.url, timeout=0.3)

    with pytest.raises(DeliveryError) as refused:
        channel.send(sms())
    channel.close()

    assert not refused.value.permanent
    assert "Twilio did not answer within 0.3 s" in refused.value.detail


def test_a_signature_from_twilio_is_recognised_and_a_forged_one_is_not() -> None:
    url = "https://relance.example/inbound/sms/twilio"
    params = {"From": "+33612345678", "Body": "STOP", "MessageSid": "SM1"}
    # Twilio's documented scheme, computed here independently of the SDK: base64 HMAC-SHA1 of
    # the URL followed by every parameter name and value, sorted by name.
    signed = url + "".join(name + params[name] for name in sorted(params))
    mac = hmac.new(TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(mac).decode()

    assert verify_twilio_signature(TOKEN, url, params, signature)
    assert not verify_twilio_signature(TOKEN, url, {**params, "Body": "START"}, signature)
    assert not verify_twilio_signature("another-token", url, params, signature)


# -- the generic HTTP provider ---------------------------------------------------------------


def provider(
    server: HttpRecorder, token: str | None = "sk_sms", timeout: float = 5.0
) -> HttpSmsChannel:
    return HttpSmsChannel(
        f"{server.url}/v1/messages", token=token, sender="+33700000000", timeout=timeout
    )


def test_the_provider_receives_json_with_the_idempotency_key_and_returns_its_id(
    server: HttpRecorder,
) -> None:
    server.reply(Reply.json({"id": "msg_123"}, status=202))

    delivery = provider(server).send(sms())

    assert delivery.external_id == "msg_123"
    request = server.last
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.json() == {
        "to": "+33612345678", "from": "Acme", "body": TEXT, "idempotency_key": "act_01/reminder/2",
    }  # fmt: skip
    assert request.header("Idempotency-Key") == "act_01/reminder/2"
    assert request.header("Authorization") == "Bearer sk_sms"


def test_without_a_sender_on_the_message_the_channels_own_number_is_used(
    server: HttpRecorder, twilio: TwilioSmsChannel
) -> None:
    server.reply(Reply.json({"sid": "SM1"}, status=201), Reply.json({"id": "msg_1"}))

    twilio.send(sms(sender=""))
    provider(server).send(sms(sender=""))

    first, second = server.requests
    assert first.form()["From"] == ["+15005550006"]
    assert second.json()["from"] == "+33700000000"


def test_without_a_token_no_authorization_is_sent(server: HttpRecorder) -> None:
    server.reply(Reply.json({"id": "msg_1"}))

    provider(server, token=None).send(sms())

    assert server.last.header("Authorization") is None


@pytest.mark.parametrize("status", [400, 404, 422])
def test_the_provider_refusing_the_message_is_permanent(server: HttpRecorder, status: int) -> None:
    server.reply(Reply.json({"error": "the number cannot receive SMS"}, status=status))

    with pytest.raises(DeliveryError) as refused:
        provider(server).send(sms())

    assert (refused.value.permanent, refused.value.code) == (True, status)
    assert f"HTTP {status}: the number cannot receive SMS" in refused.value.detail


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_the_provider_busy_or_broken_is_temporary(server: HttpRecorder, status: int) -> None:
    server.reply(Reply(status=status))

    with pytest.raises(DeliveryError) as refused:
        provider(server).send(sms())

    assert (refused.value.permanent, refused.value.code) == (False, status)


def test_an_acceptance_without_an_id_is_retried_rather_than_trusted(server: HttpRecorder) -> None:
    server.reply(Reply(status=200, body=b"OK"))

    with pytest.raises(DeliveryError) as refused:
        provider(server).send(sms())

    assert not refused.value.permanent
    assert "without a message id" in refused.value.detail


def test_a_slow_provider_times_out_as_a_temporary_failure(server: HttpRecorder) -> None:
    server.reply(replace(Reply.json({"id": "late"}), delay=5.0))  # cut short when the test ends

    with pytest.raises(DeliveryError) as refused:
        provider(server, timeout=0.3).send(sms())

    assert not refused.value.permanent
    assert "did not answer within 0.3 s" in refused.value.detail


def test_an_unreachable_provider_is_temporary() -> None:
    channel = HttpSmsChannel(f"http://127.0.0.1:{unused_port()}/sms", token=None, sender="Acme")

    with pytest.raises(DeliveryError) as refused:
        channel.send(sms())

    assert not refused.value.permanent
    assert "could not be reached" in refused.value.detail


# -- both ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["0612345678", "+33 6 12 34 56 78", "camille@example.com", "+0612"]
)
def test_a_number_not_in_e164_form_is_refused_without_calling_anyone(
    server: HttpRecorder, twilio: TwilioSmsChannel, number: str
) -> None:
    for channel in (twilio, provider(server)):
        with pytest.raises(DeliveryError) as refused:
            channel.send(sms(to=number))
        assert refused.value.permanent
        assert "E.164" in refused.value.detail

    assert server.requests == []


def test_a_bad_provider_url_is_refused_when_the_channel_is_built() -> None:
    with pytest.raises(ValueError, match="must be an http"):
        HttpSmsChannel("ftp://sms.example", token=None, sender="Acme")
