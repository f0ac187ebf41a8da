"""/console: the shift lead's queue, incident drawer, actions and shift handover.

The page is rendered whole on the server (queue included), so the first paint needs no
callback. Callbacks (registered with app.callback) are endpoints: each one asks
dashboard.auth.access.current_actor() who is calling and hands that actor to
dashboard.console.handlers, which checks role and jurisdiction again. The browser keeps
only the page language, the open incident's id and the version the lead is looking at
(sent back as expected_version); the area always comes from the login.

- refresh_queue: filters, paging, every TICK, the live feed (console.js, via the walls'
  event stream) and after each action. Keeps the ticked rows ticked by id, so a refresh
  never moves a batch selection onto other incidents.
- show_drawer: a row clicked or reached with j/k, a reload after an action, or Esc.
- act: the action buttons, the form's confirm/cancel and batch reassign.
- show_form, show_batch: which form fields and departments to offer.
- handover: preview, submit, acknowledge, and the pending list on every TICK.
"""
from __future__ import annotations

import warnings

import dash
from dash import dash_table, dcc, html

from dashboard.api.context import get_session
from dashboard.auth.access import get_actor_for, require_page
from dashboard.auth.ui import build_user_bar
from dashboard.console import handlers, ids, panels, queries, views
from dashboard.console.callbacks import register_console_callbacks
from dashboard.console.text import LEVELS, STATES, label, pick_language, t
from dashboard.wall.geo import MAP_CONFIG
from dashboard.wall.i18n import name_of
from models.actor import Actor
from models.enums import COMMAND_LEVELS
from models.enums import State as IncidentState

TICK_MS = 30_000
FONT = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
        '"WenQuanYi Zen Hei", sans-serif')
