# Two set-up commands, each self-sufficient on a fresh machine with Python 3.11+:
#   make plan   offline plan of STACK (default staging): resource tree; OUT=dir writes the files
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: plan test lint bench venv clean help

help:
	@echo "make plan [STACK=staging|production] [OUT=dir]   offline plan (no cloud, no Pulumi CLI)"
	@echo "make test                                        lint and the full test suite"
	@echo "make bench                                       offline plan benchmark (REPEAT=5)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "error: Python 3.11 or newer is required (PYTHON=$(PYTHON))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

plan: $(RUNTIME_STAMP)
	$(BIN)/python -m infra.plan --stack $(STACK) $(if $(OUT),--out $(OUT))

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

bench: $(DEV_STAMP)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache plan-out
