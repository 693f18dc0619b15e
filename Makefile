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

.PHONY: all venv demo test test-main test-py310 lint clean services

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

test-main: $(STAMP) services
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
