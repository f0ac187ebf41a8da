"""`python -m seed import FILE --format NAME`: a city's 311 export, row by row.

Columns are mapped by the declarative formats in seed/formats; this module only writes.
Each accepted row becomes an incident walked through the lifecycle: reported, accepted
and dispatched to the owning agency when created (with the export's due date as the time
limit), then resolved and closed when the export says it closed. A location inside our
city is placed in its grid; any other keeps the export's own district as its area.

Every row is accounted for: imported, already imported (re-runs add nothing, keyed by
source and external id) or rejected with its row number and reason in a CSV report.
"""
from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shapely import STRtree, points
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Area, Department, Incident, Item
from models import lifecycle
from models.actor import Actor
from models.enums import AreaLevel, Channel
from models.routing import list_candidate_departments
from models.settings import var_dir
from seed.formats import get_format
from seed.formats.base import Format, Rejection, SourceRecord, read_records
from seed.geometry import from_geojson

BATCH = 1000
DETECTION_DELAY = timedelta(seconds=30)
IN_PROGRESS = re.compile(r"progress|assigned|started|open", re.IGNORECASE)


class GridLocator:
    """Which of our grids holds a point. Towns overlap a little in the real boundary file,
    so a point on an overlap goes to the grid with the lowest id (a stable tie-break)."""

    def __init__(self, session: Session):
        grids = list(session.execute(select(Area.id, Area.geometry).where(Area.level == AreaLevel.GRID)))
        self.ids = [g.id for g in grids]
        self.tree = STRtree([from_geojson(g.geometry) for g in grids]) if grids else None

    def locate(self, lon: float, lat: float) -> int | None:
        if self.tree is None:
            return None
        hits = self.tree.query(points(lon, lat), predicate="intersects")
        return min((self.ids[i] for i in hits), default=None)


@dataclass
class ImportContext:
    session: Session
    fmt: Format
    actor: Actor
    locator: GridLocator
    city: Area | None = None
    districts: dict[str, Area] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)

    def area_for(self, record: SourceRecord) -> Area:
        if record.lon is not None:
            grid_id = self.locator.locate(record.lon, record.lat)
            if grid_id is not None:
                return self.session.get(Area, grid_id)
        return self.district(record.district or "未分区 Unassigned")

    def external_city(self) -> Area:
        if self.city is None:
            code = f"ext-{self.fmt.source}"
            self.city = self.session.scalar(select(Area).where(Area.code == code)) or self._add_area(
                Area(level=AreaLevel.CITY, code=code, name_zh=self.fmt.city_zh, name_en=self.fmt.city_en))
            self.city.city_id = self.city.id
        return self.city

    def district(self, label: str) -> Area:
        if label not in self.districts:
            city = self.external_city()
            code = f"{city.code}-{_slug(label)}"
            self.districts[label] = self.session.scalar(select(Area).where(Area.code == code)) or \
                self._add_area(Area(level=AreaLevel.TOWN, code=code, name_zh=label, name_en=label,
                                    parent_id=city.id, city_id=city.id))
        return self.districts[label]

    def _add_area(self, area: Area) -> Area:
        self.session.add(area)
        self.session.flush()
        area.town_id = area.id if area.level == AreaLevel.TOWN else None
        return area

    def department(self, record: SourceRecord, item: Item, incident: Incident) -> Department:
        """The export's own agency for records in its city. A record inside our city goes
        to the department our routing picks, as a report made here would."""
        if incident.city_id != self.external_city().id:
            candidates = list_candidate_departments(self.session, incident)
            if not candidates:
                raise ValueError(f"no department in area {incident.area_id} takes item {item.code}")
            return self.session.get(Department, candidates[0])
        code = f"ext-{self.fmt.source}-{_slug(record.agency)}"
        dept = self.departments.get(code) or self.session.scalar(
            select(Department).where(Department.code == code))
        if dept is None:
            city = self.external_city()
            dept = Department(code=code, name_zh=record.agency_name or record.agency,
                              name_en=record.agency_name or record.agency, level=AreaLevel.CITY,
                              area_id=city.id)
            dept.items = []
            self.session.add(dept)
            self.session.flush()
        self.departments[code] = dept
        if item not in dept.items:
            dept.items.append(item)
        return dept

    def item(self, code: str) -> Item:
        if code not in self.items:
            self.items[code] = self.session.scalar(select(Item).where(Item.code == code))
        return self.items[code]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")[:40] or "x"


