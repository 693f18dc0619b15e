"""The `shotbridge` command as a user runs it, against the real backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

SERVER_MODES = ("sqlite", "postgresql", "studio")  # studio: jobs run on a Celery worker process


@pytest.fixture
def cli(server, tmp_path):
    env = {**os.environ, "SHOTBRIDGE_URL": server.url, "SHOTBRIDGE_CONFIG_DIR": str(server.root / "config"),
           "SHOTBRIDGE_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "shotbridge.cli", *args], env={**env, **kw.pop("env", {})},
                              capture_output=True, text=True, timeout=120, **kw)
        if check and done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    return run


def test_run_detect_shots_json_and_download(cli, project, movie, tmp_path):
    done = cli("run", "detect_shots", "--project", project.name, "--input", str(movie),
               "--param", "min_shot_frames=10", "--out", str(tmp_path / "out"), "--json")
    job = json.loads(done.stdout)
    assert job["status"] == "succeeded" and job["params"]["min_shot_frames"] == 10
    assert len(job["result"]["shots"]) == 4
    otio_path = job["outputs"][0]["path"]
    assert otio_path.endswith(".otio") and os.path.exists(otio_path)


def test_run_human_output_and_jobs_listing(cli, project):
    done = cli("run", "echo", "-p", project.name, "--param", "message=hello there")
    assert "succeeded" in done.stdout and "hello there" in done.stdout
    listing = cli("jobs", "--project", project.name)
    assert "echo" in listing.stdout and "succeeded" in listing.stdout


def test_bad_param_names_field_and_exits_2(cli, project):
    done = cli("run", "echo", "-p", project.name, "--param", "seconds=-1", check=False)
    assert done.returncode == 2
    assert "params.seconds" in done.stderr
    assert "Traceback" not in done.stderr


def test_watch_and_cancel(cli, admin, project):
    job = admin.submit(project.id, "echo", {"seconds": 30})
    watcher = subprocess.Popen([sys.executable, "-m", "shotbridge.cli", "watch", job.id, "--json"],
                               env={**os.environ, "SHOTBRIDGE_URL": admin.url,
                                    "SHOTBRIDGE_TOKEN": admin.token}, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    done = cli("cancel", job.id)
    assert "cancel" in done.stdout
    out, _ = watcher.communicate(timeout=30)
    assert watcher.returncode == 1
    assert json.loads(out)["status"] == "canceled"


def test_doctor_reports_operations_and_providers(cli):
    done = cli("doctor")
    assert "ok  backend" in done.stdout
    assert "operation detect_shots: via local" in done.stdout
    assert "operation inpaint: via local" in done.stdout
    assert "operation generate_image: no configured provider can text to image" in done.stdout  # no providers.toml
    assert "trains on inputs: no" in done.stdout


def test_unreachable_backend_exit_3(cli):
    done = cli("jobs", check=False, env={"SHOTBRIDGE_URL": "http://127.0.0.1:9"})
    assert done.returncode == 3
    assert "http://127.0.0.1:9" in done.stderr and "shotbridge serve" in done.stderr


def test_doctor_without_token_says_how_to_get_one(cli, tmp_path):
    done = cli("doctor", check=False, env={"SHOTBRIDGE_CONFIG_DIR": str(tmp_path / "empty")})
    assert done.returncode == 1
    assert "shotbridge serve" in done.stdout and "token" in done.stdout
