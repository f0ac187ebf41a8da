"""Pure builders for /admin: rows for the tables, dropdown options, messages, the audit log.

Names, usernames and reasons are plain string children or DataTable text cells, which
React renders as text: nothing here uses dcc.Markdown or dangerously_allow_html.
"""
from __future__ import annotations

from datetime import datetime

from dash import html

from dashboard.admin.audit import list_changed_fields
from dashboard.admin.forms import USER_ROLES
from dashboard.admin.text import (
    CHANGES,
    CLOCKS,
    ENTITIES,
    PRIORITIES,
    ROLES,
    STAGES,
    field_label,
    label,
    t,
)
from dashboard.wall.i18n import name_of
from dashboard.wall.names import Named, Names
from models.catalogue import Category, Item, SlaRule
from models.org import AdminChange, Staff
from models.sla import CITY_ZONE, WORK_PERIODS

# Minutes in a working day, as the working clock counts them (08:30–12:00 and 14:00–18:00).
WORKING_DAY = sum((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute) for start, end in WORK_PERIODS)


def format_local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(CITY_ZONE).strftime(fmt) if moment else "—"


def format_minutes(minutes: int, lang: str, clock: str = "calendar") -> str:
    """A limit in days, hours and minutes; on the working clock a day is a working day
    (models/sla.py: 7.5 hours)."""
    working = str(clock) == "working"
    days, rest = divmod(int(minutes), WORKING_DAY if working else 1440)
    hours, mins = divmod(rest, 60)
    units = (("个工作日" if working else "天"), "小时", "分") if lang == "zh" else (
        ("working d" if working else "d"), "h", "min")
    parts = [f"{n}{u}" if lang == "zh" else f"{n} {u}" for n, u in zip((days, hours, mins), units) if n]
    return " ".join(parts) or "0"


def build_area_name(area: Named | None, lang: str) -> str:
    return f"{name_of(area, lang)} ({area.code})" if area is not None else "—"


# ---------------------------------------------------------------- options

def build_options(table: dict[str, tuple[str, str]], keys, lang: str) -> list[dict]:
    return [{"label": label(table, k, lang), "value": k} for k in keys]


def build_role_options(lang: str) -> list[dict]:
    return build_options(ROLES, USER_ROLES, lang)


def build_area_options(areas: list[Named], lang: str) -> list[dict]:
    return [{"label": build_area_name(a, lang), "value": a.id} for a in areas]


def build_category_options(categories: list[Category], lang: str) -> list[dict]:
    return [{"label": f"{c.code:02d} {name_of(c, lang)}", "value": c.id} for c in categories]


def build_item_options(rows: list[Item], lang: str) -> list[dict]:
    return [{"label": f"{i.code} {name_of(i, lang)}", "value": i.id} for i in rows]


# ---------------------------------------------------------------- tables

def count_text(shown: int, total: int, lang: str) -> str:
    return t("count", lang, n=total) if shown >= total else t("count.capped", lang, n=shown)


def build_user_columns(lang: str) -> list[dict]:
    keys = ("id", "username", "name", "role", "area", "active", "last_login")
    return [{"name": t(f"col.{k}", lang), "id": k, "type": "numeric" if k == "id" else "text"} for k in keys]


def build_user_rows(rows: list[Staff], names: Names, lang: str) -> list[dict]:
    return [{"id": s.id, "username": s.username, "name": s.name, "role": label(ROLES, s.role, lang),
             "area": build_area_name(names.area(s.area_id), lang),
             "active": t("active.yes" if s.active else "active.no", lang),
             "last_login": format_local(s.last_login_at)} for s in rows]


def build_item_columns(lang: str) -> list[dict]:
    keys = ("id", "code", "name_zh", "name_en", "priority")
    return [{"name": t(f"col.{k}", lang), "id": k, "type": "numeric" if k == "id" else "text"} for k in keys]


