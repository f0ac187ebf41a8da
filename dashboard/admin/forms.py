"""What the admin forms accept: pydantic models, and the errors the page shows by field.

A form's values come from the browser, so each one is validated here before anything is
read or written; the checks that need the database (jurisdiction, unique codes, the
fallback rules) raise `Refused` the same way, naming the field. Every reason is a key of
text.WHY with its parameters, so the page says it in the page's language.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dashboard.auth.passwords import MAX_LENGTH, MIN_LENGTH, check_new_password
from models.enums import Clock, Priority, Stage
from models.errors import DomainError

# The roles an admin may give: the ones that log into the centre's screens.
USER_ROLES = ("operator", "shift_lead", "leader", "admin")
MAX_MINUTES = 366 * 24 * 60  # a year: longer is a typing mistake, not a time limit


class Refused(DomainError):
    """A value that cannot be accepted: {field: (reason key, params)} for every field at fault."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, tuple[str, dict]]):
        self.errors = errors
        field, (reason, params) = next(iter(errors.items()))
        super().__init__(f"{field}: {reason} {params or ''}".strip(), field=field)

    @classmethod
    def one(cls, field: str, reason: str, **params) -> Refused:
        return cls({field: (reason, params)})


class Conflict(DomainError):
    """The record changed since the admin loaded it; `current` is how it is now (None: gone)."""

    status = 409
    code = "conflict"

    def __init__(self, current: dict | None):
        super().__init__("the record changed since you loaded it")
        self.current = current


def _blank_to_none(value):
    return None if isinstance(value, str) and not value.strip() else value


def _stripped(value):
    return "" if value is None else (value.strip() if isinstance(value, str) else value)


def _text(max_length: int):
    # The constraints come first: pydantic applies them to what the BeforeValidator returns.
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length), BeforeValidator(_stripped)]


def _check_password(value):
    """The CLI's rule (passwords.check_new_password), so both ways of setting one agree."""
    problem = check_new_password(value if isinstance(value, str) else "")
    if problem:
        raise PydanticCustomError("password_rule", problem, {"min": MIN_LENGTH, "max": MAX_LENGTH})
    return value


Optional = BeforeValidator(_blank_to_none)
Password = Annotated[str, BeforeValidator(_check_password)]
Id = Annotated[int, Field(gt=0, strict=True)]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewUser(Form):
    username: Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
                        BeforeValidator(lambda v: _stripped(v).lower() if isinstance(v, str) else _stripped(v))]
    name: _text(64)
    role: Literal[USER_ROLES]
    area_id: Id
    password: Password


class UserChange(Form):
    name: _text(64)
    role: Literal[USER_ROLES]
    area_id: Id


class PasswordReset(Form):
    password: Password


class ItemChange(Form):
    name_zh: _text(64)
    name_en: _text(128)
    default_priority: Priority


class NewItem(ItemChange):
    category_id: Id
    code: Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^\d{2}-\d{2}$"),
                    BeforeValidator(_stripped)]


class RuleForm(Form):
    stage: Stage
    priority: Annotated[Priority | None, Optional] = None
    category_id: Annotated[Id | None, Optional] = None
    item_id: Annotated[Id | None, Optional] = None
    minutes: Annotated[int, Field(gt=0, le=MAX_MINUTES)]
    clock: Clock

    @field_validator("minutes", mode="before")
    @classmethod
    def whole_minutes(cls, value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @model_validator(mode="after")
    def one_scope(self):
        if self.category_id is not None and self.item_id is not None:
            raise PydanticCustomError("one_scope", "a rule names a category or an item, not both")
        return self


# ---------------------------------------------------------------- reading a form

def read_errors(exc: ValidationError) -> dict[str, tuple[str, dict]]:
    """{field: (reason key, params)}, the first problem of each field."""
    found: dict[str, tuple[str, dict]] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "item_id"  # a model check: the scope
        ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | str)}
        kind = error["type"]
        if error.get("input") is None or (kind in ("too_short", "string_too_short")
                                          and ctx.get("min_length") == 1):
            kind = "missing"
        elif kind in ("too_short", "string_too_short"):
            kind = "too_short"
        elif kind in ("too_long", "string_too_long"):
            kind = "too_long"
        elif kind == "string_pattern_mismatch":
            kind = f"pattern.{field}"
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            kind = "whole_number"
        elif kind in ("enum", "literal_error"):
            kind = "one_of"
        found.setdefault(field, (kind, ctx))
    return found


def parse(model: type[Form], values: dict) -> Form:
    """`values` as `model`, or Refused naming every field at fault."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Refused(read_errors(exc)) from None
