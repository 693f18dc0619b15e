"""Reaching Resolve and starting ShotBridge: the external-mode loader (and the paths its error lists),
Workspace > Scripts' global `app`, and ShotBridge.py, which finds the core and never raises into Resolve."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from shotbridge_resolve import launch, loader

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "resolve"
SCRIPT = PLUGIN / "ShotBridge.py"


@pytest.fixture
def clean_modules(monkeypatch):
    """Loader tests import a DaVinciResolveScript from tmp dirs: keep sys.path and sys.modules as they were."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    yield
    sys.modules.pop("DaVinciResolveScript", None)


@pytest.mark.parametrize("system, env, expected", [
    ("Darwin", {}, ["/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting/Modules/"
                    "DaVinciResolveScript.py",
                    "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so"]),
    ("Windows", {"PROGRAMDATA": "D:\\Data", "PROGRAMFILES": "D:\\Programs"},
     ["D:\\Data\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting\\Modules\\DaVinciResolveScript.py",
      "D:\\Programs\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll"]),
    ("Linux", {}, ["/opt/resolve/Developer/Scripting/Modules/DaVinciResolveScript.py",
                   "/home/resolve/Developer/Scripting/Modules/DaVinciResolveScript.py",
                   "/opt/resolve/libs/Fusion/fusionscript.so", "/home/resolve/libs/Fusion/fusionscript.so"]),
])
def test_the_loader_error_lists_every_path_it_tried(system, env, expected, clean_modules):
    env = {"RESOLVE_SCRIPT_API": "/studio/resolve/api", "RESOLVE_SCRIPT_LIB": "/studio/resolve/fusionscript.so", **env}
    with pytest.raises(loader.LoaderError) as caught:
        loader.scripting_module(env, system)
    text = str(caught.value)
    tried = [line.strip().rsplit(": ", 1)[0] for line in text.splitlines() if line.startswith("  ")]
    api = "\\studio\\resolve\\api\\Modules\\" if system == "Windows" else "/studio/resolve/api/Modules/"
    lib = "\\studio\\resolve\\fusionscript.so" if system == "Windows" else "/studio/resolve/fusionscript.so"
    assert tried[0].startswith("import DaVinciResolveScript")
    assert tried[1] == api + "DaVinciResolveScript.py", "RESOLVE_SCRIPT_API first"
    assert lib in tried and tried.index(lib) > tried.index(expected[0]), "RESOLVE_SCRIPT_LIB after the modules"
    assert set(expected) <= set(tried), set(expected) - set(tried)
    assert all(line.endswith("not found") for line in text.splitlines()[2:len(tried) + 1])
    assert "Set RESOLVE_SCRIPT_API" in text and "Workspace > Scripts" in text


def _module(folder: Path, body: str) -> Path:
    modules = folder / "Modules"
    modules.mkdir(parents=True)
    (modules / "DaVinciResolveScript.py").write_text(body)
    return folder


def test_the_loader_finds_resolve_through_resolve_script_api(tmp_path, clean_modules, fake):
    api = _module(tmp_path / "Scripting", "import fake_resolve\n"
                  "def scriptapp(name):\n    return fake_resolve.new_resolve() if name == 'Resolve' else None\n")
    resolve = loader.connect(env={"RESOLVE_SCRIPT_API": str(api)}, system="Linux")
    assert resolve.GetProductName() == "DaVinci Resolve Studio"


def test_a_broken_scripting_module_is_reported_and_the_next_place_tried(tmp_path, clean_modules):
    api = _module(tmp_path / "Scripting", "raise ImportError('Could not locate module dependencies')\n")
    with pytest.raises(loader.LoaderError) as caught:
        loader.scripting_module({"RESOLVE_SCRIPT_API": str(api)}, "Linux")
    assert "found, but it failed to load Resolve's library (ImportError: Could not locate module dependencies)" in \
        str(caught.value)
    assert "/opt/resolve/libs/Fusion/fusionscript.so: not found" in str(caught.value), "and went on"


def test_resolve_not_answering_says_studio_and_external_scripting(tmp_path, clean_modules):
    api = _module(tmp_path / "Scripting", "def scriptapp(name):\n    return None\n")
    with pytest.raises(loader.LoaderError, match="External scripting using: Local") as caught:
        loader.connect(env={"RESOLVE_SCRIPT_API": str(api)}, system="Darwin")
    assert "free edition has no scripting" in str(caught.value)


