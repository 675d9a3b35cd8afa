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

Every charge is a file under `<sandbox_dir>/charges/`, named by its idempotency key: a second
charge with the same key returns the first result and charges nothing (like Stripe), and is
counted in `replays.log`. The files work across processes, so several workers share one
sandbox exactly as they would share a real gateway.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

from relance.adapters.files import key_digest, note_replay, write_once
from relance.domain.attempts import RawCodes
from relance.ports import ChargeRequest, ChargeResult

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


class SandboxGateway:
    name = "sandbox"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _codes_for(self, token: str, digest: str) -> RawCodes | None:
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
