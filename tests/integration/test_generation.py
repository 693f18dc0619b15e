"""Generative operations through a real backend on the embedded `local` provider: takes, credentials, policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import opentimelineio as otio
import pytest
from PIL import Image

from shotbridge.errors import ShotBridgeError
from shotbridge.models import ProjectPolicy, ProviderGrant

SERVER_MODES = ("sqlite", "postgresql", "studio")  # studio: jobs run on a Celery worker process

RATE = 24


def _cli(server, *args, token: str | None = None):
    env = {**os.environ, "SHOTBRIDGE_URL": server.url, "SHOTBRIDGE_CONFIG_DIR": str(server.root / "config")}
    if token:
        env["SHOTBRIDGE_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "shotbridge.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def plate_cut(tmp_path_factory, movie):
    """A cut with one 6-frame clip of the sample movie, starting at its frame 2, and a square mask."""
    root = tmp_path_factory.mktemp("plate")
    clip = otio.schema.Clip(
        name="sh010", source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(2, RATE),
                                                         otio.opentime.RationalTime(6, RATE)),
        media_reference=otio.schema.ExternalReference(
            target_url=str(movie), available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, RATE), otio.opentime.RationalTime(24 * 4, RATE))))
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[clip]))
    path = root / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    mask = np.zeros((180, 320), np.uint8)
    mask[60:120, 130:190] = 255
    Image.fromarray(mask).save(root / "mask.png")
    return path, root / "mask.png"


def test_inpaint_on_the_local_provider_comes_back_as_a_signed_take(server, admin, project, plate_cut, movie,
                                                                   tmp_path):
    from shotbridge_backend.provenance import verify_file
    from shotbridge_backend.provenance.keys import trust_anchors_path
    from shotbridge_backend.vision import open_media

    cut, mask = plate_cut
    done = _cli(server, "run", "inpaint", "-p", project.name, "--input", str(cut), "--input", f"mask={mask}",
                "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["provider"] == "local"
    (shot,) = job["result"]["shots"]
    assert (shot["shot"], shot["take"], shot["frames"]) == ("sh010", "inpaint_v001", 6)

    timeline = otio.adapters.read_from_file(str(tmp_path / "out" / "cut.inpaint.otio"))
    (clip,) = timeline.find_clips()
    assert clip.active_media_reference_key == otio.schema.Clip.DEFAULT_MEDIA_KEY  # the editor accepts takes
    take = clip.media_references()["inpaint_v001"]
    assert isinstance(take, otio.schema.ImageSequenceReference)
    assert take.available_range == clip.source_range and take.start_frame == 2
    assert take.target_url_base == (tmp_path / "out").resolve().as_uri() + "/"  # --out points it at the files
    facts = take.metadata["shotbridge"]
    assert (facts["operation"], facts["provider"], facts["job_id"]) == ("inpaint", "local", job["id"])
    assert facts["provenance"] == "c2pa" and len(facts["frames"]) == 6

    source = open_media(str(movie))
    inside = (slice(60, 120), slice(130, 190))
    anchors = trust_anchors_path(server.root / "config" / "keys")
    for n in range(2, 8):
        frame = tmp_path / "out" / f"sh010_inpaint_v001.{n:04d}.png"
        check = verify_file(frame, anchors)
        assert check.valid, check.issues
        assert check.provider == "local" and check.training_mining
        assert set(check.training_mining.values()) == {"notAllowed"}
        got, plate = np.asarray(Image.open(frame).convert("RGB")).astype(int), source.read(n).astype(int)
        outside = np.ones(plate.shape[:2], bool)
        outside[inside] = False
        assert np.abs(got - plate)[outside].mean() < 2.0  # untouched outside the mask
        assert np.abs(got - plate)[inside].mean() > 2.0  # filled inside it
    source.close()
    assert admin.audit(project.id) == []  # the local provider sends nothing anywhere


def test_generation_without_a_provider_for_it_says_what_to_configure(admin, project):
    with pytest.raises(ShotBridgeError, match="providers.toml") as err:
        admin.submit(project.id, "generate_image", {"prompt": "a lighthouse at dusk"})
    assert err.value.status == 422
    ops = {op.name: op for op in admin.operations()}
    assert not ops["generate_image"].available and "providers.toml" in ops["generate_image"].reason
    assert ops["inpaint"].providers == ["local"]


def test_policy_is_read_by_any_project_token_and_changed_only_by_the_admin(server, admin, project):
    from shotbridge.client import Client

    assert admin.policy(project.id) == ProjectPolicy()
    with Client(server.url, project.token) as own:
        assert own.policy(project.id).grants == []
        with pytest.raises(ShotBridgeError, match="admin token") as err:
            own.set_policy(project.id, ProjectPolicy(grants=[ProviderGrant(provider="local")]))
        assert err.value.status == 403
    with pytest.raises(ShotBridgeError, match="No provider 'nope'") as err:
        admin.set_policy(project.id, ProjectPolicy(grants=[ProviderGrant(provider="nope")]))
    stored = admin.set_policy(project.id, ProjectPolicy(onprem=False, max_retention_days=7))
    assert admin.policy(project.id) == stored and stored.max_retention_days == 7


def test_policy_and_audit_commands(server, project):
    shown = _cli(server, "policy", "show", "-p", project.name)
    assert shown.returncode == 0, shown.stderr
    assert "cloud providers: none" in shown.stdout
    refused = _cli(server, "policy", "allow", "nope", "-p", project.name)
    assert refused.returncode == 2 and "No provider 'nope'" in refused.stderr
    audit = _cli(server, "audit", "-p", project.name)
    assert audit.returncode == 0 and "nothing was sent" in audit.stdout
    providers = _cli(server, "providers", "--json")
    assert providers.returncode == 0
    assert [p["name"] for p in json.loads(providers.stdout)] == ["local"]
    estimate = _cli(server, "estimate", "inpaint", "-p", project.name, "--json")
    assert estimate.returncode == 2 and "timeline" in estimate.stderr  # params are validated like a submit
