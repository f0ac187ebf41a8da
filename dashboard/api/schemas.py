"""What the API accepts, as pydantic models. The server validates every body and query
with these, and the OpenAPI document is generated from the same classes, so the two
cannot disagree. Bodies are strict (no "3" for 3) and refuse unknown fields."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.enums import AreaLevel, Channel, DisputeOutcome, Priority, Satisfaction, State
from models.transition import MAX_TEXT

MAX_ID = 2**63 - 1
MAX_PAGE = 200
MAX_BATCH = 500


def _clean(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


def _fault(field: str, message: str) -> PydanticCustomError:
    """An error found across fields, naming the one to blame (see errors.from_validation)."""
    return PydanticCustomError("value_error", message, {"field": field})


def text_type(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_clean)]


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("a time must lie between 1970 and 2100")
    return utc


Moment = Annotated[AwareDatetime, AfterValidator(_in_range),
                   Field(description="ISO 8601 with a UTC offset, between 1970 and 2100")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=0, le=2**31 - 1, description="the version you read")]
Code = text_type(32, 1)
Text = text_type(MAX_TEXT)
Reason = text_type(MAX_TEXT, 1)
Name = text_type(64)
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---------------------------------------------------------------- intake

class ReportIn(Body):
    """One report. Place it with `grid_code`, or with `lon` and `lat` (the grid holding the
    point is found); with both, the grid decides and the point is stored as given."""

    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": ["grid_code"]}, {"required": ["lon", "lat"]}],
        "dependentRequired": {"lon": ["lat"], "lat": ["lon"]}})

    item_code: Code = Field(description='catalogue item, e.g. "14-01"')
    priority: Priority | None = Field(None, description="defaults to the item's priority")
    grid_code: Code | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    description: Text
    reporter_name: Name | None = None
    channel: Channel
    client_ref: text_type(64, 1) | None = Field(
        None, description="the client's own id for this report: a retry with the same token "
                          "name and client_ref returns the first incident (200) instead of a new one")

    @model_validator(mode="after")
    def _placed(self) -> ReportIn:
        if (self.lon is None) != (self.lat is None):
            raise _fault("lat" if self.lat is None else "lon", "give lon and lat together")
        if self.grid_code is None and self.lon is None:
            raise _fault("grid_code", "give grid_code, or lon and lat")
        return self


class BatchIn(Body):
    """Many reports. Each item succeeds or fails on its own (a failed item writes nothing);
    with `atomic`, any failed item fails the whole batch and nothing is written."""

    # Validated item by item (so one bad item does not hide the others); documented as ReportIn.
    items: Annotated[list[Any], WithJsonSchema({
        "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
        "items": {"$ref": "#/components/schemas/ReportIn"}})] = Field(min_length=1, max_length=MAX_BATCH)
    atomic: bool = False


# ---------------------------------------------------------------- actions

class ActionIn(Body):
    expected_version: Version


class OptionalReasonIn(ActionIn):
    reason: Text | None = None


class ReasonIn(ActionIn):
    reason: Reason


class AcceptIn(ActionIn):
    item_code: Code | None = Field(None, description="re-classify while accepting")
    priority: Priority | None = None


class DuplicateIn(ReasonIn):
    duplicate_of_id: Id


class DispatchIn(ActionIn):
    department_id: Id
    assignee_id: Id | None = None
    deadline: Moment | None = Field(None, description="an explicit handling deadline")


class ReassignIn(OptionalReasonIn):
    department_id: Id | None = None
    assignee_id: Id | None = None


class HoldIn(ReasonIn):
    new_deadline: Moment | None = Field(
        None, description="postpone to this deadline; without it the incident is parked and its clock stops")


class CloseIn(OptionalReasonIn):
    dispute_outcome: DisputeOutcome | None = Field(None, description="required for disputes only")
    satisfaction: Satisfaction | None = None


class RateIn(ActionIn):
    satisfaction: Satisfaction


# ---------------------------------------------------------------- listing

class ListQuery(BaseModel):
    """Query parameters of GET /incidents (strings in the URL, converted here)."""

    model_config = ConfigDict(extra="forbid")

    area: Code | None = Field(None, description="code of a town, village or grid (or the city)")
    state: text_type(400, 1) | None = Field(None, description="one state or a comma-separated list")
    category: Code | None = Field(None, description='category key ("fire") or number ("1")')
    level: AreaLevel | None = Field(None, description="the owning level")
    overdue: bool | None = Field(None, description="open with its running deadline passed")
    reported_from: Moment | None = Field(None, description="inclusive, ISO 8601 with offset")
    reported_to: Moment | None = Field(None, description="exclusive, ISO 8601 with offset")
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: text_type(32, 1) | None = Field(None, description="next_cursor of the previous page")
    offset: int | None = Field(None, ge=0, le=1_000_000, description="instead of cursor")

    def states(self) -> list[State]:
        return [State(s.strip().upper()) for s in (self.state or "").split(",") if s.strip()]

    @field_validator("state")
    @classmethod
    def _known_states(cls, value: str | None) -> str | None:
        names = {s.strip().upper() for s in (value or "").split(",")} - {""}
        if names - set(State):
            raise ValueError(f"state must be among {', '.join(State)}")
        return value

    @model_validator(mode="after")
    def _one_way_to_page(self) -> ListQuery:
        if self.cursor is not None and self.offset is not None:
            raise _fault("offset", "give cursor or offset, not both")
        return self


# ---------------------------------------------------------------- responses

class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventOut(Out):
    id: int = Field(description="the change feed's sequence number")
    version: int
    at: datetime
    action: str
    from_state: State | None
    to_state: State
    actor_name: str
    actor_role: str
    reason: str | None
    payload: dict[str, Any]


class IncidentOut(Out):
    id: int
    version: int
    state: State
    level: AreaLevel
    item_code: str
    category: str
    priority: Priority
    description: str
    channel: Channel
    source: str
    client_ref: str | None
    reporter_name: str | None
    area_code: str
    town_code: str | None
    village_code: str | None
    grid_code: str | None
    lon: float | None
    lat: float | None
    department_id: int | None
    assignee_id: int | None
    reported_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    due_stage: str | None
    due_at: datetime | None
    warn_at: datetime | None
    due_breached: bool
    overdue: bool
    alarm_at: datetime | None = Field(
        description="when a breach no shift lead has acknowledged yet was detected (action ack-alarm)")
    breach_count: int
    escalation_count: int
    reassign_count: int
    return_count: int
    rework_count: int
    postpone_count: int
    dispute_outcome: DisputeOutcome | None
    satisfaction: Satisfaction | None


class IncidentDetailOut(IncidentOut):
    timeline: list[EventOut]


class IncidentPageOut(Out):
    items: list[IncidentOut]
    limit: int
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")


class ActionOut(Out):
    incident: IncidentOut
    event: EventOut


class ErrorOut(Out):
    error: str = Field(description="a stable code, e.g. invalid, version_conflict")
    detail: str
    field: str | None = Field(description="the field at fault, if one is")
    state: State | None = Field(None, description="409 only: the incident's current state")
    version: int | None = Field(None, description="409 only: the incident's current version")
    errors: list[dict[str, Any]] | None = Field(None, description="422 only: every validation error")


class BatchItemOut(Out):
    index: int = Field(description="the item's position in the request, from 0")
    status: Literal[200, 201, 404, 409, 422] = Field(
        description="201 created, 200 already there (same client_ref), else the item's error")
    id: int | None = None
    version: int | None = None
    error: ErrorOut | None = None


class BatchOut(Out):
    created: int
    existing: int
    failed: int
    results: list[BatchItemOut]
