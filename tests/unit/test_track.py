"""Tracker on rendered clips with exact ground truth (barpath.synth), decoded by barpath.video."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from barpath import video
from barpath.detect.plate import PlateFinder
from barpath.errors import NoPlateFoundError
from barpath.ffmpeg import exe
from barpath.synth import GroundTruth, SynthSpec, render_clip
from barpath.track import TrackPoint, track

pytestmark = pytest.mark.unit

SMALL = {"width": 960, "height": 540, "n_reps": 1}


def run(path: Path) -> list[TrackPoint]:
    info = video.probe(path)
    return list(track(video.frames(info), PlateFinder(), info))


def errors(points: list[TrackPoint], gt: GroundTruth) -> np.ndarray:
    return np.array(
        [
            np.hypot(p.x - f.x, p.y - f.y)
            for p, f in zip(points, gt.frames, strict=True)
            if p.x is not None and p.y is not None and f.visible > 0.99
        ]
    )


def check_timeline(points: list[TrackPoint], gt: GroundTruth) -> None:
    assert [p.i for p in points] == list(range(len(gt.frames)))
    assert np.allclose([p.t for p in points], gt.t, atol=1e-3)
    for p in points:
        assert (p.x is None) == (p.state == "lost") and 0.0 <= p.confidence <= 1.0


@pytest.mark.parametrize(
    "name,spec",
    [
        ("squat-realistic", SynthSpec(**SMALL)),
        pytest.param("clean-fast", SynthSpec(lift="clean", **SMALL), marks=pytest.mark.slow),
        pytest.param("squat-occluded", SynthSpec.hard(**SMALL), marks=pytest.mark.slow),
    ],
)
def test_centre_error_on_rendered_clip(tmp_path: Path, name: str, spec: SynthSpec) -> None:
    gt = render_clip(spec, tmp_path / f"{name}.mp4")
    points = run(tmp_path / f"{name}.mp4")
    check_timeline(points, gt)
    err = errors(points, gt)
    lost = sum(p.state == "lost" for p in points) / len(points)
    assert lost <= 0.05
    assert err.mean() <= 1.5, f"mean centre error {err.mean():.2f} px"
    radii = [p.radius for p in points if p.radius is not None]
    assert len(radii) > len(points) / 2
    assert abs(float(np.median(radii)) - gt.plate_radius_px) / gt.plate_radius_px < 0.02


def test_black_video_raises_no_plate(tmp_path: Path) -> None:
    path = tmp_path / "black.mp4"
    subprocess.run(
        [
            exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=black:s=640x360:r=30:d=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    with pytest.raises(NoPlateFoundError) as e:
        run(path)
    assert e.value.code == "no_plate_found" and "plate" in str(e.value)
