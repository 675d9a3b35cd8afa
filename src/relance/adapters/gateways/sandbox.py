"""The sandbox gateway: the embedded default, with deterministic test tokens.

| token                        | result                                              |
|------------------------------|-----------------------------------------------------|
| tok_ok                       | succeeds                                            |
| tok_insufficient_funds       | declines: insufficient_funds, ISO 51                |
| tok_expired                  | declines: expired_card, ISO 54                      |
| tok_lost                     | declines: lost_card, ISO 41                         |
| tok_stolen                   | declines: stolen_card, ISO 43                       |
| tok_do_not_honor             | declines: do_not_honor, ISO 05                      |
| tok_authentication_required  | declines: authentication_required, ISO 1A           |
| tok_revoked                  | declines: revocation_of_authorization, ISO R1       |
| tok_processing_error         | fails: processing_error, ISO 96                     |
| tok_sepa_insufficient_funds  | SEPA return AM04                                    |
| tok_ok_after_N (N = 1…9)     | the first N charges of this token decline with      |
|                              | insufficient_funds, then every charge succeeds      |
| anything else                | declines: generic_decline                           |

The payment page's card form goes through `save_card`, which knows the well-known public test
card numbers (the same as Stripe's test mode):

| card number          | at save                          | charges                      |
|----------------------|----------------------------------|------------------------------|
| 4242 4242 4242 4242  | saved (Visa)                     | succeed                      |
| 4000 0000 0000 9995  | saved (Visa)                     | decline: insufficient_funds  |
| 4000 0000 0000 0069  | refused: expired_card (ISO 54)   | —                            |
| 4000 0000 0000 0002  | refused: card_declined (generic) | —                            |
| 5555 5555 5555 4444  | saved (Mastercard)               | succeed                      |
| any other valid card | saved                            | succeed                      |

A saved card's token is `tok_ok.<n>` or `tok_insufficient_funds.<n>`: the part before the dot
decides charges as in the first table, the rest makes each saved card its own token. Its
fingerprint is a keyed hash of the number (the key lives in the sandbox folder), so the same
number saved twice is one card for the network ceilings, and the number itself is kept nowhere.

Every charge is a file under `<sandbox_dir>/charges/`, named by its idempotency key: a second
charge with the same key returns the first result and charges nothing (like Stripe), and is
counted in `replays.log`. The files work across processes, so several workers share one
sandbox exactly as they would share a real gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict
from pathlib import Path

from relance.adapters.files import key_digest, note_replay, write_once
from relance.domain.attempts import RawCodes
from relance.domain.cards import CardEntry
from relance.ports import CardDeclined, ChargeRequest, ChargeResult, SavedCard

_DECLINES: dict[str, RawCodes] = {
    "tok_insufficient_funds": RawCodes("insufficient_funds", "51", processor="sandbox"),
    "tok_expired": RawCodes("expired_card", "54", processor="sandbox"),
    "tok_lost": RawCodes("lost_card", "41", processor="sandbox"),
    "tok_stolen": RawCodes("stolen_card", "43", processor="sandbox"),
    "tok_do_not_honor": RawCodes("do_not_honor", "05", processor="sandbox"),
    "tok_authentication_required": RawCodes("authentication_required", "1A", processor="sandbox"),
    "tok_revoked": RawCodes("revocation_of_authorization", "R1", processor="sandbox"),
    "tok_processing_error": RawCodes("processing_error", "96", processor="sandbox"),
    "tok_sepa_insufficient_funds": RawCodes(sepa_reason_code="AM04", processor="sandbox"),
}
_GENERIC = RawCodes("generic_decline", processor="sandbox")
_OK_AFTER = re.compile(r"^tok_ok_after_([1-9])$")
# Test card numbers -> the behaviour of the token saved for them, or the refusal at save time.
_SAVES_AS = {"4000000000009995": "tok_insufficient_funds"}
_REFUSED_AT_SAVE = {
    "4000000000000069": RawCodes("expired_card", "54", processor="sandbox"),
    "4000000000000002": RawCodes("card_declined", "05", processor="sandbox"),
}


def _letters(hex_digits: str) -> str:
    return "".join(chr(ord("a") + int(c, 16)) for c in hex_digits)


class SandboxGateway:
    name = "sandbox"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _codes_for(self, token: str, digest: str) -> RawCodes | None:
        token = token.split(".", 1)[0]  # a saved card: tok_ok.<n>
        if token == "tok_ok":
            return None
        match = _OK_AFTER.match(token)
        if match:
            seen = self.folder / "tokens" / token
            write_once(seen / digest, b"")
            earlier = len(list(seen.iterdir()))
            return _DECLINES["tok_insufficient_funds"] if earlier <= int(match[1]) else None
        return _DECLINES.get(token, _GENERIC)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        digest = key_digest(request.idempotency_key)
        path = self.folder / "charges" / f"{digest}.json"
        if not path.exists():
            codes = self._codes_for(request.token, digest)
            record = {
                "idempotency_key": request.idempotency_key,
                "reference": f"ch_sandbox_{digest[:24]}",
                "amount_minor": request.amount.minor,
                "currency": request.amount.currency,
                "succeeded": codes is None,
                "codes": asdict(codes or RawCodes(processor="sandbox")),
            }
            if write_once(path, json.dumps(record).encode()):
                return self._result(record, replayed=False)
        note_replay(self.folder, request.idempotency_key)
        return self._result(json.loads(path.read_text()), replayed=True)

    def _fingerprint_key(self) -> bytes:
        path = self.folder / "fingerprint.key"
        write_once(path, secrets.token_bytes(32))  # the first process to get here wins
        return path.read_bytes()

    def save_card(self, entry: CardEntry, customer_ref: str, key: str) -> SavedCard | CardDeclined:
        digest = key_digest(f"save/{key}")
        path = self.folder / "cards" / f"{digest}.json"
        if not path.exists():
            refused = _REFUSED_AT_SAVE.get(entry.number)
            fingerprint = hmac.new(
                self._fingerprint_key(), entry.number.encode(), hashlib.sha256
            ).hexdigest()[:24]
            record: dict[str, object] = {
                "customer_ref": customer_ref,
                "refused": asdict(refused) if refused else None,
                # Letters only: a long run of digits in a token reads as a card number.
                "token": f"{_SAVES_AS.get(entry.number, 'tok_ok')}.{_letters(digest[:16])}",
                "brand": entry.brand.value,
                "last4": entry.last4,
                "exp_month": entry.exp_month,
                "exp_year": entry.exp_year,
                "fingerprint": f"fp_sandbox_{fingerprint}",
            }
            write_once(path, json.dumps(record).encode())
        stored = json.loads(path.read_text())
        if stored["refused"]:
            return CardDeclined(RawCodes(**stored["refused"]))
        return SavedCard(
            stored["token"],
            stored["brand"],
            stored["last4"],
            stored["exp_month"],
            stored["exp_year"],
            stored["fingerprint"],
        )

    @staticmethod
    def _result(record: dict[str, object], replayed: bool) -> ChargeResult:
        codes = record["codes"]
        assert isinstance(codes, dict)
        return ChargeResult(
            succeeded=bool(record["succeeded"]),
            reference=str(record["reference"]),
            codes=RawCodes(**codes),
            replayed=replayed,
        )

    def charges(self) -> list[dict[str, object]]:
        """Every distinct charge made so far (for tests and the demo)."""
        folder = self.folder / "charges"
        if not folder.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
