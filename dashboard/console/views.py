"""Pure builders for the queue and the incident drawer: plain data in, rows and components out.

Incident text (descriptions, reasons, names) is always a plain string child of an html
component or a DataTable cell of type text, which React renders as text: nothing here uses
dcc.Markdown or dangerously_allow_html, so "<script>" in a report shows as those characters.
"""
from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
from dash import html

from dashboard.console import ids
from dashboard.console.drawer import Drawer, Location, StageRow
from dashboard.console.text import (
    ACTIONS,
    FIELDS,
    LEVELS,
    PAYLOAD,
    ROLES,
    STAGE_STATUSES,
    STAGES,
    STATES,
    label,
    t,
)
from dashboard.wall.geo import BACKGROUND, BORDER, INK
from dashboard.wall.i18n import name_of
from dashboard.wall.names import Names
from models.enums import AreaLevel
from models.incident import Incident, IncidentEvent
from models.sla import CITY_ZONE

SUMMARY_CHARS = 30
LEVEL_BELOW = {AreaLevel.CITY: ("town_id", "village_id"), AreaLevel.TOWN: ("village_id", "grid_id"),
               AreaLevel.VILLAGE: ("grid_id",), AreaLevel.GRID: ("grid_id",)}


# ---------------------------------------------------------------- times

