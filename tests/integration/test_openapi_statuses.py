"""The OpenAPI document says every status a route answers: requests that reach each route's successes and
errors on a real backend, each answer checked against the document the same backend serves."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
import requests


@pytest.fixture(scope="module")
def document(server) -> dict:
    return requests.get(f"{server.url}/openapi.json", timeout=10).json()


def _operation(document: dict, method: str, url: str) -> tuple[str, dict]:
    path = "/" + url.split("/", 3)[3].split("?")[0]
    for template, ops in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def test_every_status_a_route_answers_is_declared(server, admin, project, document, tmp_path):
    h = {"Authorization": f"Bearer {admin.token}"}
    base = f"{server.url}/v1/projects/{project.id}"
    other = admin.create_project(f"{project.name}-other")
    data = b"frame"
    sha = hashlib.sha256(data).hexdigest()
    wrong = hashlib.sha256(b"something else").hexdigest()
    character = requests.post(f"{base}/characters", json={"name": "Stand-in"}, headers=h, timeout=10).json()
    stale = {**h, "If-Match": f'"{character["version"]}"'}
    cases = [
        ("GET", f"{server.url}/v1/health", {}, 200),
        ("GET", f"{server.url}/v1/operations", {"headers": {}}, 401),
        ("GET", f"{server.url}/v1/projects", {"headers": {"Authorization": "Bearer nope"}}, 401),
        ("POST", f"{server.url}/v1/projects", {"json": {"name": project.name}}, 409),
        ("POST", f"{server.url}/v1/projects", {"json": {}}, 422),
        ("POST", f"{server.url}/v1/projects", {"json": {"name": "x"}, "headers": {
            "Authorization": f"Bearer {other.token}"}}, 403),
        ("GET", f"{server.url}/v1/projects/nothing-here", {}, 404),
        ("PUT", f"{base}/assets/{sha}", {"data": data}, 201),
        ("PUT", f"{base}/assets/{sha}", {"data": data}, 200),
        ("PUT", f"{base}/assets/{wrong}", {"data": data}, 422),
        ("PUT", f"{base}/assets/not-a-sha", {"data": data}, 422),
        ("HEAD", f"{base}/assets/{sha}", {}, 200),
        ("HEAD", f"{base}/assets/{wrong}", {}, 404),
        ("GET", f"{base}/assets/{sha}/content", {}, 200),
        ("GET", f"{base}/assets/{sha}/content", {"headers": {**h, "Range": "bytes=1-2"}}, 206),
        ("GET", f"{base}/assets/{sha}/content", {"headers": {**h, "Range": "bytes=99-"}}, 416),
        ("GET", f"{base}/assets/{sha}/content", {"headers": {**h, "Range": "pages=1"}}, 400),
        ("GET", f"{base}/assets/{sha}/credentials", {}, 200),
        ("GET", f"{base}/assets/{wrong}/credentials", {}, 404),
        ("GET", f"{base}/assets/not-a-sha/credentials", {}, 422),
        ("GET", f"{base}/assets/{sha}/credentials", {"headers": {}}, 401),
        ("POST", f"{base}/jobs", {"json": {"operation": "echo"}, "headers": {**h, "Idempotency-Key": "k1"}}, 201),
        ("POST", f"{base}/jobs", {"json": {"operation": "echo"}, "headers": {**h, "Idempotency-Key": "k1"}}, 200),
        ("POST", f"{base}/jobs", {"json": {"operation": "echo", "params": {"message": "b"}},
                                  "headers": {**h, "Idempotency-Key": "k1"}}, 409),
        ("POST", f"{base}/jobs", {"json": {"operation": "nothing"}}, 422),
        ("PUT", f"{base}/policy", {"json": {}, "headers": {"Authorization": f"Bearer {other.token}"}}, 404),
        ("GET", f"{base}/audit?limit=0", {}, 422),
        ("GET", f"{server.url}/v1/jobs?status=sleeping", {}, 422),
        ("GET", f"{server.url}/v1/jobs/nothing", {}, 404),
        ("PATCH", f"{base}/characters/{character['id']}", {"json": {"notes": "a"}, "headers": stale}, 200),
        ("PATCH", f"{base}/characters/{character['id']}", {"json": {"notes": "b"}, "headers": stale}, 412),
        ("DELETE", f"{base}/characters/{character['id']}/references/none", {}, 404),
        ("DELETE", f"{base}/characters/{character['id']}", {}, 204),
        ("GET", f"{base}/timelines/cut/versions/first", {}, 422),
    ]
    seen: Counter = Counter()
    for method, url, kwargs, expected in cases:
        kwargs = {"headers": h, **kwargs}
        resp = requests.request(method, url, timeout=10, **kwargs)
        assert resp.status_code == expected, (method, url, resp.status_code, resp.text)
        template, op = _operation(document, method, url)
        declared = op["responses"]
        assert str(resp.status_code) in declared, f"{method} {template} answered {resp.status_code}, " \
                                                  f"which the document does not declare ({sorted(declared)})"
        if resp.status_code >= 400 and resp.headers.get("content-type") == "application/problem+json":
            assert "application/problem+json" in declared[str(resp.status_code)].get("content", {})
        seen[template] += 1
    assert len(seen) >= 12


def test_operation_ids_are_unique(document):
    ids = Counter(op["operationId"] for ops in document["paths"].values() for op in ops.values())
    assert [i for i, n in ids.items() if n > 1] == []
