"""`shotbridge install nuke`: one delimited block in ~/.nuke/init.py, idempotent, removed exactly."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from shotbridge.install import (
    BEGIN,
    END,
    InstallError,
    install_nuke,
    nuke_installed,
    nuke_path_hint,
    plugin_dir,
    uninstall_nuke,
)

USER = "import nuke\nnuke.pluginAddPath('/studio/tools')\n"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    return tmp_path


def test_install_into_a_fresh_home_creates_init_py(home):
    init = install_nuke()
    assert init == home / ".nuke" / "init.py" and nuke_installed()
    text = init.read_text()
    assert text.startswith(BEGIN) and text.rstrip().endswith(END) and str(plugin_dir("nuke")) in text


def test_install_is_idempotent_and_uninstall_removes_only_ours(home):
    init = home / ".nuke" / "init.py"
    init.parent.mkdir()
    init.write_text(USER)
    install_nuke()
    once = init.read_text()
    assert once.startswith(USER) and once.count(BEGIN) == 1
    mtime = init.stat().st_mtime_ns
    install_nuke()
    assert init.read_text() == once and init.stat().st_mtime_ns == mtime, "a second install writes nothing"
    init.write_text(once + "print('after')\n")  # the user adds lines after ours
    assert uninstall_nuke()
    assert init.read_text() == USER + "print('after')\n"
    assert not uninstall_nuke() and not nuke_installed()


def test_a_moved_checkout_is_updated_in_place(home, tmp_path):
    init = home / ".nuke" / "init.py"
    init.parent.mkdir()
    init.write_text("# mine, before\r\n")
    old = tmp_path / "old" / "plugins" / "nuke"
    (old / "shotbridge_nuke").mkdir(parents=True)
    (old / "init.py").write_text("")
    install_nuke(plugins=old)
    install_nuke()
    text = init.read_bytes().decode()
    assert text.startswith("# mine, before\r\n"), "the user's lines keep their line endings"
    assert str(old) not in text and str(plugin_dir("nuke")) in text and text.count(BEGIN) == 1


def test_a_damaged_block_is_refused_not_guessed(home):
    init = home / ".nuke" / "init.py"
    init.parent.mkdir()
    init.write_text(USER + BEGIN + "\nimport nuke\n# the end marker was deleted\nmy_own_line = 1\n")
    before = init.read_text()
    with pytest.raises(InstallError, match="damaged ShotBridge block"):
        uninstall_nuke()
    with pytest.raises(InstallError):
        install_nuke()
    assert init.read_text() == before, "nothing of the user's is dropped"


def test_no_plugin_no_install(home, tmp_path):
    with pytest.raises(InstallError, match="holds no ShotBridge Nuke plugin"):
        install_nuke(plugins=tmp_path / "nowhere")
    assert not (home / ".nuke" / "init.py").exists()


def test_the_block_makes_nuke_load_the_plugin(home, monkeypatch, tmp_path):
    """Run the installed ~/.nuke/init.py with the fake nuke, as Nuke would at start-up."""
    import nuke

    nuke.reset()
    site = tmp_path / "nuke-site"
    init = install_nuke(python_paths=[site])
    monkeypatch.delenv("SHOTBRIDGE_PYTHONPATH", raising=False)
    runpy.run_path(str(init))
    assert nuke.plugin_paths == [str(plugin_dir("nuke"))]
    import os

    assert os.environ["SHOTBRIDGE_PYTHONPATH"] == str(site), "the plugin's init.py puts it on sys.path"
    nuke.reset()
    moved = install_nuke(plugins=_fake_checkout(tmp_path))
    import shutil

    shutil.rmtree(tmp_path / "gone")
    runpy.run_path(str(moved))
    assert nuke.plugin_paths == [], "a deleted checkout is skipped, Nuke still starts"


def _fake_checkout(tmp_path: Path) -> Path:
    plugins = tmp_path / "gone" / "plugins" / "nuke"
    (plugins / "shotbridge_nuke").mkdir(parents=True)
    (plugins / "init.py").write_text("")
    return plugins


def test_nuke_path_hint_names_the_plugin_folder():
    assert str(plugin_dir("nuke")) in nuke_path_hint() and "NUKE_PATH" in nuke_path_hint()


def test_cli(tmp_path):
    run = [sys.executable, "-m", "shotbridge.cli", "install", "nuke", "--nuke-dir", str(tmp_path)]
    assert "restart Nuke" in subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert BEGIN in (tmp_path / "init.py").read_text()
    assert "removed" in subprocess.run([*run, "--uninstall"], capture_output=True, text=True, check=True).stdout
    assert (tmp_path / "init.py").read_text() == ""
