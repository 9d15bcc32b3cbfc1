"""The relayer's signing key, read from a file or an environment variable.

Never from a command-line argument: those show in `ps` and shell history. A key file holds
the 32-byte private key as hex (0x optional, surrounding whitespace ignored); a file others
can read is accepted with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from coprocessor.errors import ConfigError, InvalidArgument
from coprocessor.relayer.log import log_event


def _account_from_hex(text: str, where: str) -> LocalAccount:
    hex_digits = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(hex_digits)
    except ValueError as exc:
        raise ConfigError(f"{where}: the key is not hex") from exc
    if len(key) != 32:
        raise ConfigError(f"{where}: a private key is 32 bytes, got {len(key)}")
    try:
        return Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a valid secp256k1 private key") from exc


def load_account(*, key_file: Path | None = None, key_env: str | None = None) -> LocalAccount:
    """The account whose key is in `key_file`, or in the environment variable `key_env`."""
    if (key_file is None) == (key_env is None):
        raise InvalidArgument("load_account takes exactly one of key_file and key_env")
    if key_file is not None:
        try:
            mode = key_file.stat().st_mode
            text = key_file.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {key_file}: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log_event("relayer.key_file_readable_by_others", level=logging.WARNING, path=key_file)
        return _account_from_hex(text, f"key file {key_file}")
    from_environment = os.environ.get(str(key_env))
    if not from_environment:
        raise ConfigError(f"the environment variable {key_env} holds no key")
    return _account_from_hex(from_environment, f"${key_env}")
