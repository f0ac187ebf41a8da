"""Accounts and roles: who is logged in, what their role and jurisdiction let them open.

Modules: passwords (argon2id), accounts (users, demo accounts, home pages), logins (the
server-side record of each login: in SQL, with a short-lived copy in Redis), access (current_actor, covers_area,
require_page, jurisdiction_clause: what pages and callbacks call), login (install_auth:
Flask-Login, the /login and /logout routes, cookies), page (the login page's HTML), guard
(CSRF and the login rate limits), ui (the user bar pages put in their header).
"""
