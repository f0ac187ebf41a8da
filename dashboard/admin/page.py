"""/admin: the administrator's page: accounts, catalogue items and time-limit rules, and the
audit log of every change made here.

The page is rendered whole on the server (lists included), so the first paint needs no
callback. Callbacks (callbacks.py) are endpoints: each one asks
dashboard.auth.access.get_actor_for("admin") who is calling and hands that actor to
handlers.py or the data modules, which check role and jurisdiction again on each record
(scope.py). The browser keeps only the page language and, for each edit form, the record
as it was loaded (the optimistic-concurrency snapshot, audit.py).
"""
from __future__ import annotations

import warnings

import dash
from dash import dash_table, dcc, html

from dashboard.admin import ids, items, rules, users
from dashboard.admin.audit import list_changes
from dashboard.admin.callbacks import register_admin_callbacks
from dashboard.admin.scope import get_admin_area, is_city_admin, list_managed_areas
from dashboard.admin.text import CLOCKS, PRIORITIES, STAGES, pick_language, t
from dashboard.admin.views import (
    build_area_name,
    build_area_options,
    build_audit,
    build_category_options,
    build_item_columns,
    build_item_options,
    build_item_rows,
    build_options,
    build_role_options,
    build_rule_columns,
    build_rule_rows,
    build_user_columns,
    build_user_rows,
    count_text,
)
from dashboard.api.context import get_session
from dashboard.auth.access import get_actor_for, get_names, require_page
from dashboard.auth.ui import build_user_bar
from models.actor import Actor
from models.enums import Clock, Priority, Stage

PAGE_SIZE = 15
FONT = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
        '"WenQuanYi Zen Hei", sans-serif')
CELL = {"textAlign": "left", "backgroundColor": "#111827", "color": "#e5e7eb", "fontFamily": FONT,
        "fontSize": "13px", "border": "1px solid #263041", "padding": "3px 8px", "maxWidth": "16em",
        "overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}
HEADER = {"backgroundColor": "#1a2332", "color": "#9ca3af", "fontWeight": "600"}
warnings.filterwarnings("ignore", message=r"\s*The dash_table\.DataTable will be removed",
                        category=DeprecationWarning)


def get_actor() -> Actor | None:
    """The caller, if an admin (the data modules check each record's jurisdiction)."""
    return get_actor_for("admin")


def build_table(ident: str, columns: list[dict], data: list[dict]) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=ident, columns=columns, data=data, page_action="native", page_size=PAGE_SIZE,
        sort_action="native", cell_selectable=True, style_as_list_view=True,
        style_table={"overflowX": "auto"}, style_cell=CELL, style_header=HEADER,
        css=[{"selector": ".dash-spreadsheet-menu", "rule": "display: none"},
             {"selector": "td.focused, td.cell--selected",
              "rule": "background-color: #1e3a5f !important; color: #e5e7eb !important"}])


def build_field(form: str, name: str, text: str, control) -> html.Label:
    """A labelled control with its error slot beside it."""
    return html.Label([html.Span(text, className="admin-field-label"), control,
                       html.Div(id=ids.ERR[form][name], className="admin-err", **{"aria-live": "polite"})],
                      className="admin-field")


def pick(ident: str, options: list[dict], lang: str, *, value=None, clearable=False, disabled=False,
         placeholder: str | None = None) -> dcc.Dropdown:
    return dcc.Dropdown(id=ident, options=options, value=value, clearable=clearable, disabled=disabled,
                        placeholder=placeholder or t("any", lang), className="admin-dropdown")


def text_input(ident: str, *, kind: str = "text", disabled: bool = False, placeholder: str = "",
               max_length: int = 128) -> dcc.Input:
    return dcc.Input(id=ident, type=kind, disabled=disabled, placeholder=placeholder, maxLength=max_length,
                     autoComplete="new-password" if kind == "password" else "off", className="admin-input")


def button(ident: str, text: str, *, primary: bool = False, disabled: bool = False) -> html.Button:
    return html.Button(text, id=ident, n_clicks=0, disabled=disabled,
                       className="admin-button" + (" primary" if primary else ""))


# ---------------------------------------------------------------- sections

