# Linkage. Two commands do everything on a fresh machine:
#   make run    the whole system on embedded defaults (SQLite, embedded MQTT broker, sandbox notifier)
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LOCK_VENV := .venv-lock
NODE_STAMP := node_modules/.installed
CHROMIUM := /usr/bin/chromium
# Rasa 3.6 needs Python 3.10 and lives in its own venv (DESIGN.md: two environments)
# (the first Python 3.10 that runs: pyenv's 3.10.x, else python3.10 on the PATH; a pyenv shim may not run)
PYTHON310 ?= $(shell for p in "$$(pyenv root 2>/dev/null)"/versions/3.10.*/bin/python python3.10; do \
	if "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then echo "$$p"; break; fi; done)
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed

.PHONY: run test lint bench venv assistant-env model clean lock nlu-data

venv: $(STAMP)

# exact versions (with hashes) from requirements.lock, then the project itself without resolving again
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed (set PYTHON=python3.11)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.3'
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# refresh requirements.lock from pyproject.toml (the newest versions its bounds allow), then `make venv`
lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet uv; }
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --quiet --custom-compile-command 'make lock' -o $(LOCK)

assistant-env: $(RASA_STAMP)

# about 3 minutes and 2.7 GB the first time; kept until assistant/requirements.txt changes
$(RASA_STAMP): assistant/requirements.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed for Rasa 3.6 (pyenv install 3.10.13, or set PYTHON310)" >&2; exit 1; }
	test -x $(RASA_VENV)/bin/python || "$(PYTHON310)" -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/python -m pip install --quiet -r assistant/requirements.txt
	touch $(RASA_STAMP)

# trains only when config.yml, assistant/domain or data/{nlu,rules,stories} changed (models/linkage-<fingerprint>)
model: $(STAMP) $(RASA_STAMP)
	$(BIN)/linkage assistant --train-only

# data/nlu/variations.yml from its spec, tools/nlu_variations.yml (seeded: the same file every time;
# tests/assistant/test_nlu_data.py checks the committed file is the generator's output)
nlu-data: $(STAMP)
	$(BIN)/python -m tools.gen_nlu

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# Debian's Chromium for the console's browser tests (Playwright drives it; never `playwright install`)
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else echo "chromium is missing and this is not root: sudo apt-get install chromium" >&2; fi

run: $(STAMP) $(NODE_STAMP) model
	$(BIN)/python -m hub.demo

test: $(STAMP) $(NODE_STAMP) $(CHROMIUM) model lint
	$(BIN)/python -m pytest -q -ra

# ruff (rules in pyproject.toml) on the whole tree, its formatter's check, then mypy strict on telecare/ ([tool.mypy]: the files and
# flags are there). ruff and mypy come with the test extra (requirements.lock).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) model
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(RASA_VENV) $(LOCK_VENV) var .pytest_cache node_modules models .rasa
