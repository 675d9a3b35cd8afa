"""/v1/cases: the dunning cases, their schedule and timeline; /v1/policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from relance.domain.cases import CaseStatus
from relance.domain.policy import parse_policy
from relance.entrypoints.api.deps import Body, Ctx, IdempotencyKey, Merchant, page_limit, respond
from relance.entrypoints.api.rules_schemas import PolicyOut
from relance.entrypoints.api.schemas import CaseOut, CaseSummaryOut, ListOut
from relance.services import cases as svc
from relance.services import policies

router = APIRouter(prefix="/v1", tags=["cases"])
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page.")]


@router.get("/cases", response_model=ListOut[CaseSummaryOut])
def list_cases(
    ctx: Ctx,
    merchant: Merchant,
    status: CaseStatus | None = None,
    cursor: Cursor = None,
    limit: int = 20,
) -> ListOut[CaseSummaryOut]:
    page = svc.list_cases(ctx, merchant, status, cursor, page_limit(limit))
    return ListOut.of(page, CaseSummaryOut.of)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: str, ctx: Ctx, merchant: Merchant) -> CaseOut:
    return CaseOut.of_view(svc.get_case(ctx, merchant, case_id))


def _move(
    case_id: str,
    to: CaseStatus,
    request: Request,
    ctx: Ctx,
    merchant: str,
    body: bytes,
    key: str | None,
) -> Response:
    return respond(
        request,
        ctx,
        merchant,
        key,
        body,
        200,
        lambda: CaseOut.of_view(svc.change_case_status(ctx, merchant, case_id, to)),
    )


@router.post("/cases/{case_id}/pause", response_model=CaseOut)
def pause_case(
    case_id: str,
    request: Request,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """Hold every pending action, e.g. while a dispute is sorted out."""
    return _move(case_id, CaseStatus.PAUSED, request, ctx, merchant, body, key)


@router.post("/cases/{case_id}/resume", response_model=CaseOut)
def resume_case(
    case_id: str,
    request: Request,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """Release held actions; those that fell due while paused become due now."""
    return _move(case_id, CaseStatus.ACTIVE, request, ctx, merchant, body, key)


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close_case(
    case_id: str,
    request: Request,
    ctx: Ctx,
    merchant: Merchant,
    body: Body,
    key: IdempotencyKey = None,
) -> Response:
    """Stop dunning this invoice for good; pending actions are cancelled."""
    return _move(case_id, CaseStatus.CLOSED, request, ctx, merchant, body, key)


@router.get("/policy", response_model=PolicyOut, tags=["policy"])
def get_policy(ctx: Ctx, merchant: Merchant) -> PolicyOut:
    source = policies.policy_source_for(ctx, merchant)
    return PolicyOut.of(parse_policy(source), source)
