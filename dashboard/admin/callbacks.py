"""The admin page's callbacks (see page.py's docstring).

Each one that reads or writes asks `get_actor()` (page.get_actor: the logged-in person, if
an admin) and does nothing but say so when there is none; then it hands the actor to
reads.py or handlers.py, which check role and jurisdiction on every record. Ids, snapshots
and values arriving from the browser are inputs to check there, never facts.

Per section: a list (filters and a refresh store), a pick (a row clicked: the record and
its "as loaded" snapshot into the edit form), a write (the buttons), and a show (the
write's result as a message and an error beside each field; pure, reads nothing).
"""
from __future__ import annotations

from collections.abc import Callable

import dash
from dash import Input, Output, State, ctx, no_update

from dashboard.admin import handlers, ids, reads
from dashboard.admin.text import t
from dashboard.admin.views import build_message, count_text
from models.actor import Actor
from models.types import utcnow

HIDDEN_FORM, SHOWN_FORM = "admin-edit hidden", "admin-edit"


def read_lang(context: dict | None) -> str:
    return "en" if (context or {}).get("lang") == "en" else "zh"


def pressed() -> bool:
    """Whether the trigger is a real click (a freshly rendered button reports n_clicks 0)."""
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


def stamp(result: dict, form: str) -> dict:
    return {**result, "form": form, "at": utcnow().isoformat()}


def picked(cell) -> int | None:
    row_id = (cell or {}).get("row_id") if isinstance(cell, dict) else None
    return row_id if isinstance(row_id, int) and not isinstance(row_id, bool) else None


def show_errors(result: dict | None, form: str) -> list[str]:
    errors = (result or {}).get("errors") or {}
    mine = (result or {}).get("form") == form
    return [errors.get(field, "") if mine else "" for field in ids.ERR[form]]