def format_local(moment: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(CITY_ZONE).strftime(fmt) if moment else "—"


def format_span(seconds: float, lang: str) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    d, h, m = (t(f"unit.{u}", lang) for u in "dhm")
    if days:
        return f"{days}{d}{hours}{h}".strip()
    return f"{hours}{h}{minutes:02d}{m}" if hours else f"{minutes}{m}"


def build_countdown(incident: Incident, now: datetime, lang: str) -> str:
    if incident.held_at is not None:
        return t("left.paused", lang)
    if incident.due_at is None:
        return "—"
    left = (incident.due_at - now).total_seconds()
    key = "left.remaining" if left > 0 else "left.overdue"
    return t(key, lang, t=format_span(left, lang))


# ---------------------------------------------------------------- the queue

def build_area_label(names: Names, incident: Incident, actor_level: str | None, lang: str) -> str:
    """The incident's place named below the lead's own level (a town lead reads village ·
    grid); the reported area when it has no such path (an imported district)."""
    fields = LEVEL_BELOW.get(actor_level, ("town_id", "village_id"))
    parts = [names.area(getattr(incident, f)) for f in fields]
    text = " · ".join(name_of(a, lang) for a in parts if a is not None)
    if text:
        return text
    area = names.area(incident.area_id)
    return name_of(area, lang) if area else "—"


def build_queue_columns(lang: str) -> list[dict]:
    keys = ("id", "item", "summary", "area", "state", "level", "department", "deadline", "left",
            "alarm")
    return [{"name": t(f"col.{k}", lang), "id": k, "type": "numeric" if k == "id" else "text"}
            for k in keys]


def build_queue_rows(incidents: list[Incident], names: Names, departments: dict[int, tuple[str, str]],
                     actor_level: str | None, lang: str, now: datetime) -> list[dict]:
    """DataTable rows. `id` doubles as the row id (selected_row_ids, active_cell.row_id);
    `version` is what a batch reassignment names as each row's expected version."""
    rows = []
    for i in incidents:
        item = names.item(i.item_id)
        department = departments.get(i.department_id)
        rows.append({
            "id": i.id, "version": i.version,
            "item": name_of(item, lang) if item else "—",
            "summary": (i.description or "")[:SUMMARY_CHARS],
            "area": build_area_label(names, i, actor_level, lang),
            "state": label(STATES, i.state, lang), "level": label(LEVELS, i.level, lang),
            "department": department[0 if lang == "zh" else 1] if department else "—",
            "deadline": format_local(i.due_at), "left": build_countdown(i, now, lang),
            "alarm": t("alarm.flag", lang) if i.alarm_at is not None else "",
            "overdue": int(i.due_at is not None and i.due_at < now and i.held_at is None),
        })
    return rows


def build_row_highlight(incident_id: int | None) -> list[dict]:
    """The DataTable's conditional styles: late rows red, the drawer's row marked."""
    styles = [{"if": {"filter_query": "{overdue} = 1"}, "color": "#fca5a5"},
              {"if": {"filter_query": '{alarm} != ""', "column_id": "alarm"}, "color": "#fbbf24",
               "fontWeight": "700"}]
    if incident_id is not None:
        styles.append({"if": {"filter_query": f"{{id}} = {int(incident_id)}"},
                       "backgroundColor": "#1e3a5f", "border": "1px solid #38bdf8"})
    return styles


# ---------------------------------------------------------------- the drawer

def department_name(departments: dict[int, tuple[str, str]], ident, lang: str) -> str:
    names = departments.get(ident) if isinstance(ident, int) else None
    return names[0 if lang == "zh" else 1] if names else ("—" if ident is None else f"#{ident}")


def _time(value) -> str:
    try:
        return format_local(datetime.fromisoformat(value), "%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(value)


def build_highlights(event: IncidentEvent, departments: dict, names: Names, lang: str) -> list[str]:
    """The parts of an event's payload a lead reads: departments by name, deadlines in
    Beijing time, level changes, how late a breach was."""
    p, out = event.payload or {}, []

    def add(key: str, text: str) -> None:
        out.append(f"{label(PAYLOAD, key, lang)}: {text}")

    dept = p.get("department_id")
    if isinstance(dept, list) and len(dept) == 2:
        add("department", " → ".join(department_name(departments, d, lang) for d in dept))
    elif dept is not None:
        add("department", department_name(departments, dept, lang))
    for key in ("deadline", "old_deadline", "new_deadline"):
        if p.get(key):
            add(key, _time(p[key]))
    if p.get("to_level"):
        add("level", f"{label(LEVELS, p.get('from_level'), lang)} → {label(LEVELS, p['to_level'], lang)}")
    if p.get("stage"):
        add("stage", label(STAGES, p["stage"], lang))
    if p.get("overdue_seconds") is not None:
        add("overdue", format_span(p["overdue_seconds"], lang))
    if isinstance(p.get("item_id"), list):
        add("item", " → ".join(name_of(names.item(i), lang) if names.item(i) else str(i)
                               for i in p["item_id"]))
    if isinstance(p.get("priority"), list):
        add("priority", " → ".join(map(str, p["priority"])))
    for key, name in (("dispute_outcome", "outcome"), ("satisfaction", "satisfaction"),
                      ("channel", "channel"), ("duplicate_of_id", "duplicate_of")):
        if p.get(key) is not None:
            add(name, t(f"outcome.{p[key]}", lang) if key == "dispute_outcome" else str(p[key]))
    if p.get("breaches"):
        add("breaches", ", ".join(label(STAGES, b.get("stage"), lang) for b in p["breaches"]))
    return out


def build_timeline(drawer: Drawer, names: Names, lang: str) -> html.Ol:
    entries, (open_, close_) = [], ("（", "）") if lang == "zh" else (" (", ")")
    for e in reversed(drawer.events):  # newest first
        move = label(STATES, e.to_state, lang) if e.from_state in (None, e.to_state) else (
            f"{label(STATES, e.from_state, lang)} → {label(STATES, e.to_state, lang)}")
        entries.append(html.Li([
            html.Div([html.Span(format_local(e.at, "%Y-%m-%d %H:%M:%S"), className="tl-at"),
                      html.Span(label(ACTIONS, e.action, lang), className="tl-action"),
                      html.Span(f"{e.actor_name}{open_}{label(ROLES, e.actor_role, lang)}{close_}",
                                className="tl-who"),
                      html.Span(move, className="tl-move")], className="tl-head"),
            html.Div(e.reason, className="tl-reason") if e.reason else None,
            html.Ul([html.Li(h) for h in build_highlights(e, drawer.departments, names, lang)],
                    className="tl-payload"),
        ], className=f"tl-entry tl-{e.action}", **{"data-version": str(e.version)}))
    return html.Ol(entries, className="console-timeline")


def build_stage_table(stages: list[StageRow], lang: str) -> html.Table:
    head = html.Tr([html.Th(x) for x in ("", t("stage.deadline", lang), t("stage.done", lang), "")])
    rows = []
    for s in stages:
        status = label(STAGE_STATUSES, s.status, lang)
        if s.over_seconds:
            status += f" · {t('stage.over', lang, t=format_span(s.over_seconds, lang))}"
        if s.rounds > 1:
            status += f" · {t('stage.rounds', lang, n=s.rounds)}"
        rows.append(html.Tr([html.Th(label(STAGES, s.stage, lang)), html.Td(format_local(s.deadline)),
                             html.Td(format_local(s.completed_at)),
                             html.Td(status, className=f"stage-status stage-{s.status}")],
                            **{"data-stage": str(s.stage), "data-status": str(s.status)}))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="console-stages")


def build_drawer_summary(drawer: Drawer, names: Names, lang: str) -> html.Div:
    i = drawer.incident
    item, category = names.item(i.item_id), names.category(i.category_id)
    return html.Div([
        html.Div([html.Span(f"#{i.id}", className="drawer-id"),
                  html.Span(label(STATES, i.state, lang), className=f"drawer-state state-{i.state}"),
                  html.Span(t("drawer.version", lang, v=i.version), className="drawer-version"),
                  html.Span(label(LEVELS, i.level, lang), className="drawer-level")],
                 className="drawer-title"),
        html.Div(" / ".join(name_of(x, lang) for x in (category, item) if x is not None),
                 className="drawer-item"),
        html.P(i.description, className="drawer-description"),
        html.Div([t("drawer.reported", lang, t=format_local(i.reported_at, "%Y-%m-%d %H:%M")),
                  f" · {i.reporter_name}" if i.reporter_name else "",
                  f" · {department_name(drawer.departments, i.department_id, lang)}"
                  if i.department_id else ""], className="drawer-meta"),
    ], className="drawer-summary")


def build_location_figure(location: Location, lang: str) -> go.Figure:
    """The grid's boundary and the reported point on a blank geo subplot (no tiles, no
    topojson: pass dashboard.wall.geo.MAP_CONFIG to the dcc.Graph)."""
    figure = go.Figure()
    if location.geometry is not None and location.area_code:
        feature = {"type": "Feature", "id": location.area_code, "geometry": location.geometry}
        figure.add_trace(go.Choropleth(
            geojson={"type": "FeatureCollection", "features": [feature]}, featureidkey="id",
            locations=[location.area_code], z=[1], showscale=False, hoverinfo="text",
            text=[location.name_zh if lang == "zh" else location.name_en],
            colorscale=[[0, "#1e3a5f"], [1, "#1e3a5f"]], marker={"line": {"color": BORDER, "width": 2}}))
    if location.lon is not None and location.lat is not None:
        figure.add_trace(go.Scattergeo(lon=[location.lon], lat=[location.lat], mode="markers",
                                       marker={"size": 14, "color": "#f87171", "symbol": "circle",
                                               "line": {"color": "#fff", "width": 2}},
                                       hoverinfo="skip"))
    figure.update_geos(visible=False, fitbounds="locations", projection_type="mercator",
                       bgcolor="rgba(0,0,0,0)")
    figure.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor=BACKGROUND, height=240,
                         font={"color": INK}, showlegend=False, dragmode=False)
    return figure


def build_action_buttons(actions, shortcuts: dict, lang: str) -> list:
    """One button per action the lead may take now. The ids are pattern ids; data-shortcut
    lets console.js press the button from the keyboard."""
    if not actions:
        return [html.Div(t("drawer.no_actions", lang), className="console-muted")]
    return [html.Button([label(ACTIONS, a, lang), html.Kbd(shortcuts[a].upper())],
                        id={"type": ids.ACT, "action": str(a)}, n_clicks=0,
                        className=f"console-act act-{a}", **{"data-shortcut": shortcuts[a]})
            for a in actions]


def field_label(field: str | None, lang: str) -> str:
    return label(FIELDS, field, lang) if field else ""
