"""A schema-driven fuzz run (hypothesis) over the whole API.

Request bodies and query strings are drawn from the OpenAPI document itself: values that
fit the documented schema, then mutated (a value of the wrong type, a missing or unknown
field, arbitrary JSON, bytes that are not JSON). Every answer must be below 500 and in
the documented shape; a body the document refuses must be refused; a 2xx body must fit
its documented response schema.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.api_support import GRID, POINT, api, auth, client, post_report, token  # noqa: F401

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
# Real values mixed in, so that fuzzing also reaches the paths where things succeed.
HINTS = {
    "item_code": st.sampled_from(["14-01", "01-01", "09-01", "14-02", "99-99"]),
    "grid_code": st.sampled_from([GRID, "441900103201001", "441900103201002", "441900004"]),
    "description": st.sampled_from(["楼道堆放杂物", "路灯不亮", " "]),
    "reason": st.sampled_from(["需要协调", "非本部门职责", ""]),
    "channel": st.sampled_from(["app", "grid_worker", "hotline"]),
    "lon": st.floats(113.5, 114.3), "lat": st.floats(22.6, 23.2),
    "expected_version": st.integers(0, 4),
    "department_id": st.sampled_from([7, 8, 3, 1, 2000]), "assignee_id": st.integers(11260, 11280),
    "duplicate_of_id": st.integers(1, 6),
    "area": st.sampled_from([GRID, GRID[:9], "441900", "x"]),
    "state": st.sampled_from(["REPORTED", "accepted,closed", "NOPE"]),
    "category": st.sampled_from(["fire", "14", "0"]),
}


class Schemas:
    def __init__(self, doc: dict):
        self.doc, self.components = doc, doc["components"]["schemas"]

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def validator(self, schema: dict) -> Draft202012Validator:
        return Draft202012Validator({**schema, "components": self.doc["components"]})

    def values(self, schema: dict, name: str | None = None) -> st.SearchStrategy:
        """Values that fit `schema` (and, named, some real ones)."""
        fitting = self._fitting(self.resolve(schema))
        if name not in HINTS:
            return fitting
        return st.integers(0, 3).flatmap(lambda i: fitting if i == 0 else HINTS[name])

    def _fitting(self, s: dict) -> st.SearchStrategy:
        if "anyOf" in s:
            return st.one_of([self.values(v) for v in s["anyOf"]])
        if "enum" in s:
            return st.sampled_from(s["enum"])
        kind = s.get("type")
        if kind == "null":
            return st.none()
        if kind == "integer":
            return st.integers(s.get("minimum"), s.get("maximum"))
        if kind == "number":
            return st.floats(s.get("minimum"), s.get("maximum"), allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "string" and s.get("format") == "date-time":
            extremes = st.sampled_from(["9999-12-31T23:59:59-05:30", "0001-01-01T00:00:00+08:00",
                                        "2026-11-02T09:00:00", "2026-11-02T09:00:00Z"])
            return extremes | st.datetimes(timezones=st.sampled_from(_ZONES)).map(lambda d: d.isoformat())
        if kind == "string":
            return st.text(min_size=s.get("minLength", 0), max_size=min(s.get("maxLength", 50), 50)) | \
                st.sampled_from(["楼道堆放杂物", "需要协调"])
        if kind == "array":
            items = self.values(s["items"]) if "items" in s else JSON
            return st.lists(items, min_size=s.get("minItems", 0), max_size=min(s.get("maxItems", 5), 5))
        if kind == "object" and "properties" in s:
            return self.objects(s)
        return JSON

    def objects(self, s: dict) -> st.SearchStrategy:
        props = s["properties"]
        required = set(s.get("required", ()))
        paired = {"lon", "lat"} <= set(props) - required  # a point comes as both or neither
        base = st.fixed_dictionaries(
            {k: self.values(v, k) for k, v in props.items() if k in required},
            optional={k: self.values(v, k) for k, v in props.items()
                      if k not in required and not (paired and k in ("lon", "lat"))})
        if not paired:
            return base
        point = st.just({}) | st.fixed_dictionaries({"lon": HINTS["lon"], "lat": HINTS["lat"]})
        return st.builds(lambda a, b: {**a, **b}, base, point)


def _zones():
    from datetime import timedelta, timezone

    return [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]


_ZONES = _zones()


@st.composite
def mutated(draw, bodies: st.SearchStrategy) -> object:
    """A body that fits, then (usually) broken in one way."""
    body = draw(bodies)
    how = draw(st.sampled_from(["keep"] * 4 + ["retype", "drop", "extra", "any"]))
    if how == "any" or not isinstance(body, dict):
        return draw(JSON)
    body = dict(body)
    if how == "retype" and body:
        body[draw(st.sampled_from(sorted(body)))] = draw(JSON)
    elif how == "drop" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif how == "extra":
        body[draw(st.text(min_size=1, max_size=10))] = draw(JSON)
    return body


def _check_answer(response, doc_op: dict, schemas: Schemas) -> None:
    event(f"{doc_op['operationId']} -> {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    documented = doc_op["responses"].get(str(response.status_code))
    assert documented is not None, (response.status_code, response.get_data(as_text=True)[:300])
    schema = documented["content"]["application/json"]["schema"]
    errors = list(schemas.validator(schema).iter_errors(response.get_json()))
    assert not errors, errors[0].message


def _operations(doc: dict, match) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()
            if match(path, method)]


@pytest.fixture
def world(api, client, auth):
    """A few incidents to act on, and the document."""
    for _ in range(3):
        post_report(client, auth)
    post_report(client, auth, grid_code=None, **POINT)
    return Schemas(client.get("/api/v1/openapi.json").get_json())


FUZZ = settings(max_examples=600, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def _exercise(client, auth, world: Schemas, data, operations: list) -> None:
    path, method, op = data.draw(st.sampled_from(operations), label="operation")
    incident_id = data.draw(st.integers(1, 4) | st.integers(-1, 8) | st.integers(), label="id")
    url = "/api/v1" + path.replace("{incident_id}", str(incident_id))
    if method == "get":
        params = {p["name"]: world.values(p["schema"], p["name"])
                  for p in op.get("parameters", ()) if p["in"] == "query"}
        query = data.draw(mutated(st.fixed_dictionaries({}, optional=params)), label="query")
        query = query if isinstance(query, dict) else {"q": query}
        response = client.get(f"{url}?{urlencode({str(k): str(v) for k, v in query.items()})}", headers=auth)
        _check_answer(response, op, world)
        return
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(mutated(world.values(schema)), label="body")
    if "/actions/" in path and isinstance(body, dict) and data.draw(st.booleans(), label="current version"):
        current = client.get(f"/api/v1/incidents/{incident_id}", headers=auth).get_json()
        body["expected_version"] = current.get("version", 1)
    as_json = data.draw(st.integers(0, 7), label="not JSON?") > 0
    raw = json.dumps(body).encode() if as_json else data.draw(st.binary(max_size=40), label="raw")
    response = client.post(url, data=raw, headers={**auth, "Content-Type": "application/json"})
    _check_answer(response, op, world)
    if as_json and not world.validator(schema).is_valid(body):
        _check_refused(world, path, body, response)


@FUZZ
@given(data=st.data())
def test_it_never_answers_5xx_to_reports(client, auth, world, data):
    writes = _operations(world.doc, lambda path, method: path in ("/incidents", "/incidents:batch")
                         and method == "post")
    _exercise(client, auth, world, data, writes)


@FUZZ
@given(data=st.data())
def test_it_never_answers_5xx_to_actions(client, auth, world, data):
    actions = _operations(world.doc, lambda path, method: "/actions/" in path)
    _exercise(client, auth, world, data, actions)


@FUZZ
@given(data=st.data())
def test_it_never_answers_5xx_to_reads(client, auth, world, data):
    reads = _operations(world.doc, lambda path, method: method == "get" and path != "/openapi.json")
    _exercise(client, auth, world, data, reads)


def _check_refused(world: Schemas, path: str, body, response) -> None:
    """A body the document refuses is refused: whole, or (a batch) item by item."""
    if path == "/incidents:batch" and response.status_code == 200:
        report = world.validator({"$ref": "#/components/schemas/ReportIn"})
        results = response.get_json()["results"]
        for item, result in zip(body["items"], results, strict=True):
            assert report.is_valid(item) or result["status"] == 422, (item, result)
        return
    assert response.status_code in (404, 422), (body, response.get_json())


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["api_key", "service_code", "lat", "long", "description",
                                             "address_string", "first_name", "last_name", "other"]),
                            st.text(max_size=30) | st.sampled_from(["14-01", "23.02", "113.75"]),
                            max_size=9),
       with_key=st.booleans(), query=st.dictionaries(st.sampled_from(
           ["service_request_id", "service_code", "start_date", "end_date", "status", "api_key"]),
           st.text(max_size=20) | st.sampled_from(["1", "1,2", "open", "2026-01-01T00:00:00Z"]), max_size=4))
def test_it_never_answers_5xx_on_open311(client, token, world, form, with_key, query):
    if with_key:
        form = {**form, "api_key": token}
    for response in (client.post("/open311/v2/requests.json", data=form),
                     client.get(f"/open311/v2/requests.json?{urlencode(query)}"),
                     client.get(f"/open311/v2/requests/{query.get('service_request_id', '1')}.json")):
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        body = response.get_json()
        assert isinstance(body, list)
        if response.status_code >= 400:
            assert set(body[0]) == {"code", "description"}
