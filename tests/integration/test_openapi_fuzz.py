"""Schemathesis against the OpenAPI document of a real backend, with the admin token and with a project's token:
no server error, and every response conforms to the document (status, content type, body schema).

Bounded in time (SHOTBRIDGE_SCHEMATHESIS_SECONDS per token, default 40) and seeded, so a run is repeatable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SECONDS = os.environ.get("SHOTBRIDGE_SCHEMATHESIS_SECONDS", "40")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
CLI = Path(sys.executable).with_name("schemathesis")


@pytest.mark.slow
@pytest.mark.skipif(not CLI.exists() and not shutil.which("schemathesis"), reason="schemathesis is not installed")
@pytest.mark.parametrize("who", ["admin", "project"])
def test_every_response_conforms_to_the_openapi_document(server, admin, project, who, tmp_path):
    token = admin.token if who == "admin" else project.token
    done = subprocess.run(
        [str(CLI if CLI.exists() else shutil.which("schemathesis")), "run", f"{server.url}/openapi.json",
         "-H", f"Authorization: Bearer {token}", "--checks", CHECKS, "--max-time", SECONDS, "--workers", "1",
         "--seed", "20261204", "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=int(SECONDS) + 240, cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"})
    summary = done.stdout[done.stdout.rfind("SUMMARY"):]
    print(summary)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "generated" in summary  # it ran cases, not nothing
