"""Record a ComfyUI server's node catalogue (GET /object_info) to a JSON file, so a studio can check workflows
and templates against its own server offline (ShotBridge's tests use shared/comfyui's record of ComfyUI 0.3.64).

    python tools/record_object_info.py http://gpu-host:8188 object_info.json [--token-env COMFY_TOKEN]

The file is the server's answer as sent (node order and input order kept). What the server is (its ComfyUI
version, from /system_stats when it has one) and how many node classes it has are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import requests


def fetch(url: str, path: str, headers: dict[str, str], timeout: float) -> requests.Response:
    return requests.get(f"{url.rstrip('/')}{path}", headers=headers, timeout=timeout)


def record(url: str, out: Path, *, token: str | None = None, timeout: float = 60.0) -> str:
    """Write the server's /object_info to `out`; returns a one-line summary. SystemExit says what went wrong."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = fetch(url, "/object_info", headers, timeout)
    except requests.RequestException as exc:
        raise SystemExit(f"{url} cannot be reached ({type(exc).__name__}): is ComfyUI running there?") from exc
    if response.status_code in (401, 403):
        raise SystemExit(f"{url} refused /object_info ({response.status_code}): pass --token-env NAME with the "
                         "variable that holds the token of the proxy in front of ComfyUI")
    if response.status_code != 200:
        raise SystemExit(f"{url} answered /object_info with {response.status_code}")
    try:
        info = response.json()
    except ValueError:
        info = None
    if not isinstance(info, dict) or not info or not all(isinstance(v, dict) and "input" in v for v in info.values()):
        raise SystemExit(f"{url}/object_info is not a ComfyUI node catalogue (is this a ComfyUI server?)")
    version = "unknown version"
    try:
        stats = fetch(url, "/system_stats", headers, timeout)
        if stats.status_code == 200:
            version = f"ComfyUI {stats.json().get('system', {}).get('comfyui_version') or 'of unknown version'}"
    except (requests.RequestException, ValueError, AttributeError):
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)
    return f"{out}: {len(info)} node classes from {url} ({version})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the ComfyUI server, e.g. http://gpu-host:8188")
    parser.add_argument("out", type=Path, help="the JSON file to write")
    parser.add_argument("--token-env", help="environment variable holding a bearer token for a proxy in front")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answer (default 60)")
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env) if args.token_env else None
    if args.token_env and not token:
        raise SystemExit(f"--token-env {args.token_env}: that variable is not set")
    print(record(args.url, args.out, token=token, timeout=args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
