# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format serve migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bot demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench migrations
	$(BIN)/ruff format --check bot tests bench migrations

format: $(STAMP)
	$(BIN)/ruff format bot tests bench migrations
	$(BIN)/ruff check --fix bot tests bench migrations

serve: $(STAMP)
	$(BIN)/python -m bot serve

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
