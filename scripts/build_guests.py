"""Builds every RISC Zero guest under guest_programs/ without rzup.

Debian's rustc-web compiles the guests for riscv32im-risc0-zkvm-elf with
-Zbuild-std (RUSTC_BOOTSTRAP=1); each ELF is wrapped with the v1compat kernel
into a program binary under build/guests/, and its image ID is recorded in
guest_programs/image_ids.json, the one source Python, Rust and Solidity read.

Usage: build_guests.py [--check] [--guest-dir DIR] [--target-dir DIR] [--out DIR]
  --check   fail if a built image ID differs from the recorded one (no rewrite)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coprocessor.zkvm import Program  # noqa: E402

TARGET = "riscv32im-risc0-zkvm-elf"
DEBIAN_CARGO, DEBIAN_RUSTC = "/usr/bin/cargo", "/usr/bin/rustc"
GUEST_RUSTFLAGS = [
    "-C",
    "passes=lower-atomic",
    "-C",
    "link-arg=-Ttext=0x00200800",
    "-C",
    "link-arg=--fatal-warnings",
    "-C",
    "panic=abort",
    "--cfg",
    'getrandom_backend="custom"',
]


def cache_dir() -> Path:
    return Path(os.environ.get("COPROCESSOR_CACHE", Path.home() / ".cache" / "coprocessor"))


def guest_names(guest_dir: Path) -> list[tuple[str, str]]:
    """(package, binary) of each guest: the binary targets of the workspace's members."""
    meta = subprocess.run(
        [DEBIAN_CARGO, "metadata", "--no-deps", "--format-version", "1"],
        cwd=guest_dir,
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(
        (package["name"], target["name"])
        for package in json.loads(meta.stdout)["packages"]
        for target in package["targets"]
        if "bin" in target["kind"]
    )


def cargo_env(target_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    cargo_home = Path(env.get("CARGO_HOME", Path.home() / ".cargo"))
    # Paths baked into the ELF (panic locations) must not depend on where the
    # machine keeps crates, so image IDs are the same on every machine.
    remap = ["--remap-path-prefix", f"{cargo_home}=/cargo"]
    env.update(
        RUSTC=DEBIAN_RUSTC,
        RUSTC_BOOTSTRAP="1",
        CARGO_TARGET_DIR=str(target_dir),
        CARGO_ENCODED_RUSTFLAGS="\x1f".join(GUEST_RUSTFLAGS + remap),
        # The zkVM has the bigint2 accelerator: risc0-bigint2 (ethcore's zkvm-secp256k1
        # feature) refuses to compile without this signal, which risc0-build also sets.
        RISC0_FEATURE_bigint2="",
    )
    for var in ("RUSTFLAGS", "RUSTC_WRAPPER", "RUSTUP_TOOLCHAIN"):
        env.pop(var, None)
    return env


def build(guest_dir: Path, target_dir: Path, out_dir: Path) -> dict[str, str]:
    for tool in (DEBIAN_CARGO, DEBIAN_RUSTC):
        if not Path(tool).exists():
            sys.exit(f"{tool} missing: install Debian's rustc-web and cargo-web (make setup)")
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = {}
    for package, name in guest_names(guest_dir):
        # One cargo run per guest: features are not unified across guests
        # (ethcheck and ethcheck-sw differ only in ethcore's features).
        command = [
            DEBIAN_CARGO,
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            package,
            "--bin",
            name,
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=compiler-builtins-mem",
        ]
        subprocess.run(command, cwd=guest_dir, env=cargo_env(target_dir), check=True)
        elf = (target_dir / TARGET / "release" / name).read_bytes()
        program = Program.from_elf(elf, name=name)
        blob_path = out_dir / f"{name}.bin"
        tmp = blob_path.with_suffix(".tmp")
        tmp.write_bytes(program.blob)
        tmp.replace(blob_path)
        ids[name] = program.image_id.hex()
        print(f"guest {name}: image ID {ids[name]} ({len(program.blob)} bytes)")
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--guest-dir", type=Path, default=REPO / "guest_programs")
    parser.add_argument("--target-dir", type=Path, default=cache_dir() / "guest-target")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "guests")
    args = parser.parse_args()
    ids = build(args.guest_dir, args.target_dir, args.out)
    record = args.guest_dir / "image_ids.json"
    recorded = json.loads(record.read_text()) if record.exists() else {}
    if args.check:
        if ids != recorded:
            sys.exit(f"image IDs differ from {record}:\n built    {ids}\n recorded {recorded}")
        return
    if ids != recorded:
        record.write_text(json.dumps(ids, indent=2, sort_keys=True) + "\n")
        print(f"recorded image IDs in {record}")


if __name__ == "__main__":
    main()
