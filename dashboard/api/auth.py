"""Bearer tokens for intake clients.

A token acts as `Actor.system("api:<name>")`: intake clients are trusted systems (an
importer, the simulator, a field-device gateway). People log in with sessions and act
with their own role and jurisdiction; that comes with the roles issue (issue 5).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from dashboard.api.context import get_services, get_session
from dashboard.api.errors import ApiError
from models.actor import Actor
from models.token import get_active_token, hash_token


@dataclass(frozen=True)
class Client:
    name: str
    actor: Actor

    @property
    def source(self) -> str:
        """incident.source for its reports; with client_ref it keys idempotent retries."""
        return f"api:{self.name}"


def get_client_for(token: str | None) -> Client | None:
    if not token:
        return None
    return get_services().tokens.get(hash_token(token), lambda: _load_client(token))


def _load_client(token: str) -> Client | None:
    row = get_active_token(get_session(), token)
    return row and Client(row.name, Actor.system(f"api:{row.name}"))


def require_bearer() -> Client:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    client = get_client_for(token.strip()) if scheme.lower() == "bearer" else None
    if client is None:
        error = ApiError(401, "unauthorized", "send a valid API token as 'Authorization: Bearer <token>'")
        error.headers = {"WWW-Authenticate": 'Bearer realm="api"'}
        raise error
    g.client = client
    return client


def get_client() -> Client:
    return g.client
