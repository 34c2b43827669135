# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Tests run on PostgreSQL and Redis at their standard local ports unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/heart
# Database 15: test messages never reach the queue `make run` (database 0) works from.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format browser-deps gettext-deps messages catalog bench deploy-check

install: $(VENV)/.installed messages

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# The catalogs (locale/*/LC_MESSAGES/*.po, kept in git) compiled for Django; the .mo files are
# build products, never committed. GNU gettext's msgfmt compiles them (and its xgettext is what
# tests/test_catalog.py runs makemessages with).
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

messages: $(MO_FILES)

locale/%.mo: locale/%.po | gettext-deps
	msgfmt --check --output-file=$@ $<

# After marking new strings for translation: add them to the Spanish catalog (then translate
# them; tests/test_catalog.py fails until every entry is).
catalog: install
	DJANGO_DEBUG=true $(BIN)/python manage.py makemessages --locale=es --add-location=file \
	  --no-obsolete --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='var/*' \
	  --ignore='*/migrations/*' --ignore='*.egg-info/*' --ignore='test-artifacts/*'

gettext-deps:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || { \
	  echo "Installing Debian's gettext for the Spanish catalog..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }

run: install
	$(BIN)/python -m heart_cases.run

# Browser tests drive Debian's Chromium through Playwright (which cannot download its own).
browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	DJANGO_DEBUG=true $(BIN)/mypy heart_cases navigation referrals calls metrics demo

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Django's deployment checklist, with the settings production uses, warnings included.
deploy-check: install
	DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_DEBUG=false DJANGO_ALLOWED_HOSTS=heart.example.org \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

test: install browser-deps lint deploy-check
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-test-only-not-a-secret}" \
	DJANGO_DEBUG=false \
	DJANGO_SECURE_SSL_REDIRECT=false \
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.run
