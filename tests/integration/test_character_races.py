"""Requests that race on one character, sent at once to a real backend: an edit racing a delete answers 404
(never 500), and no edit is lost without its sender being told."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from shotbridge.errors import ApiError

ROUNDS = 12
EDITORS = 6


def _race(api, calls: list[tuple[str, str, dict]]) -> list[requests.Response]:
    """Send the requests (method, path, keyword arguments) at the same moment, each on its own connection;
    their answers in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        method, path, kwargs = calls[i]
        barrier.wait()
        results[i] = api(method, path, **kwargs)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def api(admin, project):
    url = f"{admin.url}/v1/projects/{project.id}/characters"
    headers = {"Authorization": f"Bearer {admin.token}"}

    def call(method: str, path: str = "", **kwargs) -> requests.Response:
        return requests.request(method, url + path, headers={**headers, **kwargs.pop("headers", {})}, timeout=60,
                                **kwargs)

    return call


def test_an_edit_racing_a_delete_answers_404_never_500(api):
    statuses: Counter = Counter()
    for n in range(ROUNDS):
        cid = api("POST", json={"name": f"Extra {n}"}).json()["id"]
        edits = [("PATCH", f"/{cid}", {"json": {"notes": f"take {i}"} if i % 2 else {"hints": {"i": i}}})
                 for i in range(EDITORS)]
        *edited, deleted = _race(api, [*edits, ("DELETE", f"/{cid}", {})])
        assert deleted.status_code == 204, deleted.text
        for resp in edited:
            statuses[resp.status_code] += 1
            assert resp.status_code in (200, 404), resp.text
            if resp.status_code == 404:
                assert resp.json()["title"] == "Character not found"
        assert api("GET", f"/{cid}").status_code == 404
    assert set(statuses) <= {200, 404}


def test_edits_to_different_fields_at_once_all_land(api):
    for n in range(ROUNDS):
        cid = api("POST", json={"name": f"Lead {n}"}).json()["id"]
        results = _race(api, [("PATCH", f"/{cid}", {"json": {"notes": "red coat"}}),
                              ("PATCH", f"/{cid}", {"json": {"hints": {"seed": 7}}}),
                              ("PATCH", f"/{cid}", {"json": {"name": f"Hero {n}"}})])
        assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
        final = api("GET", f"/{cid}").json()
        assert (final["notes"], final["hints"], final["name"]) == ("red coat", {"seed": 7}, f"Hero {n}")
        assert final["version"] == 4, "created, then three changes"


def test_edits_made_from_the_same_read_one_lands_the_others_are_told(api):
    for n in range(ROUNDS):
        read = api("POST", json={"name": f"Double {n}", "hints": {"lens": "35mm"}}).json()
        # Each editor adds its own hint to the hints it read: only one may win, the others must hear of it.
        edits = [("PATCH", f"/{read['id']}", {"headers": {"If-Match": f'"{read["version"]}"'},
                                              "json": {"hints": {**read["hints"], f"editor{i}": i}}})
                 for i in range(EDITORS)]
        results = _race(api, edits)
        codes = sorted(r.status_code for r in results)
        assert codes == [200] + [412] * (EDITORS - 1), [r.text for r in results]
        (winner,) = [r.json() for r in results if r.status_code == 200]
        assert api("GET", f"/{read['id']}").json()["hints"] == winner["hints"]
        refused = next(r for r in results if r.status_code == 412).json()
        assert refused["title"] == "Character changed" and "Read it again" in refused["detail"]


def test_the_client_sends_the_version_it_read(admin, project):
    first = admin.add_character(project.id, "Stand-in")
    admin.update_character(project.id, first.id, notes="changed elsewhere")
    with pytest.raises(ApiError) as exc:
        admin.update_character(project.id, first.id, if_version=first.version, notes="mine")
    assert exc.value.status == 412
    now = admin.character(project.id, first.id)
    assert now.notes == "changed elsewhere"
    assert admin.update_character(project.id, first.id, if_version=now.version, notes="mine").notes == "mine"


def test_a_malformed_if_match_is_refused_naming_the_header(api):
    cid = api("POST", json={"name": "Someone"}).json()["id"]
    resp = api("PATCH", f"/{cid}", headers={"If-Match": "yesterday"}, json={"notes": "x"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "If-Match"
