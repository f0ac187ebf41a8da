"""What each console callback does, given the logged-in actor: read or act, then hand plain
data to the builders. page.py's callbacks only fetch the actor (dashboard.auth.access) and
call these, so they can be exercised with any Actor inside an app context.

Every handler starts with require_console_actor (role) and checks jurisdiction on each
incident it touches; ids and versions from the browser are inputs to check, never facts.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from dashboard.api.context import get_session
from dashboard.console import actions, handover, ids, panels, queries, views
from dashboard.console.drawer import Drawer, get_drawer
from dashboard.console.text import ACTIONS, label, t
from dashboard.wall.names import Names
from models.actor import Actor
from models.enums import Action
from models.errors import DomainError
from models.routing import RoutingTable
from models.types import utcnow


def get_names() -> Names:
    return current_app.extensions["grid_names"]


def build_error(exc: DomainError, lang: str):
    return panels.build_outcome_message(actions.build_failure(None, "", exc), lang)


# ---------------------------------------------------------------- queue

def load_queue(actor: Actor, raw_filters: dict, page, lang: str, now: datetime | None = None) -> dict:
    """{"rows", "page", "page_count", "count"} for the table; {"error": component} if refused."""
    now = now or utcnow()
    try:
        actions.require_console_actor(actor)
        filters = queries.QueueFilters.from_inputs(**raw_filters)
    except DomainError as exc:
        return {"error": build_error(exc, lang)}
    session = get_session()
    result = queries.list_queue(session, actor, filters, now=now, page=page)
    departments = queries.list_department_names(session, {i.department_id for i in result.incidents})
    area = queries.get_actor_area(session, actor)
    rows = views.build_queue_rows(result.incidents, get_names(), departments,
                                  area.level if area else None, lang, now)
    return {"rows": rows, "page": result.page, "page_count": result.page_count,
            "count": t("queue.count", lang, n=result.total)}


def list_batch_departments(actor: Actor, ids, lang: str) -> list[dict]:
    """Departments that may take every selected incident (routing by item and area), for the
    batch reassign dropdown; only incidents the actor covers count."""
    actions.require_console_actor(actor)
    session = get_session()
    incidents = queries.list_covered_incidents(session, actor, [i for i in ids or [] if isinstance(i, int)])
    if not incidents:
        return []
    paths = sorted({a for i in incidents for a in (i.village_id, i.town_id, i.city_id) if a})
    table = RoutingTable.load(session, paths)
    common = None
    for incident in incidents:
        found = table.candidates(incident)
        common = [d for d in (common if common is not None else found) if d in found]
    names = queries.list_department_names(session, common or [])
    return [{"label": names[d][0 if lang == "zh" else 1], "value": d} for d in common or [] if d in names]


# ---------------------------------------------------------------- drawer

def build_selected(drawer: Drawer, allowed) -> dict:
    """What the browser keeps about the open incident: the version the lead is looking at
    (sent back as expected_version) and the form's choices. Checked again on every action."""
    i = drawer.incident
    return {"id": i.id, "version": i.version, "state": str(i.state), "is_dispute": drawer.is_dispute,
            "department_id": i.department_id, "candidates": [list(c) for c in drawer.candidates],
            "actions": [str(a) for a in allowed],
            "due_at": views.format_local(i.handle_due or i.due_at, "%Y-%m-%d %H:%M")
            if (i.handle_due or i.due_at) else ""}


def open_drawer(actor: Actor, incident_id, lang: str, now: datetime | None = None) -> dict:
    """{"summary", "stages", "timeline", "figure", "actions", "selected"}, or {"error"}."""
    now = now or utcnow()
    try:
        actions.require_console_actor(actor)
        ident = queries.parse_id("id", incident_id)
        drawer = get_drawer(get_session(), actor, ident, now)
    except DomainError as exc:
        return {"error": build_error(exc, lang)}
    names, allowed = get_names(), actions.list_allowed_actions(actor, drawer.incident)
    return {"summary": views.build_drawer_summary(drawer, names, lang),
            "stages": views.build_stage_table(drawer.stages, lang),
            "timeline": views.build_timeline(drawer, names, lang),
            "figure": views.build_location_figure(drawer.location, lang),
            "actions": views.build_action_buttons(allowed, actions.SHORTCUT, lang),
            "selected": build_selected(drawer, allowed)}


