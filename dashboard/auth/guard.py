"""CSRF protection and the login rate limits.

CSRF (Flask-WTF's CSRFProtect) guards every POST, PUT, PATCH and DELETE:
- forms (login, logout) carry the token in a hidden `csrf_token` field;
- Dash callbacks (POST /_dash-update-component) carry it in the X-CSRFToken header, which
  dash-renderer copies from the `_csrf_token` cookie by itself; every HTML page response
  sets that cookie (readable by scripts, SameSite=Strict);
- /api/ and /open311/ are exempt here: they authenticate by a token a browser does not
  send on its own. /api/v1 requests authenticated by the session cookie instead are
  checked in dashboard/api/auth.py (X-CSRFToken header).
Tokens do not expire by time (WTF_CSRF_TIME_LIMIT None: a wall runs for days); they are
bound to the session, which logout clears. A refusal answers 403: JSON naming the field
X-CSRFToken under /api and /open311, a plain page elsewhere.

Rate limits (Flask-Limiter, moving windows, counters in Redis so they hold across gunicorn
workers; in process memory while Redis is unreachable) on POST /login:
- 5 failed logins a minute for one username from one address,
- 20 failed logins a minute from one address,
- 60 attempts a minute from one address (failures are counted after the answer, so this
  one, counted before, bounds what parallel attempts can try).
Past a limit the answer is 429 with Retry-After, before the password is even looked at:
that is how repeated bad passwords are slowed.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, jsonify, request
from flask_limiter import Limiter, RequestLimit
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from markupsafe import escape

from dashboard.auth.accounts import normalise_username
from dashboard.auth.logins import REDIS_DOWN
from workers import keys

log = logging.getLogger(__name__)

CSRF_COOKIE = "_csrf_token"  # the name dash-renderer reads
CSRF_HEADER = "X-CSRFToken"
TOKEN_PREFIXES = ("/api/", "/open311/")
# Config key, default. Read at each request, so a test app can set its own.
LOGIN_LIMITS = {"LOGIN_LIMIT_USERNAME": "5 per minute", "LOGIN_LIMIT_ADDRESS": "20 per minute",
                "LOGIN_LIMIT_CEILING": "60 per minute"}


# ---------------------------------------------------------------- CSRF

def install_csrf(server: Flask) -> CSRFProtect:
    server.config.update(WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_HEADERS=[CSRF_HEADER, "X-CSRF-Token"],
                         WTF_CSRF_CHECK_DEFAULT=False)  # protect_browser_requests decides
    csrf = CSRFProtect(server)
    server.before_request(protect_browser_requests)
    server.register_error_handler(CSRFError, answer_csrf_error)
    server.after_request(set_csrf_cookie)
    return csrf


def protect_browser_requests() -> None:
    """Check every state-changing request except the token APIs' (and unknown routes,
    which answer 404 / 405 as before)."""
    if request.endpoint and not request.path.startswith(TOKEN_PREFIXES):
        check_csrf()


def check_csrf() -> None:
    """Validate this request's CSRF token now (for session-authenticated API writes)."""
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()


def answer_csrf_error(exc: CSRFError):
    detail = f"{exc.description} Send the token from the {CSRF_COOKIE} cookie (or the page's " \
             f"csrf_token field) as the {CSRF_HEADER} header."
    if request.path.startswith(TOKEN_PREFIXES):
        return jsonify({"error": "csrf_failed", "detail": detail, "field": CSRF_HEADER}), 403
    page = (f"<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>403</title>"
            f"<body style=\"background:#070d1a;color:#e8eef7;font-family:sans-serif;margin:3rem\">"
            f"<h1>请求被拒绝（403）· Request refused</h1><p>{escape(detail)}</p>"
            f"<p><a style=\"color:#38bdf8\" href=\"/login\">重新登录 · Log in again</a></p></body></html>")
    return Response(page, status=403, mimetype="text/html")


def set_csrf_cookie(response: Response) -> Response:
    """Every HTML page hands the browser this session's CSRF token for Dash to send back."""
    if response.mimetype == "text/html" and request.method == "GET":
        response.set_cookie(CSRF_COOKIE, generate_csrf(), path="/", httponly=False, samesite="Strict",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


# ---------------------------------------------------------------- rate limits

def get_address() -> str:
    return request.remote_addr or "unknown"


def get_username_address() -> str:
    return f"{normalise_username(request.form.get('username'))}@{get_address()}"


def limits_uri(redis_url: str) -> str:
    """limits' name for the same Redis (it spells unix sockets redis+unix://)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def make_limiter(server: Flask, redis_url: str, on_breach) -> Limiter:
    """The limiter, stored at server.extensions["grid_limiter"]. The config's
    RATELIMIT_STORAGE_URI (tests: "memory://") wins over the app's Redis."""
    limiter = Limiter(get_address, app=server, strategy="moving-window",
                      storage_uri=server.config.get("RATELIMIT_STORAGE_URI") or limits_uri(redis_url),
                      key_prefix=keys.RATELIMIT_PREFIX, in_memory_fallback_enabled=True,
                      headers_enabled=False, on_breach=on_breach)
    server.extensions["grid_limiter"] = limiter
    return limiter


def get_limit(name: str):
    return lambda: current_app.config.get(name) or LOGIN_LIMITS[name]


def is_failure(response: Response) -> bool:
    return response.status_code == 401


def limit_login(limiter: Limiter, view):
    """Wrap the POST /login view in its limits (failures are counted: 401 answers)."""
    view = limiter.limit(get_limit("LOGIN_LIMIT_USERNAME"), key_func=get_username_address,
                         scope="login-username", deduct_when=is_failure)(view)
    view = limiter.limit(get_limit("LOGIN_LIMIT_ADDRESS"), key_func=get_address,
                         scope="login-address", deduct_when=is_failure)(view)
    return limiter.limit(get_limit("LOGIN_LIMIT_CEILING"), key_func=get_address, scope="login-all")(view)


def seconds_until(limit: RequestLimit) -> int:
    try:
        return max(1, int(limit.reset_at - time.time()) + 1)
    except REDIS_DOWN:  # a minute is the window anyway
        log.warning("could not read the rate limit's reset time", exc_info=True)
        return 60
