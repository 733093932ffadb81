# Two commands on a fresh clone (README.md):
#   make demo   install everything, start the embedded server, run the demo training
#   make test   install what the tests need and run every test (.ci/run calls this)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CONSTRAINTS := requirements/constraints.txt
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json

.PHONY: demo test install install-test frontend services lint test-frontend test-python serve stop clean api-docs

demo: install frontend
	scripts/demo.sh

test: install-test frontend services lint test-frontend test-python

# --- Python -------------------------------------------------------------------------

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first and pinned: the CPU build lies on these machines' disk; an unpinned torch
# would pull several GB of CUDA wheels.
$(VENV)/.installed: $(PY) agent/pyproject.toml backend/pyproject.toml $(CONSTRAINTS)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c $(CONSTRAINTS) -e agent -e backend
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt $(CONSTRAINTS)
	$(PIP) install -q -c $(CONSTRAINTS) -r requirements/test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# --- Frontend -----------------------------------------------------------------------

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# --- Checks -------------------------------------------------------------------------

services:
	scripts/ensure-services.sh

lint: install-test
	$(VENV)/bin/ruff check agent backend tests examples bench
	$(VENV)/bin/ruff format --check agent backend tests examples bench
	$(VENV)/bin/mypy

test-frontend: frontend
	cd frontend && npm run typecheck && npm test

test-python: install-test frontend services
	$(VENV)/bin/pytest tests

# docs/api.md from the server's OpenAPI schema (tests/docs/test_api_docs.py checks it).
api-docs: install
	$(PY) scripts/gen_api_docs.py

# --- Running ------------------------------------------------------------------------

serve: install frontend
	$(VENV)/bin/gradsight-server serve

stop:
	@if [ -f .gradsight/server.pid ] && kill $$(cat .gradsight/server.pid) 2>/dev/null; then \
		echo "stopped the demo server"; else echo "no demo server running"; fi
	@rm -f .gradsight/server.pid

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist test-output .pytest_cache .mypy_cache .ruff_cache
