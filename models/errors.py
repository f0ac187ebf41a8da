"""Domain errors. The API maps them to HTTP statuses (see `status`)."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "domain_error"

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def as_dict(self) -> dict:
        return {"error": self.code, "detail": self.detail, "field": self.field}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Invalid(DomainError):
    """A value is wrong. `field` names it."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, detail: str):
        super().__init__(detail, field=field)


class _Conflict(DomainError):
    status = 409

    def __init__(self, detail: str, *, state: str | None, version: int | None):
        super().__init__(detail)
        self.state = state
        self.version = version

    def as_dict(self) -> dict:
        return {**super().as_dict(), "state": self.state, "version": self.version}


class IllegalTransition(_Conflict):
    code = "illegal_transition"


class VersionConflict(_Conflict):
    code = "version_conflict"
