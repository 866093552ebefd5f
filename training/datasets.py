"""Dataset tools for the Detectron2 bar finder. Every command writes a *dataset folder*:

    <out>/annotations.json   COCO instances (boxes), readable by detectron2's register_coco_instances
    <out>/images/...          the images it names (file_name is relative to <out>)

Each image also carries a "video" key naming the clip it came from, so `split` can keep every clip in
exactly one split (frames of one clip are near-duplicates: a clip in two splits flatters the score).

Commands (python training/datasets.py COMMAND --help):
    yolo             import a YOLO export (boxes or polygons -> boxes)
    coco-annotator   import a COCO Annotator export (categories matched by name, polygons -> boxes)
    autolabel        label your own videos with the weight-free plate finder + tracker (confident frames only)
    synth            render synthetic side-view plates with exact boxes
    merge            merge dataset folders into one
    split            split one dataset folder into train/validation(/test) by source video
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# The sleeve tip's box size relative to the plate, shared with the detector that reads these labels back.
from barpath.detect.detectron2 import BAR_END_TO_PLATE

ANNOTATIONS = "annotations.json"
IMAGES = "images"

# Canonical classes. COCO ids start at 1; detectron2 maps them to contiguous 0.. in id order, so the
# model's class 0 is always the plate.
CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "plate", "supercategory": "barbell"},
    {"id": 2, "name": "bar_end", "supercategory": "barbell"},
]
CLASS_NAMES = [c["name"] for c in CATEGORIES]
_CAT_ID = {c["name"]: c["id"] for c in CATEGORIES}

# Names annotators use for our two classes (lower-cased, spaces/dashes folded to "_").
_ALIASES = {
    "plate": "plate",
    "plates": "plate",
    "barbell": "plate",
    "weight_plate": "plate",
    "bumper": "plate",
    "bumper_plate": "plate",
    "disc": "plate",
    "bar_end": "bar_end",
    "bar": "bar_end",
    "barend": "bar_end",
    "sleeve": "bar_end",
    "bar_tip": "bar_end",
    "sleeve_tip": "bar_end",
    "end": "bar_end",
}
# The Roboflow "CV" export's class order: 0 Bar (sleeve tip box), 1 Barbell (near plate box).
YOLO_BARPATH_NAMES = ["bar_end", "plate"]

_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
_ROBOFLOW_VIDEO = re.compile(
    r"^(?P<video>.+?)_(?:mp4|mov|avi|mkv|webm|m4v)-\d+_(?:jpe?g|png)\.rf\.[0-9a-f]+\.\w+$", re.IGNORECASE
)
_ROBOFLOW_STILL = re.compile(r"^(?P<stem>.+?)_(?:jpe?g|png)\.rf\.[0-9a-f]+\.\w+$", re.IGNORECASE)


class DatasetError(ValueError):
    """A dataset input that cannot be read as promised (missing files, unknown classes, bad numbers)."""


def canonical_class(name: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _ALIASES.get(key)


def video_of(file_name: str) -> str:
    """The source clip of a Roboflow-style frame name (`clip_mp4-12_jpg.rf.<hash>.jpg` -> `clip`); a
    still image is its own source."""
    base = Path(file_name).name
    m = _ROBOFLOW_VIDEO.match(base)
    if m:
        return m.group("video")
    m = _ROBOFLOW_STILL.match(base)
    return m.group("stem") if m else Path(base).stem


# --------------------------------------------------------------------------------------------- model


@dataclass
class Box:
    label: str  # canonical class name
    x0: float
    y0: float
    x1: float
    y1: float

    def clipped(self, width: int, height: int) -> Box | None:
        x0, x1 = sorted((min(max(self.x0, 0.0), width), min(max(self.x1, 0.0), width)))
        y0, y1 = sorted((min(max(self.y0, 0.0), height), min(max(self.y1, 0.0), height)))
        if x1 - x0 < 1.0 or y1 - y0 < 1.0:
            return None
        return Box(self.label, x0, y0, x1, y1)

    def scaled(self, s: float) -> Box:
        return Box(self.label, self.x0 * s, self.y0 * s, self.x1 * s, self.y1 * s)


@dataclass
class Sample:
    """One image of a dataset being built: where its pixels come from and its boxes in those pixels."""

    source: Path  # an image file to copy, or a placeholder when `pixels` is set
    width: int
    height: int
    boxes: list[Box]
    video: str
    pixels: np.ndarray | None = None  # in-memory BGR image (autolabel, synth)
    name: str | None = None  # file name under images/ (default: source's name)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteOptions:
    images: str = "copy"  # copy | link (symlink: no pixels duplicated, e.g. for internal data)
    max_side: int | None = None  # downscale (boxes too) so the longer side is at most this
    jpeg_quality: int = 90


def write_dataset(samples: Iterable[Sample], out: Path, opts: WriteOptions | None = None) -> dict[str, Any]:
    """Write `out/annotations.json` and `out/images/`; returns the COCO dict."""
    opts = opts or WriteOptions()
    if opts.images not in ("copy", "link"):
        raise DatasetError(f"--images must be copy or link, not {opts.images!r}")
    img_dir = out / IMAGES
    img_dir.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    used: set[str] = set()
    for sample in samples:
        name = _unique(sample.name or sample.source.name, used)
        scale = 1.0
        if opts.max_side and max(sample.width, sample.height) > opts.max_side:
            scale = opts.max_side / max(sample.width, sample.height)
        width, height = round(sample.width * scale), round(sample.height * scale)
        dest = img_dir / name
        if sample.pixels is not None or scale != 1.0:
            pixels = sample.pixels if sample.pixels is not None else _read_image(sample.source)
            if scale != 1.0:
                pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
            dest = dest.with_suffix(".jpg")
            name = dest.name
            cv2.imwrite(str(dest), pixels, [cv2.IMWRITE_JPEG_QUALITY, opts.jpeg_quality])
        elif opts.images == "link":
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            dest.symlink_to(sample.source.resolve())
        else:
            shutil.copyfile(sample.source, dest)
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": f"{IMAGES}/{name}",
                "width": width,
                "height": height,
                "video": sample.video,
                **sample.extra,
            }
        )
        for box in sample.boxes:
            b = box.scaled(scale).clipped(width, height)
            if b is None:
                continue
            w, h = b.x1 - b.x0, b.y1 - b.y0
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": _CAT_ID[b.label],
                    "bbox": [round(b.x0, 2), round(b.y0, 2), round(w, 2), round(h, 2)],
                    "area": round(w * h, 2),
                    "iscrowd": 0,
                }
            )
    coco = {
        "info": {"description": "barpath bar-end dataset"},
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    (out / ANNOTATIONS).write_text(json.dumps(coco))
    return coco


def _unique(name: str, used: set[str]) -> str:
    stem, suffix, k = Path(name).stem, Path(name).suffix, 1
    candidate = name
    while candidate in used:
        k += 1
        candidate = f"{stem}-{k}{suffix}"
    used.add(candidate)
    return candidate


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(f"{path}: not a readable image")
    return img


def _image_size(path: Path) -> tuple[int, int]:
    h, w = _read_image(path).shape[:2]
    return w, h


def load_dataset(folder: Path) -> dict[str, Any]:
    path = folder / ANNOTATIONS if folder.is_dir() else folder
    if not path.is_file():
        raise DatasetError(f"{folder}: no {ANNOTATIONS}")
    coco: dict[str, Any] = json.loads(path.read_text())
    return coco


def samples_of(folder: Path) -> Iterator[Sample]:
    """Read a dataset folder back as samples (for merge and split)."""
    coco = load_dataset(folder)
    names = {c["id"]: canonical_class(c["name"]) for c in coco["categories"]}
    by_image: dict[int, list[Box]] = defaultdict(list)
    for a in coco["annotations"]:
        label = names.get(a["category_id"])
        if label is None:
            continue
        x, y, w, h = a["bbox"]
        by_image[a["image_id"]].append(Box(label, x, y, x + w, y + h))
    for im in coco["images"]:
        extra = {k: v for k, v in im.items() if k not in ("id", "file_name", "width", "height", "video")}
        yield Sample(
            source=folder / im["file_name"],
            width=im["width"],
            height=im["height"],
            boxes=by_image.get(im["id"], []),
            video=im.get("video") or video_of(im["file_name"]),
            name=Path(im["file_name"]).name,
            extra=extra,
        )


# ---------------------------------------------------------------------------------------------- yolo


def parse_yolo_line(line: str, width: int, height: int, names: Sequence[str]) -> Box | None:
    """`cls cx cy w h` or `cls x1 y1 x2 y2 ...` (polygon), normalised; a polygon becomes its bounding box."""
    parts = line.split()
    if not parts:
        return None
    try:
        cls = int(float(parts[0]))
        nums = [float(p) for p in parts[1:]]
    except ValueError as exc:
        raise DatasetError(f"not a YOLO label line: {line!r}") from exc
    if cls < 0 or cls >= len(names):
        raise DatasetError(f"class {cls} outside the {len(names)} names given")
    if len(nums) == 4:
        cx, cy, w, h = nums
        x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    elif len(nums) >= 6 and len(nums) % 2 == 0:
        xs, ys = nums[0::2], nums[1::2]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    else:
        raise DatasetError(f"YOLO line with {len(nums)} numbers: {line!r}")
    return Box(names[cls], x0 * width, y0 * height, x1 * width, y1 * height)


def yolo_class_names(root: Path) -> list[str]:
    """Class names from data.yaml (`names: [...]` or a block list), mapped to our classes."""
    yaml_path = root / "data.yaml"
    if not yaml_path.is_file():
        return list(YOLO_BARPATH_NAMES)
    text = yaml_path.read_text()
    m = re.search(r"^names:\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if m:
        raw = [n.strip().strip("'\"") for n in m.group(1).split(",") if n.strip()]
    else:
        block = re.search(r"^names:\s*\n((?:\s+.*\n?)+)", text, re.MULTILINE)
        raw = [
            re.sub(r"^\s*(-|\d+:)\s*", "", ln).strip().strip("'\"")
            for ln in (block.group(1).splitlines() if block else [])
            if ln.strip()
        ]
    mapped = [canonical_class(n) for n in raw]
    if not raw or any(m is None for m in mapped):
        raise DatasetError(f"{yaml_path}: cannot map class names {raw} to {CLASS_NAMES}")
    return [m for m in mapped if m is not None]


def yolo_samples(root: Path, split: str | None = None) -> Iterator[Sample]:
    """Samples of a YOLO export: `root/[split/]images/*` with `labels/<stem>.txt` beside it."""
    names = yolo_class_names(root)
    base = root / split if split else root
    img_dir, lbl_dir = base / "images", base / "labels"
    if not img_dir.is_dir():
        raise DatasetError(f"{base}: no images/ folder")
    for img in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in _IMAGE_EXTS):
        width, height = _image_size(img)
        boxes: list[Box] = []
        label_file = lbl_dir / f"{img.stem}.txt"
        if label_file.is_file():
            for line in label_file.read_text().splitlines():
                box = parse_yolo_line(line, width, height, names)
                if box is not None:
                    boxes.append(box)
        yield Sample(source=img, width=width, height=height, boxes=boxes, video=video_of(img.name))


# ---------------------------------------------------------------------------------- coco annotator


def coco_annotator_samples(export: Path, images_dir: Path) -> Iterator[Sample]:
    """A COCO Annotator export: categories matched by name; `bbox` used when present, else the box of
    the polygons; image files found by base name under `images_dir` (exports carry server paths)."""
    coco = json.loads(export.read_text())
    cats = {c["id"]: canonical_class(c["name"]) for c in coco.get("categories", [])}
    if not any(cats.values()):
        found = sorted(c["name"] for c in coco["categories"])
        raise DatasetError(f"{export}: none of the categories {found} is a plate or a bar end")
    index = {p.name: p for p in images_dir.rglob("*") if p.suffix.lower() in _IMAGE_EXTS}
    by_image: dict[int, list[Box]] = defaultdict(list)
    for a in coco.get("annotations", []):
        label = cats.get(a.get("category_id"))
        if label is None:
            continue
        box = _annotation_box(a)
        if box is not None:
            by_image[a["image_id"]].append(Box(label, *box))
    for im in coco.get("images", []):
        name = Path(im.get("path") or im["file_name"]).name
        src = index.get(name) or index.get(Path(im["file_name"]).name)
        if src is None:
            raise DatasetError(f"{export}: image {name} not found under {images_dir}")
        width, height = im.get("width") or 0, im.get("height") or 0
        if not width or not height:
            width, height = _image_size(src)
        yield Sample(
            source=src,
            width=width,
            height=height,
            boxes=by_image.get(im["id"], []),
            video=im.get("video") or video_of(name),
        )


def _annotation_box(a: dict[str, Any]) -> tuple[float, float, float, float] | None:
    bbox = a.get("bbox") or []
    if len(bbox) == 4 and bbox[2] > 0 and bbox[3] > 0:
        x, y, w, h = (float(v) for v in bbox)
        return x, y, x + w, y + h
    seg = a.get("segmentation")
    points = [float(v) for poly in seg for v in poly] if isinstance(seg, list) else []
    if len(points) >= 4:
        xs, ys = points[0::2], points[1::2]
        return min(xs), min(ys), max(xs), max(ys)
    return None


# -------------------------------------------------------------------------------------- auto-label
# The finder only sees the plate; in a side view the sleeve tip sits at its centre, so its box is drawn
# there with the size ratio measured on the shared annotated set (BAR_END_TO_PLATE).


@dataclass
class AutolabelOptions:
    every: int = 10  # keep at most one frame in this many
    min_confidence: float = 0.8
    states: tuple[str, ...] = ("detected",)  # "tracked" frames are the tracker's guess, not a measurement
    bar_end: bool = True


def autolabel_samples(
    video_path: Path, detector: Any = None, opts: AutolabelOptions | None = None
) -> Iterator[Sample]:
    """Frames of one clip labelled by the weight-free plate finder and tracker. Only sampled frames
    where the tracker reports a measured, confident plate are kept: a bootstrap set to correct by hand."""
    from barpath import track, video  # the core library; imported here so conversions need only OpenCV
    from barpath.detect.factory import build_detector

    opts = opts or AutolabelOptions()
    info = video.probe(video_path)
    det = detector or build_detector("plate")
    kept: dict[int, np.ndarray] = {}

    def frames_keeping_samples() -> Iterator[Any]:
        # The tracker consumes the frames; keep only sampled images, dropped as their points come back.
        for frame in video.frames(info):
            if frame.i % opts.every == 0:
                kept[frame.i] = frame.image
            yield frame

    for p in track.track(frames_keeping_samples(), det, info):
        image = kept.pop(p.i, None)
        if image is None:
            continue
        if p.state not in opts.states or p.confidence < opts.min_confidence:
            continue
        if p.x is None or p.y is None or not p.radius:
            continue
        boxes = [Box("plate", p.x - p.radius, p.y - p.radius, p.x + p.radius, p.y + p.radius)]
        if opts.bar_end:
            half = p.radius * BAR_END_TO_PLATE
            boxes.append(Box("bar_end", p.x - half, p.y - half, p.x + half, p.y + half))
        h, w = image.shape[:2]
        yield Sample(
            source=video_path,
            width=w,
            height=h,
            boxes=boxes,
            video=video_path.stem,
            pixels=image,
            name=f"{video_path.stem}-{p.i:06d}.jpg",
            extra={
                "frame": p.i,
                "t": round(p.t, 6),
                "label_source": "autolabel",
                "confidence": round(p.confidence, 4),
            },
        )


# ------------------------------------------------------------------------------------------- synth


def render_synthetic(
    rng: np.random.Generator, size: tuple[int, int] = (640, 480)
) -> tuple[np.ndarray, list[Box]]:
    """One side-view frame: a textured background, a bar, a near plate (disc with rim, hub and sleeve)
    seen slightly off-axis, plus blur and noise. The boxes are exact: computed from the drawn shapes."""
    w, h = size
    bg = rng.integers(30, 200, size=3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    img += (gx / w - 0.5)[..., None] * rng.uniform(-60, 60) + (gy / h - 0.5)[..., None] * rng.uniform(-60, 60)
    for _ in range(int(rng.integers(2, 7))):  # clutter: rectangles that are not plates
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(
            img,
            (x0, y0),
            (
                x0 + int(rng.integers(w // 20 + 1, w // 3 + 2)),
                y0 + int(rng.integers(h // 20 + 1, h // 3 + 2)),
            ),
            rng.integers(0, 255, size=3).tolist(),
            -1,
        )
    r = float(rng.uniform(0.08, 0.3) * min(w, h))
    squash = float(rng.uniform(0.75, 1.0))  # camera a little off the bar's axis: an ellipse
    cx = float(rng.uniform(r * squash, w - r * squash))
    cy = float(rng.uniform(r, h - r))
    bar_y = int(round(cy))
    cv2.line(img, (0, bar_y), (w, bar_y), (170, 170, 175), max(2, int(r * 0.08)))
    plate = rng.integers(0, 90, size=3).tolist()
    center = (int(round(cx * 16)), int(round(cy * 16)))
    axes = (int(round(r * squash * 16)), int(round(r * 16)))
    cv2.ellipse(img, center, axes, 0, 0, 360, plate, -1, cv2.LINE_AA, 4)
    rim = [min(255, c + 40) for c in plate]
    cv2.ellipse(img, center, axes, 0, 0, 360, rim, max(1, int(r * 0.06)), cv2.LINE_AA, 4)
    hub = (int(round(r * 0.25 * squash * 16)), int(round(r * 0.25 * 16)))
    cv2.ellipse(img, center, hub, 0, 0, 360, (150, 150, 150), -1, cv2.LINE_AA, 4)
    tip = (int(round(r * BAR_END_TO_PLATE * 16)), int(round(r * BAR_END_TO_PLATE * 16)))
    cv2.ellipse(img, center, tip, 0, 0, 360, (215, 215, 220), -1, cv2.LINE_AA, 4)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.5)))
    img += rng.normal(0, rng.uniform(1, 8), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    half_tip = r * BAR_END_TO_PLATE
    boxes = [
        Box("plate", cx - r * squash, cy - r, cx + r * squash, cy + r),
        Box("bar_end", cx - half_tip, cy - half_tip, cx + half_tip, cy + half_tip),
    ]
    return out, [b for b in (b.clipped(w, h) for b in boxes) if b is not None]


def synth_samples(
    count: int, seed: int = 0, size: tuple[int, int] = (640, 480), per_video: int = 10
) -> Iterator[Sample]:
    """`count` synthetic frames; each run of `per_video` frames is called one "video" so splits can be
    tested the same way as real clips."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        pixels, boxes = render_synthetic(rng, size)
        yield Sample(
            source=Path(f"synth-{seed}-{k:05d}.jpg"),
            width=size[0],
            height=size[1],
            boxes=boxes,
            video=f"synth-{seed}-{k // per_video:04d}",
            pixels=pixels,
            extra={"label_source": "synthetic"},
        )


