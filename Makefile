# OpticaApp: `make run` starts everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Local defaults; real environment variables (or .env) win.
export DJANGO_SETTINGS_MODULE ?= opticaapp.settings
export WHATSAPP_BRIDGE_URL ?= http://127.0.0.1:3000
export WHATSAPP_BRIDGE_API_KEY ?= local-bridge-key
export WHATSAPP_EVENTS_SECRET ?= local-events-secret
export BRIDGE_API_KEY ?= $(WHATSAPP_BRIDGE_API_KEY)
export BRIDGE_EVENTS_SECRET ?= $(WHATSAPP_EVENTS_SECRET)
export BRIDGE_EVENTS_URL ?= http://127.0.0.1:8000/whatsapp/events/
export BRIDGE_DATA_DIR ?= $(CURDIR)/var/bridge

.PHONY: help install db migrate messages browser deploy-tools run test lint neonize-check bench backup clean

help:
	@echo "make run   - install, migrate, load demo data and start web, worker and bridge"
	@echo "make test  - install and run the whole test suite (ruff + pytest)"
	@echo "make bench - run the benchmarks (small sizes; BENCH_FULL=1 for full sizes)"

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt whatsapp_bridge/requirements.txt
	$(PIP) install --quiet -r requirements-dev.txt -r whatsapp_bridge/requirements.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP) messages

# nginx, only for the deploy tests' `nginx -t` on the rendered site (never started here).
deploy-tools:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && \
	  (apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null))

messages: $(STAMP)
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	@DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# Prints nothing; exports DATABASE_URL for the recipe that includes it (embedded PostgreSQL when unset).
DB_ENV = export DATABASE_URL="$$($(PY) scripts/devdb.py 2>/dev/null)" && \
	  { test -n "$$DATABASE_URL" || { echo "PostgreSQL could not be started: run $(PY) scripts/devdb.py to see why" >&2; exit 1; }; }

migrate: install
	@$(DB_ENV) && DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput -v 0

run: install
	@$(DB_ENV) && export DJANGO_DEBUG=$${DJANGO_DEBUG:-1} && \
	  $(PY) manage.py migrate --noinput -v 0 && \
	  $(PY) manage.py seed_demo && \
	  echo "" && \
	  echo "  OpticaApp is starting at http://127.0.0.1:8000/ (this banner is printed again once it answers)" && \
	  echo "" && \
	  mkdir -p var/log && \
	  export GUNICORN_ACCESS_LOG=$${GUNICORN_ACCESS_LOG:-$(CURDIR)/var/log/web-access.log} && \
	  { $(PY) scripts/run_banner.py & } && \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH" node_modules/.bin/pm2-runtime start ecosystem.config.js

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

# The installed neonize and its bundled Go core are the ones pinned in whatsapp_bridge/neonize.lock.
neonize-check: $(STAMP)
	@$(PY) scripts/check_neonize.py

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: install browser deploy-tools lint neonize-check
	@$(DB_ENV) && export DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-secret-key} && \
	  $(PY) -m pytest $(PYTEST_ARGS) && \
	  $(PY) -m pytest whatsapp_bridge/tests $(PYTEST_ARGS)

bench: install
	@$(DB_ENV) && export DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-bench-only-secret-key} && \
	  $(PY) -m bench.run_all

# A backup of the local database and bridge store into var/backups (production: docs/operations.md).
backup: install
	@$(DB_ENV) && BACKUP_DIR=$${BACKUP_DIR:-$(CURDIR)/var/backups} deploy/backup.sh

clean:
	rm -rf $(VENV) node_modules staticfiles var
