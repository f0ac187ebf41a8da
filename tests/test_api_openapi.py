"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that lists every route the
server has, with the bodies and errors it really uses."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.api_support import api, client  # noqa: F401  (fixtures)


def _doc(client) -> dict:
    response = client.get("/api/v1/openapi.json")  # public: no token
    assert response.status_code == 200
    return response.get_json()


def test_it_publishes_a_valid_openapi_document(client):
    doc = _doc(client)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "python -m dashboard create-token NAME"}


def test_it_documents_every_route_the_server_has(api, client):
    doc = _doc(client)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    actions = {p.rsplit("/", 1)[1] for p in doc["paths"] if "/actions/" in p}
    served = set()
    for rule in api.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<path:" in rule.rule:
            continue
        path = re.sub(r"<int[^:]*:incident_id>", "{incident_id}", rule.rule.removeprefix("/api/v1"))
        paths = [path.replace("<action>", a) for a in actions] if "<action>" in path else [path]
        served |= {(p, m) for p in paths for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented


def test_it_documents_the_error_shape_and_statuses(client):
    doc = _doc(client)
    error = doc["components"]["schemas"]["ErrorOut"]
    assert {"error", "detail", "field"} <= set(error["required"])
    report = doc["paths"]["/incidents"]["post"]["responses"]
    assert {"201", "200", "400", "401", "413", "422"} <= set(report)
    dispatch = doc["paths"]["/incidents/{incident_id}/actions/dispatch"]["post"]
    assert {"404", "409"} <= set(dispatch["responses"])
    body = doc["components"]["schemas"]["DispatchIn"]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"expected_version", "department_id"}


def test_it_documents_batch_items_as_reports(client):
    items = _doc(client)["components"]["schemas"]["BatchIn"]["properties"]["items"]
    assert items["items"] == {"$ref": "#/components/schemas/ReportIn"}
    assert (items["minItems"], items["maxItems"]) == (1, 500)
