"""install_auth(server, redis_url): logins on the Flask server that Dash runs on.

- Flask-Login, with users loaded from the server-side login record (logins.py: the Redis
  copy on most requests, SQL when there is none): active operators, shift leads, leaders
  and admins. Logging in and staying logged in need only SQL; Redis makes it fast.
- GET /login (page.py), POST /login (rate-limited, guard.py), POST /logout (CSRF),
  GET /login/home (to the logged-in role's home page).
- Cookies: the session cookie HttpOnly + SameSite=Lax; "remember this screen" sets
  Flask-Login's remember cookie (HttpOnly, SameSite=Lax, 30 days). Both Secure with
  GRID_COOKIE_SECURE=1 (serve over HTTPS).
- SECRET_KEY: the config's (tests), else GRID_SECRET_KEY, else a random key kept in
  <GRID_VAR_DIR>/secret_key (mode 0600), shared by every worker on the machine.
- An anonymous GET of a page (/wall…, /console…, /metrics…, /admin…) is redirected to
  /login?next=<that page> before Dash serves it.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Flask, Response, current_app, redirect, request, session
from flask_login import LoginManager, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.api.context import get_services
from dashboard.auth import guard, logins
from dashboard.auth.access import PAGE_PATHS, current_actor, current_login, get_names
from dashboard.auth.accounts import build_home_path, get_login_staff, normalise_username
from dashboard.auth.page import build_login_page, t
from dashboard.auth.passwords import (
    MAX_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from dashboard.wall.i18n import pick_language
from models import settings
from models.actor import Actor
from models.types import utcnow

log = logging.getLogger(__name__)

NOT_PAGES = ("/wall/stream/", "/wall/state/", "/wall/panels/")  # under a page's path, but not pages
OUTAGE = "grid_login_outage"    # server.extensions: this app's logins.OutageNotice


def install_auth(server: Flask, redis_url: str) -> None:
    """Call after install(server, services): logins are checked against its Redis and SQL."""
    configure(server)
    manager = LoginManager(server)
    manager.session_protection = "basic"
    manager.user_loader(load_user)
    server.extensions[OUTAGE] = logins.OutageNotice()
    guard.install_csrf(server)
    limiter = guard.make_limiter(server, redis_url, on_breach=answer_rate_limited)
    server.add_url_rule("/login", "login_page", show_login, methods=["GET"])
    server.add_url_rule("/login", "login", guard.limit_login(limiter, do_login), methods=["POST"])
    server.add_url_rule("/logout", "logout", do_logout, methods=["POST"])
    server.add_url_rule("/login/home", "login_home", go_home, methods=["GET"])
    server.before_request(redirect_anonymous_pages)


# ---------------------------------------------------------------- settings

def configure(server: Flask) -> None:
    config = server.config
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = settings.env_str("GRID_SECRET_KEY") or read_secret_key(settings.var_dir())
    secure = read_cookie_secure()
    config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure,
                  REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
                  REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_DURATION=logins.REMEMBER)
    hops = settings.env_int("GRID_PROXY_HOPS", 0, minimum=0)
    if hops:  # behind nginx: the client's address (rate limits) and scheme from X-Forwarded-*
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)


def read_cookie_secure() -> bool:
    raw = settings.env_str("GRID_COOKIE_SECURE", "0")
    if raw not in ("0", "1"):
        raise settings.SettingsError(f"GRID_COOKIE_SECURE must be 0 or 1, not {raw!r}")
    return raw == "1"


def read_secret_key(folder: Path) -> str:
    """The machine's key: made once, atomically (two workers starting together agree)."""
    path = folder / "secret_key"
    if not path.exists():
        draft = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise settings.SettingsError(f"{path} holds no usable secret key: delete it to make a new one")
    return key


# ---------------------------------------------------------------- who is logged in

def load_user(user_id: str) -> logins.LoginUser | None:
    """Flask-Login's loader: a live login of an active person who may log in (the Redis
    copy, no SQL, on most requests; SQL when there is no copy or Redis is down)."""
    parsed = logins.parse_user_id(user_id)
    if parsed is None:
        return None
    services = get_services()
    return logins.read_login(services.sessions, services.redis, *parsed, lock=services.write_lock,
                             outage=current_app.extensions[OUTAGE])


