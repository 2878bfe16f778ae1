# Two commands a newcomer needs:  make serve   and   make test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: serve test test-js test-deps test-sqlite test-postgres deps system-deps bench purge

$(BIN)/python:
	$(PY) -m venv $(VENV)

deps: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt

# Debian packages the tests use: chromium for the browser tests, nginx for the proxy test, and
# the colour emoji font so that the screenshots (tests/test_screenshots.py) show emoji, not boxes.
system-deps:
	@command -v chromium >/dev/null && command -v nginx >/dev/null && \
	  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx-light \
	    fonts-noto-color-emoji >/dev/null)

# Every process of the Procfile (web: gunicorn, purge: the retention purge), run by honcho.
serve: deps
	$(BIN)/python manage.py migrate --noinput
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start -p $(PORT)

# The browser client's unit tests, then the whole suite on the SQLite default, then again on PostgreSQL.
test: deps system-deps test-js test-deps test-sqlite test-postgres

# The pure modules of static/js/parley/ under Node's own test runner (no npm, no packages).
# Debian's nodejs is installed only when node is missing. The shell expands the glob, so any
# Node from 18 on finds the files; the runner ends with its "# tests / # pass / # fail" summary.
test-js:
	@command -v node >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null)
	node --test tests/js/*.test.mjs

# What the browser tests inject into pages (tests/package.json: axe-core, pinned, nothing else),
# from the npm registry into tests/node_modules; Debian's npm is installed only when npm is missing.
test-deps:
	@command -v npm >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null)
	npm ci --prefix tests --ignore-scripts --no-audit --no-fund

# Tests marked `postgres` need PostgreSQL itself; they run in the second pass.
test-sqlite:
	$(BIN)/pytest -q -m "not postgres"

test-postgres:
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

bench: deps
	$(BIN)/python -m bench $(ARGS)

purge: deps
	$(BIN)/python manage.py purge_messages
