"""ethcore inside the zkVM (the ethcheck guests, run by the executor) on mainnet data.

The guest's journal must equal the native result byte for byte; tampered data
must make the guest fail. Both builds are checked: keccak on the accelerator
(ethcheck) and in software (ethcheck-sw).
"""

import pytest

from coprocessor import ethcore, ffi, zkvm
from coprocessor.errors import ExecutionError

from support import ethcheck_inputs, mainnet


@pytest.fixture(scope="module", params=["ethcheck", "ethcheck-sw"])
def guest(request):
    mainnet.require()
    return zkvm.Program.load(request.param)


@pytest.mark.parametrize("case", list(ethcheck_inputs.CASES))
def test_guest_matches_native(guest, case):
    command = ethcheck_inputs.CASES[case]()
    native = ffi.run_ethcore(command)
    assert zkvm.execute(guest, command).journal == native


def test_guest_fails_on_a_tampered_proof_node(guest):
    command = bytearray(ethcheck_inputs.account_proof())
    command[-40] ^= 0x01  # inside the last proof node
    with pytest.raises(ExecutionError):
        zkvm.execute(guest, bytes(command))


def test_guest_rejects_or_reroots_a_tampered_receipt(guest):
    original_root = mainnet.rlp.decode(ffi.run_ethcore(ethcheck_inputs.receipts_root()))[0]
    receipts = list(mainnet.rlp.decode(ethcheck_inputs.receipts_root())[1])
    # A flipped byte in a stored bloom: the guest recomputes blooms and fails.
    lying = bytearray(receipts[3])
    lying[100] ^= 0x01
    with pytest.raises(ExecutionError):
        zkvm.execute(
            guest,
            ethcore.command(ethcore.RECEIPTS_ROOT, [*receipts[:3], bytes(lying), *receipts[4:]]),
        )
    # A flipped byte of log data: the guest's root no longer matches the header's.
    tampered = receipts[3][:-1] + bytes([receipts[3][-1] ^ 1])
    journal = zkvm.execute(
        guest, ethcore.command(ethcore.RECEIPTS_ROOT, [*receipts[:3], tampered, *receipts[4:]])
    ).journal
    assert mainnet.rlp.decode(journal)[0] != original_root
    # A dropped receipt changes the root as well.
    journal = zkvm.execute(guest, ethcore.command(ethcore.RECEIPTS_ROOT, receipts[:-1])).journal
    assert mainnet.rlp.decode(journal)[0] != original_root
