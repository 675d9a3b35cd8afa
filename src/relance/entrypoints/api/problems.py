"""RFC 9457 problem details: every error is application/problem+json with a sentence."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from relance.domain import errors

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[errors.RelanceError], int, str]] = [
    (errors.Unauthenticated, 401, "unauthenticated"),
    (errors.NotFound, 404, "not-found"),
    (errors.IdempotencyConflict, 409, "idempotency-conflict"),
    (errors.Conflict, 409, "conflict"),
    (errors.InvalidPolicy, 422, "invalid-policy"),
    (errors.InvalidTemplate, 422, "invalid-template"),
    (errors.InvalidInput, 422, "invalid-input"),
]

_TITLES = {
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid request",
}


def problem(status: int, slug: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://relance.dev/problems/{slug}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def from_error(exc: errors.RelanceError) -> JSONResponse:
    # A template's line number lets an editor point at the mistake.
    extra = {"line": exc.line} if isinstance(exc, errors.InvalidTemplate) else {}
    for kind, status, slug in _STATUS:
        if isinstance(exc, kind):
            return problem(status, slug, str(exc), **extra)
    return problem(400, "bad-request", str(exc))


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _sentence(err: dict[str, Any]) -> str:
    field = _field(tuple(err.get("loc", ())))
    message = str(err.get("msg", "is invalid"))
    if field == "request" and err.get("type") in ("model_attributes_type", "dict_type"):
        return "The body must be a JSON object, sent with 'Content-Type: application/json'."
    if err.get("type") == "json_invalid":
        return "The body is not valid JSON."
    if err.get("type") == "missing":
        return f"'{field}' is required."
    if err.get("type") == "extra_forbidden":
        return f"'{field}' is not a field this endpoint accepts."
    if err.get("type") == "timezone_aware":
        return f"'{field}' needs a time zone (e.g. 2026-11-21T10:00:00Z)."
    return f"'{field}': {message.removeprefix('Value error, ')}."


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.RelanceError)
    async def _relance(_: Request, exc: errors.RelanceError) -> JSONResponse:
        return from_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_sentence(e) for e in exc.errors()]
        return problem(
            422,
            "invalid-input",
            " ".join(problems),
            errors=[
                {"field": _field(tuple(e.get("loc", ()))), "message": s}
                for e, s in zip(exc.errors(), problems, strict=True)
            ],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = {404: "There is nothing at this address.", 405: "This method is not allowed here."}
        return problem(exc.status_code, "http", detail.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        return problem(500, "internal", "Something went wrong on our side; nothing was changed.")
