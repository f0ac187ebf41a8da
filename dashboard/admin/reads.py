"""What the admin callbacks read: the lists, and one record for an edit form.

Like handlers.py, each function takes the logged-in actor and checks it (require_admin),
and the data modules keep accounts inside the admin's area. A record for an edit form
comes back with its snapshot, which the browser keeps as "as loaded".
"""
from __future__ import annotations

from flask import current_app

from dashboard.admin import handlers, items, rules, users
from dashboard.admin.audit import list_changes, take_snapshot
from dashboard.admin.scope import require_admin
from dashboard.admin.views import (
    build_audit,
    build_category_options,
    build_item_rows,
    build_rule_rows,
    build_user_rows,
)
from dashboard.api.context import get_session
from dashboard.wall.names import Names
from models.actor import Actor
from models.catalogue import Category
from models.errors import DomainError


def get_names() -> Names:
    return current_app.extensions["grid_names"]


def load_users(actor: Actor | None, role, area_id, active, lang: str) -> tuple[list[dict], int, int]:
    """(rows, shown, total) under the filters."""
    rows, total = users.list_users(get_session(), require_admin(actor), role=role, area_id=area_id,
                                   active=active)
    return build_user_rows(rows, get_names(), lang), len(rows), total


def load_items(actor: Actor | None, category_id, lang: str) -> tuple[list[dict], str, str]:
    """(rows, the category's label, a free code to suggest) for one category."""
    session = get_session()
    rows = items.list_items(session, require_admin(actor), category_id)
    category = session.get(Category, category_id) if isinstance(category_id, int) else None
    if category is None:
        return build_item_rows(rows, lang), "—", ""
    return (build_item_rows(rows, lang), build_category_options([category], lang)[0]["label"],
            items.suggest_code(session, category))


def load_rules(actor: Actor | None, stage, lang: str) -> list[dict]:
    return build_rule_rows(rules.list_rules(get_session(), require_admin(actor), stage), get_names(), lang)


def load_audit(actor: Actor | None, lang: str):
    return build_audit(list_changes(get_session(), require_admin(actor)), lang, get_names())


def open_record(kind: str, actor: Actor | None, ident, lang: str) -> dict:
    """{"loaded": snapshot} of a user, item or rule for its edit form, or {"error": result}."""
    try:
        require_admin(actor)
        session = get_session()
        if kind == "user":
            row = users.get_managed_staff(session, actor, ident)
        elif kind == "item":
            row = items.get_item(session, ident)
        else:
            row = rules.get_rule(session, ident)
        return {"loaded": take_snapshot(row)}
    except DomainError as exc:
        return {"error": handlers.build_failure(exc, lang)}
