"""Turning a report into an incident: placing it in a grid, idempotent retries, batches.
Shared by POST /incidents, POST /incidents:batch and Open311's POST requests.json."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic_core import to_json
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.api.auth import Client
from dashboard.api.context import writing
from dashboard.api.errors import ApiError, body_of
from dashboard.api.inputs import validate_json
from dashboard.api.reference import Reference
from dashboard.api.schemas import ReportIn
from models import Area, Incident, Item, lifecycle
from models.enums import AreaLevel
from models.errors import DomainError, Invalid

T = TypeVar("T")


def get_by_client_refs(session: Session, client: Client, refs: list[str]) -> dict[str, Incident]:
    refs = [r for r in refs if r is not None]
    if not refs:
        return {}
    rows = session.scalars(select(Incident).where(Incident.source == client.source,
                                                  Incident.external_id.in_(set(refs))))
    return {row.external_id: row for row in rows}


def get_grid_id(session: Session, ref: Reference, report: ReportIn) -> int:
    if report.grid_code is not None:
        area = ref.get_area(session, report.grid_code)
        if area is None or area.level != AreaLevel.GRID:
            raise Invalid("grid_code", f"{report.grid_code!r} is not the code of a grid")
        return area.id
    grid_id = ref.locate(report.lon, report.lat)
    if grid_id is None:
        raise Invalid("lon", f"the point ({report.lon}, {report.lat}) lies outside every grid of the city")
    return grid_id


def do_report(session: Session, ref: Reference, client: Client, report: ReportIn, *,
              flush: bool = True) -> Incident:
    """A new REPORTED incident; validates everything before writing anything."""
    item = ref.get_item(session, report.item_code)
    if item is None:
        raise Invalid("item_code", f"no catalogue item with code {report.item_code!r}")
    grid_id = get_grid_id(session, ref, report)
    ref.attach(session, Item, item.id)
    ref.attach(session, Area, grid_id)
    return lifecycle.report(
        session, client.actor, item_id=item.id, area_id=grid_id,
        description=report.description, channel=report.channel, priority=report.priority,
        lon=report.lon, lat=report.lat, reporter_name=report.reporter_name,
        source=client.source, external_id=report.client_ref, flush=flush)


def do_report_once(session: Session, ref: Reference, client: Client,
                   report: ReportIn) -> tuple[Incident, bool]:
    """Report and commit; (incident, created). A client_ref this client used before
    answers with that incident. The unique key (source, external_id) decides, so the
    usual case costs no extra query and two racing retries still make one incident."""
    try:
        with writing(session):
            incident = do_report(session, ref, client, report)
        return incident, True
    except IntegrityError:
        session.rollback()
        existing = get_by_client_refs(session, client, [report.client_ref]).get(report.client_ref)
        if existing is None:
            raise
        return existing, False


def retry_on_duplicate(session: Session, work: Callable[[], T]) -> T:
    """Run `work` (which writes and commits); if a concurrent request stored one of its client_refs
    first, roll back and run it once more, when the retry finds that incident."""
    try:
        return work()
    except IntegrityError:
        session.rollback()
        return work()


# ---------------------------------------------------------------- batches

def do_report_item(session: Session, ref: Reference, client: Client, report: ReportIn | DomainError,
                   known: dict[str, Incident]) -> tuple[Incident, bool] | DomainError:
    """(incident, created) for one valid item, or the item's error; a failed item has
    changed nothing. Batch items are flushed together afterwards."""
    if isinstance(report, DomainError):
        return report
    existing = known.get(report.client_ref) if report.client_ref else None
    if existing is not None:
        return existing, False
    try:
        incident = do_report(session, ref, client, report, flush=False)
    except DomainError as exc:
        return exc
    if report.client_ref:
        known[report.client_ref] = incident
    return incident, True


def validate_item(raw: Any) -> ReportIn | DomainError:
    """Items are checked as JSON, with the same strict rules as a single report."""
    try:
        return validate_json(ReportIn, to_json(raw))
    except DomainError as exc:
        return exc


def build_item_result(index: int, outcome: tuple[Incident, bool] | DomainError) -> dict:
    if isinstance(outcome, DomainError):
        return {"index": index, "status": outcome.status, "id": None, "version": None,
                "error": body_of(outcome)}
    incident, created = outcome
    return {"index": index, "status": 201 if created else 200, "id": incident.id,
            "version": incident.version, "error": None}


def do_report_batch(session: Session, ref: Reference, client: Client, items: list, *,
                    atomic: bool) -> dict:
    """Per-item results; with `atomic`, any failed item rolls everything back (422)."""
    reports = [validate_item(raw) for raw in items]
    valid = [r.client_ref for r in reports if isinstance(r, ReportIn)]
    known = get_by_client_refs(session, client, valid)
    outcomes = [do_report_item(session, ref, client, r, known) for r in reports]
    session.flush()
    results = [build_item_result(i, outcome) for i, outcome in enumerate(outcomes)]
    failed = [r for r in results if r["error"]]
    if atomic and failed:
        session.rollback()
        raise _batch_error(failed)
    return {"created": sum(r["status"] == 201 for r in results),
            "existing": sum(r["status"] == 200 for r in results),
            "failed": len(failed), "results": results}


def _batch_error(failed: list[dict]) -> ApiError:
    first = failed[0]
    field = f"items.{first['index']}.{first['error']['field'] or 'body'}"
    error = ApiError(422, "invalid", f"item {first['index']}: {first['error']['detail']} "
                     f"({len(failed)} item(s) failed; atomic batch, nothing written)", field=field)
    error.errors = [{"field": f"items.{r['index']}.{r['error']['field'] or 'body'}",
                     "detail": r["error"]["detail"]} for r in failed]
    return error
