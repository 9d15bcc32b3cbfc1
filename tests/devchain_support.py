"""Shared devchain fixtures for indexer tests: anvil with a built history.

Import the fixtures into a test module (`from devchain_support import devnode`).
"""

from __future__ import annotations

import pytest

from coprocessor.devchain import Anvil, History, build_history

HISTORY_BLOCKS = 30
TXS_PER_BLOCK = 8


class DevNode:
    def __init__(self, anvil: Anvil, history: History):
        self.anvil, self.history, self.url = anvil, history, anvil.url
        self.client = anvil.client()

    def close(self):
        self.client.close()
        self.anvil.stop()


def start_devnode(blocks: int = HISTORY_BLOCKS, txs: int = TXS_PER_BLOCK, seed: int = 0) -> DevNode:
    anvil = Anvil()
    try:
        with anvil.client() as c:
            hist = build_history(c, blocks=blocks, txs_per_block=txs, seed=seed)
        return DevNode(anvil, hist)
    except BaseException:
        anvil.stop()
        raise


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