def build_item_rows(rows: list[Item], lang: str) -> list[dict]:
    return [{"id": i.id, "code": i.code, "name_zh": i.name_zh, "name_en": i.name_en,
             "priority": label(PRIORITIES, i.default_priority, lang)} for i in rows]


def build_rule_columns(lang: str) -> list[dict]:
    keys = ("id", "stage", "rule_priority", "scope", "minutes", "span", "clock")
    return [{"name": t(f"col.{k}", lang), "id": k, "type": "numeric" if k in ("id", "minutes") else "text"}
            for k in keys]


def build_scope(rule: SlaRule, names: Names, lang: str) -> str:
    if rule.item_id is not None:
        item = names.item(rule.item_id)
        return t("scope.item", lang, name=f"{item.code} {name_of(item, lang)}" if item else f"#{rule.item_id}")
    if rule.category_id is not None:
        category = names.category(rule.category_id)
        return t("scope.category", lang, name=name_of(category, lang) if category else f"#{rule.category_id}")
    return t("scope.default", lang)


def build_rule_rows(rows: list[SlaRule], names: Names, lang: str) -> list[dict]:
    return [{"id": r.id, "stage": label(STAGES, r.stage, lang), "rule_priority": label(PRIORITIES, r.priority, lang),
             "scope": build_scope(r, names, lang), "minutes": r.minutes,
             "span": format_minutes(r.minutes, lang, r.clock), "clock": label(CLOCKS, r.clock, lang)} for r in rows]


# ---------------------------------------------------------------- messages and the audit log

def build_message(result: dict | None) -> html.Div | str:
    """A result's lines (handlers.build_result), coloured by what happened."""
    if not result or not result.get("message"):
        return ""
    kind = "ok" if result.get("ok") else ("conflict" if result.get("code") == "conflict" else "error")
    return html.Div([html.Div(line) for line in result["message"]], className=f"admin-msg msg-{kind}",
                    **{"data-code": str(result.get("code"))})


def build_value(field: str, value, lang: str, names: Names | None = None) -> str:
    if value is None:
        return "—"
    named = {"area_id": "area", "category_id": "category", "item_id": "item"}.get(field)
    if named and names is not None and isinstance(value, int):
        row = getattr(names, named)(value)
        return build_area_name(row, lang) if named == "area" and row else (
            f"{row.code} {name_of(row, lang)}" if row else f"#{value}")
    tables = {"role": ROLES, "stage": STAGES, "priority": PRIORITIES, "default_priority": PRIORITIES,
              "clock": CLOCKS}
    if field in tables:
        return label(tables[field], value, lang)
    if isinstance(value, bool):
        return t("active.yes" if value else "active.no", lang)
    return str(value)


def build_change_detail(change: AdminChange, lang: str, names: Names | None = None) -> str:
    parts = [f"{field_label(f, lang)}: {build_value(f, a, lang, names)} → {build_value(f, b, lang, names)}"
             if change.change not in ("create", "delete") else
             f"{field_label(f, lang)}: {build_value(f, b if change.change == 'create' else a, lang, names)}"
             for f, a, b in list_changed_fields(change.before, change.after)]
    return "; ".join(parts)


def build_audit(changes: list[AdminChange], lang: str, names: Names | None = None) -> html.Table:
    head = html.Tr([html.Th(t(f"col.{k}", lang)) for k in ("at", "actor", "what", "change", "detail")])
    rows = [html.Tr([html.Td(format_local(c.at, "%m-%d %H:%M:%S")), html.Td(c.actor_name),
                     html.Td(f"{label(ENTITIES, c.entity, lang)} #{c.entity_id}"),
                     html.Td(label(CHANGES, c.change, lang)), html.Td(build_change_detail(c, lang, names))],
                    **{"data-entity": c.entity, "data-change": c.change}) for c in changes]
    if not rows:
        rows = [html.Tr(html.Td(t("audit.empty", lang), colSpan=5, className="admin-muted"))]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="admin-audit-table")