def build_users(actor: Actor, lang: str) -> html.Section:
    session, names = get_session(), get_names()
    rows, total = users.list_users(session, actor)
    areas = build_area_options(list_managed_areas(actor), lang)
    actives = [{"label": t("active.yes", lang), "value": "yes"}, {"label": t("active.no", lang), "value": "no"}]
    roles = build_role_options(lang)
    new = html.Div([
        html.H3(t("new_user", lang)),
        build_field("new_user", "username", t("field.username", lang), text_input(ids.NEW_USERNAME, max_length=64)),
        build_field("new_user", "name", t("field.name", lang), text_input(ids.NEW_NAME, max_length=64)),
        build_field("new_user", "role", t("field.role", lang), pick(ids.NEW_ROLE, roles, lang, placeholder="—")),
        build_field("new_user", "area_id", t("field.area_id", lang), pick(ids.NEW_AREA, areas, lang, placeholder="—")),
        build_field("new_user", "password", t("field.password", lang),
                    text_input(ids.NEW_PASSWORD, kind="password", max_length=1024)),
        button(ids.NEW_CREATE, t("button.create", lang), primary=True),
    ], className="admin-form")
    edit = html.Div([
        html.H3(t("edit_user", lang)),
        html.Div(t("edit.pick", lang), id=ids.EDIT_TITLE, className="admin-form-title"),
        html.Div([
            build_field("edit_user", "name", t("field.name", lang), text_input(ids.EDIT_NAME, max_length=64)),
            build_field("edit_user", "role", t("field.role", lang), pick(ids.EDIT_ROLE, roles, lang)),
            build_field("edit_user", "area_id", t("field.area_id", lang), pick(ids.EDIT_AREA, areas, lang)),
            button(ids.EDIT_SAVE, t("button.save", lang), primary=True),
            build_field("edit_user", "active", t("field.active", lang),
                        button(ids.EDIT_ACTIVE, t("button.deactivate", lang))),
            build_field("edit_user", "password", t("field.new_password", lang),
                        text_input(ids.EDIT_PASSWORD, kind="password", max_length=1024)),
            button(ids.EDIT_RESET, t("button.reset", lang)),
        ], id=ids.EDIT_FORM, className="admin-edit hidden"),
    ], className="admin-form")
    return html.Section([
        html.Div([pick(ids.USER_FILTER_ROLE, roles, lang, clearable=True, placeholder=t("filter.role", lang)),
                  pick(ids.USER_FILTER_AREA, areas, lang, clearable=True, placeholder=t("filter.area", lang)),
                  pick(ids.USER_FILTER_ACTIVE, actives, lang, clearable=True, placeholder=t("filter.active", lang)),
                  html.Span(count_text(len(rows), total, lang), id=ids.USERS_COUNT, className="admin-count")],
                 className="admin-filters"),
        build_table(ids.USERS, build_user_columns(lang), build_user_rows(rows, names, lang)),
        html.Div(id=ids.USER_MESSAGE, className="admin-message", **{"aria-live": "polite"}),
        html.Div([new, edit], className="admin-forms"),
    ], id=ids.SECTIONS["users"], className="admin-section")


def build_items(actor: Actor, lang: str, editable: bool) -> html.Section:
    session = get_session()
    categories = items.list_categories(session)
    first = categories[0] if categories else None
    rows = items.list_items(session, actor, first.id if first else None)
    priorities = build_options(PRIORITIES, [p.value for p in Priority], lang)
    locked = not editable
    edit = html.Div([
        html.H3(t("item.edit", lang)),
        html.Div(t("item.pick", lang), id=ids.ITEM_EDIT_TITLE, className="admin-form-title"),
        html.Div([
            build_field("edit_item", "name_zh", t("field.name_zh", lang), text_input(ids.ITEM_NAME_ZH, disabled=locked, max_length=64)),
            build_field("edit_item", "name_en", t("field.name_en", lang), text_input(ids.ITEM_NAME_EN, disabled=locked)),
            build_field("edit_item", "default_priority", t("field.default_priority", lang),
                        pick(ids.ITEM_PRIORITY, priorities, lang, disabled=locked)),
            button(ids.ITEM_SAVE, t("button.save", lang), primary=True, disabled=locked),
        ], id=ids.ITEM_EDIT_FORM, className="admin-edit hidden"),
    ], className="admin-form")
    example = items.suggest_code(session, first) if first else "01-01"
    new = html.Div([
        html.H3(t("item.new", lang)),
        build_field("new_item", "category_id", t("field.category_id", lang), html.Span(
            build_category_options([first], lang)[0]["label"] if first else "—", id=ids.ITEM_NEW_CATEGORY,
            className="admin-static")),
        build_field("new_item", "code", t("field.code", lang),
                    text_input(ids.ITEM_NEW_CODE, disabled=locked, max_length=16,
                               placeholder=t("item.new_code", lang, example=example))),
        build_field("new_item", "name_zh", t("field.name_zh", lang), text_input(ids.ITEM_NEW_NAME_ZH, disabled=locked, max_length=64)),
        build_field("new_item", "name_en", t("field.name_en", lang), text_input(ids.ITEM_NEW_NAME_EN, disabled=locked)),
        build_field("new_item", "default_priority", t("field.default_priority", lang),
                    pick(ids.ITEM_NEW_PRIORITY, priorities, lang, value=Priority.NORMAL.value, disabled=locked)),
        button(ids.ITEM_CREATE, t("button.create", lang), primary=True, disabled=locked),
    ], className="admin-form")
    return html.Section([
        html.Div([html.Span(t("items.category", lang), className="admin-field-label"),
                  pick(ids.ITEM_CATEGORY, build_category_options(categories, lang), lang,
                       value=first.id if first else None)], className="admin-filters"),
        None if editable else html.Div(t("readonly", lang), className="admin-readonly"),
        build_table(ids.ITEMS, build_item_columns(lang), build_item_rows(rows, lang)),
        html.Div(id=ids.ITEM_MESSAGE, className="admin-message", **{"aria-live": "polite"}),
        html.Div([edit, new], className="admin-forms"),
    ], id=ids.SECTIONS["items"], className="admin-section hidden")


