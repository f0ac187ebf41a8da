"""The console's callbacks (see page.py's docstring for what each is for).

Each one first asks `get_actor()` (page.get_actor: the logged-in person, if their role may
use the console) and does nothing but say so when there is none; then it hands the actor to
dashboard.console.handlers. Ids and versions arriving from the browser are checked there.
"""
from __future__ import annotations

from collections.abc import Callable

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from dashboard.console import actions, handlers, ids, panels, views
from dashboard.console.text import t
from models.actor import Actor
from models.types import utcnow

FILTERS = (ids.FILTER_STATE, ids.FILTER_CATEGORY, ids.FILTER_LEVEL, ids.FILTER_DEPARTMENT,
           ids.FILTER_OVERDUE)
HIDDEN = {"display": "none"}


def denied(context: dict | None):
    return panels.build_text_message(t("msg.denied", (context or {}).get("lang", "zh")))


def pressed() -> bool:
    """Whether the trigger is a real click (a freshly rendered button reports n_clicks 0)."""
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


def register_console_callbacks(app: dash.Dash, get_actor: Callable[[], Actor | None]) -> None:
    @app.callback(Output(ids.QUEUE, "data"), Output(ids.QUEUE, "page_current"),
                  Output(ids.QUEUE, "page_count"), Output(ids.QUEUE_COUNT, "children"),
                  Output(ids.QUEUE, "selected_rows"),
                  *(Input(f, "value") for f in FILTERS), Input(ids.QUEUE, "page_current"),
                  Input(ids.TICK, "n_intervals"), Input(ids.LIVE, "data"), Input(ids.REFRESH, "data"),
                  State(ids.QUEUE, "selected_row_ids"), State(ids.CTX, "data"), prevent_initial_call=True)
    def refresh_queue(states, category, level, department, overdue, page, _tick, _live, _refresh,
                      ticked, context):
        actor = get_actor()
        if actor is None:
            return [], 0, 1, denied(context), []
        if ctx.triggered_id in FILTERS:
            page = 0
        raw = {"states": states, "category_id": category, "level": level,
               "department_id": department, "overdue": bool(overdue)}
        result = handlers.load_queue(actor, raw, page, context["lang"])
        if "error" in result:
            return [], 0, 1, result["error"], []
        keep = set(ticked or [])
        return (result["rows"], result["page"], result["page_count"], result["count"],
                [n for n, row in enumerate(result["rows"]) if row["id"] in keep])

    @app.callback(Output(ids.DRAWER_SUMMARY, "children"), Output(ids.STAGES, "children"),
                  Output(ids.TIMELINE, "children"), Output(ids.MAP, "figure"),
                  Output(ids.ACTIONS, "children"), Output(ids.SELECTED, "data"),
                  Output(ids.DRAWER, "className"), Output(ids.QUEUE, "style_data_conditional"),
                  Input(ids.QUEUE, "active_cell"), Input(ids.CURSOR, "data"),
                  Input(ids.REFRESH, "data"), Input(ids.DRAWER_CLOSE, "n_clicks"),
                  State(ids.SELECTED, "data"), State(ids.CTX, "data"), prevent_initial_call=True)
    def show_drawer(cell, cursor, refresh, _close, selected, context):
        lang, trigger = context["lang"], ctx.triggered_id
        closed = ("", "", "", no_update, "", None, "console-drawer closed", views.build_row_highlight(None))
        actor = get_actor()
        if actor is None:
            return (denied(context), *closed[1:])
        if trigger == ids.DRAWER_CLOSE:
            return closed
        if trigger == ids.QUEUE:
            wanted = (cell or {}).get("row_id")
        elif trigger == ids.CURSOR:
            wanted = (cursor or {}).get("id")
        else:  # a reload after an action: the drawer's incident, if one is open
            wanted = (selected or {}).get("id")
        if wanted is None:
            return (no_update,) * 8
        shown = handlers.open_drawer(actor, wanted, lang)
        if "error" in shown:
            return (shown["error"], *closed[1:6], "console-drawer open", views.build_row_highlight(None))
        return (shown["summary"], shown["stages"], shown["timeline"], shown["figure"], shown["actions"],
                shown["selected"], "console-drawer open", views.build_row_highlight(shown["selected"]["id"]))

    @app.callback(Output(ids.MESSAGE, "children"), Output(ids.REFRESH, "data"),
                  Output(ids.PENDING, "data"),
                  Input({"type": ids.ACT, "action": ALL}, "n_clicks"), Input(ids.F_SUBMIT, "n_clicks"),
                  Input(ids.F_CANCEL, "n_clicks"), Input(ids.BATCH_SUBMIT, "n_clicks"),
                  State(ids.SELECTED, "data"), State(ids.PENDING, "data"),
                  State(ids.F_DEPARTMENT, "value"), State(ids.F_DEADLINE, "value"),
                  State(ids.F_OUTCOME, "value"), State(ids.F_REASON, "value"),
                  State(ids.QUEUE, "data"), State(ids.QUEUE, "selected_row_ids"),
                  State(ids.BATCH_DEPARTMENT, "value"), State(ids.BATCH_REASON, "value"),
                  State(ids.CTX, "data"), prevent_initial_call=True)
    def act(_buttons, _submit, _cancel, _batch, selected, pending, department, deadline, outcome,
            reason, rows, ticked, batch_department, batch_reason, context):
        trigger, lang = ctx.triggered_id, context["lang"]
        if not pressed():
            return no_update, no_update, no_update
        if trigger == ids.F_CANCEL:
            return no_update, no_update, None
        actor = get_actor()
        if actor is None:
            return denied(context), no_update, None
        reload = {"id": (selected or {}).get("id"), "at": utcnow().isoformat()}
        if trigger == ids.BATCH_SUBMIT:
            message, _ = handlers.run_batch(actor, rows, ticked, {"department_id": batch_department,
                                                                  "reason": batch_reason}, lang)
            return message, reload, no_update
        if isinstance(trigger, dict):  # an action button
            action = trigger.get("action")
            if action not in actions.IMMEDIATE:
                return "", no_update, {"action": action, "id": (selected or {}).get("id")}
            values = {}
        else:  # the form's confirm
            action = (pending or {}).get("action")
            if not action or (pending or {}).get("id") != (selected or {}).get("id"):
                return panels.build_text_message(t("msg.pick", lang)), no_update, None
            values = handlers.form_values(action, department, deadline, outcome, reason)
        message, result = handlers.run_action(actor, selected, action, values, lang)
        if result is None or result.error in ("invalid",):
            return message, no_update, no_update  # keep the form open to fix the field
        return message, reload, None

    @app.callback(Output(ids.FORM, "className"), Output(ids.FORM_TITLE, "children"),
                  *(Output(row, "style") for row in ids.F_ROWS.values()),
                  Output(ids.F_DEPARTMENT, "options"), Output(ids.F_DEPARTMENT, "value"),
                  Output(ids.F_DEADLINE, "value"), Output(ids.F_REASON, "value"),
                  Output(ids.F_OUTCOME, "value"),
                  Input(ids.PENDING, "data"), Input(ids.SELECTED, "data"), State(ids.CTX, "data"),
                  prevent_initial_call=True)
    def show_form(pending, selected, context):
        form = handlers.build_form_state(pending, selected, context["lang"])
        styles = [None if form["rows"][key] else HIDDEN for key in ids.F_ROWS]
        head = ("console-form" if form["open"] else "console-form hidden", form["title"], *styles)
        if ctx.triggered_id != ids.PENDING:  # the drawer reloaded: keep what was typed
            return (*head, no_update, no_update, no_update, no_update, no_update)
        return (*head, form["options"], form["department"], form["deadline"], "", None)

    @app.callback(Output(ids.BATCH_SELECTION, "children"), Output(ids.BATCH_DEPARTMENT, "options"),
                  Output(ids.BATCH_DEPARTMENT, "value"),
                  Input(ids.QUEUE, "selected_row_ids"), State(ids.CTX, "data"), prevent_initial_call=True)
    def show_batch(ticked, context):
        lang, actor = context["lang"], get_actor()
        if actor is None:
            return denied(context), [], None
        ticked = [i for i in ticked or [] if isinstance(i, int)]
        if not ticked:
            return t("batch.none", lang), [], None
        options = handlers.list_batch_departments(actor, ticked, lang)
        text = t("batch.selected", lang, n=len(ticked), ids=" ".join(f"#{i}" for i in sorted(ticked)))
        return text, options, options[0]["value"] if options else None

    @app.callback(Output(ids.HANDOVER_FORM, "className"), Output(ids.HANDOVER_PREVIEW, "children"),
                  Output(ids.HANDOVER_MESSAGE, "children"), Output(ids.HANDOVER_PENDING, "children"),
                  Output(ids.HANDOVER_NOTES, "value"),
                  Input(ids.HANDOVER_START, "n_clicks"), Input(ids.HANDOVER_SUBMIT, "n_clicks"),
                  Input({"type": ids.HANDOVER_ACK, "id": ALL}, "n_clicks"), Input(ids.TICK, "n_intervals"),
                  State(ids.HANDOVER_NOTES, "value"), State(ids.CTX, "data"), prevent_initial_call=True)
    def handover(_start, _submit, _acks, _tick, notes, context):
        trigger, lang = ctx.triggered_id, context["lang"]
        if trigger != ids.TICK and not pressed():
            return (no_update,) * 5
        actor = get_actor()
        if actor is None:
            return "hidden", "", denied(context), no_update, no_update
        if trigger == ids.TICK:
            return no_update, no_update, no_update, handlers.list_pending(actor, lang), no_update
        if trigger == ids.HANDOVER_START:
            return "", handlers.preview_handover(actor, lang), "", no_update, no_update
        if trigger == ids.HANDOVER_SUBMIT:
            message = handlers.submit_handover(actor, notes, lang)
            return "hidden", "", message, handlers.list_pending(actor, lang), ""
        message = handlers.ack_handover(actor, trigger.get("id"), lang)
        return no_update, no_update, message, handlers.list_pending(actor, lang), no_update
