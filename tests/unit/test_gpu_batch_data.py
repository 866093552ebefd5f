"""bench/gpu_batch.py's CPU half: the training frames it cuts from rendered clips carry the plate's exact
box, and its comparison reads path.json against the truth the way the e2e tests do."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from barpath import pipeline, synth

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpu_batch() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_batch", REPO / "bench" / "gpu_batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_batch"] = module  # dataclasses in it look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.GroundTruth]:
    path = tmp_path_factory.mktemp("gpu-batch") / "lift.mp4"
    spec = synth.SynthSpec(lift="squat", n_reps=1, width=640, height=360, rack=False, seed=9)
    return path, synth.render_clip(spec, path)


def test_training_frames_carry_the_plates_exact_box(gpu_batch: ModuleType, clip, tmp_path: Path) -> None:
    path, truth = clip
    samples = gpu_batch.clip_samples(path, truth)
    kept = [int(s.source.stem.rsplit("-", 1)[1]) for s in samples]
    assert kept and all(i % gpu_batch.EVERY == 0 for i in kept)
    assert len(kept) >= 0.9 * len(truth.frames) / gpu_batch.EVERY  # a plain clip: the plate always shows
    r = truth.plate_radius_px
    for i, s in zip(kept, samples, strict=True):
        plate = next(b for b in s.boxes if b.label == "plate")
        f = truth.frames[i]
        assert (plate.x0 + plate.x1) / 2 == pytest.approx(f.x) and (plate.y0 + plate.y1) / 2 == pytest.approx(
            f.y
        )
        assert plate.x1 - plate.x0 == pytest.approx(2 * r)
        assert s.pixels is not None and s.pixels.shape == (360, 640, 3)
    coco = gpu_batch.ds.write_dataset(samples, tmp_path / "train")
    assert len(coco["images"]) == len(samples) and len(coco["annotations"]) == 2 * len(samples)


def test_the_comparison_reads_a_real_result_against_its_truth(gpu_batch: ModuleType, clip, tmp_path) -> None:
    path, truth = clip
    out = pipeline.process(path, tmp_path / "out")
    got = gpu_batch.compare(json.loads(out.path_json.read_text()), truth)
    assert got["frames"] == len(truth.frames) == sum(got["states"].values())
    assert got["reps"] == {"found": 1, "true": 1}
    # A 640x360 clip: the bound is a tenth of the plate radius, not the 1280x720 clips' 1.5 px.
    assert 0 <= got["centre_error_px"]["mean"] <= 0.1 * truth.plate_radius_px
    assert abs(got["mcv_mps"][0]["got"] - got["mcv_mps"][0]["true"]) <= 0.03
