"""CSRF: every state-changing request from a browser carries the session's token, or it is
refused and changes nothing. Token-authenticated API calls carry no cookie and need none."""
from __future__ import annotations

from tests.api_support import (  # noqa: F401  (fixtures)
    api,
    auth,
    client,
    login_client,
    make_report,
    post_report,
    read_csrf_field,
    token,
    written,
)

TOWN = "441900004"


def callback_body(app, output: str, inputs: list[dict], state: list[dict] = ()) -> dict:
    """The JSON dash-renderer POSTs to /_dash-update-component for the callback whose
    outputs include `output` ("component-id.property")."""
    key = next((k for k in app.callback_map if output in k), None)
    assert key is not None, f"no callback outputs {output}; callbacks: {list(app.callback_map)}"
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in key.strip(".").split("...")]
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs, "state": list(state),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]}


def open_page(app, path: str) -> dict:
    """The pages router's callback body for a page at `path`."""
    route, _, query = path.partition("?")
    return callback_body(app, "_pages_content.children", [
        {"id": "_pages_location", "property": "pathname", "value": route},
        {"id": "_pages_location", "property": "search", "value": f"?{query}" if query else ""}])


def test_logout_without_the_token_is_refused_and_the_login_goes_on(api, client):
    login_client(client, "city-operator-1")
    answer = client.post("/logout", data={})
    assert answer.status_code == 403 and "CSRF" in answer.get_data(as_text=True)
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.get("/api/v1/me").status_code == 200, "still logged in"


def test_login_without_the_token_is_refused(api, client):
    client.get("/login")
    answer = client.post("/login", data={"username": "admin", "password": "grid-demo-2026"})
    assert answer.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_write_to_the_api_needs_the_header_and_writes_nothing_without_it(api, client):
    headers = login_client(client, "admin")
    before = written(api)
    refused = client.post("/api/v1/incidents", json=make_report())
    assert refused.status_code == 403
    assert refused.get_json()["field"] == "X-CSRFToken" and refused.get_json()["error"] == "csrf_failed"
    wrong = client.post("/api/v1/incidents", json=make_report(), headers={"X-CSRFToken": "nope"})
    assert wrong.status_code == 403
    assert written(api) == before, "a refused request must not write"
    accepted = client.post("/api/v1/incidents", json=make_report(), headers=headers)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["source"] == f"staff:{client.get('/api/v1/me').get_json()['actor']['id']}"


def test_a_session_read_needs_no_token(api, client):
    login_client(client, "admin")
    assert client.get("/api/v1/incidents").status_code == 200


def test_a_token_request_needs_no_csrf_token_even_alongside_a_session(api, client, auth):
    login_client(client, "city-operator-1")  # an operator may not report; the token may
    answer = post_report(client, auth)
    assert answer.status_code == 201 and answer.get_json()["source"] == "api:field-app"


def test_a_dash_callback_without_the_header_is_refused(api, client):
    headers = login_client(client, "441900004-operator-1")
    body = open_page(api, f"/wall/town/{TOWN}")
    assert client.post("/_dash-update-component", json=body).status_code == 403
    answer = client.post("/_dash-update-component", json=body, headers=headers)
    assert answer.status_code == 200
    assert 'wall-root' in answer.get_data(as_text=True)


def test_the_csrf_cookie_matches_the_session_after_login_and_changes_at_logout(api, client):
    headers = login_client(client, "admin")
    token = read_csrf_field(client.get("/login").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    client.get("/login")
    assert client.get_cookie("_csrf_token").value != headers["X-CSRFToken"]
    body = open_page(api, "/wall")
    stale = client.post("/_dash-update-component", json=body, headers=headers)
    assert stale.status_code == 403, "a token from before logout is dead"

