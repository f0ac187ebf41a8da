"""The login page: one self-contained HTML document (no Dash, no scripts, no outside
requests), Chinese first, `?lang=en` for English, in the walls' dark colours. Every value
put into it is escaped."""
from __future__ import annotations

from urllib.parse import urlencode

from markupsafe import escape

from dashboard.wall.i18n import translate

TEXT = {
    "title": {"zh": "登录 · 网格化管理指挥调度", "en": "Log in · Grid Governance Command Centre"},
    "heading": {"zh": "网格化管理指挥调度", "en": "Grid Governance Command Centre"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "remember": {"zh": "记住此屏幕（30 天，用于指挥大屏）", "en": "Remember this screen (30 days, for walls)"},
    "submit": {"zh": "登录", "en": "Log in"},
    "other": {"zh": "English", "en": "中文"},
    "failed": {"zh": "用户名或密码不正确。", "en": "Wrong username or password."},
    "limited": {"zh": "登录尝试过于频繁，请 {n} 秒后再试。",
                "en": "Too many login attempts. Try again in {n} seconds."},
    "current": {"zh": "当前已登录：{name}", "en": "Logged in as {name}"},
    "logout": {"zh": "退出登录", "en": "Log out"},
}

STYLE = """
:root { color-scheme: dark; }
html, body { margin: 0; height: 100%; background: #070d1a; color: #e8eef7;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
body { display: flex; align-items: center; justify-content: center; }
main { width: 24rem; background: #0e1729; border: 1px solid #1d2a44; border-radius: 0.6rem;
  padding: 2rem 2.2rem; box-shadow: 0 0 2rem rgba(56, 189, 248, 0.08); }
h1 { font-size: 1.4rem; margin: 0 0 1.5rem; letter-spacing: 0.1rem; text-align: center; }
input, button { font-family: inherit; }
label { display: block; margin: 0.9rem 0 0.3rem; color: #8fa3bf; font-size: 0.95rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: 0.6rem 0.7rem;
  background: #070d1a; color: #e8eef7; border: 1px solid #1d2a44; border-radius: 0.35rem; font-size: 1rem; }
input:focus { outline: 2px solid #38bdf8; border-color: #38bdf8; }
.remember { display: flex; gap: 0.5rem; align-items: center; color: #8fa3bf; margin-top: 1rem; }
.remember label { margin: 0; }
button { margin-top: 1.4rem; width: 100%; padding: 0.7rem; font-size: 1.05rem; font-weight: 600;
  background: #38bdf8; color: #04111f; border: 0; border-radius: 0.35rem; cursor: pointer; }
.error { background: #7f1d1d; color: #fff; border-left: 0.3rem solid #ef4444; padding: 0.6rem 0.8rem;
  border-radius: 0.3rem; margin-bottom: 0.5rem; }
.note { color: #8fa3bf; font-size: 0.9rem; margin-bottom: 0.5rem; }
.note { display: flex; justify-content: space-between; align-items: center; gap: 1rem; }
.logout { margin: 0; }
.logout button { margin: 0; width: auto; padding: 0.25rem 0.8rem; font-size: 0.9rem; font-weight: 400;
  background: transparent; color: #e8eef7; border: 1px solid #1d2a44; }
.lang { text-align: right; margin-top: 1.2rem; font-size: 0.9rem; }
.lang a { color: #38bdf8; }
"""


def t(key: str, lang: str, **values) -> str:
    return translate(TEXT, key, lang, **values)


def build_current(lang: str, csrf_token: str, name: str) -> str:
    """Who is logged in now, with a logout button (a kiosk changing hands)."""
    return (f'<div class="note" id="login-current">{escape(t("current", lang, name=name))}'
            '<form method="post" action="/logout" class="logout">'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="lang" value="{escape(lang)}">'
            f'<button type="submit" id="logout-submit">{escape(t("logout", lang))}</button></form></div>')


def build_login_page(*, lang: str, csrf_token: str, next_path: str | None, username: str = "",
                     error: str | None = None, current: str | None = None) -> str:
    """The page as a string; `error` is a key of TEXT already formatted by the caller."""
    other = "zh" if lang == "en" else "en"
    query = {"lang": other, **({"next": next_path} if next_path else {})}
    switch = escape("/login?" + urlencode(query))
    parts = [
        f'<!DOCTYPE html><html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(t('title', lang))}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{escape(t('heading', lang))}</h1>",
        f'<div class="error" role="alert" id="login-error">{escape(error)}</div>' if error else "",
        build_current(lang, csrf_token, current) if current else "",
        '<form method="post" action="/login" id="login-form" autocomplete="on">',
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">',
        f'<input type="hidden" name="next" value="{escape(next_path or "")}">',
        f'<input type="hidden" name="lang" value="{escape(lang)}">',
        f'<label for="username">{escape(t("username", lang))}</label>',
        (f'<input type="text" id="username" name="username" value="{escape(username)}" required '
         'autocapitalize="none" autocomplete="username" maxlength="64" autofocus>'),
        f'<label for="password">{escape(t("password", lang))}</label>',
        ('<input type="password" id="password" name="password" required autocomplete="current-password" '
         'maxlength="1024">'),
        '<div class="remember"><input type="checkbox" id="remember" name="remember" value="1">',
        f'<label for="remember">{escape(t("remember", lang))}</label></div>',
        f'<button type="submit" id="login-submit">{escape(t("submit", lang))}</button></form>',
        f'<div class="lang"><a href="{switch}">{escape(t("other", lang))}</a></div>',
        "</main></body></html>",
    ]
    return "".join(parts)
