"""Detectron2Detector's parts that need no torch: boxes -> candidates, and finding a model directory
(folder or SageMaker-style model.tar.gz) with its manifest."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest

from barpath.detect import detectron2 as d2
from barpath.detect.factory import build_detector
from barpath.errors import ModelLoadError

pytestmark = pytest.mark.unit

PLATE, BAR_END = 0, 1


def test_plate_box_gives_centre_and_radius_and_a_tip_inside_sharpens_the_centre() -> None:
    boxes = [[100, 50, 200, 150], [148, 99, 156, 107], [10, 10, 60, 60]]
    cands = d2.candidates_from_boxes(boxes, [0.9, 0.8, 0.7], [PLATE, BAR_END, PLATE], PLATE, BAR_END, 0.5)
    assert [c.label for c in cands] == ["plate", "plate"]
    best = cands[0]
    assert (best.x, best.y) == (152, 103)  # the sleeve tip's centre, not the box's (150, 100)
    assert best.radius == 50 and best.score == pytest.approx(0.9) and best.box == (100, 50, 200, 150)
    assert (cands[1].x, cands[1].y, cands[1].radius) == (35, 35, 25)


def test_lone_tip_becomes_a_candidate_and_low_scores_are_dropped() -> None:
    boxes = [[100, 100, 113, 113], [0, 0, 50, 50], [300, 300, 400, 400]]
    cands = d2.candidates_from_boxes(boxes, [0.6, 0.3, 0.95], [BAR_END, PLATE, PLATE], PLATE, BAR_END, 0.5)
    assert [c.label for c in cands] == ["plate", "bar_end"]
    tip = cands[1]
    assert (tip.x, tip.y) == (106.5, 106.5)
    assert tip.radius == pytest.approx(13 / (2 * d2.BAR_END_TO_PLATE))
    # A tip far from a plate's centre belongs to another bar end: it does not move that plate.
    far = d2.candidates_from_boxes(
        [[0, 0, 100, 100], [80, 80, 90, 90]], [0.9, 0.9], [PLATE, BAR_END], PLATE, BAR_END, 0.5
    )
    assert (far[0].x, far[0].y) == (50, 50) and far[1].label == "bar_end"


def test_plate_only_model_ignores_other_classes() -> None:
    cands = d2.candidates_from_boxes([[0, 0, 10, 10], [0, 0, 20, 20]], [0.9, 0.9], [1, 0], 0, None, 0.5)
    assert len(cands) == 1 and cands[0].radius == 10


def _model_dir(root: Path, **manifest: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    doc = {
        "classes": ["plate", "bar_end"],
        "plate_class": "plate",
        "bar_end_class": "bar_end",
        "input_format": "BGR",
        "score_threshold": 0.4,
        **manifest,
    }
    (root / d2.MANIFEST).write_text(json.dumps(doc))
    (root / d2.CONFIG).write_text("MODEL:\n  WEIGHTS: model_final.pth\n")
    (root / d2.WEIGHTS).write_bytes(_checkpoint())
    return root


def _checkpoint() -> bytes:
    """Shaped as torch.save writes it (a stored zip: data.pkl plus one record per tensor), without torch."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("model_final/data.pkl", pickle.dumps({"model": {}}, protocol=2))
        z.writestr("model_final/data/0", bytes(range(256)) * 64)
        z.writestr("model_final/version", b"3\n")
    return out.getvalue()


def test_model_folder_and_tarball_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BARPATH_MODEL_CACHE", str(tmp_path / "cache"))
    folder = _model_dir(tmp_path / "m")
    assert d2.fetch_model_dir(str(folder)) == folder
    info = d2.read_manifest(folder)
    assert info.classes == ("plate", "bar_end") and info.score_threshold == 0.4
    assert info.proposals == d2.DEFAULT_PROPOSALS  # older manifests have no proposals_test
    assert d2.read_manifest(_model_dir(tmp_path / "p", proposals_test=30)).proposals == 30
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for f in folder.iterdir():
            tar.add(f, arcname=f"job/{f.name}")  # a nested folder, as some packers leave it
    root = d2.fetch_model_dir(str(archive))
    assert root.is_relative_to(tmp_path / "cache") and (root / d2.WEIGHTS).read_bytes() == _checkpoint()
    assert d2.fetch_model_dir(str(archive)) == root  # cached: unpacked once


