from __future__ import annotations

import subprocess
import sys

from shotbridge.install import BEGIN, install_nuke, plugin_dir, uninstall_nuke


def test_install_is_idempotent_and_uninstall_removes_only_ours(tmp_path):
    init = tmp_path / "init.py"
    init.write_text("import nuke\nnuke.pluginAddPath('/studio/tools')\n")
    install_nuke(tmp_path)
    once = init.read_text()
    assert "/studio/tools" in once and str(plugin_dir("nuke")) in once
    install_nuke(tmp_path)
    assert init.read_text() == once and once.count(BEGIN) == 1
    assert uninstall_nuke(tmp_path)
    assert init.read_text() == "import nuke\nnuke.pluginAddPath('/studio/tools')\n"
    assert not uninstall_nuke(tmp_path)


def test_cli(tmp_path):
    run = [sys.executable, "-m", "shotbridge.cli", "install", "nuke", "--nuke-dir", str(tmp_path)]
    assert "restart Nuke" in subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "removed" in subprocess.run([*run, "--uninstall"], capture_output=True, text=True, check=True).stdout