# ----------------------------------------------------------------------------------- merge & split


def merge_samples(folders: Sequence[Path]) -> Iterator[Sample]:
    for folder in folders:
        prefix = folder.name
        for s in samples_of(folder):
            s.name = f"{prefix}-{s.name or s.source.name}"
            yield s


def split_by_video(
    videos: Iterable[str], fractions: dict[str, float], seed: int = 0, weights: dict[str, int] | None = None
) -> dict[str, str]:
    """Assign each video to one split, aiming at `fractions` of the frames (weights = frames per video).
    Deterministic for a seed; largest videos are placed first so small splits are not swamped."""
    if not fractions or any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
        raise DatasetError(f"bad split fractions {fractions}")
    total_f = sum(fractions.values())
    fr = {k: v / total_f for k, v in fractions.items()}
    vids = sorted(set(videos))
    weights = weights or {}
    rng = random.Random(seed)
    rng.shuffle(vids)
    vids.sort(key=lambda v: -weights.get(v, 1))  # stable: ties keep the seeded order
    total = sum(weights.get(v, 1) for v in vids)
    filled = dict.fromkeys(fr, 0)
    assignment: dict[str, str] = {}
    for v in vids:
        # The split furthest below its target share takes the next video.
        name = max(fr, key=lambda k: (fr[k] * total - filled[k], fr[k]))
        assignment[v] = name
        filled[name] += weights.get(v, 1)
    return assignment


