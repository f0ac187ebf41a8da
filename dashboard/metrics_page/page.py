"""/metrics: the leaders' page, and its callbacks.

The URL holds everything the page shows (/metrics?area=<code>&from=YYYY-MM-DD&to=YYYY-MM-DD
&lang=en, plus &rank=<indicator> and &dlevel=<department level> when not the default), and
the page is rendered whole on the server from it, so a view can be bookmarked and shared.
Two callbacks:
- `navigate`: a new date range, ranking indicator or department level opens the page's new
  address (the layout then checks the area again);
- `export`: the CSV or Excel file of exactly the tables on screen, recomputed for the
  logged-in person. The area code in the page's store is only a request: every callback
  asks for the logged-in actor (get_actor_for: role) and data.get_view checks role and
  jurisdiction again.
"""
from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, dcc, html, no_update

from dashboard.api.context import get_services
from dashboard.auth.access import build_forbidden_notice, get_actor_for, require_page
from dashboard.auth.ui import build_user_bar
from dashboard.metrics_page import components, data, export as exporting, ids, tables
from dashboard.metrics_page.definitions import INDICATORS, RANKABLE
from dashboard.metrics_page.text import pick_language, t
from models.actor import Actor
from models.errors import Forbidden, Invalid, NotFound
from models.types import utcnow

log = logging.getLogger(__name__)
REFUSED = (Forbidden, NotFound, Invalid)


def build_refusal(actor: Actor, error: Exception, lang: str) -> html.Div:
    """An unknown area says so; one outside the jurisdiction gets the common 403 notice."""
    if isinstance(error, NotFound):
        notice = html.Div([html.H1(t("not_found", lang)), dcc.Link(t("title", lang), href="/metrics")],
                          className="metrics-refused")
    else:
        return html.Div(build_forbidden_notice("forbidden.area", lang, actor), className="metrics",
                        id=ids.ROOT)  # the notice carries the user bar
    return html.Div([build_user_bar(actor, lang), notice], className="metrics", id=ids.ROOT)


def build_controls(view: data.MetricsView, lang: str) -> html.Section:
    period = view.period
    return html.Section([
        html.Label([t("range", lang), dcc.DatePickerRange(
            id=ids.RANGE, start_date=period.start.isoformat(), end_date=period.end.isoformat(),
            max_date_allowed=view.today.isoformat(), display_format="YYYY-MM-DD",
            first_day_of_week=1, updatemode="bothdates", minimum_nights=0,
            className="metrics-range")], className="metrics-control"),
        html.Label([t("rank_by", lang), dcc.Dropdown(
            id=ids.RANK, value=view.indicator, clearable=False, searchable=False,
            options=[{"label": INDICATORS[k].name(lang), "value": k} for k in RANKABLE],
            className="metrics-dropdown")], className="metrics-control"),
        html.Div([html.Button(t("export.csv", lang), id=ids.EXPORT_CSV, className="metrics-button"),
                  html.Button(t("export.xlsx", lang), id=ids.EXPORT_XLSX, className="metrics-button"),
                  html.Span(id=ids.EXPORT_STATUS, className="metrics-export-status", role="status")],
                 className="metrics-export"),
    ], className="metrics-controls")


def build_rankings(view: data.MetricsView, lang: str) -> html.Section:
    period = view.period
    children = view.children
    dlevel = view.departments.level

    def link(code: str) -> str:
        return components.build_href(code, period.start, period.end, lang, view.indicator,
                                     None)

    areas = (components.build_ranking(children, tables.list_ranking_rows(children, lang), lang, link)
             if children.level else html.P(t("areas.none", lang), className="metrics-empty"))
    departments = components.build_ranking(
        view.departments, tables.list_ranking_rows(view.departments, lang), lang)
    levels = dcc.RadioItems(id=ids.DEPARTMENT_LEVEL, value=str(dlevel), inline=True,
                            className="metrics-levels",
                            options=[{"label": t(f"level.{lv}", lang), "value": str(lv)}
                                     for lv in view.department_levels])
    title = t(f"areas.{children.level}", lang) if children.level else t("rankings", lang)
    return html.Section([
        html.Div([html.H2(title), html.Div(areas, id=ids.AREA_RANKING)], className="metrics-panel"),
        html.Div([html.Div([html.H2(t("departments", lang)), levels], className="metrics-panel-head"),
                  html.Div(departments, id=ids.DEPARTMENT_RANKING)], className="metrics-panel"),
    ], className="metrics-rankings")


