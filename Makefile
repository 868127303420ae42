# Parvis — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/parvis
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- Installing ----------------------------------------------------------------------------------

# Debian packages: `apt_install` installs those whose command is missing (needs root).
define apt_install
	@missing=""; for pair in $(1); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get install -y --no-install-recommends $$missing || { apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi
endef

system-deps: ## Install the Debian packages Parvis needs (gettext; poppler-utils for PDF previews)
	$(call apt_install,msgfmt:gettext pdftoppm:poppler-utils)

system-test-deps: system-deps ## Debian packages for the tests (Chromium, litmus, rclone, ClamAV)
	$(call apt_install,chromium:chromium litmus:litmus rclone:rclone clamd:clamav-daemon sigtool:clamav)

system-bench-deps: system-test-deps ## Debian packages for the benchmarks (nginx)
	$(call apt_install,nginx:nginx-light)

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: system-deps $(VENV)/.installed node_modules/.installed ## Install Python and npm dependencies

install-test: system-test-deps $(VENV)/.installed-test node_modules/.installed ## Install test dependencies too

# --- Building ------------------------------------------------------------------------------------

build: install ## Bundle the front end, compile the French catalogue, collect static files
	node frontend/build.mjs
	cd parvis && ../$(PY) ../manage.py compilemessages -v0
	$(PY) manage.py collectstatic --noinput -v0

migrate: install ## Apply database migrations
	$(PY) manage.py migrate -v0

messages: install ## Refresh the French catalogue from the sources (then translate new entries)
	cd parvis && ../$(PY) ../manage.py makemessages -l fr --no-obsolete --no-location -v0 \
	  --ignore 'settings_test.py' --ignore '*/tests/*'

# --- Running -------------------------------------------------------------------------------------

demo: build migrate ## Install, build, migrate, load the demo commune and serve it on http://127.0.0.1:$(PORT)
	$(PY) manage.py load_demo
	$(PY) manage.py load_demo_documents
	$(PY) manage.py load_demo_chat
	$(PY) manage.py serve --port $(PORT)

serve: build migrate ## Serve without loading demo data
	$(PY) manage.py serve --port $(PORT)

# --- Checking ------------------------------------------------------------------------------------

lint: install-test ## Ruff, migration check, Django deploy checks
	$(VENV)/bin/ruff check parvis tests bench conftest.py
	$(PY) manage.py makemigrations --check --dry-run -v0

# The browser tests run in their own pytest process: Playwright's synchronous API keeps an
# event loop running in the worker for the rest of the session, which Django then takes for an
# async context and refuses every database query of the tests that follow.
# The other tests are spread test by test (a worker that is done takes work from the other);
# the browser tests file by file, since each file's tests share the pages they visit.
PYTEST := $(PY) -m pytest -n 2
UNIT := $(PYTEST) --dist worksteal -m "not e2e"
E2E := $(PYTEST) --dist loadfile -m e2e

test: install-test build lint ## Run the whole suite on SQLite, then on PostgreSQL
	CI=$${CI:-} $(UNIT)
	CI=$${CI:-} $(E2E)
	CI=$${CI:-} DATABASE_URL=$(PG_URL) $(UNIT)
	CI=$${CI:-} DATABASE_URL=$(PG_URL) $(E2E)

test-sqlite: install-test build ## The suite on SQLite only
	$(UNIT)
	$(E2E)

clean: ## Remove build products and local data (var/)
	rm -rf $(VENV) node_modules parvis/static/dist staticfiles var

.PHONY: help system-deps system-test-deps install install-test build migrate messages demo serve lint test test-sqlite clean
