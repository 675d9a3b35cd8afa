"""/v1/declines: what a decline code means, for the merchant and for the customer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel

from relance.domain.declines import MAX_CODE_LENGTH
from relance.entrypoints.api.deps import Ctx, Merchant
from relance.entrypoints.api.rules_schemas import DeclineOut
from relance.services import declines

router = APIRouter(prefix="/v1", tags=["declines"])
Scheme = Literal["stripe", "stripe_advice", "iso8583", "visa", "mastercard", "sepa"]


class UnknownCodeOut(BaseModel):
    code: str  # "field=value", e.g. "decline_code=new_thing"
    failures: int


@router.get("/declines/unknown", response_model=list[UnknownCodeOut])
def unknown_declines(ctx: Ctx, merchant: Merchant) -> list[UnknownCodeOut]:
    """Codes seen on your failures that Relance does not know (read cautiously as 'later')."""
    return [UnknownCodeOut(code=c, failures=n) for c, n in declines.unknown_codes(ctx, merchant)]


@router.get("/declines/{scheme}/{code}", response_model=DeclineOut)
def explain_decline(
    scheme: Scheme,
    code: Annotated[str, Path(min_length=1, max_length=MAX_CODE_LENGTH)],
    ctx: Ctx,
    _: Merchant,
) -> DeclineOut:
    [explanation] = declines.explain_code(ctx.catalogue, scheme, code)
    return DeclineOut.of(explanation)
