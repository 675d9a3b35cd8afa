"""/v1/declines: what a decline code means, for the merchant and for the customer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from relance.domain.declines import MAX_CODE_LENGTH
from relance.entrypoints.api.deps import Ctx, Merchant
from relance.entrypoints.api.schemas import DeclineOut
from relance.services import declines

router = APIRouter(prefix="/v1", tags=["declines"])
Scheme = Literal["stripe", "stripe_advice", "iso8583", "visa", "mastercard", "sepa"]


@router.get("/declines/{scheme}/{code}", response_model=DeclineOut)
def explain_decline(
    scheme: Scheme,
    code: Annotated[str, Path(min_length=1, max_length=MAX_CODE_LENGTH)],
    ctx: Ctx,
    _: Merchant,
) -> DeclineOut:
    [explanation] = declines.explain_code(ctx.catalogue, scheme, code)
    return DeclineOut.of(explanation)
