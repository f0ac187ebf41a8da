"""Errors from Flask itself (404, 405, 500) in the API's JSON shape, rollback of a request
that fails half-way, and the Dash pages left alone."""
from __future__ import annotations

from sqlalchemy import select

from dashboard.api.context import get_session, writing
from dashboard.api.errors import ApiError
from dashboard.app import dispose
from models import Area, Item, lifecycle
from models.actor import Actor
from models.enums import Channel
from tests.api_support import (  # noqa: F401  (fixtures)
    GRID,
    api,
    auth,
    client,
    make_api,
    post_report,
    token,
    written,
)


def test_it_answers_an_unknown_api_path_with_json_404(api, client, auth):
    for path in ("/api/v1/nothing", "/api/v1/incidents/12/notes", "/api/v2/incidents"):
        response = client.get(path, headers=auth)
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"


def test_it_answers_a_wrong_method_with_json_405(client, auth):
    for method, path in (("DELETE", "/api/v1/incidents"), ("PUT", "/api/v1/incidents:batch"),
                         ("PATCH", "/api/v1/incidents:batch")):
        response = client.open(path, method=method, headers=auth)
        assert response.status_code == 405, path
        body = response.get_json()
        assert (body["error"], body["field"]) == ("method_not_allowed", None) and body["detail"]
        assert method not in response.headers["Allow"] and "POST" in response.headers["Allow"]


def _write_then_fail():
    """A route that writes a real incident in the request's session, then fails."""
    session = get_session()
    lifecycle.report(session, Actor.system("test"),
                     item_id=session.scalar(select(Item.id).where(Item.code == "14-01")),
                     area_id=session.scalar(select(Area.id).where(Area.code == GRID)),
                     description="写到一半", channel=Channel.APP)
    raise RuntimeError("the disk is full")


def _commit_then_fail_softly():
    with writing(get_session()):
        pass
    raise ApiError(418, "teapot", "short and stout")


def test_it_answers_an_unexpected_error_with_json_500_and_rolls_back(city_engine, redis_server, redis, auth):
    app = make_api(city_engine, redis_server.url)
    app.server.add_url_rule("/api/v1/test-failure", view_func=_write_then_fail, methods=["POST"])
    app.server.add_url_rule("/api/v1/test-teapot", view_func=_commit_then_fail_softly, methods=["POST"])
    client = app.server.test_client()
    try:
        post_report(client, auth)
        before = written(app)
        response = client.post("/api/v1/test-failure", headers=auth)
        assert response.status_code == 500
        assert response.get_json() == {"error": "internal_error", "field": None,
                                       "detail": "the server failed; its log has the details"}
        assert written(app) == before
        teapot = client.post("/api/v1/test-teapot", headers=auth)
        assert (teapot.status_code, teapot.get_json()["error"]) == (418, "teapot")
    finally:
        dispose(app)


def test_it_leaves_the_dash_pages_to_dash(client):
    page = client.get("/")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "网格化管理指挥调度" in page.get_data(as_text=True)
    layout = client.get("/_dash-layout")  # Dash Pages: the shell, whose page container the
    assert layout.status_code == 200 and "_pages_content" in str(layout.get_json())  # router fills
    other = client.get("/some/wall")
    assert other.content_type.startswith("text/html")
