# One command to run the app, one to run the tests; each sets up what is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
ADDRESS ?= localhost
PYTEST_ARGS ?=

# apt packages: Chromium drives the browser tests. Installed only when missing.
APT_TEST := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-dev system-test clean

run: install
	$(BIN)/python -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) --browser.gatherUsageStats false

test: install-dev system-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

system-test:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing $(APT_TEST) for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(APT_TEST); \
	fi

clean:
	rm -rf $(VENV) artifacts .pytest_cache
