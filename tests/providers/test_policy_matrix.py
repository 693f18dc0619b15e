"""The policy matrix, end to end: a real backend, four cloud providers with different promises (each an OpenAI
Images test server on 127.0.0.1), four project policies. Each job runs or is refused before anything is sent,
and a refused provider's server never sees a request."""

from __future__ import annotations

import time

import pytest
from live import LiveServer
from servers.openai import OpenAIDouble

from shotbridge.errors import ShotBridgeError
from shotbridge.models import DataKind, JobStatus, ProjectPolicy, ProviderGrant
from shotbridge_backend.demo import EmbeddedBackend

KEY = "sk-test-matrix0123456789abcdWXYZ"
# name: (trains_on_inputs, retention_days, data_location)
FACTS = {
    "trains": (True, 0, "us"),
    "keeps30": (False, 30, "us"),
    "eu": (False, 0, "eu-west-1"),
    "clean": (False, 0, "us"),
}
GRANT_ALL = [ProviderGrant(provider=name) for name in FACTS]
POLICIES = {
    "default": ProjectPolicy(),
    "granted": ProjectPolicy(grants=GRANT_ALL),
    "eu-30d": ProjectPolicy(grants=GRANT_ALL, max_retention_days=30, regions=["eu"]),
    "plates-only": ProjectPolicy(grants=[ProviderGrant(provider=n, data=[DataKind.plate]) for n in FACTS],
                                 max_retention_days=30),
}
# (policy, provider) -> the rule that refuses it, or None: the job runs.
EXPECTED = {
    ("default", "trains"): "no-training", ("default", "keeps30"): "no-grant",
    ("default", "eu"): "no-grant", ("default", "clean"): "no-grant",
    ("granted", "trains"): "no-training", ("granted", "keeps30"): "retention",
    ("granted", "eu"): None, ("granted", "clean"): None,
    ("eu-30d", "trains"): "no-training", ("eu-30d", "keeps30"): "region",
    ("eu-30d", "eu"): None, ("eu-30d", "clean"): "region",
    ("plates-only", "trains"): "no-training", ("plates-only", "keeps30"): "data-not-granted",
    ("plates-only", "eu"): "data-not-granted", ("plates-only", "clean"): "data-not-granted",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    doubles = {name: OpenAIDouble(api_key=KEY) for name in FACTS}
    servers = {name: LiveServer(d.app) for name, d in doubles.items()}
    for s in servers.values():
        s.__enter__()
    toml = "".join(
        f'[providers.{name}]\ntype = "openai"\napi_key = "env:MATRIX_OPENAI_KEY"\nurl = "{servers[name].url}"\n'
        f'trains_on_inputs = {str(trains).lower()}\nretention_days = {keep}\ndata_location = "{where}"\n'
        f"backoff = 0.01\n\n"
        for name, (trains, keep, where) in FACTS.items())
    (root / "providers.toml").write_text(toml)
    backend = EmbeddedBackend(root / "backend", workers=1,
                              env={"SHOTBRIDGE_PROVIDERS": str(root / "providers.toml"), "MATRIX_OPENAI_KEY": KEY})
    client = backend.start()
    yield backend, client, doubles
    client.close()
    backend.stop()
    for s in servers.values():
        s.__exit__(None, None, None)


@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_each_policy_and_provider_pair_runs_or_is_refused_before_any_byte_leaves(world, policy_name):
    backend, client, doubles = world
    project = client.create_project(f"matrix-{policy_name}")
    client.set_policy(project.id, POLICIES[policy_name])
    for provider, double in doubles.items():
        before = len(double.received)
        rule = EXPECTED[(policy_name, provider)]
        if rule is None:
            job = client.run(project.id, "generate_image", {"prompt": "a pier in the rain", "width": 1024,
                                                             "height": 1024}, provider=provider)
            assert job.status == JobStatus.succeeded, job.error
            assert job.provider == provider and len(job.result["images"]) == 1
            assert len(double.image_requests) > 0 and len(double.received) > before
            (record,) = [r for r in client.audit(project.id, job=job.id) if "/images/" in r.url]
            assert (record.provider, record.status, record.outcome, record.data) == (
                provider, 200, "ok", [DataKind.prompt])
            assert record.token_id  # the admin token's id, never the token
        else:
            with pytest.raises(ShotBridgeError) as err:
                client.submit(project.id, "generate_image", {"prompt": "a pier in the rain"}, provider=provider)
            assert err.value.status == 403, err.value
            assert f"[{rule}]" in str(err.value)
            assert len(double.received) == before, f"{provider} got a request under '{policy_name}'"
    assert all(r.outcome == "ok" for r in client.audit(project.id))


def test_a_grant_withdrawn_while_the_job_waits_still_stops_it(world):
    backend, client, doubles = world
    project = client.create_project("matrix-withdrawn")
    client.set_policy(project.id, POLICIES["granted"])
    blocker = client.submit(project.id, "echo", {"seconds": 1.5})  # the backend's one worker is busy
    before = len(doubles["clean"].received)
    job = client.submit(project.id, "generate_image", {"prompt": "a pier"}, provider="clean")
    client.set_policy(project.id, ProjectPolicy())
    done = client.wait(job.id)
    client.wait(blocker.id)
    assert done.status == JobStatus.failed and done.error.status == 403
    assert done.error.title == "Refused by policy" and "no-grant" in done.error.type
    health_checks = [r for r in doubles["clean"].received[before:] if "/images/" in r.path]
    assert health_checks == [] and client.audit(project.id, job=job.id) == []


def test_without_a_provider_named_the_backend_picks_one_the_policy_allows(world):
    backend, client, doubles = world
    project = client.create_project("matrix-routing")
    client.set_policy(project.id, POLICIES["eu-30d"])
    start = time.monotonic()
    job = client.run(project.id, "generate_image", {"prompt": "fog over the harbour"})
    assert job.status == JobStatus.succeeded and job.provider == "eu"
    assert time.monotonic() - start < 30
    estimate = client.estimate(project.id, "generate_image", {"prompt": "fog"})
    verdicts = {d.provider: (d.allowed, d.rule) for d in estimate.decisions}
    assert verdicts == {"trains": (False, "no-training"), "keeps30": (False, "region"), "eu": (True, ""),
                        "clean": (False, "region")}
    assert all(c.unit == "USD" and c.amount > 0 for c in estimate.costs)


FACES = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "faces"


@pytest.mark.skipif(not (FACES / "obama").exists(), reason="../shared/faces is not beside the checkout")
def test_a_named_character_sends_its_bible_references_to_a_provider_that_takes_them(world):
    from shotbridge_backend.sanitize import clean_image

    backend, client, doubles = world
    project = client.create_project("matrix-bible")
    photos = [FACES / "obama" / "obama1.jpg", FACES / "obama" / "obama2.jpg"]
    client.add_character(project.id, "obama", photos)
    client.set_policy(project.id, ProjectPolicy(grants=[ProviderGrant(provider="clean",
                                                                      data=[DataKind.prompt])]))
    with pytest.raises(ShotBridgeError, match=r"\[data-not-granted\].*not reference"):
        client.submit(project.id, "generate_image", {"prompt": "at the lectern", "characters": ["obama"]},
                      provider="clean")
    # one attempt: the double's images hold no face, and the identity gate would otherwise ask again
    client.set_policy(project.id, ProjectPolicy(grants=[ProviderGrant(provider="clean")], identity_attempts=1))
    before = len(doubles["clean"].received)
    job = client.run(project.id, "generate_image", {"prompt": "at the lectern", "characters": ["obama"]},
                     provider="clean")
    assert job.status == JobStatus.succeeded, job.error
    assert job.result["identity"]["passed"] is False and job.result["warnings"]  # delivered, marked
    (edit,) = [r for r in doubles["clean"].received[before:] if r.path == "/v1/images/edits"]
    sent = [u.data for u in edit.uploads if u.field == "image[]"]
    assert sorted(sent) == sorted(clean_image(p.read_bytes()).data for p in photos)  # the bible's images, cleaned
    assert all("obama" not in (u.filename or "") for u in edit.uploads)
    (record,) = [r for r in client.audit(project.id, job=job.id) if r.url.endswith("/v1/images/edits")]
    assert sorted(a.kind for a in record.assets) == [DataKind.reference, DataKind.reference]
    assert {a.source_sha256 for a in record.assets} == {c.asset for c in client.character(project.id, "obama")
                                                        .references}
    nobody = client.run(project.id, "generate_image", {"prompt": "at the lectern", "characters": ["obama"],
                                                        "use_bible": False}, provider="clean")
    assert nobody.status == JobStatus.succeeded
    assert not [r for r in client.audit(project.id, job=nobody.id) if r.assets]
