"""Who is calling the API: a bearer token, or a logged-in person's session cookie.

- A token without a person (`create-token NAME`) is an intake client, a trusted system
  (importer, gateway, simulator): it acts as `Actor.system("api:<name>")`, everywhere.
- A token bound to a person (`create-token NAME --user USERNAME`, api_token.staff_id) acts
  as that person: their role and jurisdiction. An inactive person's token is refused (401).
- No Authorization header: the session cookie of a logged-in person (dashboard/auth), who
  acts as themselves. A write must then also carry the X-CSRFToken header (a browser sends
  cookies by itself; a header it only sends when our page's script asks).
Reads are limited to the caller's jurisdiction (incidents.py); actions check role and
jurisdiction in the lifecycle (models.actor.check_allowed).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from dashboard.api.context import get_services, get_session
from dashboard.api.errors import ApiError
from dashboard.auth.access import current_actor
from dashboard.auth.guard import check_csrf
from models.actor import Actor
from models.org import Staff
from models.token import get_active_token, hash_token


@dataclass(frozen=True)
class Client:
    name: str
    actor: Actor
    kind: str = "api"  # "api": a token; "staff": a person's session (name is their staff id)

    @property
    def source(self) -> str:
        """incident.source for its reports; with client_ref it keys idempotent retries."""
        return f"{self.kind}:{self.name}"


def get_client_for(token: str | None) -> Client | None:
    if not token:
        return None
    return get_services().tokens.get(hash_token(token), lambda: _load_client(token))


def _load_client(token: str) -> Client | None:
    session = get_session()
    row = get_active_token(session, token)
    if row is None:
        return None
    if row.staff_id is None:
        return Client(row.name, Actor.system(f"api:{row.name}"))
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    return Client(row.name, Actor.from_staff(staff))


def _unauthorized() -> ApiError:
    error = ApiError(401, "unauthorized", "send a valid API token as 'Authorization: Bearer <token>' "
                                          "(or log in: POST /login)")
    error.headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    return error


def require_bearer() -> Client:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    client = get_client_for(token.strip()) if scheme.lower() == "bearer" else None
    if client is None:
        raise _unauthorized()
    g.client = client
    return client


def require_client() -> Client:
    """A token if the request names one (never mixed with a session), else the session."""
    if "Authorization" in request.headers:
        return require_bearer()
    actor = current_actor()
    if actor is None:
        raise _unauthorized()
    if request.method in current_app.config["WTF_CSRF_METHODS"]:
        check_csrf()
    g.client = Client(str(actor.id), actor, kind="staff")
    return g.client


def get_client() -> Client:
    return g.client
