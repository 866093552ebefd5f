"""With detectron2 installed: a few CPU iterations of training/train.py on a tiny synthetic dataset write a
complete model directory, a second run resumes from its checkpoint, the evaluator reports AP, and
Detectron2Detector loads the result and runs inside the real pipeline.

Kept tiny (ResNet-18 from scratch, 128x96 frames, a handful of iterations) because CI has 2 shared cores.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs torch (pip install -e .[detectron2])")
pytest.importorskip("detectron2", reason="needs detectron2, installed from its source (see README)")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from training import datasets as ds  # noqa: E402
from training import train  # noqa: E402

from barpath import pipeline, synth, video  # noqa: E402
from barpath.detect.base import Candidate  # noqa: E402
from barpath.detect.deferred import Deferred  # noqa: E402
from barpath.detect.detectron2 import Detectron2Detector  # noqa: E402
from barpath.detect.factory import build_detector  # noqa: E402
from barpath.detect.fallback import Fallback  # noqa: E402
from barpath.detect.plate import PlateFinder  # noqa: E402
from barpath.errors import NoPlateFoundError  # noqa: E402
from media import make_clip  # noqa: E402

pytestmark = [pytest.mark.detectron2, pytest.mark.slow]

TINY = [
    "--weights", "none", "--device", "cpu", "--batch-size", "2", "--roi-batch-size", "32",
    "--min-size-train", "96", "--max-size-train", "128", "--min-size-test", "96", "--max-size-test", "128",
    "--num-workers", "0", "--checkpoint-period", "2", "--score-threshold", "0.0",
    "--opts", "MODEL.RESNETS.DEPTH", "18", "MODEL.RESNETS.RES2_OUT_CHANNELS", "64",
    "MODEL.RPN.PRE_NMS_TOPK_TEST", "100", "MODEL.RPN.POST_NMS_TOPK_TEST", "20",
    "TEST.DETECTIONS_PER_IMAGE", "20",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("d2")
    ds.write_dataset(ds.synth_samples(6, seed=1, size=(128, 96)), root / "train")
    ds.write_dataset(ds.synth_samples(3, seed=2, size=(128, 96)), root / "validation")
    common = [
        "--train",
        str(root / "train"),
        "--validation",
        str(root / "validation"),
        "--checkpoint-dir",
        str(root / "ckpt"),
        "--output-data-dir",
        str(root / "output"),
    ]
    first = root / "model-a"
    assert train.run([*common, "--model-dir", str(first), "--max-iter", "2", *TINY]) == 0
    first_metrics = json.loads((first / "metrics.json").read_text())
    # Same checkpoint folder, more iterations: what a restarted Spot job does.
    second = root / "model-b"
    assert train.run([*common, "--model-dir", str(second), "--max-iter", "4", *TINY]) == 0
    return {"root": root, "first": first, "first_metrics": first_metrics, "second": second}


def test_model_directory_is_complete(trained: dict[str, Any]) -> None:
    model = trained["first"]
    assert {p.name for p in model.iterdir()} >= {
        "model_final.pth",
        "config.yaml",
        "metrics.json",
        "barpath-model.json",
    }
    manifest = json.loads((model / "barpath-model.json").read_text())
    assert manifest["classes"] == ["plate", "bar_end"] and manifest["input_format"] == "BGR"
    assert "NUM_CLASSES: 2" in (model / "config.yaml").read_text()
    assert (trained["root"] / "output" / "metrics.json").is_file()


def test_evaluator_reports_ap(trained: dict[str, Any]) -> None:
    m = trained["first_metrics"]
    assert m["iterations"] == 2 and m["start_iteration"] == 0
    for key in ("AP", "AP50", "AP75"):
        assert isinstance(m[key], float) and math.isfinite(m[key]) and 0.0 <= m[key] <= 100.0
    assert set(m["per_class"]) == {"plate", "bar_end"}
    assert all(0.0 <= v["AP50"] <= 100.0 for v in m["per_class"].values())


def test_second_run_resumes_from_the_checkpoint(trained: dict[str, Any]) -> None:
    m = json.loads((trained["second"] / "metrics.json").read_text())
    assert m["start_iteration"] == 2 and m["iterations"] == 4
    ckpt = trained["root"] / "ckpt"
    assert (ckpt / "last_checkpoint").read_text().strip() == "model_final.pth"


def test_detector_loads_the_model_and_returns_candidates(trained: dict[str, Any]) -> None:
    det = build_detector("detectron2", str(trained["second"]))
    assert isinstance(det, Detectron2Detector) and det.name == "detectron2"
    frame = ds.render_synthetic(np.random.default_rng(5), (128, 96))[0]
    cands = det.detect(frame)
    # Score threshold 0 (from the manifest): an untrained model still returns its boxes.
    assert cands and all(isinstance(c, Candidate) for c in cands)
    for c in cands:
        x0, y0, x1, y1 = c.box
        assert (
            0 <= x0 <= x1 <= 128 and 0 <= y0 <= y1 <= 96 and c.radius > 0 and c.label in ("plate", "bar_end")
        )
        assert x0 <= c.x <= x1 and y0 <= c.y <= y1
    plates = [c.score for c in cands if c.label == "plate"]
    assert plates == sorted(plates, reverse=True)


def test_auto_with_a_model_asks_the_plate_finder_first_and_the_model_where_it_finds_none(
    trained: dict[str, Any],
) -> None:
    det = build_detector("auto", str(trained["second"]))
    assert isinstance(det, Fallback) and det.name == "plate, then detectron2"
    assert isinstance(det.first, PlateFinder) and isinstance(det.then, Deferred)
    assert det.then.built is None  # not loaded until the plate finder first finds nothing
    blank = np.full((96, 128, 3), 128, np.uint8)  # no rim for the plate finder: the model answers
    from_model = det.detect(blank)
    model = det.then.built
    assert isinstance(model, Detectron2Detector) and from_model and model.detect(blank) == from_model
    det.detect(blank)
    assert det.then.built is model  # loaded once


def test_detector_returns_boxes_on_frames_the_pipeline_decodes(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    clip = tmp_path / "lift.mp4"
    synth.render_clip(
        synth.SynthSpec.plain(lift="squat", n_reps=1, width=128, height=96, rack=False, seed=3), clip
    )
    info = video.probe(clip)
    det = Detectron2Detector.load(str(trained["second"]), device="cpu")
    for frame in itertools.islice(video.frames(info), 3):
        cands = det.detect(frame.image)
        assert cands and all(c.box[2] <= info.width and c.box[3] <= info.height for c in cands)


def test_pipeline_builds_it_from_options_and_fails_typed_when_it_finds_nothing(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    # Options(detector, model) is what the CLI's --detector/--model and the Lambda's MODEL_URI set. A
    # two-iteration model finds no plate that moves with a lift: the pipeline says so with a typed
    # error (CLI exit 2, a `failed` notification), not a crash.
    clip = make_clip(tmp_path / "card.mp4", size=(128, 96), seconds=0.5, pattern="testsrc2")
    opts = pipeline.Options(detector="detectron2", model=str(trained["second"]), render_video=False)
    with pytest.raises(NoPlateFoundError):
        pipeline.process(clip, tmp_path / "out", opts)
    assert not (tmp_path / "out" / "path.json").exists()
