"""The whole pipeline on real clips: one rep each (SOURCES.md: one squat, one clean, one snatch; each
deadlift clip is a single pull), lifted the way the lift moves, at velocities a lift can have."""

from __future__ import annotations

from pathlib import Path

import pytest

from barpath import pipeline

pytestmark = [pytest.mark.footage, pytest.mark.slow]

# clip -> (where the set starts, peak concentric velocity range in m/s)
CLIPS = {
    "squat-side-60fps-portrait": ("top_start", (0.5, 1.3)),
    "squat-rack-captions": ("top_start", (0.5, 1.3)),
    "deadlift-distractor-plates": ("bottom_start", (0.3, 1.4)),
    "deadlift-outdoor-backlit": ("bottom_start", (0.3, 1.4)),
    "deadlift-plate-cut-off": ("bottom_start", (0.3, 1.4)),
    # Olympic pulls: much faster than any squat or deadlift.
    "clean-black-plate-a": ("olympic", (1.3, 2.6)),
    "clean-black-plate-b": ("olympic", (1.3, 2.6)),
    "snatch-competition": ("olympic", (1.4, 2.8)),
}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_one_rep_of_the_right_kind(name: str, footage_dir: Path, tmp_path: Path) -> None:
    pattern, (lo, hi) = CLIPS[name]
    out = pipeline.process(footage_dir / f"{name}.mp4", tmp_path, pipeline.Options(render_video=False))
    summary = out.result.summary
    assert summary["rep_count"] == 1, name
    assert summary["lift_pattern"] == pattern
    assert out.result.calibration.method == "plate"
    peak = out.result.reps[0].concentric.peak_velocity_mps
    assert lo <= peak <= hi, f"{name}: peak {peak:.2f} m/s"
    assert summary["tracked_fraction"] >= 0.95