CELL = {"textAlign": "left", "backgroundColor": "#0e1729", "color": "#e8eef7", "fontFamily": FONT,
        "fontSize": "13px", "border": "1px solid #1d2a44", "padding": "3px 6px", "maxWidth": "9em",
        "overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}
WIDER = [{"if": {"column_id": c}, "maxWidth": "13em"} for c in ("summary", "area")]
HEADER = {"backgroundColor": "#13203a", "color": "#8fa3bf", "fontWeight": "600"}
# Dash 4 warns on every DataTable it builds that the component will move to dash-ag-grid;
# the console needs nothing ag-grid adds, and the warning would repeat on every page load.
warnings.filterwarnings("ignore", message=r"\s*The dash_table\.DataTable will be removed",
                        category=DeprecationWarning)


def get_actor() -> Actor | None:
    """The caller, if their role may use the console (handlers check each incident)."""
    return get_actor_for("console")


def build_filters(actor: Actor, lang: str) -> html.Div:
    session = get_session()
    categories = [{"label": name_of(c, lang), "value": c.id} for c in queries.list_categories(session)]
    departments = [{"label": names[0 if lang == "zh" else 1], "value": ident}
                   for ident, names in sorted(queries.list_queue_departments(session, actor).items())]
    states = [{"label": label(STATES, s, lang), "value": str(s)} for s in IncidentState]
    levels = [{"label": label(LEVELS, lv, lang), "value": str(lv)} for lv in COMMAND_LEVELS]

    def pick(ident, key, options, multi=False):
        return dcc.Dropdown(id=ident, options=options, multi=multi, placeholder=t(key, lang),
                            className="console-filter")

    return html.Div([
        pick(ids.FILTER_STATE, "filter.state", states, multi=True),
        pick(ids.FILTER_CATEGORY, "filter.category", categories),
        pick(ids.FILTER_LEVEL, "filter.level", levels),
        pick(ids.FILTER_DEPARTMENT, "filter.department", departments),
        dcc.Checklist(id=ids.FILTER_OVERDUE, options=[{"label": t("filter.overdue", lang), "value": "1"}],
                      value=[], className="console-overdue"),
        html.Span(id=ids.QUEUE_COUNT, className="console-count"),
    ], className="console-filters")


def build_queue(first: dict, lang: str) -> html.Section:
    table = dash_table.DataTable(
        id=ids.QUEUE, columns=views.build_queue_columns(lang), data=first.get("rows", []),
        row_selectable="multi", selected_rows=[], page_action="custom", page_current=0,
        page_size=queries.PAGE_SIZE, page_count=first.get("page_count", 1), sort_action="none",
        cell_selectable=True, style_as_list_view=True, style_data_conditional=views.build_row_highlight(None),
        style_table={"overflowX": "auto"}, style_cell=CELL, style_cell_conditional=WIDER,
        style_header=HEADER,
        css=[{"selector": ".dash-spreadsheet-menu", "rule": "display: none"}])
    batch = html.Div([
        html.Span(t("batch", lang), className="console-label"),
        html.Span(t("batch.none", lang), id=ids.BATCH_SELECTION, className="console-muted"),
        dcc.Dropdown(id=ids.BATCH_DEPARTMENT, options=[], placeholder=t("form.department", lang),
                     className="console-batch-dept"),
        dcc.Input(id=ids.BATCH_REASON, type="text", placeholder=t("form.reason", lang), maxLength=4000),
        html.Button(t("batch.go", lang), id=ids.BATCH_SUBMIT, n_clicks=0, className="console-act"),
    ], className="console-batch")
    return html.Section([html.H2(t("queue", lang)), table, batch], className="console-queue")


def build_form(lang: str) -> html.Div:
    outcomes = [{"label": t(f"outcome.{v}", lang), "value": v} for v in ("mediated", "failed")]
    return html.Div([
        html.Div(id=ids.FORM_TITLE, className="form-title"),
        html.Label([t("form.department", lang), dcc.Dropdown(id=ids.F_DEPARTMENT, clearable=False)],
                   id=ids.F_ROWS["department_id"]),
        html.Label([t("form.deadline", lang), dcc.Input(id=ids.F_DEADLINE, type="text", debounce=False,
                                                        placeholder="YYYY-MM-DD HH:MM")],
                   id=ids.F_ROWS["deadline"]),
        html.Label([t("form.outcome", lang), dcc.RadioItems(id=ids.F_OUTCOME, options=outcomes, inline=True)],
                   id=ids.F_ROWS["dispute_outcome"]),
        html.Label([t("form.reason", lang), dcc.Textarea(id=ids.F_REASON, maxLength=4000)],
                   id=ids.F_ROWS["reason"]),
        html.Div([html.Button(t("form.submit", lang), id=ids.F_SUBMIT, n_clicks=0, className="console-act primary"),
                  html.Button(t("form.cancel", lang), id=ids.F_CANCEL, n_clicks=0, className="console-act")],
                 className="form-buttons"),
    ], id=ids.FORM, className="console-form hidden")


def build_drawer(lang: str) -> html.Aside:
    return html.Aside([
        html.Div([html.H2(t("drawer.actions", lang)),
                  html.Button("×", id=ids.DRAWER_CLOSE, n_clicks=0, title=t("drawer.close", lang),
                              className="drawer-close")], className="drawer-head"),
        html.Div(t("drawer.empty", lang), id=ids.DRAWER_SUMMARY),
        html.Div(id=ids.ACTIONS, className="drawer-actions"), build_form(lang),
        html.H3(t("drawer.stages", lang)), html.Div(id=ids.STAGES),
        html.H3(t("drawer.location", lang)),
        dcc.Graph(id=ids.MAP, config=MAP_CONFIG, className="drawer-map",
                  figure=views.build_location_figure(views.Location(None, None), lang)),
        html.H3(t("drawer.timeline", lang)), html.Div(id=ids.TIMELINE),
    ], id=ids.DRAWER, className="console-drawer closed")


def build_handover(actor: Actor, lang: str) -> html.Section:
    return html.Section([
        html.H2(t("handover", lang)),
        html.Button(t("handover.start", lang), id=ids.HANDOVER_START, n_clicks=0, className="console-act"),
        html.Div([html.Div(id=ids.HANDOVER_PREVIEW),
                  dcc.Textarea(id=ids.HANDOVER_NOTES, placeholder=t("handover.notes", lang), maxLength=4000),
                  html.Button(t("handover.submit", lang), id=ids.HANDOVER_SUBMIT, n_clicks=0,
                              className="console-act primary")], id=ids.HANDOVER_FORM, className="hidden"),
        html.Div(id=ids.HANDOVER_MESSAGE),
        html.H3(t("handover.pending", lang)),
        html.Div(handlers.list_pending(actor, lang), id=ids.HANDOVER_PENDING),
    ], className="console-handover")


def build_console(lang: str | None = None, **_):
    lang = pick_language(lang)
    actor = require_page("console", lang=lang)
    if not isinstance(actor, Actor):
        return actor  # the login link or the 403 notice
    first = handlers.load_queue(actor, {}, 0, lang)
    return html.Div([
        dcc.Store(id=ids.CTX, data={"lang": lang}), dcc.Store(id=ids.LIVE), dcc.Store(id=ids.CURSOR),
        dcc.Store(id=ids.SELECTED), dcc.Store(id=ids.REFRESH), dcc.Store(id=ids.PENDING),
        dcc.Interval(id=ids.TICK, interval=TICK_MS),
        html.Header([html.H1(t("title", lang)), html.Span(t("help.hint", lang), className="console-muted"),
                     build_user_bar(actor, lang)], className="console-header"),
        build_filters(actor, lang),
        html.Div(first.get("error"), id=ids.MESSAGE, className="console-message", **{"aria-live": "polite"}),
        html.Div([build_queue(first, lang), build_drawer(lang)], className="console-main"),
        build_handover(actor, lang),
        panels.build_help(lang),
    ], id=ids.ROOT, className="console", lang="zh-CN" if lang == "zh" else "en",
        **{"data-area": str(actor.area_id or ""), "data-lang": lang})


def register_console_pages(app: dash.Dash) -> None:
    dash.register_page("console", path="/console", layout=build_console, title="值班长工作台")
    register_console_callbacks(app, get_actor)
