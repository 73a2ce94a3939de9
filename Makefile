# CDSP — the commands a developer and CI use. See README.md.
PY := .venv/bin/python
export PYTHONPATH := services:scripts

.PHONY: deps test lint typecheck protos check-protos proto-baseline events unit integration e2e demo up down status bench token clean

deps:
	@bash scripts/install.sh

## The whole suite: lint, types, generated-code freshness, unit, integration and end-to-end tests
## against a real PostgreSQL and a real Kafka-protocol broker that the test session starts.
test: deps lint typecheck
	$(PY) -m pytest -q tests

lint: deps
	$(PY) -m ruff check services scripts tests bench

typecheck: deps
	$(PY) -m mypy

## Regenerate the Python code in services/cdsp from protos/ (the one command; tests check it is fresh)
protos: deps
	$(PY) scripts/gen_protos.py

## Regenerate the event catalogue in docs/events (AsyncAPI 3.0 document + readable page) from
## protos/cdsp/events/v1 and deploy/kafka/topics.yaml (tests check it is fresh; the console serves it)
events: deps
	$(PY) scripts/event_catalogue.py generate

## Rewrite the proto compatibility baseline (protos/baseline/cdsp.binpb) from protos/: run it when a
## release is cut, or after a deliberate version raise. Between releases `make test` fails on a
## breaking change to a released package (scripts/proto_compat.py, tests/unit/test_proto_compat.py).
proto-baseline: deps
	$(PY) scripts/proto_compat.py baseline

## Compare protos/ with the released baseline and print every breaking change (make test runs it)
check-protos: deps
	$(PY) scripts/proto_compat.py check

unit: deps
	$(PY) -m pytest -q tests/unit

integration: deps
	$(PY) -m pytest -q tests/integration tests/e2e

## Start the local platform (PostgreSQL :55432, broker :9092, services :50051..), leave it running
up: deps
	$(PY) scripts/devstack.py up

down: deps
	$(PY) scripts/devstack.py down

status: deps
	$(PY) scripts/devstack.py status

## Start the platform, load a sample community, run a scenario through the public gRPC API
demo: deps
	$(PY) scripts/demo.py

bench: deps
	$(PY) bench/run_all.py

## Mint a development token with the local stack's key (make up first): make token ARGS="--role grid_worker --scope /3505/"
token: deps
	$(PY) -m runtime.token_cli $(ARGS)

clean: down
	rm -rf .local
