# Inventory KPI Monitor — developer entry points. `make help` lists them.
# The local stack is run by deploy/stack.sh; everything it creates lives under var/
# (or $KPIMON_STACK_DIR), logs in var/log/<service>.log.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STACK := bash deploy/stack.sh
PYTEST_ARGS ?=

.PHONY: help install up up-infra down reset status lint test demo bench dashboards chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

install: ## apt packages (when missing), Kafka jars via Maven, .venv with the project
	$(STACK) install

up: install ## start the whole local stack: Kafka, Redis, Prometheus, Alertmanager, worker, exporter
	$(STACK) up

up-infra: install ## start only Kafka, Redis, Prometheus and Alertmanager
	$(STACK) up-infra

down: ## stop everything the stack started
	$(STACK) down

reset: ## stop everything and delete all local data and logs
	$(STACK) reset

status: ## one line per service: state, pid, address
	$(STACK) status

lint: install ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install lint ## install, lint, then unit and integration tests (these start the infra themselves)
	$(VENV)/bin/pytest tests/unit tests/integration $(PYTEST_ARGS)

demo: install ## everything up, then a simulated supply chain feeding it (Ctrl-C stops; SCENARIO=adaptive-rollout)
	KPIMON_DEMO_SCENARIO=$(or $(SCENARIO),$(KPIMON_DEMO_SCENARIO),steady) bash deploy/demo.sh

# Options via BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick" or "--events 240000";
# HISTORY=30d (DENSITY=10) fills the state with that much history first (docs/CAPACITY.md).
HISTORY ?=
DENSITY ?=
bench: install ## worker vs plain aiokafka throughput, latency, memory, restart (HISTORY=30d)
	$(PY) -m bench $(if $(HISTORY),--history $(HISTORY)) $(if $(DENSITY),--density $(DENSITY)) $(BENCH_ARGS)

dashboards: install ## generate the Grafana boards into dashboards/*.json
	$(VENV)/bin/kpimon dashboards build

CHAOS_ARGS ?=
chaos: install ## SIGKILL worker/Redis/broker mid-stream, require exact KPIs (deploy/chaos.py)
	$(PY) deploy/chaos.py $(CHAOS_ARGS)
