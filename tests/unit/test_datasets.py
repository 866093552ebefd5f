"""Dataset tools of training/datasets.py on small real inputs: YOLO files written here, the shared
YOLO export (skipped when absent), a COCO Annotator-style export, synthetic frames, merge and split."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from training import datasets as ds  # noqa: E402

pytestmark = pytest.mark.unit


def _image(path: Path, w: int = 200, h: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 127, np.uint8))
    return path


def test_video_of_roboflow_names() -> None:
    assert ds.video_of("120-kg-clean_mp4-10_jpg.rf.024c0f90ac54.jpg") == "120-kg-clean"
    assert ds.video_of("Angel350_MOV-3_jpg.rf.abcdef.jpg") == "Angel350"
    assert ds.video_of("Capture_PNG.rf.90bfc5ae07bb.jpg") == "Capture"
    assert ds.video_of("plain.jpg") == "plain"


def test_yolo_box_and_polygon_lines_become_pixel_boxes() -> None:
    names = ["bar_end", "plate"]
    box = ds.parse_yolo_line("1 0.5 0.5 0.2 0.4", 200, 100, names)
    assert box is not None and box.label == "plate"
    assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx((80, 30, 120, 70))
    poly = ds.parse_yolo_line("0 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6", 200, 100, names)
    assert poly is not None and poly.label == "bar_end"
    assert (poly.x0, poly.y0, poly.x1, poly.y1) == pytest.approx((20, 20, 60, 60))
    with pytest.raises(ds.DatasetError):
        ds.parse_yolo_line("5 0.5 0.5 0.1 0.1", 200, 100, names)
    with pytest.raises(ds.DatasetError):
        ds.parse_yolo_line("1 0.5 0.5 0.1", 200, 100, names)


def test_yolo_import_writes_coco_with_scaled_boxes(tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    root.mkdir()
    (root / "data.yaml").write_text("nc: 2\nnames: ['Bar', 'Barbell']\n")
    _image(root / "train/images/clipA_mp4-1_jpg.rf.aa.jpg", 400, 200)
    (root / "train/labels").mkdir(parents=True)
    (root / "train/labels/clipA_mp4-1_jpg.rf.aa.txt").write_text(
        "1 0.5 0.5 0.25 0.5\n0 0.5 0.5 0.5125 0.5 0.5125 0.525 0.5 0.525\n"
    )
    out = tmp_path / "coco"
    coco = ds.write_dataset(ds.yolo_samples(root, "train"), out, ds.WriteOptions(max_side=200))
    assert json.loads((out / ds.ANNOTATIONS).read_text()) == coco
    (im,) = coco["images"]
    assert (im["width"], im["height"], im["video"]) == (200, 100, "clipA")
    assert cv2.imread(str(out / im["file_name"])).shape[:2] == (100, 200)
    by_cat = {a["category_id"]: a["bbox"] for a in coco["annotations"]}
    assert by_cat[1] == pytest.approx([75, 25, 50, 50])  # plate, halved with the image
    assert by_cat[2] == pytest.approx([100, 50, 2.5, 2.5], abs=0.01)  # polygon -> its box
    assert [c["name"] for c in coco["categories"]] == ["plate", "bar_end"]


def test_yolo_unknown_class_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("names:\n  - person\n  - Barbell\n")
    with pytest.raises(ds.DatasetError, match="person"):
        ds.yolo_class_names(tmp_path)


def test_shared_yolo_export_converts_both_classes(datasets_dir: Path, tmp_path: Path) -> None:
    root = datasets_dir / "barbell-plates-yolo"
    coco = ds.write_dataset(
        ds.yolo_samples(root, "valid"), tmp_path / "valid", ds.WriteOptions(images="link")
    )
    n_images = len(list((root / "valid/images").iterdir()))
    assert len(coco["images"]) == n_images
    counts = {c: sum(a["category_id"] == c for a in coco["annotations"]) for c in (1, 2)}
    assert counts[1] > 0.8 * n_images and counts[2] > 0.7 * n_images
    # Every box inside its image, and the images are links back to the shared set, not copies.
    sizes = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        iw, ih = sizes[a["image_id"]]
        assert x >= 0 and y >= 0 and x + w <= iw + 0.01 and y + h <= ih + 0.01 and w > 0 and h > 0
    first = tmp_path / "valid" / coco["images"][0]["file_name"]
    assert first.is_symlink() and first.resolve().is_relative_to(root.resolve())


def test_coco_annotator_export_matched_by_name_and_polygons(tmp_path: Path) -> None:
    _image(tmp_path / "imgs/sub/f1.jpg")
    _image(tmp_path / "imgs/f2.jpg")
    export = {
        "images": [
            {"id": 7, "file_name": "f1.jpg", "path": "/datasets/barpath/f1.jpg", "width": 200, "height": 100},
            {"id": 9, "file_name": "f2.jpg", "path": "/datasets/barpath/f2.jpg", "width": 200, "height": 100},
        ],
        "categories": [
            {"id": 3, "name": "Weight Plate"},
            {"id": 4, "name": "Bar End"},
            {"id": 5, "name": "person"},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 3,
                "bbox": [],
                "isbbox": False,
                "segmentation": [[10, 10, 60, 12, 58, 70, 12, 68]],
            },
            {"id": 2, "image_id": 7, "category_id": 4, "bbox": [30, 35, 6, 6], "segmentation": []},
            {"id": 3, "image_id": 9, "category_id": 5, "bbox": [0, 0, 50, 50]},
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    coco = ds.write_dataset(ds.coco_annotator_samples(path, tmp_path / "imgs"), tmp_path / "out")
    assert [im["file_name"] for im in coco["images"]] == ["images/f1.jpg", "images/f2.jpg"]
    boxes = sorted((a["category_id"], a["bbox"]) for a in coco["annotations"])
    assert boxes == [(1, [10, 10, 50, 60]), (2, [30, 35, 6, 6])]  # the person box is dropped


def test_coco_annotator_missing_image_is_an_error(tmp_path: Path) -> None:
    export = {
        "images": [{"id": 1, "file_name": "gone.jpg"}],
        "categories": [{"id": 1, "name": "plate"}],
        "annotations": [],
    }
    (tmp_path / "e.json").write_text(json.dumps(export))
    with pytest.raises(ds.DatasetError, match="gone.jpg"):
        list(ds.coco_annotator_samples(tmp_path / "e.json", tmp_path))


def test_synthetic_boxes_fit_the_drawn_plate(tmp_path: Path) -> None:
    coco = ds.write_dataset(ds.synth_samples(6, seed=3, size=(320, 240), per_video=3), tmp_path / "s")
    assert {im["video"] for im in coco["images"]} == {"synth-3-0000", "synth-3-0001"}
    for im in coco["images"]:
        img = cv2.imread(str(tmp_path / "s" / im["file_name"]))
        (plate,) = [
            a["bbox"] for a in coco["annotations"] if a["image_id"] == im["id"] and a["category_id"] == 1
        ]
        x, y, w, h = plate
        # The bright sleeve tip sits at the box centre; the dark disc fills the box's inner ring.
        cx, cy = int(x + w / 2), int(y + h / 2)
        assert img[cy, cx].mean() > 180
        ring = img[int(cy - 0.6 * h / 2), cx].astype(int)
        outside_y = int(y - 4)
        if outside_y >= 0:
            assert np.abs(ring - img[outside_y, cx].astype(int)).sum() > 0


def test_split_by_video_keeps_each_video_in_one_split() -> None:
    weights = {f"v{i}": (i % 5) + 1 for i in range(40)}
    assignment = ds.split_by_video(
        weights, {"train": 0.7, "validation": 0.2, "test": 0.1}, seed=1, weights=weights
    )
    assert set(assignment) == set(weights)
    frames = {
        k: sum(weights[v] for v, s in assignment.items() if s == k) for k in ("train", "validation", "test")
    }
    total = sum(weights.values())
    assert abs(frames["train"] / total - 0.7) < 0.05
    assert abs(frames["validation"] / total - 0.2) < 0.05
    assert frames["test"] > 0
    assert ds.split_by_video(
        weights, {"train": 0.7, "validation": 0.3}, seed=1, weights=weights
    ) == ds.split_by_video(weights, {"train": 0.7, "validation": 0.3}, seed=1, weights=weights)


def test_merge_then_split_on_disk(tmp_path: Path) -> None:
    ds.write_dataset(ds.synth_samples(20, seed=1, size=(160, 120), per_video=4), tmp_path / "a")
    ds.write_dataset(ds.synth_samples(12, seed=2, size=(160, 120), per_video=4), tmp_path / "b")
    assert ds.main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "m")]) == 0
    merged = ds.load_dataset(tmp_path / "m")
    assert len(merged["images"]) == 32 and len({im["file_name"] for im in merged["images"]}) == 32
    assert (
        ds.main(
            [
                "split",
                str(tmp_path / "m"),
                "-o",
                str(tmp_path / "sp"),
                "--fractions",
                "train=0.75,validation=0.25",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    train, val = ds.load_dataset(tmp_path / "sp/train"), ds.load_dataset(tmp_path / "sp/validation")
    assert len(train["images"]) + len(val["images"]) == 32 and val["images"]
    assert not {im["video"] for im in train["images"]} & {im["video"] for im in val["images"]}
    # Split folders are complete datasets: every file they name is readable.
    for part, coco in (("train", train), ("validation", val)):
        for im in coco["images"]:
            assert cv2.imread(str(tmp_path / "sp" / part / im["file_name"])) is not None
        ids = {im["id"] for im in coco["images"]}
        assert all(a["image_id"] in ids for a in coco["annotations"])


def test_cli_reports_bad_input_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ds.main(["yolo", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert "no images/ folder" in capsys.readouterr().err


@pytest.fixture(scope="module")
def rendered_lift(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from barpath import synth

    path = tmp_path_factory.mktemp("autolabel") / "squat-side.mp4"
    spec = synth.SynthSpec(lift="squat", n_reps=1, width=480, height=270, seed=11, rack=False)
    return path, synth.render_clip(spec, path)


def test_autolabel_keeps_confident_sampled_frames_with_true_boxes(rendered_lift, tmp_path: Path) -> None:
    path, truth = rendered_lift
    opts = ds.AutolabelOptions(every=5, min_confidence=0.8)
    coco = ds.write_dataset(ds.autolabel_samples(path, opts=opts), tmp_path / "al")
    frames = [im["frame"] for im in coco["images"]]
    assert len(frames) >= 0.5 * len(truth.frames) / 5 and all(f % 5 == 0 for f in frames)
    assert all(im["confidence"] >= 0.8 and im["video"] == "squat-side" for im in coco["images"])
    by_frame = {f.i: f for f in truth.frames}
    for im in coco["images"]:
        (plate,) = [
            a["bbox"] for a in coco["annotations"] if a["image_id"] == im["id"] and a["category_id"] == 1
        ]
        x, y, w, h = plate
        t = by_frame[im["frame"]]
        assert abs(x + w / 2 - t.x) < 2.0 and abs(y + h / 2 - t.y) < 2.0
        assert w / 2 == pytest.approx(truth.plate_radius_px, rel=0.06)
        assert cv2.imread(str(tmp_path / "al" / im["file_name"])).shape[:2] == (270, 480)
    # The confidence floor really filters: nothing on a real clip clears 1.0.
    assert list(ds.autolabel_samples(path, opts=ds.AutolabelOptions(every=5, min_confidence=1.01))) == []
