# Two set-up commands, each self-sufficient on a fresh machine with Python 3.11+:
#   make plan   offline plan of STACK (any Pulumi.<stack>.yaml; default the first of the first deploy wave): resource tree; OUT=dir writes the files
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACKS := $(sort $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml)))
# Commands that touch a deployed stack never default to one: STACK= is required.
NEED_STACK = $(if $(STACK),$(STACK),$(error STACK=<stack> is required (stacks: $(STACKS))))

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: plan test test-growth lint tools bench venv deps policy-deps force-sync verify preflight rotation-report check-values operator docs backend lock clean help

help:
	@echo "make plan [STACK=<stack>] [OUT=dir]              offline plan and monthly cost (default: the first deploy wave); stacks: $(STACKS)"
	@echo "make test                                        lint, the full test suite, then the growth checks (test-growth)"
	@echo "make test-growth                                 the suite on copies grown by a backend, an environment, a value"
	@echo "make docs                                        regenerate the backends' keys in Pulumi.yaml and docs/configuration.md"
	@echo "make backend NAME=<name>                         a new backend's skeleton (then make docs): docs/extending.md"
	@echo "make bench                                       offline plan benchmark (REPEAT=5)"
	@echo "make force-sync STACK=... [RESTART=deployment/aragora]   re-sync the ExternalSecrets now"
	@echo "make verify STACK=... [BACKEND=1]                store and ExternalSecrets Ready, every catalog key in each Secret (and in the backend)"
	@echo "make preflight STACK=... [NEW_VALUES=file]       before an ESO upgrade (CRDs store only v1) or adopting an installed ESO"
	@echo "make rotation-report STACK=... [NOW=iso-time]    each value's age against its max age; exit 1 if overdue or gone"
	@echo "make check-values STACK=...                      every catalog value present (non-empty) in the backend? exit 1 listing the rest"
	@echo "  (these five: DEADLINE=seconds, default 60; exit 0 ok, 1 a finding, 2 cannot check, also through make)"
	@echo "make operator OUT=dir [REPO=url] [BRANCH=main] [ORG=pulumi-org | STATE=s3://.. SECRETS_PROVIDER=awskms://..]"
	@echo "                                                 Pulumi Kubernetes Operator v2 deploy and drift Stacks and their alerts"
	@echo "                                                 (STATE and SECRETS_PROVIDER: one URL, or '<stack>=URL ...' per stack)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "error: Python 3.11 or newer is required (PYTHON=$(PYTHON))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

# requirements.txt installs this project in editable mode (pins in pyproject.toml).
$(RUNTIME_STAMP): requirements.txt pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt policy/requirements.txt pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

deps: $(RUNTIME_STAMP)

# The policy pack runs in its own virtualenv (policy/PulumiPolicy.yaml).
policy-deps: policy/.venv/.installed

policy/.venv/.installed: policy/requirements.txt
	$(PYTHON) -m venv policy/.venv
	policy/.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r policy/requirements.txt
	@touch $@

plan: $(RUNTIME_STAMP)
	$(BIN)/python -m stacktools.plan $(if $(STACK),--stack $(STACK)) $(if $(OUT),--out $(OUT))

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# Real checkers from Debian where PyPI has none: promtool (the alert rules' tests) and kubectl
# (the kubectl tools' tests against a fake API server). A kubectl already on PATH is used; else
# Debian 12's kubernetes-client, pinned: the one Debian release there is, and every kubectl flag
# the tools use (--request-timeout, config get-contexts -o name, get --raw) predates it.
# CI runs as root; elsewhere install Debian's prometheus and kubernetes-client packages first.
KUBECTL_DEB := kubernetes-client=1.20.5+really1.20.2-1.1+deb12u1
tools:
	@command -v promtool >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
		|| { echo "error: promtool is missing and could not be installed (apt-get install prometheus, as root)" >&2; exit 1; }
	@command -v kubectl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(KUBECTL_DEB) >/dev/null; } \
		|| { echo "error: kubectl is missing and could not be installed (apt-get install $(KUBECTL_DEB), as root)" >&2; exit 1; }

# Bytecode is written (to __pycache__, which git ignores) even where the environment sets
# PYTHONDONTWRITEBYTECODE: otherwise every xdist worker, tool subprocess and growth copy compiles
# and assertion-rewrites every module again, a sixth of the suite's CPU.
test test-growth: export PYTHONDONTWRITEBYTECODE =
test: lint tools
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-growth

# The growth checks run the whole suite again on copies of the tree (a new backend from
# `make backend`, a qa stack file, a SENTRY_DSN catalog line): too slow to nest in pytest's
# minute, so they run after it, never skipped (tests/growth.py; exit 1 names what broke).
test-growth: $(DEV_STAMP) tools
	$(BIN)/python -m tests.growth

bench: $(DEV_STAMP)
	$(BIN)/python bench/bench.py