def test_bad_models_are_model_load_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BARPATH_MODEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match="not a directory"):
        d2.fetch_model_dir(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="barpath-model.json"):
        d2.fetch_model_dir(str(tmp_path / "empty"))
    bad = _model_dir(tmp_path / "bad", plate_class="person")
    with pytest.raises(ModelLoadError, match="plate/bar-end class"):
        d2.read_manifest(bad)
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(ModelLoadError, match="cannot unpack"):
        d2.fetch_model_dir(str(tmp_path / "broken.tar.gz"))
    whole = tmp_path / "whole.tar.gz"
    (bad / d2.WEIGHTS).write_bytes(os.urandom(65536))  # incompressible
    with tarfile.open(whole, "w:gz") as tar:
        for name in (d2.MANIFEST, d2.WEIGHTS):
            tar.add(bad / name, arcname=name)
    # An upload cut short, inside the weights: the gzip stream ends early, which tarfile reports as
    # EOFError, not TarError.
    (tmp_path / "cut.tar.gz").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="cannot unpack"):
        d2.fetch_model_dir(str(tmp_path / "cut.tar.gz"))
    assert not any((tmp_path / "cache").rglob("*.json"))  # no half-unpacked model left to be found


def test_load_without_detectron2_is_a_clear_model_load_error(tmp_path: Path) -> None:
    try:  # the real package: a bare find_spec can see the tests/detectron2 folder as a namespace package
        import detectron2.engine  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("detectron2 is installed here; tests/detectron2 covers loading")
    with pytest.raises(ModelLoadError, match="needs torch and detectron2"):
        d2.Detectron2Detector.load(str(_model_dir(tmp_path / "m")))
    # `auto` builds its model only when first asked, but says so at start all the same.
    with pytest.raises(ModelLoadError, match="needs torch and detectron2"):
        build_detector("auto", str(tmp_path / "m"))


def test_auto_refuses_a_bad_model_at_start_not_on_first_use(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a directory"):
        build_detector("auto", str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="plate/bar-end class"):
        build_detector("auto", str(_model_dir(tmp_path / "bad", plate_class="person")))
    no_config = _model_dir(tmp_path / "no-config")
    (no_config / d2.CONFIG).unlink()
    with pytest.raises(ModelLoadError, match="no config.yaml"):
        build_detector("auto", str(no_config))


def test_damaged_weights_are_refused_at_start_with_a_plain_message(tmp_path: Path) -> None:
    """A checkpoint cut short or with a flipped byte is caught from its zip records' checksums, before
    torch is imported; torch itself would load the flipped one, or advise an unsafe load for junk."""
    good = _checkpoint()
    record = good.index(bytes(range(256)))  # inside the tensor record's stored bytes
    flipped = good[:record] + bytes([good[record] ^ 0xFF]) + good[record + 1 :]
    no_pickle = io.BytesIO()
    with zipfile.ZipFile(no_pickle, "w") as z:
        z.writestr("weights.npy", b"\0" * 64)
    cases = [
        (good[: len(good) // 2], "model_final.pth is not a PyTorch checkpoint \\(truncated or corrupt\\)"),
        (b"<html>403 Forbidden</html>", "not a PyTorch checkpoint"),
        (b"", "not a PyTorch checkpoint"),
        (flipped, "model_final.pth is damaged \\(model_final/data/0 fails its checksum\\)"),
        (no_pickle.getvalue(), "a zip archive but not a PyTorch checkpoint"),
    ]
    for k, (weights, why) in enumerate(cases):
        root = _model_dir(tmp_path / f"m{k}")
        (root / d2.WEIGHTS).write_bytes(weights)
        with pytest.raises(ModelLoadError, match=why):
            build_detector("auto", str(root))
    whole = _model_dir(tmp_path / "whole") / d2.WEIGHTS
    d2.check_weights(whole, "whole")  # no error
    # torch.save's format before 1.6 is a bare pickle: nothing to test cheaply, so it is let through.
    whole.write_bytes(d2._LEGACY_TORCH_MAGIC + pickle.dumps({"model": {}}, protocol=2))
    d2.check_weights(whole, "legacy")
