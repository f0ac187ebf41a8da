"""Who may change what on /admin.

- Only admins use the page (PAGE_ROLES["admin"]).
- Accounts: an admin manages the accounts whose area is their own area or beneath it, and
  gives only such areas. (dashboard.auth.access.covers_area lets an admin *see* every
  area; managing accounts is narrower, so it is checked here on the area tree itself.)
- Items and time-limit rules hold for the whole city, so only an admin whose own area is
  a city changes them; other admins read them.

Every check reads the area tree (the per-process Names cache) and the record as it is in
SQL: an id or area the browser sends is only a request.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from dashboard.admin.forms import Refused
from dashboard.auth.access import PAGE_ROLES, get_names
from dashboard.wall.names import Named
from models.actor import Actor
from models.area import Area
from models.enums import AreaLevel
from models.errors import Forbidden

ADMIN_ROLES = PAGE_ROLES["admin"]
CENTRE_LEVELS = (AreaLevel.CITY, AreaLevel.TOWN, AreaLevel.VILLAGE)
ANCESTOR_COLUMNS = {AreaLevel.CITY: Area.city_id, AreaLevel.TOWN: Area.town_id,
                    AreaLevel.VILLAGE: Area.village_id}


class CityAdminOnly(Forbidden):
    """An admin whose area is not a city tried to change items or time-limit rules."""


def require_admin(actor: Actor | None) -> Actor:
    """The actor, if an admin (each handler's first line: a callback is an endpoint)."""
    if actor is None or actor.role not in ADMIN_ROLES:
        raise Forbidden("only admins may use the admin page")
    return actor


def get_admin_area(actor: Actor) -> Named | None:
    return get_names().area(actor.area_id) if actor.area_id is not None else None


def is_city_admin(actor: Actor | None) -> bool:
    if actor is None or actor.role not in ADMIN_ROLES:
        return False
    area = get_admin_area(actor)
    return area is not None and area.level == AreaLevel.CITY


def require_city_admin(actor: Actor | None) -> Actor:
    require_admin(actor)
    if not is_city_admin(actor):
        raise CityAdminOnly("only a city admin changes items and time limits")
    return actor


def is_within(area_id: int | None, ancestor_id: int | None) -> bool:
    """Whether `area_id` is `ancestor_id` or lies beneath it."""
    if area_id is None or ancestor_id is None:
        return False
    names, area, steps = get_names(), get_names().area(area_id), 0
    while area is not None and steps < 8:  # the tree is four levels deep
        if area.id == ancestor_id:
            return True
        area, steps = names.area(area.parent_id), steps + 1
    return False


def manages(actor: Actor, area_id: int | None) -> bool:
    """Whether this admin manages accounts in `area_id`."""
    return actor.role in ADMIN_ROLES and is_within(area_id, actor.area_id)


def require_area(actor: Actor, area_id: int, field: str = "area_id") -> Named:
    """The area to give an account: a centre (city, town or village) the admin manages."""
    area = get_names().area(area_id)
    if area is None or not manages(actor, area_id):
        raise Refused.one(field, "area_outside")
    if area.level not in CENTRE_LEVELS:
        raise Refused.one(field, "area_level")
    return area


def list_managed_areas(actor: Actor) -> list[Named]:
    """The centres whose accounts this admin manages: their own area first, then the rest
    in code order."""
    own = get_admin_area(actor)
    if own is None or actor.role not in ADMIN_ROLES:
        return []
    names = get_names()
    names.area(own.id)  # loads the cache
    found = [a for a in names.areas.values()
             if a.level in CENTRE_LEVELS and a.id != own.id and is_within(a.id, own.id)]
    return [own] + sorted(found, key=lambda a: a.code)


def area_clause(ancestor: Named | None) -> ColumnElement:
    """A WHERE clause on Area: the area `ancestor` and everything beneath it."""
    if ancestor is None or ancestor.level not in ANCESTOR_COLUMNS:
        return false()
    return or_(Area.id == ancestor.id, ANCESTOR_COLUMNS[AreaLevel(ancestor.level)] == ancestor.id)
