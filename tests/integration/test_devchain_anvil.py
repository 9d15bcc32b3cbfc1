"""coprocessor.devchain: anvil on a free port with a realistic ERC20 history."""

import pytest
from eth_abi import decode

from coprocessor.devchain import Anvil, allowance_slot, balance_slot, compile_contracts, selector
from coprocessor.errors import DevchainError


def test_compiles_with_pinned_solc():
    art = compile_contracts()["DevToken"]
    assert art.bytecode and any(e.get("name") == "transfer" for e in art.abi)


def test_history_is_realistic(devnode):
    c, h = devnode.client, devnode.history
    blocks = c.batch(
        [
            ("eth_getBlockByNumber", [hex(n), True])
            for n in range(h.first_block + 1, h.last_block + 1)
        ]
    )
    counts = [len(b["transactions"]) for b in blocks]
    assert min(counts) >= 3 and sum(counts) / len(counts) >= 6
    types = {tx["type"] for b in blocks for tx in b["transactions"]}
    assert {"0x0", "0x1", "0x2"} <= types
    receipts = c.batch(
        [("eth_getBlockReceipts", [hex(n)]) for n in range(h.first_block, h.last_block + 1)]
    )
    statuses = [r["status"] for rs in receipts for r in rs]
    assert "0x0" in statuses and statuses.count("0x1") > len(statuses) // 2
    assert any(r["contractAddress"] for rs in receipts for r in rs)
    assert sum(len(r["logs"]) for rs in receipts for r in rs) > 50


def test_nested_mapping_and_big_values(devnode):
    c, h = devnode.client, devnode.history
    token, owner, spender = h.approvals[0]
    word = c.call(
        "eth_getStorageAt",
        ["0x" + token.hex(), "0x" + allowance_slot(owner, spender).hex(), "latest"],
    )
    data = (
        "0x"
        + (selector("allowance(address,address)") + bytes(12) + owner + bytes(12) + spender).hex()
    )
    onchain = c.call("eth_call", [{"to": "0x" + token.hex(), "data": data}, "latest"])
    assert int(word, 16) == decode(["uint256"], bytes.fromhex(onchain[2:]))[0]
    whale = h.tokens["WHALE"]
    bal = c.call(
        "eth_getStorageAt", ["0x" + whale.hex(), "0x" + balance_slot(h.accounts[0]).hex(), "latest"]
    )
    assert int(bal, 16) > 2**128


def test_anvil_stops_with_its_process_group():
    node = Anvil()
    pid = node.proc.pid
    with node.client() as c:
        assert c.chain_id() == 31337
    node.stop()
    assert node.proc.poll() is not None
    import os

    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_too_short_history_is_refused():
    with Anvil() as node, node.client() as c:
        with pytest.raises(DevchainError):
            from coprocessor.devchain import build_history

            build_history(c, blocks=1)


def test_anvil_dies_with_a_killed_parent(tmp_path):
    """kill -9 of the process that started anvil must not leave anvil running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "from coprocessor.devchain import Anvil; import time; a = Anvil(); "
        "print(a.proc.pid, flush=True); time.sleep(60)"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    anvil_pid = int(p.stdout.readline())
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(anvil_pid, 0)
        except ProcessLookupError:
            return
        # reap if it became our zombie (it is not our child, so this is only a wait)
        time.sleep(0.05)
    os.kill(anvil_pid, signal.SIGKILL)
    raise AssertionError("anvil outlived its parent")


def test_devchain_command_stops_anvil_on_sigterm():
    import os
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coprocessor.cli",
            "devchain",
            "--blocks",
            "3",
            "--txs-per-block",
            "2",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out = ""
        while True:
            line = p.stdout.readline()
            out += line
            if line.rstrip() == "}" or not line:
                break
        import json

        port = json.loads(out)["rpc"].rsplit(":", 1)[1]
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        raise
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=20) is not None
    time.sleep(0.2)
    import socket

    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(port))) != 0  # anvil is gone