def register_admin_callbacks(app: dash.Dash, get_actor: Callable[[], Actor | None]) -> None:
    app.clientside_callback(
        "function(tab) { return ['users', 'items', 'rules'].map("
        "k => k === tab ? 'admin-section' : 'admin-section hidden'); }",
        *(Output(ids.SECTIONS[k], "className") for k in ids.SECTIONS), Input(ids.TABS, "value"))
    register_user_callbacks(app, get_actor)
    register_item_callbacks(app, get_actor)
    register_rule_callbacks(app, get_actor)

    @app.callback(Output(ids.AUDIT, "children"),
                  Input(ids.USERS_REFRESH, "data"), Input(ids.ITEMS_REFRESH, "data"),
                  Input(ids.RULES_REFRESH, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def list_audit(_users, _items, _rules, context):
        actor, lang = get_actor(), read_lang(context)
        return t("msg.denied", lang) if actor is None else reads.load_audit(actor, lang)


# ---------------------------------------------------------------- users

def register_user_callbacks(app: dash.Dash, get_actor: Callable[[], Actor | None]) -> None:
    @app.callback(Output(ids.USERS, "data"), Output(ids.USERS_COUNT, "children"),
                  Input(ids.USER_FILTER_ROLE, "value"), Input(ids.USER_FILTER_AREA, "value"),
                  Input(ids.USER_FILTER_ACTIVE, "value"), Input(ids.USERS_REFRESH, "data"),
                  State(ids.CTX, "data"), prevent_initial_call=True)
    def list_users(role, area_id, active, _refresh, context):
        actor, lang = get_actor(), read_lang(context)
        if actor is None:
            return [], t("msg.denied", lang)
        rows, shown, total = reads.load_users(actor, role, area_id, active, lang)
        return rows, count_text(shown, total, lang)

    @app.callback(Output(ids.EDIT_LOADED, "data"), Output(ids.EDIT_NAME, "value"),
                  Output(ids.EDIT_ROLE, "value"), Output(ids.EDIT_AREA, "value"),
                  Output(ids.EDIT_PASSWORD, "value"), Output(ids.USER_RESULT, "data", allow_duplicate=True),
                  Input(ids.USERS, "active_cell"), State(ids.CTX, "data"), prevent_initial_call=True)
    def pick_user(cell, context):
        ident, lang = picked(cell), read_lang(context)
        if ident is None:
            return (no_update,) * 6
        actor = get_actor()
        if actor is None:
            return None, "", None, None, "", stamp(handlers.build_denied(lang), "edit_user")
        found = reads.open_record("user", actor, ident, lang)
        if "error" in found:
            return None, "", None, None, "", stamp(found["error"], "edit_user")
        user = found["loaded"]
        return user, user["name"], user["role"], user["area_id"], "", None

    @app.callback(Output(ids.EDIT_TITLE, "children"), Output(ids.EDIT_ACTIVE, "children"),
                  Output(ids.EDIT_FORM, "className"),
                  Input(ids.EDIT_LOADED, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def show_user_form(loaded, context):
        lang = read_lang(context)
        if not loaded:
            return t("edit.pick", lang), t("button.deactivate", lang), HIDDEN_FORM
        status = t("active.yes" if loaded.get("active") else "active.no", lang)
        title = t("edit.title", lang, username=loaded.get("username"), name=loaded.get("name"), status=status)
        return title, t("button.deactivate" if loaded.get("active") else "button.reactivate", lang), SHOWN_FORM

    @app.callback(Output(ids.USER_RESULT, "data"), Output(ids.USERS_REFRESH, "data"),
                  Output(ids.EDIT_LOADED, "data", allow_duplicate=True), Output(ids.USERS, "active_cell"),
                  Output(ids.NEW_PASSWORD, "value"), Output(ids.EDIT_PASSWORD, "value", allow_duplicate=True),
                  Input(ids.NEW_CREATE, "n_clicks"), Input(ids.EDIT_SAVE, "n_clicks"),
                  Input(ids.EDIT_ACTIVE, "n_clicks"), Input(ids.EDIT_RESET, "n_clicks"),
                  State(ids.NEW_USERNAME, "value"), State(ids.NEW_NAME, "value"), State(ids.NEW_ROLE, "value"),
                  State(ids.NEW_AREA, "value"), State(ids.NEW_PASSWORD, "value"),
                  State(ids.EDIT_NAME, "value"), State(ids.EDIT_ROLE, "value"), State(ids.EDIT_AREA, "value"),
                  State(ids.EDIT_PASSWORD, "value"), State(ids.EDIT_LOADED, "data"), State(ids.CTX, "data"),
                  prevent_initial_call=True)
    def write_user(_create, _save, _active, _reset, username, name, role, area_id, password,
                   edit_name, edit_role, edit_area, edit_password, loaded, context):
        if not pressed():
            return (no_update,) * 6
        trigger, lang, actor = ctx.triggered_id, read_lang(context), get_actor()
        form = "new_user" if trigger == ids.NEW_CREATE else "edit_user"
        if actor is None:
            return stamp(handlers.build_denied(lang), form), no_update, no_update, no_update, "", ""
        if trigger == ids.NEW_CREATE:
            result = handlers.create_user(actor, {"username": username, "name": name, "role": role,
                                                  "area_id": area_id, "password": password}, lang)
            keep = no_update
        else:
            ident = loaded.get("id") if isinstance(loaded, dict) else None
            if ident is None:
                return (stamp(handlers.build_result("invalid", lang, message=[t("msg.pick", lang)]), form),
                        no_update, no_update, no_update, no_update, no_update)
            action = {ids.EDIT_SAVE: "save", ids.EDIT_ACTIVE: "active", ids.EDIT_RESET: "password"}[trigger]
            values = {"name": edit_name, "role": edit_role, "area_id": edit_area} if action == "save" \
                else ({"password": edit_password} if action == "password" else {})
            result = handlers.change_user(actor, action, ident, loaded, values, lang)
            keep = result["loaded"] if result["ok"] else no_update
        cleared = "" if result["ok"] else no_update
        return (stamp(result, form), utcnow().isoformat(), keep, None,
                cleared if form == "new_user" else no_update, cleared if form == "edit_user" else no_update)

    @app.callback(Output(ids.USER_MESSAGE, "children"),
                  *(Output(e, "children") for e in ids.ERR["new_user"].values()),
                  *(Output(e, "children") for e in ids.ERR["edit_user"].values()),
                  Input(ids.USER_RESULT, "data"), prevent_initial_call=True)
    def show_user_result(result):
        return build_message(result), *show_errors(result, "new_user"), *show_errors(result, "edit_user")


# ---------------------------------------------------------------- items

def register_item_callbacks(app: dash.Dash, get_actor: Callable[[], Actor | None]) -> None:
    @app.callback(Output(ids.ITEMS, "data"), Output(ids.ITEM_NEW_CATEGORY, "children"),
                  Output(ids.ITEM_NEW_CODE, "placeholder"),
                  Input(ids.ITEM_CATEGORY, "value"), Input(ids.ITEMS_REFRESH, "data"),
                  State(ids.CTX, "data"), prevent_initial_call=True)
    def list_items(category_id, _refresh, context):
        actor, lang = get_actor(), read_lang(context)
        if actor is None:
            return [], t("msg.denied", lang), ""
        rows, category, example = reads.load_items(actor, category_id, lang)
        return rows, category, t("item.new_code", lang, example=example) if example else ""

    @app.callback(Output(ids.ITEM_LOADED, "data"), Output(ids.ITEM_NAME_ZH, "value"),
                  Output(ids.ITEM_NAME_EN, "value"), Output(ids.ITEM_PRIORITY, "value"),
                  Output(ids.ITEM_RESULT, "data", allow_duplicate=True),
                  Input(ids.ITEMS, "active_cell"), State(ids.CTX, "data"), prevent_initial_call=True)
    def pick_item(cell, context):
        ident, lang = picked(cell), read_lang(context)
        if ident is None:
            return (no_update,) * 5
        actor = get_actor()
        found = reads.open_record("item", actor, ident, lang) if actor else {"error": handlers.build_denied(lang)}
        if "error" in found:
            return None, "", "", None, stamp(found["error"], "edit_item")
        item = found["loaded"]
        return item, item["name_zh"], item["name_en"], item["default_priority"], None

    @app.callback(Output(ids.ITEM_EDIT_TITLE, "children"), Output(ids.ITEM_EDIT_FORM, "className"),
                  Input(ids.ITEM_LOADED, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def show_item_form(loaded, context):
        if not loaded:
            return t("item.pick", read_lang(context)), HIDDEN_FORM
        return f"{loaded.get('code')} {loaded.get('name_zh')}", SHOWN_FORM

    @app.callback(Output(ids.ITEM_RESULT, "data"), Output(ids.ITEMS_REFRESH, "data"),
                  Output(ids.ITEM_LOADED, "data", allow_duplicate=True), Output(ids.ITEMS, "active_cell"),
                  Input(ids.ITEM_SAVE, "n_clicks"), Input(ids.ITEM_CREATE, "n_clicks"),
                  State(ids.ITEM_NAME_ZH, "value"), State(ids.ITEM_NAME_EN, "value"),
                  State(ids.ITEM_PRIORITY, "value"), State(ids.ITEM_LOADED, "data"),
                  State(ids.ITEM_CATEGORY, "value"), State(ids.ITEM_NEW_CODE, "value"),
                  State(ids.ITEM_NEW_NAME_ZH, "value"), State(ids.ITEM_NEW_NAME_EN, "value"),
                  State(ids.ITEM_NEW_PRIORITY, "value"), State(ids.CTX, "data"), prevent_initial_call=True)
    def write_item(_save, _create, name_zh, name_en, priority, loaded, category_id, code, new_zh, new_en,
                   new_priority, context):
        if not pressed():
            return (no_update,) * 4
        lang, actor = read_lang(context), get_actor()
        form = "new_item" if ctx.triggered_id == ids.ITEM_CREATE else "edit_item"
        if actor is None:
            return stamp(handlers.build_denied(lang), form), no_update, no_update, no_update
        if form == "new_item":
            result = handlers.create_item(actor, {"category_id": category_id, "code": code, "name_zh": new_zh,
                                                  "name_en": new_en, "default_priority": new_priority}, lang)
            return stamp(result, form), utcnow().isoformat(), no_update, None
        ident = loaded.get("id") if isinstance(loaded, dict) else None
        if ident is None:
            return stamp(handlers.build_result("invalid", lang, message=[t("msg.pick", lang)]), form), \
                no_update, no_update, no_update
        result = handlers.change_item(actor, ident, loaded, {"name_zh": name_zh, "name_en": name_en,
                                                             "default_priority": priority}, lang)
        return (stamp(result, form), utcnow().isoformat(), result["loaded"] if result["ok"] else no_update,
                None)

    @app.callback(Output(ids.ITEM_MESSAGE, "children"),
                  *(Output(e, "children") for e in ids.ERR["edit_item"].values()),
                  *(Output(e, "children") for e in ids.ERR["new_item"].values()),
                  Input(ids.ITEM_RESULT, "data"), prevent_initial_call=True)
    def show_item_result(result):
        return build_message(result), *show_errors(result, "edit_item"), *show_errors(result, "new_item")


# ---------------------------------------------------------------- time-limit rules

RULE_FIELDS = ("stage", "priority", "category_id", "item_id", "minutes", "clock")


def register_rule_callbacks(app: dash.Dash, get_actor: Callable[[], Actor | None]) -> None:
    field_ids = (ids.RULE_STAGE, ids.RULE_PRIORITY, ids.RULE_CATEGORY, ids.RULE_ITEM, ids.RULE_MINUTES,
                 ids.RULE_CLOCK)

    @app.callback(Output(ids.RULES, "data"),
                  Input(ids.RULE_FILTER_STAGE, "value"), Input(ids.RULES_REFRESH, "data"),
                  State(ids.CTX, "data"), prevent_initial_call=True)
    def list_rules(stage, _refresh, context):
        actor, lang = get_actor(), read_lang(context)
        return [] if actor is None else reads.load_rules(actor, stage, lang)

    @app.callback(Output(ids.RULE_LOADED, "data"), *(Output(f, "value") for f in field_ids),
                  Output(ids.RULE_RESULT, "data", allow_duplicate=True),
                  Input(ids.RULES, "active_cell"), Input(ids.RULE_CLEAR, "n_clicks"),
                  State(ids.CTX, "data"), prevent_initial_call=True)
    def pick_rule(cell, _clear, context):
        lang = read_lang(context)
        if ctx.triggered_id == ids.RULE_CLEAR:
            return None, None, None, None, None, None, "calendar", None
        ident = picked(cell)
        if ident is None:
            return (no_update,) * 8
        actor = get_actor()
        found = reads.open_record("rule", actor, ident, lang) if actor else {"error": handlers.build_denied(lang)}
        if "error" in found:
            return None, *(no_update,) * 6, stamp(found["error"], "rule")
        rule = found["loaded"]
        return rule, *(rule[f] for f in RULE_FIELDS), None

    @app.callback(Output(ids.RULE_TITLE, "children"),
                  Input(ids.RULE_LOADED, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def show_rule_form(loaded, context):
        lang = read_lang(context)
        return t("rule.editing", lang, id=loaded.get("id")) if loaded else t("rule.new", lang)

    @app.callback(Output(ids.RULE_RESULT, "data"), Output(ids.RULES_REFRESH, "data"),
                  Output(ids.RULE_LOADED, "data", allow_duplicate=True), Output(ids.RULES, "active_cell"),
                  Input(ids.RULE_SAVE, "n_clicks"), Input(ids.RULE_CREATE, "n_clicks"),
                  Input(ids.RULE_DELETE, "n_clicks"), *(State(f, "value") for f in field_ids),
                  State(ids.RULE_LOADED, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def write_rule(_save, _create, _delete, stage, priority, category_id, item_id, minutes, clock, loaded,
                   context):
        if not pressed():
            return (no_update,) * 4
        lang, actor, trigger = read_lang(context), get_actor(), ctx.triggered_id
        if actor is None:
            return stamp(handlers.build_denied(lang), "rule"), no_update, no_update, no_update
        values = dict(zip(RULE_FIELDS, (stage, priority, category_id, item_id, minutes, clock)))
        ident = loaded.get("id") if isinstance(loaded, dict) else None
        if trigger == ids.RULE_CREATE:
            result = handlers.create_rule(actor, values, lang)
        elif ident is None:
            result = handlers.build_result("invalid", lang, message=[t("msg.pick", lang)])
        elif trigger == ids.RULE_SAVE:
            result = handlers.change_rule(actor, ident, loaded, values, lang)
        else:
            result = handlers.delete_rule(actor, ident, loaded, lang)
        if not result["ok"]:
            return stamp(result, "rule"), utcnow().isoformat(), no_update, None
        return stamp(result, "rule"), utcnow().isoformat(), result["loaded"], None

    @app.callback(Output(ids.RULE_MESSAGE, "children"),
                  *(Output(e, "children") for e in ids.ERR["rule"].values()),
                  Input(ids.RULE_RESULT, "data"), prevent_initial_call=True)
    def show_rule_result(result):
        return build_message(result), *show_errors(result, "rule")
