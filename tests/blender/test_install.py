"""The extension zip, built with its wheels and installed by Blender's own extension installer."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import bpy
import pytest

from shotbridge.install_blender import build_extension, uninstall_extension

VERSION = "5.0" if bpy.app.version[:2] == (5, 0) else "5.2"
INSTALL = """
import bpy, sys
r = bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default", enable_on_install=True)
assert r == {"FINISHED"}, r
assert "bl_ext.user_default.shotbridge" in bpy.context.preferences.addons
assert hasattr(bpy.types, "SHOTBRIDGE_PT_sequencer") and hasattr(bpy.types, "SHOTBRIDGE_PT_viewport")
print("INSTALLED")
"""


@pytest.fixture(scope="session")
def extension(tmp_path_factory):
    try:
        return build_extension(tmp_path_factory.mktemp("dist"), VERSION, tmp_path_factory.mktemp("wheels"))
    except RuntimeError as exc:
        pytest.skip(f"cannot fetch wheels from the package registry here: {exc}")


def test_zip_holds_manifest_addon_and_wheels(extension):
    names = zipfile.ZipFile(extension).namelist()
    manifest = zipfile.ZipFile(extension).read("blender_manifest.toml").decode()
    wheels = [n for n in names if n.startswith("wheels/")]
    assert {"__init__.py", "vse_otio.py", "apply.py", "timers.py", "ui.py"} <= set(names)
    assert any("pydantic_core" in w for w in wheels) and any(w.split("/")[1].startswith("shotbridge-") for w in wheels)
    assert all(f'"./{w}"' in manifest for w in wheels)


def test_blender_installs_and_enables_it_idempotently(extension, tmp_path):
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path)}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", INSTALL, str(extension)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert "INSTALLED" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    repo = tmp_path / "extensions" / "user_default"
    assert [p.name for p in repo.iterdir() if not p.name.startswith(".")] == ["shotbridge"]
    site = list((tmp_path / "extensions" / ".local" / "lib").glob("python*/site-packages"))
    assert site and (site[0] / "pydantic_core").is_dir(), "Blender unpacked the bundled wheels"
    assert uninstall_extension(VERSION, tmp_path) and not (repo / "shotbridge").exists()


ENABLE = """
import bpy, addon_utils
addon_utils.enable("bl_ext.user_default.shotbridge", default_set=True)
assert hasattr(bpy.types, "SHOTBRIDGE_PT_sequencer"), "Blender found and registered the extension"
import sys
print("ENABLED", [p for p in sys.path if "/extensions/.local/" in p])
"""


def test_install_without_a_blender_binary_lays_it_out_as_blender_does(extension, tmp_path):
    from shotbridge.install_blender import install_extension

    for _ in range(2):  # idempotent
        message = install_extension(extension, VERSION, blender_binary="", resources=tmp_path)
    assert "installed into" in message
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", ENABLE], env=env, capture_output=True, text=True, timeout=300)
    assert "ENABLED" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert str(tmp_path / "extensions" / ".local") in done.stdout, "Blender puts the unpacked wheels on its path"
    site = next((tmp_path / "extensions" / ".local" / "lib").glob("python*/site-packages"))
    assert (site / "pydantic_core").is_dir() and (site / "shotbridge" / "exchange").is_dir()
