// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Emits an event with bytesN parameters (N < 32), indexed and not, for the
/// query compiler's bytesN tests (tests/integration/test_event_bytes_n.py).
contract TagEmitter {
    event Tagged(bytes4 indexed tag, bytes16 note, uint256 n);

    function tag(bytes4 t, bytes16 note, uint256 n) external {
        emit Tagged(t, note, n);
    }
}
