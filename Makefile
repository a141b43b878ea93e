# Two commands on a fresh clone: `make synth` and `make test`. Each target installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
ENV ?=

export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

CDK := npx --no-install cdk
ENV_CONTEXT := $(if $(ENV),-c env=$(ENV),)

.PHONY: help deps synth test lint typecheck checkov bench docs deploy diff clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(VENV)/.finetune-installed: $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,finetune]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_VENV)/.installed: .ci/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r .ci/checkov-requirements.txt
	touch $@

deps: $(VENV)/.installed $(VENV)/.finetune-installed node_modules/.installed $(CHECKOV_VENV)/.installed  ## install the pinned toolchain

synth: $(VENV)/.installed node_modules/.installed  ## synthesize every environment (ENV=dev for one) through the gate
	rm -rf cdk.out
	$(CDK) synth --quiet $(ENV_CONTEXT)
	@echo "synthesized: $$(ls -d cdk.out/assembly-* | xargs -n1 basename | sed 's/assembly-//' | tr '\n' ' ')"

test: deps  ## run the whole suite: lint, types, unit and infrastructure tests, nag, cfn-lint, checkov
	ruff check .
	ruff format --check .
	mypy
	pytest

lint:  $(VENV)/.installed  ## ruff and mypy only
	ruff check .
	ruff format --check .
	mypy

bench: deps  ## benchmarks (see README.md, Benchmarks)
	python bench/synth.py
	python bench/prompt_render.py
	python bench/transform_throughput.py
	python bench/finetune_throughput.py

docs: $(VENV)/.installed  ## regenerate docs/security.md and the architecture picture
	python -m compliance.report > docs/security.md
	command -v dot >/dev/null || (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null)
	python docs/architecture.py

diff: $(VENV)/.installed node_modules/.installed  ## cdk diff against the deployed stacks of ENV
	$(CDK) diff $(ENV_CONTEXT) '$(if $(ENV),LlmOps-$(ENV)/*,**)'

deploy: $(VENV)/.installed node_modules/.installed  ## deploy ENV (make deploy ENV=dev)
	@test -n "$(ENV)" || (echo "set ENV, e.g. make deploy ENV=dev" && exit 2)
	$(CDK) deploy -c env=$(ENV) 'LlmOps-$(ENV)/*'

clean:  ## remove build outputs (not the virtualenvs)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