def get_home(actor: Actor) -> str:
    area = get_names().area(actor.area_id)
    return build_home_path(actor.role, area and area.level, area and area.code)


# ---------------------------------------------------------------- routes

def get_safe_next(raw: str | None) -> str | None:
    """A same-site relative path to go to after logging in, or None (no open redirects:
    no scheme, no host, no //, no backslash, no control characters)."""
    if not raw or len(raw) > 2000 or not raw.startswith("/") or raw.startswith("//"):
        return None
    if "\\" in raw or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return None
    return raw


def render_login(lang: str, *, status: int = 200, error: str | None = None, username: str = "",
                 next_path: str | None = None) -> Response:
    from flask_wtf.csrf import generate_csrf

    login = current_login()
    body = build_login_page(lang=lang, csrf_token=generate_csrf(), next_path=next_path, username=username,
                            error=error, current=login and f"{login.actor.name} ({login.username})")
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def show_login():
    return render_login(pick_language(request.args.get("lang")),
                        next_path=get_safe_next(request.args.get("next")))


def do_login():
    form = request.form
    lang, next_path = pick_language(form.get("lang")), get_safe_next(form.get("next"))
    username, password = normalise_username(form.get("username")), form.get("password") or ""
    remember = form.get("remember") in ("1", "on", "true")
    services = get_services()
    with services.sessions() as db:
        staff = get_login_staff(db, username) if username else None
        stored = staff.password_hash if staff else None
        if len(password) > MAX_LENGTH or not verify_password(stored, password):
            log.info("failed login for %r from %s", username, guard.get_address())
            return render_login(lang, status=401, error=t("failed", lang), username=username,
                                next_path=next_path)
        if needs_rehash(stored):
            staff.password_hash = hash_password(password)
        staff.last_login_at = utcnow()
        # committed with last_login_at; the Redis copy is best effort (SQL is enough)
        user = logins.start_login(db, services.redis, staff, remember=remember, lock=services.write_lock)
    session.clear()  # a fresh session (and CSRF token) for the person now logged in
    login_user(user, remember=remember)
    return redirect(next_path or get_home(user.actor) + ("?lang=en" if lang == "en" else ""), 303)


def answer_rate_limited(limit) -> Response:
    lang = pick_language(request.form.get("lang"))
    wait = guard.seconds_until(limit)
    log.warning("login rate limit %s reached by %s", limit.limit, guard.get_address())
    response = render_login(lang, status=429, error=t("limited", lang, n=wait),
                            username=normalise_username(request.form.get("username")),
                            next_path=get_safe_next(request.form.get("next")))
    response.headers["Retry-After"] = str(wait)
    return response


def do_logout():
    login = current_login()
    if login is not None:  # ended in SQL (committed), then the Redis copy deleted
        services = get_services()
        with services.sessions() as db:
            logins.end_login(db, services.redis, login.login_id, lock=services.write_lock)
    lang = pick_language(request.form.get("lang") or request.args.get("lang"))
    session.clear()
    logout_user()  # after clear(): it marks the remember cookie for deletion
    return redirect("/login" + ("?lang=en" if lang == "en" else ""), 303)


def go_home():
    actor = current_actor()
    suffix = "?lang=en" if request.args.get("lang") == "en" else ""
    return redirect((get_home(actor) if actor else "/login") + suffix, 303)


def is_page_path(path: str) -> bool:
    if path.startswith(NOT_PAGES):
        return False
    return any(path == base or path.startswith(base + "/") for base in PAGE_PATHS.values())


def redirect_anonymous_pages():
    if request.method != "GET" or not is_page_path(request.path) or current_actor() is not None:
        return None
    target = "/login?next=" + quote(request.full_path.rstrip("?"), safe="/")
    return redirect(target + ("&lang=en" if request.args.get("lang") == "en" else ""), 302)
