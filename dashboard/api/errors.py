"""Every error as JSON: `{"error", "detail", "field"}` (plus the current state and version
on a 409). Flask's own errors (404, 405, 413, 500) get the same shape under /api/ and
Open311's `[{"code", "description"}]` under /open311/; the Dash pages keep Flask's."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError

from models.errors import DomainError

log = logging.getLogger(__name__)


class ApiError(DomainError):
    """An error the HTTP layer finds itself (bad JSON, no token, unknown route)."""

    def __init__(self, status: int, code: str, detail: str, *, field: str | None = None):
        super().__init__(detail, field=field)
        self.status, self.code = status, code


def from_validation(exc: ValidationError) -> ApiError:
    """400 for JSON that does not parse; otherwise 422 naming the first field at fault."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        return ApiError(400, "malformed_json", first["msg"])
    error = ApiError(422, "invalid", first["msg"], field=field_name(first))
    error.errors = [{"field": field_name(e), "detail": e["msg"]} for e in errors]
    return error


def field_name(error: dict) -> str:
    named = (error.get("ctx") or {}).get("field")
    loc = [str(part) for part in error["loc"]]
    return ".".join(loc + [named] if named else loc) or "body"


def body_of(exc: DomainError) -> dict:
    body = exc.as_dict()
    if getattr(exc, "errors", None):
        body["errors"] = exc.errors
    return body


def _http_body(exc: HTTPException) -> DomainError:
    code = (exc.name or "error").lower().replace(" ", "_")
    error = ApiError(exc.code or 500, code, exc.description or exc.name)
    error.headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # e.g. Allow
    return error


# GeoReport v2 answers bad input with 400 and a bad api_key with 403.
OPEN311_STATUS = {422: 400, 401: 403}


def _respond(exc: DomainError):
    status = exc.status
    if request.path.startswith("/open311/"):
        status = OPEN311_STATUS.get(status, status)
        response = jsonify([{"code": status, "description": _open311_text(exc)}])
    else:
        response = jsonify(body_of(exc))
    response.headers.update(getattr(exc, "headers", None) or {})
    return response, status


def _open311_text(exc: DomainError) -> str:
    return f"{exc.field}: {exc.detail}" if exc.field else exc.detail


def _on_domain_error(exc: DomainError):
    return _respond(exc)


def _on_http_error(exc: HTTPException):
    if not request.path.startswith(("/api/", "/open311/")):
        return exc
    return _respond(_http_body(exc))


def _on_unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith(("/api/", "/open311/")):
        return InternalServerError()
    return _respond(ApiError(500, "internal_error", "the server failed; its log has the details"))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _on_domain_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_unexpected)
