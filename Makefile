# Two commands on a fresh machine:  `make demo`  and  `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-dev browser lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[models]'

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[models,dev]'

demo: install
	$(BIN)/jurybox demo --out demo-verdicts.jsonl

# Debian's chromium and chromium-driver for the report and review page tests (tests/report, tests/review):
# installed when missing and this is root with apt; otherwise a note, and those tests fail under CI.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then \
	  echo "installing Debian's chromium and chromium-driver (browser tests)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -qq chromium chromium-driver > /dev/null 2>&1 || \
	    { apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver > /dev/null; }; } || \
	  echo "could not install chromium and chromium-driver: the browser tests will fail under CI"; \
	else echo "chromium and chromium-driver are missing and cannot be installed here (needs root and apt-get): the browser tests will fail under CI"; fi

test: install-dev browser
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build *.egg-info demo-verdicts.jsonl