def build_rules(actor: Actor, lang: str, editable: bool) -> html.Section:
    session, names = get_session(), get_names()
    rows = rules.list_rules(session, actor)
    locked = not editable
    stages = build_options(STAGES, [s.value for s in Stage], lang)
    form = html.Div([
        html.H3(t("rule.form", lang)),
        html.Div(t("rule.new", lang), id=ids.RULE_TITLE, className="admin-form-title"),
        html.Div([
            build_field("rule", "stage", t("field.stage", lang), pick(ids.RULE_STAGE, stages, lang, disabled=locked)),
            build_field("rule", "priority", t("field.priority", lang),
                        pick(ids.RULE_PRIORITY, build_options(PRIORITIES, [p.value for p in Priority], lang), lang,
                             clearable=True, disabled=locked)),
            build_field("rule", "category_id", t("field.rule_category", lang),
                        pick(ids.RULE_CATEGORY, build_category_options(items.list_categories(session), lang), lang,
                             clearable=True, disabled=locked)),
            build_field("rule", "item_id", t("field.item_id", lang),
                        pick(ids.RULE_ITEM, build_item_options(items.list_items(session, actor), lang), lang,
                             clearable=True, disabled=locked)),
            build_field("rule", "minutes", t("field.minutes", lang),
                        dcc.Input(id=ids.RULE_MINUTES, type="number", min=1, step=1, disabled=locked,
                                  className="admin-input")),
            build_field("rule", "clock", t("field.clock", lang),
                        pick(ids.RULE_CLOCK, build_options(CLOCKS, [c.value for c in Clock], lang), lang,
                             value=Clock.CALENDAR.value, disabled=locked)),
        ], className="admin-rule-fields"),
        html.Div([button(ids.RULE_SAVE, t("button.save", lang), primary=True, disabled=locked),
                  button(ids.RULE_CREATE, t("button.rule_create", lang), disabled=locked),
                  button(ids.RULE_DELETE, t("button.rule_delete", lang), disabled=locked),
                  button(ids.RULE_CLEAR, t("button.rule_clear", lang))], className="admin-buttons"),
    ], className="admin-form admin-rule-form")
    return html.Section([
        html.Div([pick(ids.RULE_FILTER_STAGE, stages, lang, clearable=True, placeholder=t("col.stage", lang))],
                 className="admin-filters"),
        html.P(t("rule.note", lang), className="admin-note"),
        None if editable else html.Div(t("readonly", lang), className="admin-readonly"),
        build_table(ids.RULES, build_rule_columns(lang), build_rule_rows(rows, names, lang)),
        html.Div(id=ids.RULE_MESSAGE, className="admin-message", **{"aria-live": "polite"}),
        form,
    ], id=ids.SECTIONS["rules"], className="admin-section hidden")


def build_admin(lang: str | None = None, **_):
    lang = pick_language(lang)
    actor = require_page("admin", lang=lang)
    if not isinstance(actor, Actor):
        return actor  # the login link or the 403 notice
    city = is_city_admin(actor)
    scope = t("scope.city", lang) if city else t(
        "scope.local", lang, area=build_area_name(get_admin_area(actor), lang))
    stores = [dcc.Store(id=i) for i in (ids.USERS_REFRESH, ids.USER_RESULT, ids.EDIT_LOADED, ids.ITEMS_REFRESH,
                                        ids.ITEM_RESULT, ids.ITEM_LOADED, ids.RULES_REFRESH, ids.RULE_RESULT,
                                        ids.RULE_LOADED)]
    tabs = dcc.Tabs(id=ids.TABS, value="users", className="admin-tabs", children=[
        dcc.Tab(label=t(f"tab.{k}", lang), value=k, className="admin-tab", selected_className="admin-tab-on")
        for k in ids.SECTIONS])
    return html.Div([
        dcc.Store(id=ids.CTX, data={"lang": lang}), *stores,
        html.Header([html.H1(t("title", lang)), html.Span(scope, className="admin-muted"),
                     build_user_bar(actor, lang)], className="admin-header"),
        tabs,
        build_users(actor, lang), build_items(actor, lang, city), build_rules(actor, lang, city),
        html.Section([html.H2(t("audit", lang)),
                      html.Div(build_audit(list_changes(get_session(), actor), lang, get_names()),
                               id=ids.AUDIT)],
                     className="admin-section admin-audit"),
    ], id=ids.ROOT, className="admin", lang="zh-CN" if lang == "zh" else "en",
        **{"data-lang": lang, "data-city-admin": "1" if city else "0"})


def register_admin_pages(app: dash.Dash) -> None:
    dash.register_page("admin", path="/admin", layout=build_admin, title="系统管理")
    register_admin_callbacks(app, get_actor)
