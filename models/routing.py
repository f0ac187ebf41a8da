"""Which departments may take an incident: routing by item and area.

A department takes an incident when it sits in the incident's village, town or city and
its item list holds the incident's item. The nearest level comes first: the first
candidate is the suggestion a shift lead sees, and dispatch accepts any of them.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.incident import Incident
from models.org import Department, department_item


def _levels(incident: Incident) -> list[int]:
    return [a for a in (incident.village_id, incident.town_id, incident.city_id) if a is not None]


class RoutingTable:
    """(area, item) → departments, read in one query; bulk callers load it once."""

    def __init__(self, rows: Iterable[tuple[int, int, int]]):
        self._by_place: dict[tuple[int, int], list[int]] = defaultdict(list)
        for department_id, area_id, item_id in sorted(rows):
            self._by_place[(area_id, item_id)].append(department_id)

    @classmethod
    def load(cls, session: Session, area_ids: list[int] | None = None) -> RoutingTable:
        query = select(Department.id, Department.area_id, department_item.c.item_id).join(
            department_item, department_item.c.department_id == Department.id)
        if area_ids is not None:
            query = query.where(Department.area_id.in_(area_ids))
        return cls(tuple(row) for row in session.execute(query))

    def candidates(self, incident: Incident) -> list[int]:
        return [d for area_id in _levels(incident)
                for d in self._by_place.get((area_id, incident.item_id), ())]


def list_candidate_departments(session: Session, incident: Incident) -> list[int]:
    """Ids of the departments that may take this incident, nearest level first."""
    return RoutingTable.load(session, _levels(incident)).candidates(incident)
