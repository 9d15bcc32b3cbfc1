# Everything a fresh Debian machine needs, and the four entry points:
#   make setup   idempotent install (Debian packages, npm tools, venv, native lib, guests)
#   make demo    the main job, end to end
#   make test    the whole suite (pytest and cargo test)
#   make bench   figures, as ratios against baselines measured in the same run
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/coprocessor
export COPROCESSOR_CACHE := $(CACHE)
HOST_TARGET := $(CACHE)/target
VENV := .venv
PY := $(VENV)/bin/python
DEBIAN_PACKAGES := rustc-web cargo-web rust-web-src lld-22
NATIVE_LIB := build/lib/librisc0_py.so
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The host side builds with the machine's (rustup) cargo; guests with Debian's.
HOST_CARGO := CARGO_TARGET_DIR=$(HOST_TARGET) cargo

.PHONY: help setup system-packages node venv proto native guests contracts test test-python test-heavy test-rust test-contracts demo bench clean

help:
	@echo "make setup | demo | test | bench"

setup: system-packages node venv proto native guests contracts lint-cache

system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

node: node_modules/.setup-stamp
node_modules/.setup-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

venv: $(VENV)/.setup-stamp
$(VENV)/.setup-stamp: requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# gRPC stubs for proto/coprocessor/v1 (generated, never committed): the proto root is mapped to
# coprocessor/_proto, so the modules import as coprocessor._proto.v1.query_service_pb2(_grpc).
PROTO_SRC := proto/coprocessor/v1/query_service.proto
PROTO_OUT := coprocessor/_proto/v1/query_service_pb2.py

proto: $(PROTO_OUT)
$(PROTO_OUT): $(PROTO_SRC) $(VENV)/.setup-stamp
	@mkdir -p coprocessor/_proto/v1
	$(PY) -m grpc_tools.protoc -Icoprocessor/_proto=proto/coprocessor --python_out=. \
	  --grpc_python_out=. coprocessor/_proto/v1/query_service.proto
	@touch coprocessor/_proto/__init__.py coprocessor/_proto/v1/__init__.py

native:
	$(HOST_CARGO) build --release --locked -p risc0-py
	@mkdir -p build/lib
	@cmp -s $(HOST_TARGET)/release/librisc0_py.so $(NATIVE_LIB) || { \
	  cp $(HOST_TARGET)/release/librisc0_py.so $(NATIVE_LIB).tmp && mv -f $(NATIVE_LIB).tmp $(NATIVE_LIB); }

guests: venv native
	$(PY) scripts/build_guests.py

# Solidity (contracts/): forge with the pinned solc-js behind scripts/solc, offline
# (foundry.toml). ABIs and bytecode for Python go to build/contracts; tests build in build/forge.
FORGE := node_modules/.bin/forge

contracts: node
	FOUNDRY_PROFILE=artifacts $(FORGE) build

test-contracts: node
	$(FORGE) test

# clippy checks dependencies in its own (check) mode: warm that cache at setup, so that
# `make lint` inside `make test` rebuilds nothing setup already built.
GUEST_NATIVE_CARGO := CARGO_TARGET_DIR=$(CACHE)/guest-native-target cargo
CLIPPY_HOST := $(HOST_CARGO) clippy --release --locked --workspace --all-targets
CLIPPY_GUEST := cd guest_programs && $(GUEST_NATIVE_CARGO) clippy --release --locked -p ethcore -p query-core --all-targets

lint-cache:
	$(CLIPPY_HOST) --quiet >/dev/null 2>&1 || true
	$(CLIPPY_GUEST) --quiet >/dev/null 2>&1 || true

# The hygiene gate (part of make test): formatting, lints and types, Python and Rust.
lint: venv node proto
	node_modules/.bin/buf lint
	$(PY) -m ruff format --check coprocessor tests scripts
	$(PY) -m ruff check coprocessor tests scripts
	$(PY) -m mypy
	cargo fmt --all --check
	cd guest_programs && cargo fmt --all --check
	$(CLIPPY_HOST) -- -D warnings
	$(CLIPPY_GUEST) -- -D warnings

test: setup lint test-rust test-python test-contracts

test-rust:
	$(HOST_CARGO) test --release --locked --workspace
	cd guest_programs && $(GUEST_NATIVE_CARGO) test --release --locked -p ethcore -p query-core

test-python:
	$(PY) -m pytest -q -m "not heavy"

# Real proofs too many for make test's budget on 2 cores: split proving on a Ray cluster and
# by local workers with a killed worker, the history guest's composition of real receipts.
test-heavy: setup
	$(PY) -m pytest -q -m heavy

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) scripts/bench.py
	$(PY) scripts/bench_indexer.py
	$(PY) scripts/bench_server.py
	$(PY) scripts/bench_prover.py
	$(PY) scripts/bench_history.py
	@echo "contract gas (forge; fulfil with the mock verifier: RISC Zero's router adds ~316k on real networks)"
	$(FORGE) test --match-path contracts/test/Gas.t.sol -vv

clean:
	rm -rf build $(VENV) node_modules coprocessor/_proto