def split_dataset(
    folder: Path, out: Path, fractions: dict[str, float], seed: int = 0, opts: WriteOptions | None = None
) -> dict[str, dict[str, Any]]:
    samples = list(samples_of(folder))
    counts: dict[str, int] = defaultdict(int)
    for s in samples:
        counts[s.video] += 1
    assignment = split_by_video(counts, fractions, seed, counts)
    result = {}
    for name in fractions:
        part = [s for s in samples if assignment[s.video] == name]
        result[name] = write_dataset(part, out / name, opts or WriteOptions(images="link"))
    return result


def summary(coco: dict[str, Any]) -> str:
    per_class: dict[str, int] = defaultdict(int)
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    for a in coco["annotations"]:
        per_class[cats[a["category_id"]]] += 1
    videos = {im.get("video") for im in coco["images"]}
    return f"{len(coco['images'])} images from {len(videos)} videos, " + ", ".join(
        f"{n} {k}" for k, n in sorted(per_class.items())
    )


# --------------------------------------------------------------------------------------------- CLI


def _write_opts(args: argparse.Namespace) -> WriteOptions:
    return WriteOptions(images=args.images, max_side=args.max_side, jpeg_quality=args.jpeg_quality)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="datasets.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    def out_args(sp: argparse.ArgumentParser, images_default: str = "copy") -> None:
        sp.add_argument("-o", "--out", type=Path, required=True, help="dataset folder to write")
        sp.add_argument(
            "--images",
            choices=("copy", "link"),
            default=images_default,
            help="copy image files, or symlink them (keeps internal images where they are)",
        )
        sp.add_argument("--max-side", type=int, default=None, help="downscale images (and boxes) to this")
        sp.add_argument("--jpeg-quality", type=int, default=90)

    sp = sub.add_parser("yolo", help="import a YOLO export")
    sp.add_argument("root", type=Path)
    sp.add_argument("--split", default=None, help="subfolder (train, valid, test); none = root itself")
    out_args(sp)
    sp = sub.add_parser("coco-annotator", help="import a COCO Annotator export")
    sp.add_argument("export", type=Path, help="the exported JSON")
    sp.add_argument("--images-dir", type=Path, required=True)
    out_args(sp)
    sp = sub.add_parser("autolabel", help="label videos with the plate finder + tracker")
    sp.add_argument("videos", type=Path, nargs="+")
    sp.add_argument("--every", type=int, default=10, help="keep at most one frame in this many")
    sp.add_argument("--min-confidence", type=float, default=0.8)
    sp.add_argument("--no-bar-end", action="store_true", help="label plates only")
    out_args(sp)
    sp = sub.add_parser("synth", help="render synthetic frames with exact boxes")
    sp.add_argument("--count", type=int, default=200)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    out_args(sp)
    sp = sub.add_parser("merge", help="merge dataset folders")
    sp.add_argument("folders", type=Path, nargs="+")
    out_args(sp)
    sp = sub.add_parser("split", help="split by source video (no video in two splits)")
    sp.add_argument("folder", type=Path)
    sp.add_argument(
        "--fractions",
        default="train=0.8,validation=0.2",
        help="NAME=FRACTION,... (each NAME becomes a subfolder)",
    )
    sp.add_argument("--seed", type=int, default=0)
    out_args(sp, images_default="link")
    return p


def parse_fractions(text: str) -> dict[str, float]:
    try:
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        return {k.strip(): float(v) for k, v in pairs}
    except ValueError as exc:
        raise DatasetError(f"--fractions wants NAME=FRACTION,...: {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "split":
            parts = split_dataset(
                args.folder, args.out, parse_fractions(args.fractions), args.seed, _write_opts(args)
            )
            for name, coco in parts.items():
                print(f"{name}: {summary(coco)}")
            return 0
        samples: Iterable[Sample]
        if args.command == "yolo":
            samples = yolo_samples(args.root, args.split)
        elif args.command == "coco-annotator":
            samples = coco_annotator_samples(args.export, args.images_dir)
        elif args.command == "autolabel":
            opts = AutolabelOptions(
                every=args.every, min_confidence=args.min_confidence, bar_end=not args.no_bar_end
            )
            samples = (s for v in args.videos for s in autolabel_samples(v, opts=opts))
        elif args.command == "synth":
            w, h = (int(v) for v in args.size.lower().split("x"))
            samples = synth_samples(args.count, args.seed, (w, h))
        else:
            samples = merge_samples(args.folders)
        coco = write_dataset(samples, args.out, _write_opts(args))
        print(f"{args.out}: {summary(coco)}")
        return 0
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
