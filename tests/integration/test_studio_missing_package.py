"""A worker installed without an optional package: the job it takes fails naming the package (studio mode, real
PostgreSQL, Redis, API and worker processes). The API replica has every package and offers the operation."""

from __future__ import annotations

import os

import datastores
import pytest
from test_studio import Studio

from shotbridge.models import JobStatus


def test_a_job_on_a_worker_without_an_optional_package_fails_naming_it(pg_cluster, tmp_path, movie):
    if not datastores.have_redis():
        pytest.skip("redis-server is not installed here (make services)")
    # The worker's Python finds no scenedetect: a package of that name first on its path that raises what a
    # missing one raises (the venv's copy cannot be uninstalled for one process).
    shadow = tmp_path / "without-scenedetect" / "scenedetect"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'scenedetect'\", "
                                        "name='scenedetect')\n")
    with datastores.redis(tmp_path / "redis") as broker:
        studio = Studio(tmp_path / "studio", pg_cluster.database(f"s{os.urandom(6).hex()}"), broker.url)
        try:
            api = studio.api("api")
            studio.env = {**studio.env, "PYTHONPATH": os.pathsep.join(
                [str(shadow.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
            worker = studio.worker("worker")
            client = studio.client(api)
            project = client.create_project("no-scenedetect")
            media = client.upload(project.id, movie)
            job = client.wait(client.submit(project.id, "detect_shots", {"media": media.sha256}).id)
            assert job.status == JobStatus.failed
            assert job.error.title == "Missing package"
            assert "'scenedetect'" in job.error.detail and "pip install" in job.error.detail
            assert job.message == "missing package: scenedetect"
            assert worker.proc.poll() is None  # the worker goes on
            assert client.run(project.id, "echo", {"message": "still here"}).result == {"message": "still here"}
        finally:
            studio.stop()
