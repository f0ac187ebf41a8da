"""Who is asking, and may they: the interface every page, callback and route calls.

    current_actor() -> Actor | None        the logged-in person (None: anonymous)
    covers_area(actor, area_id) -> bool    the area is the actor's own or beneath it
    require_page(page, area_id=None, lang=None) -> Actor | component   for layout functions
    get_actor_for(page, area_id=None) -> Actor | None                  for callbacks
    require_actor(page, area_id=None) -> Actor (raises 401/403 JSON)   for Flask routes
    jurisdiction_clause(actor)             a WHERE clause on Incident for list queries
    jurisdiction_filter(actor, columns)    the same for any table with area-path columns

Jurisdiction is an area and everything beneath it (the area table's city_id / town_id /
village_id columns; walked here through the per-process Names cache). Admin and system
act everywhere; a handler's jurisdiction is their department's incidents, not an area.
A callback is an endpoint: it checks the actor itself and never trusts an area id the
browser sent.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import dash
from dash import dcc, html
from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import ColumnElement, false, true

from dashboard.auth.logins import LoginUser
from dashboard.wall.names import Names
from models.actor import Actor
from models.enums import AreaLevel, Role
from models.errors import DomainError, Forbidden
from models.incident import Incident

PAGE_ROLES: dict[str, frozenset[Role]] = {
    "wall": frozenset({Role.OPERATOR, Role.SHIFT_LEAD, Role.LEADER, Role.ADMIN}),
    "console": frozenset({Role.SHIFT_LEAD, Role.ADMIN}),
    "metrics": frozenset({Role.LEADER, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
}
# Where each page lives; GET requests for these paths from an anonymous browser are sent
# to /login?next=... before any page renders (login.py).
PAGE_PATHS = {"wall": "/wall", "console": "/console", "metrics": "/metrics", "admin": "/admin"}
EVERYWHERE = frozenset({Role.ADMIN, Role.SYSTEM})
INCIDENT_COLUMNS = {AreaLevel.CITY: Incident.city_id, AreaLevel.TOWN: Incident.town_id,
                    AreaLevel.VILLAGE: Incident.village_id, AreaLevel.GRID: Incident.grid_id}

TEXT = {
    "login.title": {"zh": "请先登录", "en": "Please log in"},
    "login.body": {"zh": "此页面需要登录后查看。", "en": "This page needs you to log in."},
    "login.link": {"zh": "前往登录", "en": "Log in"},
    "forbidden.title": {"zh": "无权访问（403）", "en": "Not allowed (403)"},
    "forbidden.role": {"zh": "您的角色不能打开此页面。", "en": "Your role cannot open this page."},
    "forbidden.area": {"zh": "此区域不在您的管辖范围内。", "en": "This area is outside your jurisdiction."},
    "forbidden.home": {"zh": "返回我的首页", "en": "Go to my home page"},
}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


def current_login() -> LoginUser | None:
    """The Flask-Login user of this request (with username and login id), or None."""
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if isinstance(user, LoginUser) else None


def current_actor() -> Actor | None:
    """The logged-in person as an Actor (role, name, id, area_id, department_id), or None."""
    login = current_login()
    return login.actor if login else None


def get_names() -> Names:
    return current_app.extensions["grid_names"]


def covers_area(actor: Actor | None, area_id: int | None) -> bool:
    """Whether `area_id` is the actor's area or lies beneath it (admin and system: any area)."""
    if actor is None or area_id is None:
        return False
    if actor.role in EVERYWHERE:
        return True
    if actor.role == Role.HANDLER or actor.area_id is None:
        return False
    names, seen = get_names(), 0
    area = names.area(area_id)
    while area is not None and seen < 8:  # the tree is four levels deep
        if area.id == actor.area_id:
            return True
        area, seen = names.area(area.parent_id), seen + 1
    return False


def may_open(actor: Actor | None, page: str, area_id: int | None = None) -> bool:
    return (actor is not None and actor.role in PAGE_ROLES[page]
            and (area_id is None or covers_area(actor, area_id)))


def get_actor_for(page: str, area_id: int | None = None) -> Actor | None:
    """For callbacks: the actor if they may open `page` (and `area_id`), else None."""
    actor = current_actor()
    return actor if may_open(actor, page, area_id) else None


