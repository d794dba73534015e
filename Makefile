# The two commands a new user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 3000
WEB_WORKERS ?= 4
WEB_THREADS ?= 8
# The test suite uses DATABASE_URL / ATHENS_TEST_REDIS_URL when given, else the local
# PostgreSQL (5432) and Redis (6379) if they answer, else throwaway servers of its own
# (tests/support/services.py).

.PHONY: run worker beat test migrate venv venv-dev clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

venv: $(VENV)/.runtime-installed
venv-dev: $(VENV)/.dev-installed

migrate: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

## Serve the proxy on $(HOST):$(PORT) with gunicorn (never Django's development server).
## Access log lines come from the app (athens.access, with request ids), not gunicorn;
## the config module sets up the /metrics directory shared by the workers.
run: migrate
	$(VENV)/bin/gunicorn athens_site.wsgi -c python:athens_site.gunicorn_conf \
		--bind $(HOST):$(PORT) --workers $(WEB_WORKERS) \
		--worker-class gthread --threads $(WEB_THREADS) --timeout 120 \
		--forwarded-allow-ips 127.0.0.1

## A Celery worker that runs fetches (needs CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0).
worker: migrate
	$(VENV)/bin/celery -A athens_site worker --loglevel INFO

## Celery beat: audit rollups every 5 minutes, audit retention daily (needs CELERY_BROKER_URL
## and a running worker; exactly one beat per installation).
beat: migrate
	$(VENV)/bin/celery -A athens_site beat --loglevel INFO --schedule $(CURDIR)/var/celerybeat-schedule

## The whole test suite against PostgreSQL and Redis (and Debian's Chromium for tests/browser).
## With none running, it starts throwaway ones (installing Debian's postgresql and
## redis-server where missing) and removes them afterwards.
test: venv-dev
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	test -x /usr/sbin/nginx || command -v nginx >/dev/null || (apt-get update && apt-get install -y nginx)
	CELERY_BROKER_URL= $(PY) -m tests.support.services -- $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
