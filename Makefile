# One command each: `make install`, `make run`, `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install run test lint bench

install:
	@# Chromium (Debian's package) renders the HTML report in the tests; PostgreSQL's server
	@# (Debian's package) is the shared store of replicas, and the tests start one of their own.
	missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	HF_HUB_OFFLINE=1 $(BIN)/switchboard prepare-model

run:
	HF_HUB_OFFLINE=1 $(BIN)/switchboard run

test:
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

lint:
	$(BIN)/ruff check .

bench:
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench.retrieval
