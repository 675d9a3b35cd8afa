"""What a form did, kept as the idempotent response of its POST and shown by the page the
browser is sent to next (`/pay/<link>?r=<nonce>`).

The stored outcome is small JSON without any card data (not even the last four digits: the
page shows the card on file from the account). It is written in facts, not words, so the same
outcome reads in French or English when the customer switches language afterwards.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from relance.domain.arrangements import ArrangementStatus, Instalment
from relance.domain.money import Money
from relance.entrypoints.web import rendering
from relance.entrypoints.web.security import link_digest
from relance.services.charges import ChargeOutcome
from relance.services.context import Context
from relance.services.idempotency import stored_answer
from relance.services.payment_page import ArrangementView, CardSaved

ACTIONS = ("card", "pay", "plan", "promise", "transfer")
_VERSION = 1


def card_outcome(url_token: str, saved: CardSaved) -> str:
    if saved.refused_reason is not None or saved.card is None:
        return _dump(url_token, "card", ok=False, refused=True, advice=dict(saved.advice))
    if saved.charge is None:
        return _dump(url_token, "card", ok=True)
    return _dump(url_token, "card", **_charge(saved.charge))


def charge_outcome(url_token: str, outcome: ChargeOutcome) -> str:
    return _dump(url_token, "pay", **_charge(outcome))


def arrangement_outcome(url_token: str, action: str, view: ArrangementView) -> str:
    return _dump(
        url_token,
        action,
        # A plan whose first instalment the bank refused was never set up.
        ok=view.status in (ArrangementStatus.ACTIVE, ArrangementStatus.COMPLETED),
        advice=dict(view.advice),
        instalments=[
            [i.due_on.isoformat(), i.amount.minor, i.amount.currency, str(i.status)]
            for i in view.instalments
        ],
        reference=view.reference,
    )


def _charge(outcome: ChargeOutcome) -> dict[str, Any]:
    return {
        "ok": outcome.amount is not None,
        "paid": list(outcome.paid),
        "declined": outcome.declined_reason is not None,
        "blocked": outcome.blocked is not None and outcome.amount is None,
        "advice": dict(outcome.advice),
    }


def _dump(url_token: str, action: str, **facts: Any) -> str:
    return json.dumps({"v": _VERSION, "link": link_digest(url_token), "action": action, **facts})


PENDING = {"action": "pending", "ok": True}  # the first submission of this form is still running


def recall(ctx: Context, merchant_id: str, url_token: str, nonce: str) -> Mapping[str, Any] | None:
    """The outcome stored under this nonce, if it belongs to this link."""
    stored = stored_answer(ctx, merchant_id, f"page:{nonce}")
    if stored is None:
        return None
    if stored.status_code == 0:
        return PENDING
    try:
        facts = json.loads(stored.body)
    except ValueError:
        return None
    if not (
        isinstance(facts, dict)
        and facts.get("v") == _VERSION
        and facts.get("action") in ACTIONS
        and hmac.compare_digest(str(facts.get("link", "")), link_digest(url_token))
    ):
        return None
    return facts


def shown(facts: Mapping[str, Any], language: str, locale: str) -> dict[str, Any]:
    """The outcome as the template needs it: amounts and dates written, advice in words."""
    advice = facts.get("advice") or {}
    instalments = [
        {
            "date": rendering.long_date(date.fromisoformat(day), locale),
            "amount": rendering.money(Money(minor, currency), locale),
            "status": status,
        }
        for day, minor, currency, status in facts.get("instalments") or []
    ]
    return {
        "action": facts["action"],
        "ok": bool(facts.get("ok")),
        "refused": bool(facts.get("refused")),
        "declined": bool(facts.get("declined")),
        "blocked": bool(facts.get("blocked")),
        "paid": [str(n) for n in facts.get("paid") or []],
        "advice": advice.get(language) or next(iter(advice.values()), None),
        "instalments": instalments,
        "reference": facts.get("reference"),
    }


def instalment_rows(instalments: tuple[Instalment, ...], locale: str) -> list[dict[str, Any]]:
    return [
        {
            "number": i.number,
            "date": rendering.long_date(i.due_on, locale),
            "amount": rendering.money(i.amount, locale),
            "status": str(i.status),
        }
        for i in instalments
    ]
