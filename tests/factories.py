"""make_… factories: a small, hand-made world for lifecycle tests.

One city with two towns; each town has one village with two grids. Every town and
village has a general department that takes every item; town A also has a fire
department that takes only fire-safety items. The catalogue is the real one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from shapely.geometry import box
from sqlalchemy.orm import Session

from models import Area, Category, Department, Item, Staff
from models import lifecycle
from models.actor import Actor
from models.enums import AreaLevel, Channel, Role
from seed.city import insert_catalogue
from seed.geometry import to_geojson

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Shanghai


@dataclass
class World:
    areas: dict[str, Area] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)


def _area(session, world, key, level, parent, x0, y0, size) -> Area:
    geom = box(x0, y0, x0 + size, y0 + size)
    area = Area(level=level, code=key, name_zh=f"区域{key}", parent_id=parent and parent.id,
                geometry=to_geojson(geom), geometry_simplified=to_geojson(geom))
    session.add(area)
    session.flush()
    area.city_id = parent.city_id or parent.id if parent else None
    area.town_id = (parent.id if parent.level == AreaLevel.TOWN else parent.town_id) if parent else None
    area.village_id = (parent.id if parent.level == AreaLevel.VILLAGE else parent.village_id) if parent else None
    world.areas[key] = area
    return area


def _department(session, world, key, area, items) -> Department:
    dept = Department(code=key, name_zh=f"部门{key}", name_en=key, level=area.level, area_id=area.id)
    dept.items = list(items)
    session.add(dept)
    world.departments[key] = dept
    return dept


def _actor(session, world, key, role, area, department=None) -> Actor:
    staff = Staff(name=f"人员{key}", role=role, area_id=area.id, username=key,
                  department_id=department and department.id)
    session.add(staff)
    session.flush()
    world.actors[key] = Actor.from_staff(staff)
    return world.actors[key]


def make_world(session: Session) -> World:
    world = World()
    insert_catalogue(session)
    items = list(session.query(Item).order_by(Item.code))
    world.items = {i.code: i for i in items}
    city = _area(session, world, "C", AreaLevel.CITY, None, 0, 0, 4)
    for t, x in (("A", 0), ("B", 2)):
        town = _area(session, world, t, AreaLevel.TOWN, city, x, 0, 2)
        village = _area(session, world, f"{t}1", AreaLevel.VILLAGE, town, x, 0, 2)
        for g, dx in (("a", 0), ("b", 1)):
            _area(session, world, f"{t}1{g}", AreaLevel.GRID, village, x + dx, 0, 1)
        _department(session, world, f"dept-{t}", town, items)
        _department(session, world, f"dept-{t}1", village, items)
    fire = session.query(Category).filter_by(key="fire").one()
    _department(session, world, "fire-A", world.areas["A"], [i for i in items if i.category_id == fire.id])
    _department(session, world, "dept-C", city, items)
    session.flush()
    a = world.areas
    _actor(session, world, "lead-A", Role.SHIFT_LEAD, a["A"])
    _actor(session, world, "lead-B", Role.SHIFT_LEAD, a["B"])
    _actor(session, world, "lead-C", Role.SHIFT_LEAD, a["C"])
    _actor(session, world, "lead-A1", Role.SHIFT_LEAD, a["A1"])
    _actor(session, world, "operator-A", Role.OPERATOR, a["A"])
    _actor(session, world, "worker-A1a", Role.GRID_WORKER, a["A1a"])
    _actor(session, world, "worker-B1a", Role.GRID_WORKER, a["B1a"])
    _actor(session, world, "handler-A", Role.HANDLER, a["A"], world.departments["dept-A"])
    _actor(session, world, "handler-B", Role.HANDLER, a["B"], world.departments["dept-B"])
    session.commit()
    return world


def make_incident(session: Session, world: World, *, item: str = "14-01", grid: str = "A1a",
                  now: datetime = T0, **kwargs):
    defaults = dict(item_id=world.items[item].id, area_id=world.areas[grid].id,
                    description="楼道堆放杂物，堵塞消防通道", channel=Channel.GRID_WORKER)
    defaults.update(kwargs)
    return lifecycle.report(session, world.actors["worker-A1a"] if grid.startswith("A") else
                            world.actors["worker-B1a"], now=now, **defaults)
