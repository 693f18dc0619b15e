# ShotBridge: `make demo` runs the main job on the embedded backend; `make test` runs every test.
# Each environment is a local venv built from this repository's own files; nothing is installed by hand.

VENV      := .venv
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip --disable-pip-version-check -q
STAMP     := $(VENV)/.installed
DEMO_OUT  ?= demo-output

# Host-side code must run on the oldest Python a supported DCC ships (Nuke 15: 3.10): the core's tests
# run there too, in a venv with the core alone (no backend, no Qt, no numpy).
PY310_VENV  := .venv-py310
PY310_STAMP := $(PY310_VENV)/.installed
CORE_TESTS  := tests/unit/test_client_retries.py tests/unit/test_config.py tests/unit/test_safenames.py $(wildcard tests/exchange tests/nuke tests/resolve)

.PHONY: all venv demo test test-main test-py310 lint clean services desktop

all: test

$(STAMP): pyproject.toml Makefile
	rm -rf $(VENV)
	"$$(.ci/find-python 3.11)" -m venv $(VENV)
	$(PIP) install -U pip "setuptools<81" wheel
	$(PIP) install -e ".[backend,panel,dev]"
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/shotbridge demo --out $(DEMO_OUT)

# Servers the tests start on loopback ports (tests/datastores.py): PostgreSQL and Redis from Debian's packages.
services:
	@command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing postgresql and redis-server (Debian packages) for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; }

# A desktop for the real-window panel test (tests/panel/test_xvfb_window.py): Xvfb, xwininfo (x11-utils) and the
# libraries PySide6's xcb platform plugin loads (the dev machine, Debian 12, lacked icccm4, keysyms1, xinerama0; the
# rest are listed for slimmer images). Without root or apt the install is skipped and so is that test.
DESKTOP_PKGS := xvfb x11-utils libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
	libxcb-render-util0 libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3
desktop:
	@dpkg -s $(DESKTOP_PKGS) >/dev/null 2>&1 || { \
		echo "installing Xvfb and Qt's xcb libraries (Debian packages) for the real-window panel test"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DESKTOP_PKGS) >/dev/null; } \
		|| echo "could not install $(DESKTOP_PKGS) (needs root and apt-get): the Xvfb panel test will skip"; }

test-main: $(STAMP) services desktop
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests --ignore=tests/blender

$(PY310_STAMP): pyproject.toml Makefile
	rm -rf $(PY310_VENV)
	"$$(.ci/find-python 3.10)" -m venv $(PY310_VENV)
	$(PY310_VENV)/bin/python -m pip --disable-pip-version-check -q install -U pip "setuptools<81" wheel
	$(PY310_VENV)/bin/python -m pip --disable-pip-version-check -q install -e . pytest hypothesis
	touch $@

test-py310: $(PY310_STAMP)
	$(PY310_VENV)/bin/python -m pytest -q $(CORE_TESTS)

include plugins/blender/Makefile.inc

test: test-main test-py310 test-blender

lint: $(STAMP)
	$(VENV)/bin/ruff check core backend plugins tests bench

clean:
	rm -rf $(VENV) .venv-py310 .venv-blender-* $(DEMO_OUT) test-output