def test_workspace_scripts_app_gives_resolve(fake):
    resolve = fake.new_resolve()
    assert loader.from_app(fake.Fusion(resolve)) is resolve
    with pytest.raises(loader.LoaderError, match="app.GetResolve\\(\\) returned nothing"):
        loader.from_app(fake.Fusion(None))


def test_launch_reports_instead_of_raising(fake, monkeypatch, capsys):
    monkeypatch.setattr(launch, "tell", lambda text: print(f"TOLD {text}"))
    assert launch.main(fake.Fusion(None)) == 1
    assert "TOLD Resolve's `app` gave no Resolve object" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "shotbridge_resolve.panel", None)  # as if qtpy were missing
    assert launch.main(fake.Fusion(fake.new_resolve())) == 1
    assert "needs qtpy and PySide6" in capsys.readouterr().out


def test_launch_opens_the_window_on_the_apps_resolve(fake, monkeypatch):
    pytest.importorskip("qtpy")
    import shotbridge_resolve.panel as panel_module

    opened = []
    monkeypatch.setattr(panel_module, "run", lambda resolve: opened.append(resolve) or 0)
    resolve = fake.new_resolve()
    assert launch.main(fake.Fusion(resolve)) == 0 and opened == [resolve]


def test_launch_survives_anything(fake, monkeypatch, capsys):
    pytest.importorskip("qtpy")
    import shotbridge_resolve.panel as panel_module

    monkeypatch.setattr(launch, "tell", lambda text: print(f"TOLD {text}"))
    monkeypatch.setattr(panel_module, "run", lambda resolve: (_ for _ in ()).throw(KeyError("boom")))
    assert launch.main(fake.Fusion(fake.new_resolve())) == 1
    assert "TOLD ShotBridge stopped: KeyError: 'boom'" in capsys.readouterr().out


# -- ShotBridge.py -------------------------------------------------------------------------------------


def test_the_script_runs_as_workspace_scripts_runs_it(fake, monkeypatch):
    """Resolve runs the file with a global `app`: it finds the package and the core and starts ShotBridge."""
    seen = []
    monkeypatch.setattr(launch, "main", lambda app=None: seen.append(app) or 0)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p).resolve() != PLUGIN])
    app = fake.Fusion(fake.new_resolve())
    runpy.run_path(str(SCRIPT), init_globals={"app": app}, run_name="ShotBridge")
    assert seen == [app]
    assert str(PLUGIN) in sys.path and str(PLUGIN.parents[1] / "core") in sys.path


def test_the_script_only_runs_when_resolve_runs_it(monkeypatch):
    seen = []
    monkeypatch.setattr(launch, "main", lambda app=None: seen.append(app))
    runpy.run_path(str(SCRIPT), run_name="imported")  # no `app`, not __main__: a plain import
    assert seen == []


def test_the_script_tells_what_is_missing_and_never_raises(tmp_path, monkeypatch, capsys):
    lonely = tmp_path / "ShotBridge.py"
    lonely.write_text(SCRIPT.read_text())  # copied without its package: nothing to find
    monkeypatch.delenv("SHOTBRIDGE_RESOLVE_PLUGIN", raising=False)
    namespace = runpy.run_path(str(lonely), run_name="ShotBridge", init_globals={"app": object()})
    assert "cannot find the shotbridge_resolve package" in capsys.readouterr().err
    assert namespace["main"](None) == 1


def test_the_script_explains_missing_packages(monkeypatch, capsys):
    namespace = runpy.run_path(str(SCRIPT), run_name="imported")
    monkeypatch.setitem(sys.modules, "shotbridge_resolve.launch", None)  # e.g. pydantic missing in Resolve's Python
    assert namespace["main"](None) == 1
    err = capsys.readouterr().err
    assert "missing from Resolve's Python" in err and "SHOTBRIDGE_PYTHONPATH" in err


def test_the_script_runs_on_old_pythons_without_future_imports():
    import ast

    tree = ast.parse(SCRIPT.read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert imported <= {"os", "sys", "main"}, "the entry script needs nothing but the standard library to report"
