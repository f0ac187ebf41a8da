"""Routing: which departments may take an incident, nearest level first."""
from __future__ import annotations

from sqlalchemy import select

from models import Area, Department, Incident, Item
from models.enums import AreaLevel
from models.routing import RoutingTable, list_candidate_departments


def _incident_at(grid: Area, item: Item) -> Incident:
    return Incident(item_id=item.id, city_id=grid.city_id, town_id=grid.town_id,
                    village_id=grid.village_id, grid_id=grid.id, area_id=grid.id)


def test_it_suggests_the_nearest_level_first_and_only_departments_that_take_the_item(city_session):
    grid = city_session.scalars(select(Area).where(Area.level == AreaLevel.GRID)).first()
    for item in city_session.scalars(select(Item)):
        ids = list_candidate_departments(city_session, _incident_at(grid, item))
        assert ids, f"no department takes {item.code} in grid {grid.code}"
        departments = [city_session.get(Department, i) for i in ids]
        assert all(item in d.items for d in departments)
        rank = {grid.village_id: 0, grid.town_id: 1, grid.city_id: 2}
        assert [rank[d.area_id] for d in departments] == sorted(rank[d.area_id] for d in departments)


def test_it_gives_the_same_answer_from_the_bulk_table_and_the_single_query(city_session):
    table = RoutingTable.load(city_session)
    grids = city_session.scalars(select(Area).where(Area.level == AreaLevel.GRID).limit(40)).all()
    items = city_session.scalars(select(Item)).all()
    for grid in grids:
        for item in items[::7]:
            incident = _incident_at(grid, item)
            assert table.candidates(incident) == list_candidate_departments(city_session, incident)