def import_record(ctx: ImportContext, record: SourceRecord) -> Incident:
    """Write one record as an incident and its events (validated first; the caller commits)."""
    item = ctx.item(record.item_code)
    if item is None:
        raise ValueError(f"format {ctx.fmt.name} maps to unknown item {record.item_code}")
    area = ctx.area_for(record)
    session, actor, created = ctx.session, ctx.actor, record.created_at
    incident = lifecycle.report(
        session, actor, item_id=item.id, area_id=area.id, channel=Channel.IMPORT,
        description=record.description or record.request_type, lon=record.lon, lat=record.lat,
        reporter_name=f"{ctx.fmt.city_en} 311", source=ctx.fmt.source,
        external_id=record.external_id, now=created, flush=False,
    )
    dept = ctx.department(record, item, incident)
    step = _stepper(session, incident, actor)
    step(lifecycle.accept, created)
    due = record.due_at if record.due_at and record.due_at > created else None
    step(lifecycle.dispatch, created, department_id=dept.id, deadline=due)
    if record.closed_at is None and not IN_PROGRESS.search(record.status or ""):
        return incident
    step(lifecycle.acknowledge, created)
    step(lifecycle.start, created)
    if record.closed_at is not None:
        step(lifecycle.resolve, record.closed_at)
        step(lifecycle.close, record.closed_at)
    return incident


def _stepper(session: Session, incident: Incident, actor: Actor):
    def step(fn, at: datetime, **params) -> None:
        noticed = incident.due_at and incident.due_at + DETECTION_DELAY
        if noticed and not incident.due_breached and noticed <= at:
            lifecycle.breach(session, incident, actor, expected_version=incident.version,
                             stage=incident.due_stage, deadline=incident.due_at, now=noticed, flush=False)
        fn(session, incident, actor, expected_version=incident.version, now=at, flush=False, **params)
    return step


def default_report_path(path: Path, fmt: Format) -> Path:
    folder = var_dir() / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{path.stem}.{fmt.name}.rejected.csv"


def write_report(report: Path, rejections: list[Rejection]) -> None:
    with open(report, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "external_id", "field", "reason"])
        writer.writerows([r.row, r.external_id or "", r.field or "", r.reason] for r in rejections)


def run_import(session: Session, file: str | Path, fmt_name: str, *,
               report_path: str | Path | None = None) -> dict:
    """Import a whole file; commits in batches. Returns the summary printed as JSON."""
    fmt, path = get_format(fmt_name), Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    ctx = ImportContext(session, fmt, Actor.system(f"import:{fmt.source}"), GridLocator(session))
    known = set(session.scalars(select(Incident.external_id).where(Incident.source == fmt.source)))
    counts = {"rows": 0, "imported": 0, "rejected": 0, "already_imported": 0}
    rejections: list[Rejection] = []
    for result in read_records(path, fmt):
        counts["rows"] += 1
        if isinstance(result, Rejection):
            rejections.append(result)
        elif result.external_id in known:
            counts["already_imported"] += 1
        else:
            import_record(ctx, result)
            known.add(result.external_id)
            counts["imported"] += 1
            if counts["imported"] % BATCH == 0:
                session.commit()
    session.commit()
    counts["rejected"] = len(rejections)
    report = Path(report_path) if report_path else default_report_path(path, fmt)
    write_report(report, rejections)
    print(f"{len(rejections)} rejected rows, with reasons, written to {report}", file=sys.stderr)
    return {**counts, "report": str(report)}