def require_actor(page: str, area_id: int | None = None) -> Actor:
    """For Flask routes (streams, exports): the actor, or 401 / 403 as JSON."""
    actor = current_actor()
    if actor is None:
        raise Unauthorized("log in first: this needs a logged-in user (POST /login)")
    if actor.role not in PAGE_ROLES[page]:
        raise Forbidden(f"role {actor.role} may not open {page}")
    if area_id is not None and not covers_area(actor, area_id):
        raise Forbidden(f"area {area_id} is outside {actor.name}'s jurisdiction", field="area_id")
    return actor


def require_page(page: str, area_id: int | None = None, lang: str | None = None):
    """For Dash layout functions: the Actor when allowed; otherwise a component to return
    instead of the page (anonymous: a redirect to /login?next=<this page>; wrong role or
    outside the jurisdiction: a 403 notice). `lang` defaults to the page's ?lang=."""
    lang = lang if lang in ("zh", "en") else get_page_language()
    actor = current_actor()
    if actor is None:
        return build_login_notice(get_current_path(), lang)
    if actor.role not in PAGE_ROLES[page]:
        return build_forbidden_notice("forbidden.role", lang, actor)
    if area_id is not None and not covers_area(actor, area_id):
        return build_forbidden_notice("forbidden.area", lang, actor)
    return actor


def _t(key: str, lang: str) -> str:
    return TEXT[key][lang]


def build_login_notice(next_path: str, lang: str) -> html.Div:
    href = f"/login?next={quote(next_path, safe='/')}" + ("&lang=en" if lang == "en" else "")
    return html.Div([
        dcc.Location(id="auth-redirect", href=href, refresh=True),
        html.H1(_t("login.title", lang)), html.P(_t("login.body", lang)),
        html.A(_t("login.link", lang), href=href, className="auth-link"),
    ], className="auth-notice auth-login", lang="zh-CN" if lang == "zh" else "en")


def build_forbidden_notice(reason: str, lang: str, actor: Actor) -> html.Div:
    """The 403 notice, with the user bar: where this person may go instead, and logout."""
    from dashboard.auth.ui import build_user_bar  # ui builds on this module

    return html.Div([
        build_user_bar(actor, lang),
        html.H1(_t("forbidden.title", lang)), html.P(_t(reason, lang)),
        html.A(_t("forbidden.home", lang), href="/login/home" + ("?lang=en" if lang == "en" else ""),
               className="auth-link"),
    ], className="auth-notice auth-forbidden", lang="zh-CN" if lang == "zh" else "en",
        **{"data-status": "403"})


def _callback_inputs() -> Mapping:
    try:
        return dash.callback_context.inputs
    except (dash.exceptions.MissingCallbackContextException, LookupError):
        return {}


def get_current_path() -> str:
    """The page's path and query: the Dash pages router's location inside its callback,
    else this request's own path."""
    inputs = _callback_inputs()
    path = inputs.get("_pages_location.pathname")
    if path:
        return path + (inputs.get("_pages_location.search") or "")
    if not has_request_context() or request.path.startswith("/_dash"):
        return "/"
    return request.full_path.rstrip("?")


def get_page_language() -> str:
    search = _callback_inputs().get("_pages_location.search") or ""
    if not search and has_request_context():
        return "en" if request.args.get("lang") == "en" else "zh"
    return "en" if "lang=en" in search else "zh"


def jurisdiction_filter(actor: Actor, columns: Mapping[str, ColumnElement]) -> ColumnElement:
    """A WHERE clause keeping rows in the actor's jurisdiction, for a table whose area path
    is `columns` ({"city": T.city_id, "town": T.town_id, "village": ..., "grid": ...}):
    true for admin and system, false for anyone with no area."""
    if actor.role in EVERYWHERE:
        return true()
    area = get_names().area(actor.area_id) if actor.area_id is not None else None
    if area is None or area.level not in columns:
        return false()
    return columns[area.level] == area.id


def jurisdiction_clause(actor: Actor) -> ColumnElement:
    """A WHERE clause on Incident matching Actor.covers: the actor's area and beneath
    (handlers: their department's incidents)."""
    if actor.role == Role.HANDLER:
        return Incident.department_id == actor.department_id if actor.department_id else false()
    return jurisdiction_filter(actor, INCIDENT_COLUMNS)


def list_pages(actor: Actor | None) -> list[str]:
    """The pages this actor's role may open, in menu order."""
    return [page for page in PAGE_PATHS if may_open(actor, page)]
