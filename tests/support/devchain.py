"""A devchain for tests: anvil with a built history (fixtures `devnode` and `fresh_devnode` in
tests/conftest.py)."""

from __future__ import annotations

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
