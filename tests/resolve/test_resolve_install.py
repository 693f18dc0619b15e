"""`shotbridge install resolve`: ShotBridge.py into this user's Fusion/Scripts/Utility, for each OS's layout,
idempotent, removed exactly, and the installed copy finds the checkout from where Resolve runs it."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from shotbridge.install import InstallError, plugin_dir
from shotbridge.install_resolve import (
    MARK,
    install_resolve,
    resolve_installed,
    uninstall_resolve,
    utility_dir,
)

LAYOUTS = {
    "Darwin": "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility",
    "Windows": "AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Utility",
    "Linux": ".local/share/DaVinciResolve/Fusion/Scripts/Utility",
}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("system", sorted(LAYOUTS))
def test_each_os_has_its_utility_folder(system, home):
    env = {"APPDATA": str(home / "AppData" / "Roaming")} if system == "Windows" else {}
    assert utility_dir(system, home, env) == home / LAYOUTS[system]


def test_windows_without_appdata_uses_the_roaming_profile(home):
    assert utility_dir("Windows", home, {}) == home / LAYOUTS["Windows"]


def test_an_os_resolve_does_not_run_on_is_refused(home):
    with pytest.raises(InstallError, match="macOS, Windows and Linux"):
        utility_dir("SunOS", home, {})


@pytest.mark.parametrize("system", sorted(LAYOUTS))
def test_install_is_idempotent_and_uninstall_removes_it(system, home, monkeypatch):
    monkeypatch.setattr("platform.system", lambda: system)
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    target = install_resolve()
    assert target == home / LAYOUTS[system] / "ShotBridge.py" and resolve_installed()
    text = target.read_text()
    assert MARK in text and f"SHOTBRIDGE_PLUGIN = {str(plugin_dir('resolve'))!r}" in text
    assert sorted(p.name for p in target.parent.iterdir()) == ["ShotBridge.py"], "only the script: no menu clutter"
    mtime = target.stat().st_mtime_ns
    assert install_resolve() == target and target.stat().st_mtime_ns == mtime, "a second install writes nothing"
    assert uninstall_resolve() and not target.exists() and not resolve_installed()
    assert not uninstall_resolve(), "nothing left to remove"


def test_a_moved_checkout_or_new_package_folders_rewrite_the_script(tmp_path):
    scripts = tmp_path / "Utility"
    install_resolve(scripts)
    target = install_resolve(scripts, python_paths=[tmp_path / "resolve-site"])
    assert f"SHOTBRIDGE_PYTHONPATH = {str(tmp_path / 'resolve-site')!r}" in target.read_text()


def test_a_script_that_is_not_ours_is_left_alone(tmp_path):
    scripts = tmp_path / "Utility"
    scripts.mkdir()
    (scripts / "ShotBridge.py").write_text("print('somebody else')\n")
    with pytest.raises(InstallError, match="not ShotBridge's"):
        install_resolve(scripts)
    with pytest.raises(InstallError, match="left alone"):
        uninstall_resolve(scripts)
    assert (scripts / "ShotBridge.py").read_text() == "print('somebody else')\n"


def test_no_plugin_no_install(tmp_path):
    with pytest.raises(InstallError, match="holds no ShotBridge Resolve plugin"):
        install_resolve(tmp_path / "Utility", plugins=tmp_path / "nowhere")
    assert not (tmp_path / "Utility").exists()


def test_the_installed_script_finds_the_checkout_from_resolves_folder(tmp_path, monkeypatch, fake):
    """Run the installed copy as Resolve would: from the Utility folder, far from the checkout."""
    from shotbridge_resolve import launch

    target = install_resolve(tmp_path / "Utility")
    seen = []
    monkeypatch.setattr(launch, "main", lambda app=None: seen.append(app) or 0)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "plugins" not in p])
    monkeypatch.delenv("SHOTBRIDGE_RESOLVE_PLUGIN", raising=False)
    app = fake.Fusion(fake.new_resolve())
    runpy.run_path(str(target), init_globals={"app": app}, run_name="ShotBridge")
    assert seen == [app] and str(plugin_dir("resolve")) in sys.path


def test_cli(tmp_path):
    run = [sys.executable, "-m", "shotbridge.cli", "install", "resolve", "--resolve-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(run, capture_output=True, text=True, check=True, env=env).stdout
    assert "Workspace > Scripts > ShotBridge" in out and (tmp_path / "ShotBridge.py").exists()
    out = subprocess.run([*run, "--uninstall"], capture_output=True, text=True, check=True, env=env).stdout
    assert "removed" in out and not (tmp_path / "ShotBridge.py").exists()
