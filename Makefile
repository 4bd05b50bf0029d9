# Two commands do everything: `make run` and `make test`. Both build .venv through `make setup`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW__CORE__LOAD_EXAMPLES := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DO_NOT_TRACK := 1

.PHONY: setup run test lint bench airflow clean

setup: $(STAMP)

# Re-install only when the dependency pins change; the package itself is editable.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# One night end to end on the embedded warehouse with simulated sources (a council-sized county).
run: setup
	$(BIN)/send-warehouse run --simulate council

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

# Airflow 3 standalone with the DAG on http://127.0.0.1:$(AIRFLOW_PORT), sources simulated; prints the login.
AIRFLOW_PORT ?= 8080
airflow: setup
	$(BIN)/send-warehouse airflow --port $(AIRFLOW_PORT) --simulate tiny

bench: setup
	$(BIN)/send-warehouse bench --size council

clean:
	-$(BIN)/send-warehouse warehouse stop
	rm -rf .send
