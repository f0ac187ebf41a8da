"""`python -m seed stats`: what the database holds, as one JSON object."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Area, Category, Department, Incident, IncidentEvent, Item, Staff
from models.enums import AreaLevel, Role


def get_stats(session: Session) -> dict[str, int]:
    levels = dict(session.execute(select(Area.level, func.count()).group_by(Area.level)).all())
    roles = dict(session.execute(select(Staff.role, func.count()).group_by(Staff.role)).all())

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model))

    return {
        "towns": levels.get(AreaLevel.TOWN, 0),
        "villages": levels.get(AreaLevel.VILLAGE, 0),
        "grids": levels.get(AreaLevel.GRID, 0),
        "grid_workers": roles.get(Role.GRID_WORKER, 0),
        "centre_staff": sum(roles.get(r, 0) for r in (Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER)),
        "departments": count(Department),
        "categories": count(Category),
        "items": count(Item),
        "incidents": count(Incident),
        "events": count(IncidentEvent),
    }
