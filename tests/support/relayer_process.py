"""A relayer in a process of its own, for the kill -9 tests (tests/integration/
test_relayer_restart.py): `python -m support.relayer_process --rpc URL --contract ADDR
--db PATH --image-id HEX [--kill-at EVENT]`, key in $RELAYER_TEST_KEY.

With --kill-at, the process sends itself SIGKILL as soon as the relayer logs that event
(relayer.sending: before signing; relayer.signed: signed and stored, not broadcast;
relayer.broadcast: sent, not yet recorded; relayer.mined: mined, not yet confirmed).
Otherwise it runs until every request it saw is settled, then exits 0. The prover is the
test-only FixedAnswerProver (tests/support/relayer.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from web3 import Web3

from coprocessor.relayer import Relayer, RelayerConfig
from coprocessor.relayer.records import REQUEST_STATES

from support.relayer import FixedAnswerProver

KEY_ENV = "RELAYER_TEST_KEY"


class KillAt(logging.Handler):
    """SIGKILLs this process when the relayer logs `event`."""

    def __init__(self, event: str):
        super().__init__()
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", None) == self.event:
            sys.stderr.write(f"killed at: {record.getMessage()}\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--contract", required=True)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--image-id", required=True)
    parser.add_argument("--confirmations", type=int, default=2)
    parser.add_argument("--kill-at")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.kill_at:
        logging.getLogger("coprocessor.relayer").addHandler(KillAt(args.kill_at))
    image_id = bytes.fromhex(args.image_id.removeprefix("0x"))
    config = RelayerConfig(
        rpc_url=args.rpc,
        contract=args.contract,
        db_path=args.db,
        key_env=KEY_ENV,
        confirmations=args.confirmations,
        image_id=image_id,
        poll_interval=0.1,
    )
    prover = FixedAnswerProver(Web3(Web3.HTTPProvider(args.rpc)), image_id)
    deadline = time.monotonic() + args.timeout
    with Relayer(config, prover=prover) as relayer:
        while time.monotonic() < deadline:
            relayer.run_once()
            if relayer.outbox.requests_in(*REQUEST_STATES) and not relayer.busy():
                return 0
            time.sleep(0.1)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
