"""Image IDs are reproducible: a clean build elsewhere yields the recorded IDs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coprocessor.zkvm import REPO_ROOT

pytestmark = pytest.mark.slow


def test_clean_rebuild_in_another_directory_gives_recorded_image_ids(tmp_path):
    # Another checkout path and an empty target dir: nothing reused but the
    # crates' sources; --check fails if any image ID differs from the record.
    copy = tmp_path / "elsewhere" / "guest_programs"
    shutil.copytree(REPO_ROOT / "guest_programs", copy)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "build_guests.py"),
            "--check",
            "--guest-dir",
            str(copy),
            "--target-dir",
            str(tmp_path / "target"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (tmp_path / "out" / "echo.bin").read_bytes() == (
        Path(REPO_ROOT) / "build" / "guests" / "echo.bin"
    ).read_bytes()
