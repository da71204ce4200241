# `make dev` installs everything and runs the whole stack; `make test` runs every check.
VENV ?= .venv
PYTHON ?= python3

.PHONY: install dev test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,worker]'
	touch $@

install: $(VENV)/.installed
	@scripts/ensure-redis

dev: install
	$(VENV)/bin/whatsam dev $(ARGS)

test: install
	@scripts/ensure-test-tools
	VENV=$(VENV) scripts/test $(ARGS)
