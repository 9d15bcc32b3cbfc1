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

.PHONY: help setup system-packages node venv native guests test test-python test-rust demo bench clean

help:
	@echo "make setup | demo | test | bench"

setup: system-packages node venv native guests

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

native:
	$(HOST_CARGO) build --release --locked -p risc0-py
	@mkdir -p build/lib
	@cmp -s $(HOST_TARGET)/release/librisc0_py.so $(NATIVE_LIB) || { \
	  cp $(HOST_TARGET)/release/librisc0_py.so $(NATIVE_LIB).tmp && mv -f $(NATIVE_LIB).tmp $(NATIVE_LIB); }

guests: venv native
	$(PY) scripts/build_guests.py

test: setup test-rust test-python

test-rust:
	$(HOST_CARGO) test --release --locked --workspace
	cd guest_programs && CARGO_TARGET_DIR=$(CACHE)/guest-native-target cargo test --release --locked -p query-core

test-python:
	$(PY) -m pytest -q

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) scripts/bench.py
	$(PY) scripts/bench_indexer.py

clean:
	rm -rf build $(VENV) node_modules
