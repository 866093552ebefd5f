"""Bar-end detector backed by a Detectron2 model trained with training/train.py.

A model directory holds model_final.pth, config.yaml and barpath-model.json (classes, pixel format,
test size, score threshold). It may be a local folder, a local .tar.gz (SageMaker's model.tar.gz), or an
s3:// URI of either (fetched by barpath.aws.models, once per container).
torch and detectron2 are imported only when a model is loaded: the default plate finder needs neither.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from barpath.detect.base import Candidate, FrameBGR
from barpath.detect.plate import centre_on_rim
from barpath.errors import ModelLoadError

MANIFEST = "barpath-model.json"
WEIGHTS = "model_final.pth"
CONFIG = "config.yaml"
# Sleeve-tip box side over plate diameter: the median over paired boxes of the shared annotated set.
BAR_END_TO_PLATE = 0.13
# A sleeve-tip box refines a plate's centre only when it sits this close to the plate box's centre
# (fraction of the plate radius); farther away it belongs to another bar end.
_BAR_END_MAX_OFFSET = 0.35
# detectron2's 1000 test proposals are for 80 classes in crowded COCO scenes; a frame holds a few plates.
# 100 cut a CPU detection with R50-FPN at 640 px from 1.5 s to 0.4 s (2 cores), and one detection is
# what the tracker waits for at the start and on every re-acquire.
DEFAULT_PROPOSALS = 100


@dataclass(frozen=True)
class ModelInfo:
    root: Path
    classes: tuple[str, ...]
    plate_class: str
    bar_end_class: str | None
    input_format: str
    score_threshold: float
    proposals: int  # RPN proposals kept per frame at inference


def cache_dir() -> Path:
    return Path(os.environ.get("BARPATH_MODEL_CACHE", Path(tempfile.gettempdir()) / "barpath-models"))


def fetch_model_dir(uri: str) -> Path:
    """A local model directory for `uri`: a folder as is; a .tar.gz unpacked once into the cache (keyed by
    its path, so a warm container reuses it); an s3:// URI through the AWS adapter, which downloads it to
    /tmp once per container (vision code never talks to S3 itself)."""
    if uri.startswith("s3://"):
        from barpath.aws.models import local_model

        return fetch_model_dir(str(local_model(uri)))
    path = Path(uri).expanduser()
    if path.is_dir():
        return _model_root(path, uri)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        dest = cache_dir() / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        if not (dest / MANIFEST).is_file():
            unpack(path, dest, uri)
        return _model_root(dest, uri)
    raise ModelLoadError(f"model {uri}: not a directory or a .tar.gz")


def _model_root(folder: Path, uri: str) -> Path:
    if (folder / MANIFEST).is_file():
        return folder
    found = sorted(folder.rglob(MANIFEST))
    if not found:
        raise ModelLoadError(f"model {uri}: no {MANIFEST} (train it with training/train.py)")
    return found[0].parent


def unpack(archive: Path, dest: Path, name: str) -> None:
    """Unpack a model archive into `dest`; `name` is what the error calls the model (the user's URI)."""
    # Unpack beside the destination, then rename: a concurrent or interrupted load never sees half a model.
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")  # "data" refuses absolute paths and links out of tmp
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # a cut .gz ends in EOFError
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"model {name}: cannot unpack ({exc})") from exc
    if dest.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def read_manifest(root: Path) -> ModelInfo:
    try:
        meta = json.loads((root / MANIFEST).read_text())
        classes = tuple(str(c) for c in meta["classes"])
        plate = str(meta.get("plate_class") or classes[0])
        bar_end = meta.get("bar_end_class")
        if plate not in classes or (bar_end is not None and bar_end not in classes):
            raise ValueError(f"plate/bar-end class not among {classes}")
        return ModelInfo(
            root,
            classes,
            plate,
            str(bar_end) if bar_end else None,
            str(meta.get("input_format", "BGR")),
            float(meta.get("score_threshold", 0.5)),
            int(meta.get("proposals_test", DEFAULT_PROPOSALS)),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelLoadError(f"model {root}: bad {MANIFEST} ({exc})") from exc


_NEEDS_TORCH = (
    "--detector detectron2 needs torch and detectron2 installed (see README, 'Training a detector')"
)


def check(model: str) -> ModelInfo:
    """What can be checked of `model` without importing torch (which alone takes seconds): it is fetched
    and unpacked, its manifest is sound, its config is there, its weights are whole, and torch and
    detectron2 are installed. So a bad model fails at start also where the detector itself is built on
    first use (detect/deferred.py)."""
    info = read_manifest(fetch_model_dir(model))
    if not (info.root / CONFIG).is_file():
        raise ModelLoadError(f"model {model}: no {CONFIG} (train it with training/train.py)")
    if (info.root / WEIGHTS).is_file():  # the name training writes; a hand-made config may name another
        check_weights(info.root / WEIGHTS, model)
    if not all(_installed(name) for name in ("torch", "detectron2")):
        raise ModelLoadError(_NEEDS_TORCH)
    return info


# torch.save's format before 1.6: a pickle that starts with its magic number (no checksums to test).
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def check_weights(path: Path, model: str) -> None:
    """A torch checkpoint is a zip archive with a CRC per record: a truncated or damaged copy (an upload
    cut short, a bad disk) shows here in a few milliseconds, instead of on the first video that needs the
    model, and with a plainer message than torch's (which, for junk, advises an unsafe `torch.load`)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with path.open("rb") as f:
            if f.read(len(_LEGACY_TORCH_MAGIC)) == _LEGACY_TORCH_MAGIC:
                return
        raise ModelLoadError(
            f"model {model}: {path.name} is not a PyTorch checkpoint (truncated or corrupt)"
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"model {model}: cannot read {path.name} ({exc})") from exc
    with archive:
        try:
            damaged = archive.testzip()
        except Exception as exc:  # a damaged record header: zipfile raises what it meets (bad UTF-8, ...)
            raise ModelLoadError(f"model {model}: {path.name} is damaged ({exc})") from exc
        pickled = any(name.rsplit("/", 1)[-1] == "data.pkl" for name in archive.namelist())
    if damaged is not None:
        raise ModelLoadError(f"model {model}: {path.name} is damaged ({damaged} fails its checksum)")
    if not pickled:
        raise ModelLoadError(f"model {model}: {path.name} is a zip archive but not a PyTorch checkpoint")


def _installed(name: str) -> bool:
    # Without importing it. A folder of that name on sys.path (tests/detectron2) is a namespace package
    # with no origin, not the package.
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.origin not in (None, "namespace")


class Detectron2Detector:
    """Detector protocol over detectron2's DefaultPredictor. The plate box gives the bar-end centre and
    the plate radius; a sleeve-tip (bar_end) box inside it, where the model has that class, sharpens the
    centre. Run it only where the tracker needs a detection: on a CPU it costs a fraction of a second."""

    name = "detectron2"

    def __init__(self, predictor: Any, info: ModelInfo, score_threshold: float | None = None) -> None:
        self._predictor = predictor
        self.info = info
        self.score_threshold = info.score_threshold if score_threshold is None else score_threshold
        self._plate_id = info.classes.index(info.plate_class)
        self._bar_end_id = info.classes.index(info.bar_end_class) if info.bar_end_class else None

    @classmethod
    def load(
        cls, model: str, device: str | None = None, score_threshold: float | None = None
    ) -> Detectron2Detector:
        """`model`: folder, .tar.gz or s3:// URI. `device`: cpu | cuda | None (cuda when available,
        or BARPATH_DEVICE)."""
        info = check(model)
        root = info.root
        os.environ.setdefault("FVCORE_CACHE", str(cache_dir() / "fvcore"))  # Lambda: only /tmp is writable
        try:
            import torch
            from detectron2.config import get_cfg
            from detectron2.engine import DefaultPredictor
        except ImportError as exc:
            raise ModelLoadError(_NEEDS_TORCH) from exc
        try:
            cfg = get_cfg()
            cfg.merge_from_file(str(root / CONFIG))
            weights = Path(cfg.MODEL.WEIGHTS)
            cfg.MODEL.WEIGHTS = str(weights if weights.is_absolute() else root / weights)
            if not Path(cfg.MODEL.WEIGHTS).is_file():
                raise ModelLoadError(f"model {model}: weights {cfg.MODEL.WEIGHTS} missing")
            chosen = (
                device or os.environ.get("BARPATH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
            )
            cfg.MODEL.DEVICE = chosen
            # Keep low-scoring boxes: the tracker ranks candidates itself; the manifest's threshold is
            # applied below so it can be changed without reloading.
            cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min(0.05, info.score_threshold)
            cfg.MODEL.RPN.POST_NMS_TOPK_TEST = min(cfg.MODEL.RPN.POST_NMS_TOPK_TEST, info.proposals)
            cfg.MODEL.RPN.PRE_NMS_TOPK_TEST = min(cfg.MODEL.RPN.PRE_NMS_TOPK_TEST, 6 * info.proposals)
            cfg.INPUT.FORMAT = info.input_format
            cfg.freeze()
            predictor = DefaultPredictor(cfg)
        except ModelLoadError:
            raise
        except Exception as exc:  # detectron2/torch raise many kinds on a bad config or checkpoint
            raise ModelLoadError(f"model {model}: cannot build the predictor ({exc})") from exc
        return cls(predictor, info, score_threshold)

    def detect(self, frame: FrameBGR) -> list[Candidate]:
        out = self._predictor(frame)["instances"].to("cpu")
        boxes = out.pred_boxes.tensor.numpy().tolist()
        scores = out.scores.numpy().tolist()
        classes = out.pred_classes.numpy().tolist()
        cands = candidates_from_boxes(
            boxes, scores, classes, self._plate_id, self._bar_end_id, self.score_threshold
        )
        return [centre_on_rim(frame, c) for c in cands]


def candidates_from_boxes(
    boxes: list[list[float]],
    scores: list[float],
    classes: list[int],
    plate_id: int,
    bar_end_id: int | None,
    threshold: float,
) -> list[Candidate]:
    """Plates first (best score first), each centred on the best sleeve-tip box inside it if any; then
    sleeve tips with no plate around them, their radius inferred from the tip's size."""
    plates = [
        (s, b) for b, s, c in zip(boxes, scores, classes, strict=True) if c == plate_id and s >= threshold
    ]
    tips = [
        (s, b)
        for b, s, c in zip(boxes, scores, classes, strict=True)
        if bar_end_id is not None and c == bar_end_id and s >= threshold
    ]
    plates.sort(key=lambda p: -p[0])
    tips.sort(key=lambda t: -t[0])
    used: set[int] = set()
    result: list[Candidate] = []
    for score, (x0, y0, x1, y1) in plates:
        cx, cy, radius = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2
        for k, (_, (tx0, ty0, tx1, ty1)) in enumerate(tips):
            tx, ty = (tx0 + tx1) / 2, (ty0 + ty1) / 2
            if k not in used and (tx - cx) ** 2 + (ty - cy) ** 2 <= (_BAR_END_MAX_OFFSET * radius) ** 2:
                cx, cy = tx, ty
                used.add(k)
                break
        result.append(Candidate(cx, cy, radius, float(score), (x0, y0, x1, y1), "plate"))
    for k, (score, (x0, y0, x1, y1)) in enumerate(tips):
        if k in used:
            continue
        side = (x1 - x0 + y1 - y0) / 2
        result.append(
            Candidate(
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                side / (2 * BAR_END_TO_PLATE),
                float(score),
                (x0, y0, x1, y1),
                "bar_end",
            )
        )
    return result
