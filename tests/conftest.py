"""Fixtures shared by the whole suite. Helpers live in tests/support/."""

from __future__ import annotations

import pytest

from coprocessor.indexer import Indexer, core
from coprocessor.store import Store
from coprocessor.zkvm import Program

from support.devchain import start_devnode


@pytest.fixture(scope="session")
def echo() -> Program:
    """The echo guest (commits sha256 of its input, then the input)."""
    return Program.load("echo")


@pytest.fixture(scope="module")
def devnode():
    """A read-only devchain for a module (do not mine or reorg on it)."""
    node = start_devnode()
    yield node
    node.close()


@pytest.fixture
def fresh_devnode():
    """A devchain of one's own (tests that mine, reorg or kill)."""
    node = start_devnode(blocks=12, txs=5)
    yield node
    node.close()


@pytest.fixture(scope="module")
def env(devnode, tmp_path_factory):
    """The devchain indexed from genesis: (devnode, store, indexer)."""
    store = Store(tmp_path_factory.mktemp("compiler") / "index.duckdb")
    ix = Indexer(devnode.client, store)
    ix.run(first=0)
    yield devnode, store, ix
    store.close()


@pytest.fixture
def native_calls(monkeypatch):
    """Counts the indexer's native fast-path runs that were taken / declined."""
    seen = {"taken": 0, "declined": 0}
    real = core.ingest_native

    def spy(*a, **k):
        rows = real(*a, **k)
        seen["taken" if rows is not None else "declined"] += 1
        return rows

    monkeypatch.setattr(core, "ingest_native", spy)
    return seen
