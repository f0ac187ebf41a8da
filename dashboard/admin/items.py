"""Catalogue items on /admin: list by category, edit names and default priority, add one.

Items hold for the whole city: every admin reads them, only a city admin changes them
(scope.require_city_admin). An item's code is "<category code, two digits>-<two digits>"
and unique; an item never moves to another category (its incidents, routes and rules
name it). A changed default priority applies to incidents reported from then on.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.admin.audit import (
    check_loaded,
    record_change,
    take_snapshot,
    update_if_unchanged,
)
from dashboard.admin.forms import ItemChange, NewItem, Refused
from dashboard.admin.scope import require_admin, require_city_admin
from models.actor import Actor
from models.catalogue import Category, Item
from models.errors import NotFound


def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.code)))


def list_items(session: Session, actor: Actor, category_id=None) -> list[Item]:
    """The items of one category (all of them when none is picked), by code."""
    require_admin(actor)
    query = select(Item).order_by(Item.code)
    if isinstance(category_id, int) and not isinstance(category_id, bool):
        query = query.where(Item.category_id == category_id)
    return list(session.scalars(query))


def get_item(session: Session, item_id) -> Item:
    item = session.get(Item, item_id) if isinstance(item_id, int) and not isinstance(item_id, bool) else None
    if item is None:
        raise NotFound("no such item", field="id")
    return item


def suggest_code(session: Session, category: Category) -> str:
    """The next free code in the category (what the form offers as an example)."""
    prefix = f"{category.code:02d}-"
    taken = set(session.scalars(select(Item.code).where(Item.code.like(f"{prefix}%"))))
    return next((f"{prefix}{n:02d}" for n in range(1, 100) if f"{prefix}{n:02d}" not in taken), f"{prefix}99")


def do_update_item(session: Session, actor: Actor, item_id, loaded, form: ItemChange,
                   now: datetime) -> str | None:
    """New names or default priority: "update", or None if nothing changed."""
    require_city_admin(actor)
    item = get_item(session, item_id)
    before = check_loaded(item, loaded)
    values = {"name_zh": form.name_zh, "name_en": form.name_en, "default_priority": form.default_priority}
    after = {**before, **{k: getattr(v, "value", v) for k, v in values.items()}}
    if after == before:
        return None
    update_if_unchanged(session, item, before, values)
    record_change(session, actor, "item", item.id, "update", before, after, now)
    return "update"


def do_create_item(session: Session, actor: Actor, form: NewItem, now: datetime) -> Item:
    require_city_admin(actor)
    category = session.get(Category, form.category_id)
    if category is None:
        raise Refused.one("category_id", "no_category")
    prefix = f"{category.code:02d}-"
    if not form.code.startswith(prefix):
        raise Refused.one("code", "code_prefix", prefix=prefix)
    if session.scalar(select(Item.id).where(Item.code == form.code)) is not None:
        raise Refused.one("code", "taken", value=form.code)
    item = Item(code=form.code, category_id=category.id, name_zh=form.name_zh, name_en=form.name_en,
                default_priority=form.default_priority)
    session.add(item)
    session.flush()
    record_change(session, actor, "item", item.id, "create", None, take_snapshot(item), now)
    return item
