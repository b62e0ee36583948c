# Two commands for a newcomer: `make run` (the shop with demo data on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate demo serve lint format typecheck security checkmigrations ci clean bench

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py search_reindex --missing

demo: migrate
	$(BIN)/python manage.py seed_demo

serve: install
	@echo ""
	@echo "  Books (API):     http://$(HOST):$(PORT)/api/books/"
	@echo "  API docs:        http://$(HOST):$(PORT)/api/docs/"
	@echo "  Admin panel:     http://$(HOST):$(PORT)/admin/"
	@echo "  Demo superuser:  admin@bookstore.local / bookstore-admin"
	@echo "  Store manager:   manager@bookstore.local / bookstore-manager"
	@echo "  Demo customer:   reader@bookstore.local / bookstore-reader"
	@echo ""
	@# The local Stripe server sends webhooks to SITE_URL: by default, the address served here.
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" $(BIN)/python manage.py runshop $(HOST):$(PORT)

run: demo serve

# Tests run in one process per CPU (pytest-xdist); PYTEST_WORKERS=0 runs them in this one.
PYTEST_WORKERS ?= auto

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The same checks as the commit hooks (.pre-commit-config.yaml), run on every file.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	git ls-files -z --cached --others --exclude-standard '*.py' | xargs -0 $(BIN)/django-upgrade --target-version 5.2 --check
	@$(MAKE) --no-print-directory checkmigrations

# mypy with the Django and DRF stubs (mypy.ini): strict on services, selectors, the Stripe
# gateway and the signal receivers.
typecheck: install
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Security linter: no medium or high finding in the project's code (each justified one is
# marked `# nosec <id>` with its reason on the line above).
security: install
	$(BIN)/bandit -q -r accounts bookstore core catalog orders payments manage.py gunicorn.conf.py \
		-x "*/tests/*,*/migrations/*" --severity-level medium

checkmigrations: install
	$(BIN)/python manage.py makemigrations --check --dry-run

# Catalogue figures on 100,000 books, in a PostgreSQL database of the benchmark's own (not part of
# test or ci). benchmarks/catalog_bench.py creates the database if missing and builds it on the first run
# (about 4 minutes in all), then reuses it (under 2); BENCH_ARGS="--rebuild" starts over.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bookstore_bench

bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.catalog_bench $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-http

# The HTTP figures on the same database (benchmarks/http_bench.py, about 2 minutes): gunicorn with
# production settings and a local Stripe server, loaded by wrk over loopback. wrk comes from
# Debian's packages, installed here when missing.
# The same catalogue figures on 1,000,000 books (the 10,000 real ones and 990,000 variants), in a
# database of their own; not part of test or ci. The first run builds it (about 40 minutes on two
# busy cores; 2.8 GB), later runs reuse it (about 7 minutes); BENCH_ARGS as for `make bench`.
BENCH_1M_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bookstore_bench_1m

.PHONY: bench-1m
bench-1m: install
	DATABASE_URL=$(BENCH_1M_DATABASE_URL) $(BIN)/python -m benchmarks.catalog_bench \
		--size 1000000 --naive-repeat 1 $(BENCH_ARGS)

.PHONY: bench-http
bench-http: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "Installing wrk (Debian package)..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m benchmarks.http_bench $(BENCH_HTTP_ARGS)

# The multi-instance proof (.ci/cluster.py, a few minutes): 3 gunicorn instances and 2 clocks on
# one PostgreSQL database of its own (created and dropped) and Redis, with the local Stripe server.
CLUSTER_POSTGRES ?= postgres://postgres@127.0.0.1:5432
CLUSTER_DATABASE ?= bookstore_cluster
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: cluster
cluster: install
	$(BIN)/python .ci/cluster.py --postgres $(CLUSTER_POSTGRES) --database $(CLUSTER_DATABASE) \
		--redis $(CLUSTER_REDIS_URL)

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .ruff_cache .mypy_cache
