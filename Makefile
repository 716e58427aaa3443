# twin: two commands for a fresh machine with Python 3.11.
#   make demo   create .venv, install, run the demo (Monaco pack, then two plans compared)
#   make test   install the test extras and run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
# Where map files are looked up (see README "Data"). Defaults to the sample data beside the repo.
TWIN_MAPS ?= $(abspath $(CURDIR)/../shared/maps)
export TWIN_MAPS

.PHONY: demo test lint venv clean viz-system viz-browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,viz]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

demo: venv
	$(BIN)/twin demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check twin viz tests benchmarks
	$(BIN)/ruff format --check twin viz tests benchmarks
	$(BIN)/lint-imports

# System libraries for off-screen 3-D rendering without a display (viz/: VTK through EGL
# with Mesa's software renderer). Debian/Ubuntu; run as root (CI does).
viz-system:
	apt-get install -y --no-install-recommends libegl1 libegl-mesa0 libgl1-mesa-dri

# Debian's chromium for the report's browser test (Playwright drives /usr/bin/chromium;
# no `playwright install`).
viz-browser:
	apt-get install -y --no-install-recommends chromium

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