# Operate a deployed stack (needs kubectl and the stack's kubeContext). Every tool exits 0 ok,
# 1 a finding, 2 cannot check, within DEADLINE seconds (default 60) - the same through make
# (docs/operations.md, Exit statuses), by the mechanism below.
DEADLINE_ARG = $(if $(DEADLINE),--deadline $(DEADLINE))
TOOL_force-sync      = $(BIN)/python -m stacktools.ops force-sync --stack $(NEED_STACK) $(if $(RESTART),--restart $(RESTART)) $(DEADLINE_ARG)
# BACKEND=1: also read the backend (its credentials): a value it no longer holds fails.
TOOL_verify          = $(BIN)/python -m stacktools.ops verify --stack $(NEED_STACK) $(if $(BACKEND),--backend) $(DEADLINE_ARG)
# Before an ESO chart bump: refuses while a CRD still stores an API version other than v1.
# NEW_VALUES=file (helm show values external-secrets --version X) also warns about dropped values.
TOOL_preflight       = $(BIN)/python -m stacktools.preflight --stack $(NEED_STACK) $(if $(NEW_VALUES),--new-values $(NEW_VALUES)) $(DEADLINE_ARG)
# When each value last changed in the backend, its catalog max age, OVERDUE (exit 1).
# Backend credentials from the environment, as for `pulumi up`; NOW=2027-01-04T00:00:00Z looks ahead.
TOOL_rotation-report = $(BIN)/python -m stacktools.rotation --stack $(NEED_STACK) $(if $(NOW),--now $(NOW)) $(if $(STAMP),--stamp-metadata) $(DEADLINE_ARG)
# Before the first `up` or after adding a catalog value: exit 1 listing what the backend lacks.
TOOL_check-values    = $(BIN)/python -m stacktools.checkvalues --stack $(NEED_STACK) $(DEADLINE_ARG)
# The kubectl tools need only the runtime; the backend readers' clients (boto3, hvac) are dev requirements.
TOOL_DEPS_force-sync := $(RUNTIME_STAMP)
TOOL_DEPS_verify := $(if $(BACKEND),$(DEV_STAMP),$(RUNTIME_STAMP))
TOOL_DEPS_preflight := $(RUNTIME_STAMP)
TOOL_DEPS_rotation-report := $(DEV_STAMP)
TOOL_DEPS_check-values := $(DEV_STAMP)

# make exits 2 whenever a recipe fails, which would turn a tool's 1 (a finding) into 2 (cannot
# check). So a tool runs while make updates its makefiles: its status file is an included
# makefile, remade (the tool runs, output live) before the goal, then make restarts and reads
# it. Status 0: the goal succeeds; 2: the goal's recipe fails (make's own 2); 1: this run turns
# on -q, whose status for a goal that is out of date is 1. `make -n` runs nothing (prints the
# command). One tool per make run.
TOOL_GOAL := $(filter force-sync verify preflight rotation-report check-values,$(MAKECMDGOALS))
ifneq ($(TOOL_GOAL),)
ifneq ($(words $(TOOL_GOAL)),1)
$(error one tool per make run (asked: $(TOOL_GOAL)))
endif
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
TOOL_STATUS_FILE := $(or $(TMPDIR),/tmp)/aragora-tool-status.$(shell echo $$PPID)
ifndef MAKE_RESTARTS
$(TOOL_STATUS_FILE): FORCE $(TOOL_DEPS_$(TOOL_GOAL))
	@$(TOOL_$(TOOL_GOAL)); echo "TOOL_STATUS := $$?" > $@
endif
-include $(TOOL_STATUS_FILE)
ifdef MAKE_RESTARTS
$(shell rm -f $(TOOL_STATUS_FILE))
endif
ifeq ($(TOOL_STATUS),1)
MAKEFLAGS += -q
endif
endif
endif
.PHONY: FORCE
FORCE:

# The goal: the recorded status (a real run), or the command itself (make -n).
tool = $(if $(TOOL_STATUS),@exit $(TOOL_STATUS),$(TOOL_$(1)))

force-sync verify preflight rotation-report check-values: $(TOOL_DEPS_$(TOOL_GOAL))
	$(call tool,$@)

# Every stack as Pulumi Kubernetes Operator v2 deploy and drift Stacks (docs/operator.md).
# Values reach the tool through the environment ("$$STATE"), never pasted into the
# shell command: a URL's '&', '?', ';' or quotes arrive intact.
operator: $(RUNTIME_STAMP)
	@: $(or $(OUT),$(error OUT=dir is required))
	$(BIN)/python -m stacktools.operator --out "$$OUT" $(if $(REPO),--repo "$$REPO") $(if $(BRANCH),--branch "$$BRANCH") \
		$(if $(FLUX_SOURCE),--flux-source "$$FLUX_SOURCE") $(if $(NAMESPACE),--namespace "$$NAMESPACE") $(if $(ORG),--org "$$ORG") \
		$(if $(STATE),--state "$$STATE") $(if $(SECRETS_PROVIDER),--secrets-provider "$$SECRETS_PROVIDER")

# The backends' keys into Pulumi.yaml, and the configuration reference from it and the settings models.
docs: $(RUNTIME_STAMP)
	$(BIN)/python -m stacktools.configdoc

# A new backend's skeleton (docs/extending.md, Adding a backend), then its keys into Pulumi.yaml and the docs.
backend: $(RUNTIME_STAMP)
	$(BIN)/python -m stacktools.scaffold $(or $(NAME),$(error NAME=<name> is required))
	$(BIN)/python -m stacktools.configdoc

# Re-resolve constraints.txt after changing a pin (needs the package index).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	{ sed -n '1,3p' constraints.txt; .lock-venv/bin/python -m pip freeze | grep -v -e '^-e' -e '^# Editable'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) policy/.venv .pytest_cache plan-out
