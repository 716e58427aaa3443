# twin: two commands for a fresh machine with Python 3.11.
#   make demo   create .venv, install, run the demo (Monaco pack, then three plans compared
#               on the coupled flash flood; ends with the report's path)
#   make test   install the test extras and run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
# Where map files are looked up (see README "Data"). Defaults to the sample data beside the repo.
TWIN_MAPS ?= $(abspath $(CURDIR)/../shared/maps)
export TWIN_MAPS

.PHONY: demo test lint venv clean system-deps viz-system viz-browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

demo: venv
	$(BIN)/twin demo

test: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest -n 2 -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check twin viz tests benchmarks
	$(BIN)/ruff format --check twin viz tests benchmarks
	$(BIN)/lint-imports

# System packages the tests need: libraries for off-screen 3-D rendering without a display
# (viz/: VTK through EGL with Mesa's software renderer) and Debian's chromium for the browser
# tests (Playwright drives /usr/bin/chromium; no `playwright install`). Installed with apt
# when missing and we are root on Debian/Ubuntu; otherwise say what to install (those tests
# then skip, unless TWIN_REQUIRE_BROWSER is set).
SYSTEM_PACKAGES = libegl1 libegl-mesa0 libgl1-mesa-dri chromium

system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SYSTEM_PACKAGES); \
	else echo "note: install $(SYSTEM_PACKAGES) (apt) for the rendering and browser tests"; fi

viz-system viz-browser: system-deps

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
