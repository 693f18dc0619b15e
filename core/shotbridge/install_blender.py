"""Build the Blender extension zip (add-on + the wheels it needs, as Blender extensions bundle them) and
install it into the user's Blender.

Blender 5.0 runs Python 3.11 and 5.2 Python 3.13; the wheels are fetched from the package registry for the
Python of the target Blender. Blender itself ships requests and numpy; everything else the core needs is
bundled.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .install import plugin_dir

ADDON = plugin_dir("blender") / "shotbridge_blender"
REPO = ADDON.parents[2]
# requests (+ urllib3, idna, certifi, charset-normalizer) is not bundled: Blender ships it in its own Python,
# and a second copy in the extension's site-packages would shadow Blender's for every other add-on.
DEPENDENCIES = ["pydantic>=2.6,<3", "opentimelineio>=0.17,<0.19", "otio-cmx3600-adapter", "otio-fcp-adapter",
                "otio-fcpx-xml-adapter", "otio-ale-adapter", "otio-aaf-adapter"]
BLENDER_PYTHON = {"4.2": "3.11", "4.3": "3.11", "4.4": "3.11", "4.5": "3.11", "5.0": "3.11", "5.1": "3.13",
                  "5.2": "3.13"}


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip {args[0]} failed: {done.stderr.strip()[-800:]}")


def fetch_wheels(dest: Path, python: str) -> list[Path]:
    """The core as a wheel plus its dependencies' wheels for `python` on 64-bit Linux."""
    dest.mkdir(parents=True, exist_ok=True)
    if not list(dest.glob("shotbridge-*.whl")):
        _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dest), str(REPO))
    if not list(dest.glob("pydantic_core-*.whl")):
        _pip("download", "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
             "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64", "-d", str(dest),
             *DEPENDENCIES)
    return sorted(dest.glob("*.whl"))


def build_extension(out_dir: Path, blender: str = "5.0", wheel_cache: Path | None = None) -> Path:
    """The installable zip for Blender `blender` (e.g. "5.0"); returns its path."""
    python = BLENDER_PYTHON.get(blender)
    if python is None:
        raise ValueError(f"Blender {blender}: unknown; ShotBridge supports {', '.join(BLENDER_PYTHON)}.")
    wheels = fetch_wheels(Path(wheel_cache or tempfile.mkdtemp(prefix="shotbridge-wheels-")) / python, python)
    manifest = (ADDON / "blender_manifest.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', manifest, re.M).group(1)
    listed = ", ".join(f'"./wheels/{w.name}"' for w in wheels)
    # Top-level keys go before the first [table], or TOML puts them inside it.
    head, sep, tables = manifest.partition("\n[")
    manifest = f'{head}\nplatforms = ["linux-x64"]\nwheels = [{listed}]\n{sep}{tables}'
    out = Path(out_dir) / f"shotbridge-{version}-blender{blender}-linux-x64.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("blender_manifest.toml", manifest)
        for path in sorted(ADDON.glob("*.py")):
            zf.write(path, path.name)
        for wheel in wheels:
            zf.write(wheel, f"wheels/{wheel.name}")
    os.replace(tmp, out)
    return out


def user_extensions(blender: str, resources: Path | None = None) -> Path:
    """Blender's user extension repository ("user_default") for version `blender`."""
    if resources is None and os.environ.get("BLENDER_USER_RESOURCES"):
        resources = Path(os.environ["BLENDER_USER_RESOURCES"])
    base = resources or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "blender" / blender
    return base / "extensions" / "user_default"


def install_extension(zip_path: Path, blender: str = "5.0", blender_binary: str | None = None,
                      resources: Path | None = None) -> str:
    """Install with Blender's own command line when Blender is on PATH; else unpack the zip into the user
    extension repository as Blender's installer does (Blender unpacks the bundled wheels at its next start).
    Installing again replaces the previous version."""
    binary = shutil.which("blender") if blender_binary is None else blender_binary
    if binary:
        subprocess.run([binary, "--command", "extension", "install-file", "-r", "user_default", "-e",
                        str(zip_path)], check=True)
        return f"installed {zip_path.name} into Blender ({binary}); it is enabled"
    repo = user_extensions(blender, resources)
    target = repo / "shotbridge"
    staging = repo / ".shotbridge-installing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return (f"installed into {target}; enable ShotBridge in Blender {blender} under Edit > Preferences > "
            "Add-ons (Blender was not on PATH to do it)")


def uninstall_extension(blender: str = "5.0", resources: Path | None = None) -> bool:
    """Remove the installed extension folder; True if it was there."""
    folder = user_extensions(blender, resources) / "shotbridge"
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
