# ShotBridge: `make demo` runs the main job on the embedded backend; `make test` runs every test.
# Each environment is a local venv built from this repository's own files; nothing is installed by hand.

VENV      := .venv
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip --disable-pip-version-check -q
STAMP     := $(VENV)/.installed
DEMO_OUT  ?= demo-output

.PHONY: all venv demo test test-main lint clean

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

test-main: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests --ignore=tests/blender

test: test-main

lint: $(STAMP)
	$(VENV)/bin/ruff check core backend plugins tests bench

clean:
	rm -rf $(VENV) .venv-* $(DEMO_OUT) test-output
