# easgw developer targets. Every target creates the venv and installs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv serve lint format typecheck pytest test bench bench-codec bench-sync bench-ping bench-conference bench-caldav clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Run the gateway on its embedded defaults (SQLite in ./easgw-data, 127.0.0.1:8080).
serve: $(STAMP)
	$(VENV)/bin/easgw serve $(SERVE_ARGS)

lint: $(STAMP)
	@echo "== ruff"; start=$$(date +%s); \
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . ; rc=$$?; \
	echo "== ruff: $$(( $$(date +%s) - start ))s"; exit $$rc

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	@echo "== mypy"; start=$$(date +%s); \
	$(VENV)/bin/mypy; rc=$$?; \
	echo "== mypy: $$(( $$(date +%s) - start ))s"; exit $$rc

pytest: $(STAMP)
	@echo "== pytest"; start=$$(date +%s); \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	echo "== pytest: $$(( $$(date +%s) - start ))s"; exit $$rc

# The one command CI runs (.ci/run) and the README gives.
test: lint typecheck pytest

bench: bench-codec bench-sync bench-ping bench-conference bench-caldav

bench-codec: $(STAMP)
	$(PY) bench/codec.py

# Needs Debian's wrk for the no-change rate (apt-get install wrk); without it that line is skipped.
bench-sync: $(STAMP)
	$(PY) bench/sync.py

# 10,000 held Pings (about 4 minutes, most of it preparing 10,001 devices over HTTP).
bench-ping: $(STAMP)
	$(PY) bench/ping.py

# CalDAV store against Radicale on loopback: initial sync, no-change Sync (about 40 s).
bench-caldav: $(STAMP)
	$(PY) bench/caldav.py

# The median time a Jitsi link adds to a Sync Add (about 15 s).
bench-conference: $(STAMP)
	$(PY) bench/conference.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
