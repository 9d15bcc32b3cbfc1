"""How the relayer reads the node's answers to eth_sendRawTransaction (coprocessor/relayer/
node.py): "already known" and "nonce too low" are possible successes, fee refusals call for a
replacement, anything else is retried."""

from __future__ import annotations

import pytest

from coprocessor.relayer.node import Broadcast, classify_send_error


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        ("already known", Broadcast.ALREADY_KNOWN),  # geth
        ("transaction already imported", Broadcast.ALREADY_KNOWN),  # anvil
        ("AlreadyKnown", Broadcast.ALREADY_KNOWN),  # nethermind
        ("nonce too low: next nonce 5, tx nonce 4", Broadcast.NONCE_TOO_LOW),
        ("OldNonce", Broadcast.NONCE_TOO_LOW),
        ("replacement transaction underpriced", Broadcast.UNDERPRICED),
        ("max fee per gas less than block base fee", Broadcast.UNDERPRICED),  # geth, anvil
        ("FeeTooLow", Broadcast.UNDERPRICED),
        ("insufficient funds for gas * price + value", Broadcast.REJECTED),
        ("intrinsic gas too high -- tx.gas_limit > env.block.gas_limit", Broadcast.REJECTED),
    ],
)
def test_send_errors_are_classified(message, outcome):
    assert classify_send_error(message) is outcome
