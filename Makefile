# hamta-gateway developer tasks. `make test` or `make demo` alone sets everything up on a
# fresh Debian machine that has Python >= 3.11: the virtualenv, the package, redis-server;
# `make test` also the interop peers (smpp34 from PyPI in the test extras, Kannel with apt)
# and the browser for the web console's tests (Debian's chromium and chromium-driver, with apt).
#
#   make venv    .venv with the package and its test extras (again only when pyproject.toml changes)
#   make redis   make sure redis-server is installed (the project runs its own, never port 6379)
#   make peers   make sure Kannel (bearerbox, smsbox) is installed for the interop tests; when it
#                cannot be (not root, no apt) it says what to install and those tests skip
#   make chromium  make sure Debian's chromium and chromium-driver are installed for the web
#                console's browser tests; when they cannot be, it says what to install and
#                those tests skip
#   make lint    mypy --strict and ruff, both configured in pyproject.toml (CI runs it)
#   make test    the whole test suite (PYTEST_ARGS="-k normalize" to narrow it)
#   make demo    SMSC simulator + gateway + subscriber console, all local
#   make bench   the load benchmark: only its results (ARGS=--verbose: the processes' INFO lines
#                too; REGISTRY=http: also through `registry serve`, side by side)
#   make clean   remove the virtualenv, caches and run directories

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
ARGS ?=
PY_OK := import sys; sys.exit(sys.version_info < (3, 11))

# The first of these that is Python >= 3.11; override with `make PYTHON=/path/to/python3`.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3 python3.13 python3.12 python3.11; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c '$(PY_OK)' 2>/dev/null && { echo $$p; break; }; \
	done; true)
endif

.PHONY: venv redis peers chromium lint test demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(PY_OK)' 2>/dev/null; then \
	  echo "error: hamta-gateway needs Python >= 3.11, found: $$($(or $(PYTHON),python3) -V 2>/dev/null || echo no $(or $(PYTHON),python3))." >&2; \
	  echo "Install Python 3.11 or newer (Debian 12: sudo apt-get install python3 python3-venv)," >&2; \
	  echo "or point make at one: make PYTHON=/path/to/python3.11" >&2; \
	  exit 1; \
	fi
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	  pkg="python$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"; \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "$(PYTHON) cannot create virtualenvs: installing $$pkg"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$$pkg"; \
	  else \
	    echo "error: $(PYTHON) cannot create virtualenvs: sudo apt-get install $$pkg" >&2; \
	    exit 1; \
	  fi; \
	fi
	@if ! $(VENV)/bin/python -c '$(PY_OK)' 2>/dev/null || ! $(VENV)/bin/python -m pip --version >/dev/null 2>&1; then \
	  echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) -V 2>&1))"; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

redis:
	@bash scripts/ensure-redis.sh

peers:
	@bash scripts/ensure-kannel.sh

chromium:
	@bash scripts/ensure-chromium.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: venv redis peers chromium
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

demo: venv redis
	$(VENV)/bin/hamta-gateway demo $(ARGS)

bench: venv redis
	$(VENV)/bin/hamta-gateway bench $(if $(REGISTRY),--registry $(REGISTRY)) $(ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis .run conformance-results.xml tests/artifacts
	rm -rf *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