def build_department_options(selected: dict, action: str, lang: str) -> tuple[list[dict], int | None]:
    """Dispatch: the routing candidates, the first (the suggestion) preselected. Reassign:
    the candidates other than the current department, the first preselected."""
    current = selected.get("department_id")
    options, value = [], None
    for n, (ident, zh, en) in enumerate(selected.get("candidates") or []):
        if action == Action.REASSIGN and ident == current:
            continue
        name = zh if lang == "zh" else en
        if n == 0 and action == Action.DISPATCH:
            name += t("drawer.suggested", lang)
        options.append({"label": name, "value": ident})
        value = value if value is not None else ident
    return options, value


def build_form_state(pending: dict | None, selected: dict | None, lang: str) -> dict:
    """Which form is open and what it offers: {"open", "title", "rows" (field -> shown),
    "options", "department", "deadline"}. Only a form for the drawer's own incident, for an
    action it offers, is open."""
    action = (pending or {}).get("action")
    shown = bool(action and selected and pending.get("id") == selected.get("id")
                 and action in (selected.get("actions") or []) and action not in actions.IMMEDIATE)
    if not shown:
        return {"open": False, "title": "", "rows": dict.fromkeys(ids.F_ROWS, False),
                "options": [], "department": None, "deadline": ""}
    fields = actions.FIELDS[Action(action)]
    rows = {"department_id": "department_id" in fields,
            "deadline": "deadline" in fields or "new_deadline" in fields,
            "dispute_outcome": "dispute_outcome" in fields and bool(selected.get("is_dispute")),
            "reason": "reason" in fields}
    options, value = build_department_options(selected, action, lang) if rows["department_id"] else ([], None)
    return {"open": True, "title": f"#{selected['id']} · {label(ACTIONS, action, lang)}", "rows": rows,
            "options": options, "department": value,
            "deadline": selected.get("due_at", "") if action == Action.HOLD else ""}


# ---------------------------------------------------------------- actions

def form_values(action: str, department_id, deadline, outcome, reason) -> dict:
    """The form's fields under the names the action takes (one deadline box serves dispatch's
    optional deadline and a postponement's new deadline)."""
    name = "new_deadline" if action == Action.HOLD else "deadline"
    return {"department_id": department_id, name: deadline, "dispute_outcome": outcome,
            "reason": reason}


def run_action(actor: Actor, selected: dict | None, action: str, values: dict, lang: str,
               now: datetime | None = None):
    """Apply an action to the drawer's incident: (message, outcome)."""
    if not selected or not selected.get("id"):
        return panels.build_text_message(t("msg.pick", lang)), None
    outcome = actions.do_action(get_session(), actor, selected.get("id"), action,
                                expected_version=selected.get("version"), values=values, now=now)
    return panels.build_outcome_message(outcome, lang), outcome


def run_batch(actor: Actor, rows: list[dict], selected_ids, values: dict, lang: str,
              now: datetime | None = None):
    """Reassign the ticked rows, each with the version its row showed: (message, outcomes)."""
    wanted = {i for i in selected_ids or [] if isinstance(i, int)}
    picked = [{"id": r.get("id"), "version": r.get("version")} for r in rows or []
              if isinstance(r, dict) and r.get("id") in wanted]
    if not picked:
        return panels.build_text_message(t("msg.pick", lang)), []
    try:
        outcomes = actions.do_batch_reassign(get_session(), actor, picked, values, now=now)
    except DomainError as exc:
        return build_error(exc, lang), []
    return panels.build_batch_message(outcomes, lang), outcomes


# ---------------------------------------------------------------- handover

def preview_handover(actor: Actor, lang: str, now: datetime | None = None):
    now = now or utcnow()
    actions.require_console_actor(actor)
    session = get_session()
    start = handover.get_shift_start(session, actor, now)
    return panels.build_summary(handover.get_shift_summary(session, actor, start, now), start, now, lang)


def submit_handover(actor: Actor, notes: str | None, lang: str, now: datetime | None = None):
    session = get_session()
    try:
        row = handover.do_handover(session, actor, notes, now or utcnow())
        session.commit()
    except DomainError as exc:
        session.rollback()
        return build_error(exc, lang)
    return panels.build_text_message(t("handover.saved", lang, id=row.id), "ok")


def ack_handover(actor: Actor, handover_id, lang: str, now: datetime | None = None):
    session = get_session()
    try:
        row = handover.acknowledge_handover(session, actor, queries.parse_id("id", handover_id),
                                            now or utcnow())
        session.commit()
    except DomainError as exc:
        session.rollback()
        return build_error(exc, lang)
    return panels.build_text_message(t("handover.acked", lang, id=row.id), "ok")


def list_pending(actor: Actor, lang: str) -> list:
    actions.require_console_actor(actor)
    return panels.build_pending(handover.list_pending_handovers(get_session(), actor), actor, lang)
