"""Reading a request's body and query through the pydantic models, with the size limit."""
from __future__ import annotations

from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from dashboard.api.errors import ApiError, from_validation

M = TypeVar("M", bound=BaseModel)


def read_body(model: type[M], *, limit_key: str = "API_BODY_LIMIT") -> M:
    """The JSON body as `model`: 413 over the size limit, 400 if it does not parse,
    422 naming the field if it does not validate."""
    request.max_content_length = current_app.config[limit_key]
    return validate_json(model, request.get_data(cache=False))


def validate_json(model: type[M], raw: bytes | str) -> M:
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise from_validation(exc) from None


def validate_data(model: type[M], data) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None


def read_query(model: type[M]) -> M:
    """Query parameters as `model`; a parameter given twice is refused, not half-read."""
    args = request.args
    repeated = next((k for k in args if len(args.getlist(k)) > 1), None)
    if repeated:
        raise ApiError(422, "invalid", f"{repeated} is given more than once", field=repeated)
    return validate_data(model, args.to_dict())
