"""POST /api/v1/incidents:batch: per-item results, idempotent re-sends, the atomic mode,
and refusals of the whole batch, each with proof of what was (not) written."""
from __future__ import annotations

import pytest

from dashboard.api.schemas import MAX_BATCH, BatchOut
from tests.api_support import (  # noqa: F401  (fixtures)
    OUTSIDE,
    POINT,
    api,
    auth,
    client,
    make_report,
    post_report,
    token,
    written,
)

PATH = "/api/v1/incidents:batch"


def _batch(client, auth, items, **extra):
    return client.post(PATH, json={"items": items, **extra}, headers=auth)


def test_it_reports_each_item_on_its_own(api, client, auth):
    earlier = post_report(client, auth, client_ref="dev-1").get_json()
    before = written(api)
    items = [
        make_report(client_ref="dev-2"),
        make_report(client_ref="dev-1"),                       # sent before: the first incident
        make_report(grid_code=None, **OUTSIDE, client_ref="dev-3"),  # outside every grid
        make_report(client_ref="dev-4", priority="whenever"),  # invalid value
        make_report(grid_code=None, **POINT, client_ref="dev-5"),
        make_report(client_ref="dev-5"),                       # the same item twice in one batch
        "not an object",
    ]
    response = _batch(client, auth, items)
    assert response.status_code == 200
    result = BatchOut.model_validate(response.get_json())
    assert [r.status for r in result.results] == [201, 200, 422, 422, 201, 200, 422]
    assert [r.index for r in result.results] == list(range(len(items)))
    assert (result.created, result.existing, result.failed) == (2, 2, 3)
    assert result.results[1].id == earlier["id"]
    assert result.results[5].id == result.results[4].id
    assert [r.error.field for r in result.results if r.error] == ["lon", "priority", "body"]
    after = written(api)
    assert (after.incidents - before.incidents, after.events - before.events) == (2, 2)


def test_it_answers_a_resent_batch_with_the_same_incidents_and_writes_nothing(api, client, auth):
    items = [make_report(client_ref=f"offline-{i}") for i in range(5)]
    first = _batch(client, auth, items).get_json()
    before = written(api)
    again = _batch(client, auth, items).get_json()
    assert [r["status"] for r in again["results"]] == [200] * 5
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert written(api) == before


def test_it_writes_nothing_of_an_atomic_batch_with_a_bad_item(api, client, auth):
    post_report(client, auth)
    before = written(api)
    items = [make_report(), make_report(grid_code=None, **OUTSIDE), make_report(channel="pigeon")]
    response = _batch(client, auth, items, atomic=True)
    assert response.status_code == 422
    error = response.get_json()
    assert error["field"] == "items.1.lon"
    assert [e["field"] for e in error["errors"]] == ["items.1.lon", "items.2.channel"]
    assert written(api) == before


def test_it_commits_an_atomic_batch_whose_items_are_all_good(api, client, auth):
    before = written(api)
    response = _batch(client, auth, [make_report(), make_report(item_code="01-01")], atomic=True)
    assert response.get_json()["created"] == 2
    assert written(api).incidents == before.incidents + 2


def test_it_takes_a_batch_larger_than_one_report_may_be(client, auth):
    items = [make_report(description="长" * 3000) for _ in range(40)]  # ~360 KB in all
    response = _batch(client, auth, items)
    assert response.status_code == 200 and response.get_json()["created"] == 40


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"items": []}, 422, "items"),
    ({"items": [make_report()] * (MAX_BATCH + 1)}, 422, "items"),
    ({"items": {"0": make_report()}}, 422, "items"),
    ({"items": [make_report()], "atomic": "yes"}, 422, "atomic"),
    ({"items": [make_report()], "mode": "fast"}, 422, "mode"),
    ([make_report()], 422, "body"),
])
def test_it_refuses_a_bad_envelope_whole(api, client, auth, body, status, field):
    before = written(api)
    response = client.post(PATH, json=body, headers=auth)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["field"] == field
    assert written(api) == before


def test_it_refuses_malformed_json_oversized_bodies_and_no_token(api, client, auth):
    before = written(api)
    malformed = client.post(PATH, data=b'{"items": [', headers={**auth, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    huge = client.post(PATH, json={"items": [make_report(description="长" * 3500)] * 250}, headers=auth)
    assert huge.status_code == 413  # ~2.6 MB
    assert client.post(PATH, json={"items": [make_report()]}).status_code == 401
    assert written(api) == before
