# The two commands of the README: `make book` (build the whole book on the embedded
# default data) and `make test` (lint + every test, the same command CI runs).
# Each creates the virtual environment on first use from the pinned requirements.txt.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= default
ENV_STAMP := $(VENV)/.dnnalign-installed

.PHONY: help env system-deps book test lint format notebooks clean

help:
	@echo "make book   build the whole book (PROFILE=$(PROFILE)) into _build/html"
	@echo "make test   lint and run every test (what .ci/run calls)"
	@echo "make lint   ruff check + format check only"
	@echo "make notebooks  after editing notebooks/*.py: write the paired .ipynb (+ Colab cell)"

# Re-run the install whenever the pinned lock or the package metadata changes.
$(ENV_STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

env: $(ENV_STAMP)

# Debian packages the tests need (chromium for the browser test). Installed only when
# missing and when running as root; otherwise say what is missing.
system-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "warning: /usr/bin/chromium missing; install Debian's chromium for the browser test"; fi

book: env
	$(PY) -m dnnalign_utils.book build --profile $(PROFILE)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m dnnalign_utils.book sync-notebooks --check

# Each notebooks/NN_topic.ipynb is its .py plus the Colab set-up cell (kept in
# dnnalign_utils/book.py only): run this, not bare `jupytext --sync`, after editing a chapter.
notebooks: env
	$(PY) -m dnnalign_utils.book sync-notebooks

test: env system-deps lint
	$(PY) -m pytest

format: env
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf _build artefacts/smoke
