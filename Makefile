# make demo  - set everything up and run the app (web + worker) at http://127.0.0.1:8000
# make test  - run the whole test suite
# make lint  - ruff
# make bench - speed figures (backtester, bot ticks, websocket fan-out)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
HOST    ?= 127.0.0.1
PORT    ?= 8000
export NUMBA_CACHE_DIR ?= $(CURDIR)/var/numba-cache
export PYTHONDONTWRITEBYTECODE := 1

# A Python 3.12+ interpreter: from PATH, else from pyenv. Each candidate is run, not just found,
# because a pyenv shim exists on PATH even for versions it will refuse to run.
define find_python
for p in python3.12 python3.13 python3.14 python3; do \
  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,12) <= sys.version_info[:2] < (3,14)))' 2>/dev/null; then \
    $$p -c 'import sys; print(sys.executable)'; exit 0; fi; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$$' | sort -t. -k2,2n -k3,3n); do \
    c="$$(pyenv root)/versions/$$v/bin/python3"; \
    if [ -x "$$c" ]; then echo "$$c"; exit 0; fi; \
  done; \
fi; \
echo "Python 3.12 or 3.13 is needed (pandas-ta requires it): install it, or 'pyenv install 3.12'" >&2; exit 1
endef

.PHONY: help demo test lint bench setup run clean-venv messages

help:
	@echo "make demo   set up and run the app with a demo user and a paper bot (Ctrl-C stops it)"
	@echo "make test   run the test suite"
	@echo "make lint   run ruff"
	@echo "make bench  print speed figures"

$(VENV)/.runtime-installed: requirements.txt
	@test -x $(PY) || { interp="$$($(find_python))" && echo "Creating $(VENV) with $$interp" && "$$interp" -m venv $(VENV); }
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# The translations (locale/*/LC_MESSAGES/django.po -> .mo, not committed): compilemessages rebuilds only a .mo
# older than its .po. msgfmt comes with gettext (apt-get install gettext).
messages: $(VENV)/.runtime-installed
	@command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt is missing: install gettext (apt-get install gettext)" >&2; exit 1; }
	$(PY) manage.py compilemessages --ignore=.venv --ignore='var/*' --ignore='bench/*' --verbosity 0

setup: $(VENV)/.runtime-installed messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo

# Ctrl-C (or SIGTERM) stops web and worker once: the trap resets itself before it signals the two by their
# pids (never `kill 0`, which signals this shell too and re-enters the trap), then waits for them. If either
# stops on its own, the other is stopped too and its exit status is make's.
run:
	@echo ""
	@echo "  Tradingbot is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web and worker)"
	@if [ -n "$(RUN_NOTE)" ]; then echo "  $(RUN_NOTE)"; fi
	@echo ""
	@# A fresh Prometheus multiprocess folder for web + worker (metrics.process), unless one is set.
	@if [ -z "$$PROMETHEUS_MULTIPROC_DIR" ]; then rm -rf "$(CURDIR)/var/prometheus"; fi
	@trap 'trap - INT TERM; kill -TERM $$worker $$web 2>/dev/null; wait $$worker $$web; exit 130' INT TERM; \
	$(PY) manage.py worker & worker=$$!; \
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) tradingbot.asgi:application & web=$$!; \
	wait -n $$worker $$web; status=$$?; \
	trap - INT TERM; kill -TERM $$worker $$web 2>/dev/null; wait $$worker $$web; exit $$status

demo: setup
	@$(MAKE) --no-print-directory run RUN_NOTE="Demo login: demo / demo-trader-2026"

test: $(VENV)/.dev-installed messages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.dev-installed
	$(PY) -m bench

clean-venv:
	rm -rf $(VENV)
