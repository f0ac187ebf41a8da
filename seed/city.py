"""`python -m seed city`: the reference city of Dongguan, built from real town boundaries.

Towns are the 35 real town-level polygons with their official NBS codes. Villages and
grids are generated inside them (k-means seeded Voronoi cells clipped to the parent),
so grids tile their village and villages tile their town. The same seed gives the same city.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from models import Area, Category, Department, Item, SlaRule, Staff, department_item
from models.enums import AreaLevel, Role
from seed import catalogue, geometry, names, people

DATA = Path(__file__).resolve().parent / "data"
TOWNS_FILE = DATA / "geo" / "dongguan_towns.geojson"
CITY_FILE = DATA / "geo" / "dongguan_city_outline.geojson"
CODES_FILE = DATA / "geo" / "dongguan_town_codes_2022.csv"

CITY_CODE, CITY_ZH, CITY_EN = "441900", "东莞市", "Dongguan"
VILLAGES, GRIDS = 593, 3106
# Boundary-file names that differ from the NBS code list (see seed/data/SOURCES.md).
CODE_LIST_NAMES = {"松山湖管委会": "松山湖", "虎门港管委会": "东莞港"}
TOWN_EN = {
    "茶山镇": "Chashan", "常平镇": "Changping", "大朗镇": "Dalang", "大岭山镇": "Dalingshan",
    "道滘镇": "Daojiao", "东城街道": "Dongcheng", "东莞生态园": "Eco-Park", "东坑镇": "Dongkeng",
    "凤岗镇": "Fenggang", "高埗镇": "Gaobu", "莞城街道": "Guancheng", "横沥镇": "Hengli",
    "洪梅镇": "Hongmei", "厚街镇": "Houjie", "虎门镇": "Humen", "虎门港管委会": "Humen Port",
    "黄江镇": "Huangjiang", "寮步镇": "Liaobu", "麻涌镇": "Machong", "南城街道": "Nancheng",
    "企石镇": "Qishi", "桥头镇": "Qiaotou", "清溪镇": "Qingxi", "沙田镇": "Shatian",
    "石碣镇": "Shijie", "石龙镇": "Shilong", "石排镇": "Shipai", "松山湖管委会": "Songshan Lake",
    "塘厦镇": "Tangxia", "万江街道": "Wanjiang", "望牛墩镇": "Wangniudun", "谢岗镇": "Xiegang",
    "樟木头镇": "Zhangmutou", "长安镇": "Chang'an", "中堂镇": "Zhongtang",
}
# Simplification tolerance in degrees (about 1 m = 1e-5) for drawing each level on a wall.
SCREEN_TOLERANCE = {AreaLevel.CITY: 0.002, AreaLevel.TOWN: 0.0008,
                    AreaLevel.VILLAGE: 0.0003, AreaLevel.GRID: 0.0001}
# Staff at each command centre: (operators, shift leads, leaders).
# A town's own admin (accounts of that town only), so the demo has an admin below the city.
TOWN_ADMINS = ("441900004",)
CENTRE_STAFF = {AreaLevel.CITY: (4, 4, 2), AreaLevel.TOWN: (2, 2, 1), AreaLevel.VILLAGE: (1, 1, 1)}
HANDLERS_PER_DEPARTMENT = 2


@dataclass
class CityPlan:
    """Every row to insert, with explicit ids so parents are known before inserting."""

    areas: list[dict] = field(default_factory=list)
    departments: list[dict] = field(default_factory=list)
    department_items: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)

    def of_level(self, level: AreaLevel) -> list[dict]:
        return [a for a in self.areas if a["level"] == level]


def read_town_codes(path: Path = CODES_FILE) -> dict[str, str]:
    """Official code for each boundary-file town name."""
    with open(path, encoding="utf-8") as fh:
        by_name = {row["name"]: row["code"] for row in csv.DictReader(fh)}
    towns = geometry.load_town_features(TOWNS_FILE)
    return {name: by_name[CODE_LIST_NAMES.get(name, name)] for name, _ in towns}


def _area_row(plan: CityPlan, level, code, name_zh, geom: BaseGeometry, parent: dict | None,
              *, official: bool, name_en: str | None = None) -> dict:
    point = geom.representative_point()
    row = {
        "id": len(plan.areas) + 1, "level": level, "code": code, "code_official": official,
        "name_zh": name_zh, "name_en": name_en, "parent_id": parent and parent["id"],
        "city_id": parent and (parent["city_id"] or parent["id"]),
        "town_id": parent and (parent["id"] if parent["level"] == AreaLevel.TOWN else parent["town_id"]),
        "village_id": parent and (parent["id"] if parent["level"] == AreaLevel.VILLAGE else parent["village_id"]),
        "geometry": geometry.to_geojson(geom, 6),
        "geometry_simplified": geometry.to_geojson(
            geometry.simplify_for_screen(geom, SCREEN_TOLERANCE[level]), 5),
        "centroid_lon": round(point.x, 6), "centroid_lat": round(point.y, 6),
    }
    plan.areas.append(row)
    return row


def _village_codes(town_code: str, village_names: list[str]) -> list[str]:
    """NBS style: communities (居委会) number from 001, villages (村委会) from 201."""
    counters = {True: 0, False: 200}
    codes = []
    for name in village_names:
        community = names.is_community(name)
        counters[community] += 1
        codes.append(f"{town_code}{counters[community]:03d}")
    return codes


def plan_areas(rng: np.random.Generator, plan: CityPlan, progress: bool) -> None:
    city_geom = geometry.from_geojson(_first_feature(CITY_FILE))
    city = _area_row(plan, AreaLevel.CITY, CITY_CODE, CITY_ZH, city_geom, None,
                     official=True, name_en=CITY_EN)
    towns = geometry.load_town_features(TOWNS_FILE)
    codes = read_town_codes()
    village_counts = geometry.allocate(VILLAGES, [g.area for _, g in towns], minimum=3)
    town_rows = [_area_row(plan, AreaLevel.TOWN, codes[name], name, geom, city, official=True,
                           name_en=TOWN_EN[name]) for name, geom in towns]
    villages: list[tuple[dict, BaseGeometry]] = []
    for town, (name, geom), count in tqdm(list(zip(town_rows, towns, village_counts)),
                                          desc="villages", disable=not progress):
        cells = geometry.partition(geom, count, rng)
        village_names = names.village_names(rng, count, name)
        for cell, vname, code in zip(cells, village_names, _village_codes(town["code"], village_names)):
            villages.append((_area_row(plan, AreaLevel.VILLAGE, code, vname, cell, town, official=False), cell))
    grid_counts = geometry.allocate(GRIDS, [g.area for _, g in villages], minimum=1)
    for (village, geom), count in tqdm(list(zip(villages, grid_counts)), desc="grids",
                                       disable=not progress):
        for i, cell in enumerate(geometry.partition(geom, count, rng), start=1):
            _area_row(plan, AreaLevel.GRID, f"{village['code']}{i:03d}",
                      names.grid_name(village["name_zh"], i), cell, village, official=False)


def _first_feature(path: Path) -> dict:
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    return data["features"][0]["geometry"] if "features" in data else data


def plan_departments(plan: CityPlan, item_ids: dict[str, int]) -> None:
    for area in plan.areas:
        if area["level"] == AreaLevel.GRID:
            continue
        for spec in catalogue.DEPARTMENTS:
            if area["level"].value in spec.levels:
                _department_row(plan, area, spec, item_ids)


def _department_row(plan: CityPlan, area: dict, spec, item_ids: dict[str, int]) -> None:
    dept_id = len(plan.departments) + 1
    prefix = "" if area["level"] == AreaLevel.CITY else area["name_zh"]
    plan.departments.append({
        "id": dept_id, "code": f"{area['code']}-{spec.key}", "name_zh": prefix + spec.name_zh,
        "name_en": f"{area['name_en'] or area['code']} {spec.name_en}", "level": area["level"],
        "area_id": area["id"], "mediator": spec.mediator,
    })
    codes = {item.code for cat in catalogue.CATEGORIES if cat.code in spec.categories
             for item in cat.items} | set(spec.items)
    plan.department_items.extend({"department_id": dept_id, "item_id": item_ids[c]} for c in sorted(codes))


def plan_staff(rng: np.random.Generator, plan: CityPlan) -> None:
    grids = plan.of_level(AreaLevel.GRID)
    workers = rng.choice([2, 3, 4], size=len(grids), p=[0.2, 0.6, 0.2])
    centres = [a for a in plan.areas if a["level"] in CENTRE_STAFF]
    total = int(workers.sum()) + sum(sum(CENTRE_STAFF[a["level"]]) for a in centres) \
        + HANDLERS_PER_DEPARTMENT * len(plan.departments) + 1 + len(TOWN_ADMINS)
    pool = iter(people.person_names(rng, total))
    add = _staff_adder(plan, pool)
    add(Role.ADMIN, plan.areas[0]["id"], "admin")
    for grid, count in zip(grids, workers):
        for n in range(1, count + 1):
            add(Role.GRID_WORKER, grid["id"], f"gw-{grid['code']}-{n}")
    for area in centres:
        for role, count in zip((Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER), CENTRE_STAFF[area["level"]]):
            prefix = "city" if area["level"] == AreaLevel.CITY else area["code"]
            for n in range(1, count + 1):
                add(role, area["id"], f"{prefix}-{role.value.replace('_', '')}-{n}")
    for dept in plan.departments:
        for n in range(1, HANDLERS_PER_DEPARTMENT + 1):
            add(Role.HANDLER, dept["area_id"], f"{dept['code']}-{n}", department_id=dept["id"])
    by_code = {a["code"]: a for a in plan.areas}
    for code in TOWN_ADMINS:  # last, so every other person keeps the id they had before
        if code in by_code:
            add(Role.ADMIN, by_code[code]["id"], f"{code}-admin-1")


def _staff_adder(plan: CityPlan, pool):
    def add(role: Role, area_id: int, username: str, department_id: int | None = None) -> None:
        plan.staff.append({"id": len(plan.staff) + 1, "name": next(pool), "role": role,
                           "area_id": area_id, "department_id": department_id,
                           "username": username, "active": True})
    return add


def insert_catalogue(session: Session) -> dict[str, int]:
    """Categories, items and default time limits. Returns item id by item code."""
    cat_ids, item_ids = {}, {}
    for cat in catalogue.CATEGORIES:
        row = Category(code=cat.code, key=cat.key, name_zh=cat.name_zh, name_en=cat.name_en,
                       is_dispute=cat.is_dispute)
        row.items = [Item(code=i.code, name_zh=i.name_zh, name_en=i.name_en,
                          default_priority=i.priority) for i in cat.items]
        session.add(row)
        session.flush()
        cat_ids[cat.code] = row.id
        item_ids.update({i.code: i.id for i in row.items})
    session.add_all(SlaRule(stage=r.stage, priority=r.priority, minutes=r.minutes, clock=r.clock,
                            category_id=cat_ids.get(r.category), item_id=item_ids.get(r.item))
                    for r in catalogue.LIMITS)
    session.flush()
    return item_ids


def _insert(session: Session, target, rows: list[dict], chunk: int = 2000) -> None:
    for i in range(0, len(rows), chunk):
        session.execute(insert(target), rows[i:i + chunk])


def build_city(session: Session, seed: int = 2024, *, progress: bool = True) -> CityPlan:
    """Insert the whole reference city into an empty database (caller commits)."""
    if session.query(Area.id).first() is not None:
        raise RuntimeError("the database already holds a city; start from an empty database")
    rng = np.random.default_rng(seed)
    plan = CityPlan()
    plan_areas(rng, plan, progress)
    item_ids = insert_catalogue(session)
    plan_departments(plan, item_ids)
    plan_staff(rng, plan)
    steps = [(Area, plan.areas), (Department, plan.departments),
             (department_item, plan.department_items), (Staff, plan.staff)]
    for target, rows in tqdm(steps, desc="writing", disable=not progress):
        _insert(session, target, rows)
    _advance_sequences(session, ("area", "department", "staff"))
    return plan


def _advance_sequences(session: Session, tables: tuple[str, ...]) -> None:
    """Explicit ids leave PostgreSQL's id sequences behind; move them past the rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
