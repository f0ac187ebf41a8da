"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, generated from the same pydantic
models the server validates with (schemas.py), so it describes what the server accepts."""
from __future__ import annotations

from functools import cache

from flask import Blueprint, jsonify
from pydantic.json_schema import models_json_schema

from dashboard.api import schemas as s
from dashboard.api.actions import ACTIONS
from dashboard.api.me import SCHEMA as ME

REF = "#/components/schemas/{model}"
INPUTS = [s.ReportIn, s.BatchIn, *dict.fromkeys(ACTIONS.values())]
OUTPUTS = [s.IncidentOut, s.IncidentDetailOut, s.IncidentPageOut, s.ActionOut, s.BatchOut, s.ErrorOut]
ERRORS = {
    400: "malformed JSON", 401: "no valid bearer token", 404: "unknown id or action",
    409: "illegal transition or stale version; carries the current state and version",
    413: "body over the size limit", 422: "an invalid field or value, named in `field`",
}


def _ref(model) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _responses(ok: dict, *errors: int) -> dict:
    out = {str(code): body for code, body in ok.items()}
    for code in (400, 401, *errors):
        out[str(code)] = _json(s.ErrorOut, ERRORS[code])
    return out


def _body(model) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _not_null(schema: dict) -> dict:
    """A query parameter's schema without the null an omitted parameter stands for."""
    variants = [v for v in schema.pop("anyOf", []) if v.get("type") != "null"]
    if schema.get("default", 0) is None:
        del schema["default"]
    return {**schema, **(variants[0] if len(variants) == 1 else {"anyOf": variants} if variants else {})}


def _query_parameters() -> list[dict]:
    props = s.ListQuery.model_json_schema(ref_template=REF)["properties"]
    return [{"name": name, "in": "query", "required": False,
             "description": schema.pop("description", ""), "schema": _not_null(schema)}
            for name, schema in props.items()]


ID_PARAM = {"name": "incident_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": s.MAX_ID}}


def _paths() -> dict:
    incident = _json(s.IncidentOut, "the incident")
    again = _json(s.IncidentOut, "reported before with this client_ref: that incident")
    paths = {
        "/incidents": {
            "post": {"summary": "Report an incident", "operationId": "report", "requestBody": _body(s.ReportIn),
                     "responses": _responses({201: incident, 200: again}, 413, 422)},
            "get": {"summary": "List incidents, newest first", "operationId": "list",
                    "parameters": _query_parameters(),
                    "responses": _responses({200: _json(s.IncidentPageOut, "one page")}, 422)},
        },
        "/incidents:batch": {"post": {
            "summary": "Report many incidents; results per item", "operationId": "batch",
            "requestBody": _body(s.BatchIn),
            "responses": _responses({200: _json(s.BatchOut, "a result for every item")}, 413, 422)}},
        "/incidents/{incident_id}": {"get": {
            "summary": "An incident with its full audit timeline", "operationId": "get",
            "parameters": [ID_PARAM],
            "responses": _responses({200: _json(s.IncidentDetailOut, "the incident and its events")}, 404)}},
        "/me": {"get": {
            "summary": "Who the caller is: a token (intake system or a person) or a login session",
            "operationId": "me", "responses": {"200": {"description": "the caller and the actor it is",
                                                       "content": {"application/json": {"schema": ME}}},
                                               "401": _json(s.ErrorOut, ERRORS[401])}}},
    }
    for name, model in ACTIONS.items():
        paths[f"/incidents/{{incident_id}}/actions/{name}"] = {"post": {
            "summary": f"Lifecycle step: {name}", "operationId": f"action-{name}",
            "parameters": [ID_PARAM], "requestBody": _body(model),
            "responses": _responses({200: _json(s.ActionOut, "the incident after the step, and its event")},
                                    404, 409, 413, 422)}}
    return paths


@cache
def build_openapi() -> dict:
    _, top = models_json_schema([(m, "validation") for m in INPUTS] +
                                [(m, "serialization") for m in OUTPUTS], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "网格化管理 intake and lifecycle API", "version": "1",
                 "description": "Every error is JSON {error, detail, field}. Writes commit one "
                                "SQL transaction and are published to live state after it; a "
                                "failed request writes nothing. Open311 GeoReport v2 is served "
                                "separately under /open311/v2."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**_paths(), "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}}},
        "components": {"schemas": top["$defs"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "python -m dashboard create-token NAME"}}},
    }


def get_openapi():
    return jsonify(build_openapi())


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/openapi.json", view_func=get_openapi, methods=["GET"])
