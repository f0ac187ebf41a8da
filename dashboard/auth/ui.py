"""The user bar a page puts in its header: who is logged in, their role and area, the
pages their role may open, and a logout button (a real form POSTing /logout with the CSRF
token, so logging out works even if the page's scripts do not)."""
from __future__ import annotations

from dash import dcc, html
from flask_wtf.csrf import generate_csrf

from dashboard.auth.access import PAGE_PATHS, get_names, list_pages
from dashboard.wall.i18n import name_of
from models.actor import Actor

ROLE_LABELS = {
    "operator": {"zh": "值班员", "en": "Operator"},
    "shift_lead": {"zh": "值班长", "en": "Shift lead"},
    "leader": {"zh": "领导", "en": "Leader"},
    "admin": {"zh": "系统管理员", "en": "Administrator"},
    "grid_worker": {"zh": "网格员", "en": "Grid worker"},
    "handler": {"zh": "部门处置人员", "en": "Department handler"},
    "system": {"zh": "系统", "en": "System"},
}
PAGE_LABELS = {
    "wall": {"zh": "指挥大屏", "en": "Wall"},
    "console": {"zh": "值班长工作台", "en": "Console"},
    "metrics": {"zh": "指标分析", "en": "Metrics"},
    "admin": {"zh": "系统管理", "en": "Admin"},
}
LOGOUT = {"zh": "退出登录", "en": "Log out"}


def role_label(role: str, lang: str) -> str:
    return ROLE_LABELS.get(str(role), {"zh": str(role), "en": str(role)})[lang]


def page_href(page: str, actor: Actor, lang: str) -> str:
    """The page's address for this actor (an operator's wall is their own area's)."""
    path = PAGE_PATHS[page]
    if page == "wall":
        area = get_names().area(actor.area_id)
        if area is not None and area.level in ("town", "village"):
            path = f"/wall/{area.level}/{area.code}"
    return path + ("?lang=en" if lang == "en" else "")


def build_logout_form(lang: str) -> html.Form:
    return html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),  # dash.html has no <input>
        dcc.Input(type="hidden", name="lang", value=lang),
        html.Button(LOGOUT[lang], type="submit", className="user-bar-logout", id="user-bar-logout"),
    ], action="/logout", method="POST", className="user-bar-form")


def build_user_bar(actor: Actor, lang: str) -> html.Div:
    lang = "en" if lang == "en" else "zh"
    area = get_names().area(actor.area_id)
    links = [html.A(PAGE_LABELS[page][lang], href=page_href(page, actor, lang),
                    className=f"user-bar-link user-bar-{page}") for page in list_pages(actor)]
    return html.Div([
        html.Span(actor.name, className="user-bar-name"),
        html.Span(role_label(actor.role, lang), className="user-bar-role"),
        html.Span(name_of(area, lang) if area else "", className="user-bar-area"),
        html.Nav(links, className="user-bar-links"),
        build_logout_form(lang),
    ], className="user-bar", id="user-bar", **{"data-role": str(actor.role)})
