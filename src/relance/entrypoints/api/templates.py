"""/v1/templates: the merchant's own wording for each message, and previews of any step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.entrypoints.api.communication_schemas import (
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    TemplateSummaryOut,
)
from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, respond
from relance.entrypoints.api.schemas import ListOut
from relance.services import merchants
from relance.services import templates as svc

router = APIRouter(prefix="/v1", tags=["templates"])
Locale = Annotated[
    str | None, Query(description="fr or en; the merchant's default locale when omitted.")
]


@router.get("/templates", response_model=ListOut[TemplateSummaryOut])
def list_templates(ctx: Ctx, merchant: Merchant) -> ListOut[TemplateSummaryOut]:
    """Every part a merchant may override, and in which locales it has."""
    found = svc.list_templates(ctx, merchant)
    return ListOut[TemplateSummaryOut].whole([TemplateSummaryOut.of(t) for t in found])


@router.get("/templates/{name}", response_model=TemplateOut)
def get_template(name: str, ctx: Ctx, merchant: Merchant, locale: Locale = None) -> TemplateOut:
    """The source in use: the merchant's override, or Relance's default."""
    locale = locale or merchants.get_profile(ctx, merchant).default_locale
    return TemplateOut.of(svc.get_template(ctx, merchant, name, locale))


@router.put("/templates/{name}/{locale}", response_model=TemplateOut)
def set_template(
    name: str, locale: str, data: TemplateIn, ctx: Ctx, merchant: Merchant
) -> TemplateOut:
    """Stored only if it renders with sample data; otherwise a 422 whose `line` says where."""
    return TemplateOut.of(svc.set_template(ctx, merchant, name, locale, data.source))


@router.delete("/templates/{name}/{locale}", response_model=TemplateOut)
def reset_template(name: str, locale: str, ctx: Ctx, merchant: Merchant) -> TemplateOut:
    """Back to Relance's default for this locale."""
    return TemplateOut.of(svc.reset_template(ctx, merchant, name, locale))


@router.post("/templates/{family}/preview", response_model=PreviewOut)
def preview_template(
    family: str,
    request: Request,
    data: PreviewIn,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """A step as it would read, for a real customer or with sample data. Nothing is sent."""

    def produce() -> PreviewOut:
        rendered = svc.preview(ctx, merchant, family, data.locale, data.customer_id, data.tone)
        return PreviewOut.of(rendered)

    return respond(request, ctx, merchant, key, body, 200, produce)
