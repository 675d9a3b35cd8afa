"""/v1/merchant: how the merchant presents itself in messages and on the payment page."""

from __future__ import annotations

from fastapi import APIRouter

from relance.entrypoints.api.communication_schemas import MerchantOut, MerchantPatch
from relance.entrypoints.api.deps import Ctx, Merchant
from relance.services import merchants as svc

router = APIRouter(prefix="/v1", tags=["merchant"])


@router.get("/merchant", response_model=MerchantOut)
def get_merchant(ctx: Ctx, merchant: Merchant) -> MerchantOut:
    return MerchantOut.of(svc.get_profile(ctx, merchant))


@router.patch("/merchant", response_model=MerchantOut)
def update_merchant(data: MerchantPatch, ctx: Ctx, merchant: Merchant) -> MerchantOut:
    """Only the fields sent change; one invalid value and nothing changes."""
    return MerchantOut.of(svc.update_profile(ctx, merchant, data.changes()))
