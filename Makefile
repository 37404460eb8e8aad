# shopmind: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint migrate up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)   ## venv, install, migrate, generate, import, train, serve on http://127.0.0.1:8000
	$(BIN)/shopmind demo --port $(or $(PORT),8000)

test: $(STAMP)   ## the test suite (real PostgreSQL/Redis/worker when DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m pytest tests --ignore=tests/bench -q

bench: $(STAMP)  ## benchmarks; figures go to docs/benchmarks.md (statsforecast is a bench-only dependency)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m pytest tests/bench -q -s -p no:cacheprovider

lint: $(STAMP)   ## ruff, and the import boundaries of docs/architecture.md (contracts in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

migrate: $(STAMP)
	$(BIN)/shopmind migrate

up:              ## distributed mode: postgres, redis, gateway, services, workers, beat
	docker compose up --build -d

down:
	docker compose down

clean:
	rm -rf $(VENV) var .pytest_cache