def build_page(actor: Actor, view: data.MetricsView, lang: str, latest_day) -> html.Div:
    rows = tables.list_indicator_rows(view, lang)
    state = {"area": view.area.code, "from": view.period.start.isoformat(),
             "to": view.period.end.isoformat(), "lang": lang, "rank": view.indicator,
             "dlevel": str(view.departments.level)}
    return html.Div([
        dcc.Store(id=ids.STATE, data=state), dcc.Download(id=ids.DOWNLOAD),
        html.Header([build_user_bar(actor, lang), components.build_title(view, lang),
                     components.build_breadcrumb(view.trail, view.period, lang, view.indicator)],
                    className="metrics-header"),
        build_controls(view, lang),
        *components.build_notices(view, lang, latest_day),
        html.Section(components.build_cards(rows, lang), id=ids.CARDS, className="metrics-cards"),
        html.Section([html.Div([html.H2(t("stages", lang)), html.Div(
            components.build_stages(rows, view.current, lang), id=ids.STAGES, className="metrics-stages")],
            className="metrics-panel"),
            html.Div([html.H2(t("trend", lang)), dcc.Graph(
                id=ids.TREND, figure=components.build_trend_figure(view.trend, lang),
                config=components.GRAPH_CONFIG)], className="metrics-panel metrics-panel-trend")],
            className="metrics-row"),
        build_rankings(view, lang),
    ], className="metrics", id=ids.ROOT, lang="zh-CN" if lang == "zh" else "en")


def metrics_layout(area: str | None = None, lang: str | None = None, rank: str | None = None,
                   dlevel: str | None = None, **query):
    """The page for ?area=&from=&to=&lang=&rank=&dlevel= (Dash passes the query string)."""
    lang = pick_language(lang)
    actor = require_page("metrics", lang=lang)
    if not isinstance(actor, Actor):
        return actor  # the login link or the refusal notice
    period = data.get_period(query.get("from"), query.get("to"))
    with get_services().sessions() as session:
        try:
            view = data.get_view(session, actor, area, period, rank or data.DEFAULT_INDICATOR, dlevel)
        except Invalid:  # a hand-edited ranking choice: show the defaults
            view = data.get_view(session, actor, area, period)
        except (Forbidden, NotFound) as error:
            return build_refusal(actor, error, lang)
        latest = None if view.has_data else data.get_latest_day(session)
        return build_page(actor, view, lang, latest)


def build_download(session, actor: Actor | None, state: dict, kind: str) -> dict:
    """The export of the page `state` describes, as dcc.Download data. Checks the actor's
    role and jurisdiction again (data.get_view): raises Forbidden / NotFound / Invalid."""
    if actor is None:
        raise Forbidden("log in to export")
    lang = pick_language(state.get("lang"))
    period = data.get_period(state.get("from"), state.get("to"))
    view = data.get_view(session, actor, state.get("area"), period,
                         state.get("rank") or data.DEFAULT_INDICATOR, state.get("dlevel"))
    rows = tables.build_tables(view, lang, utcnow())
    writer, media = ((exporting.write_csv, exporting.CSV_TYPE) if kind == "csv"
                     else (exporting.write_xlsx, exporting.XLSX_TYPE))
    name = exporting.get_filename(view.area.code, period.start, period.end, kind)
    return dcc.send_bytes(writer(rows), name, type=media)


def navigate(start: str | None, end: str | None, rank: str | None, dlevel: str | None,
             state: dict | None):
    """The page's new address for a new range or ranking choice (the layout checks it)."""
    if not state or get_actor_for("metrics") is None or not start or not end:
        return no_update
    period = data.get_period(start, end)
    choice = {"from": period.start.isoformat(), "to": period.end.isoformat(), "rank": rank,
              "dlevel": dlevel}
    if all(state.get(k) == v for k, v in choice.items()):
        return no_update
    # A new department level only makes sense for this area; a new range keeps the choices.
    return components.build_href(state["area"], period.start, period.end, state.get("lang", "zh"),
                                 rank, dlevel)


def export(_csv_clicks, _xlsx_clicks, state: dict | None):
    kind = "csv" if dash.ctx.triggered_id == ids.EXPORT_CSV else "xlsx"
    lang = pick_language((state or {}).get("lang"))
    actor = get_actor_for("metrics")
    if actor is None:  # logged out since the page loaded, or a role without metrics
        return no_update, t("export.failed", lang, reason=t("login_first", lang))
    with get_services().sessions() as session:
        try:
            return build_download(session, actor, state or {}, kind), ""
        except REFUSED as error:
            log.info("metrics export refused for %s: %s", actor.name, error)
            return no_update, t("export.failed", lang, reason=t(
                "not_found" if isinstance(error, NotFound) else "forbidden", lang))


def register_metrics_pages(app: dash.Dash) -> None:
    dash.register_page("metrics", path="/metrics", layout=metrics_layout, title="指标分析")
    app.callback(Output("nav", "href", allow_duplicate=True),
                 Input(ids.RANGE, "start_date"), Input(ids.RANGE, "end_date"),
                 Input(ids.RANK, "value"), Input(ids.DEPARTMENT_LEVEL, "value"),
                 State(ids.STATE, "data"), prevent_initial_call=True)(navigate)
    app.callback(Output(ids.DOWNLOAD, "data"), Output(ids.EXPORT_STATUS, "children"),
                 Input(ids.EXPORT_CSV, "n_clicks"), Input(ids.EXPORT_XLSX, "n_clicks"),
                 State(ids.STATE, "data"), prevent_initial_call=True)(export)
