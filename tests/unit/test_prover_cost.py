"""The proving cost model (coprocessor/prover/cost.py) on a calibration written here."""

from __future__ import annotations

import pytest

from coprocessor import zkvm
from coprocessor.errors import ConfigError
from coprocessor.prover.cost import Calibration, estimate

CAL = Calibration(
    segment_seconds={16: 10.0},
    keccak_seconds={zkvm.keccak_po2_for(100): 4.0},
    join_seconds=3.0,
    union_seconds=2.0,
    resolve_seconds=1.0,
    segment_overhead=0,
    machine="test",
)


def test_counts_without_calibration():
    est = estimate(5 * 2**16, 0, segment_po2=16)
    assert (est.segments, est.keccak_batches) == (60, 0)  # 65,536 - 60,000 user cycles each
    assert estimate(5 * 2**16, 0, segment_po2=20).segments == 1
    with pytest.raises(ConfigError, match="paging"):
        estimate(1000, 0, segment_po2=15)
    assert est.seconds(1) is None and est.workers_within(60) is None
    assert "make bench" in "\n".join(est.lines())


def test_seconds_work_and_critical_path():
    est = estimate(8 * 2**16, 100, segment_po2=16, calibration=CAL)
    assert (est.segments, est.keccak_batches) == (8, 1)
    work = 8 * 10 + 7 * 3 + 1 * 4 + 0 * 2 + 1 * 1
    assert est.seconds(1) == pytest.approx(work)
    critical = 10 + 3 * 3 + 1  # one segment, 3 join levels, one resolve
    assert est.critical_path_seconds == pytest.approx(critical)
    assert est.seconds(1000) == pytest.approx(critical)
    assert est.workers_within(work / 4) == 4
    assert est.workers_within(critical - 1) is None
    assert not est.extrapolated


def test_unmeasured_sizes_scale_by_rows():
    est = estimate(2**18, 0, segment_po2=18, calibration=CAL)
    assert est.segments == 1 and est.extrapolated
    assert est.seconds(1) == pytest.approx(40.0)  # 2^18 rows: 4 x the 2^16 measurement


def test_calibration_round_trip_and_bad_files(tmp_path):
    path = CAL.save(tmp_path / "calibration.json")
    assert Calibration.load(path) == CAL
    assert Calibration.load(tmp_path / "absent.json") is None
    path.write_text('{"version": 99}')
    with pytest.raises(ConfigError):
        Calibration.load(path)
    path.write_text("not json")
    with pytest.raises(ConfigError):
        Calibration.load(path)
