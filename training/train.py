"""Fine-tune a Detectron2 detector for the bar end (plate + sleeve tip). SageMaker-compatible, and the same
script runs on a laptop: every SageMaker path is read from its environment variable with a default.

Shaped like detectron2's tools/train_net.py: `setup(args)` builds the config, `main(args)` trains and
evaluates through a `DefaultTrainer` subclass, and `detectron2.engine.launch` spreads it over GPUs/hosts.

    SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION   dataset folders: annotations.json (COCO) + the images it names
    SM_MODEL_DIR                               model_final.pth, config.yaml, metrics.json, barpath-model.json
    SM_OUTPUT_DATA_DIR                         evaluation files and the training log
    SM_NUM_GPUS, SM_HOSTS, SM_CURRENT_HOST     process layout for launch()
    /opt/ml/checkpoints (--checkpoint-dir)     periodic checkpoints; a restarted (Spot) job resumes from them

Hyperparameters arrive as `--name value` strings (SageMaker passes every one as a string).
This module imports detectron2 only inside the functions that need it, so its argument and environment
handling is usable (and tested) without it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml"
TRAIN_NAME = "barpath_train"
VAL_NAME = "barpath_validation"
MANIFEST = "barpath-model.json"
MANIFEST_SCHEMA = "barpath/model@1"
SM_CHECKPOINTS = "/opt/ml/checkpoints"
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}

# A child of the logger that setup() configures, so these lines reach the job log.
log = logging.getLogger("detectron2.barpath.train")


class TrainingSetupError(ValueError):
    """The job is misconfigured (missing channel, unreadable annotations, bad hyperparameter)."""


# ------------------------------------------------------------------------------ arguments & environment


def str2bool(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def int_list(text: str) -> tuple[int, ...]:
    """ "640,672,704" or "[640, 672]" or "640 672" -> (640, 672, 704)."""
    parts = text.replace("[", " ").replace("]", " ").replace("(", " ").replace(")", " ").replace(",", " ")
    try:
        values = tuple(int(float(p)) for p in parts.split())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from exc
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text!r}")
    return values


def default_checkpoint_dir(env: Mapping[str, str]) -> str:
    # SageMaker syncs /opt/ml/checkpoints with checkpoint_s3_uri and restores it on a Spot restart.
    if Path(SM_CHECKPOINTS).parent.is_dir():
        return SM_CHECKPOINTS
    return str(Path(env.get("SM_OUTPUT_DATA_DIR", "out/output")).parent / "checkpoints")


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("SageMaker contract (environment defaults)")
    io.add_argument("--train", default=env.get("SM_CHANNEL_TRAIN", "data/train"))
    io.add_argument("--validation", default=env.get("SM_CHANNEL_VALIDATION", "data/validation"))
    io.add_argument("--model-dir", default=env.get("SM_MODEL_DIR", "out/model"))
    io.add_argument("--output-data-dir", default=env.get("SM_OUTPUT_DATA_DIR", "out/output"))
    io.add_argument("--checkpoint-dir", default=default_checkpoint_dir(env))
    io.add_argument("--num-gpus", type=int, default=int(env.get("SM_NUM_GPUS", "0") or 0))
    io.add_argument("--hosts", type=_json_list, default=_json_list(env.get("SM_HOSTS", "[]")))
    io.add_argument("--current-host", default=env.get("SM_CURRENT_HOST", ""))
    io.add_argument("--dist-port", type=int, default=int(env.get("BARPATH_DIST_PORT", "29500")))

    hp = p.add_argument_group("hyperparameters")
    hp.add_argument("--config-file", default=DEFAULT_CONFIG, help="model-zoo config name or a local .yaml")
    hp.add_argument(
        "--weights",
        default="zoo",
        help="'zoo' (the config's model-zoo checkpoint, needs internet), a local .pth/.pkl, "
        "a URL, "
        "or 'none' (train from scratch with GroupNorm)",
    )
    hp.add_argument("--max-iter", type=int, default=3000)
    hp.add_argument("--lr", type=float, default=0.005, help="base learning rate (for --batch-size images)")
    hp.add_argument("--batch-size", type=int, default=8, help="images per iteration, all processes together")
    hp.add_argument("--roi-batch-size", type=int, default=256, help="RoIs sampled per image")
    hp.add_argument("--min-size-train", type=int_list, default=(512, 544, 576, 608, 640))
    hp.add_argument("--max-size-train", type=int, default=1066)
    hp.add_argument("--min-size-test", type=int, default=640)
    hp.add_argument("--max-size-test", type=int, default=1066)
    hp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    hp.add_argument(
        "--eval-period", type=int, default=0, help="evaluate every N iterations (0: at the end only)"
    )
    hp.add_argument("--checkpoint-period", type=int, default=500)
    hp.add_argument("--num-workers", type=int, default=4)
    hp.add_argument(
        "--score-threshold", type=float, default=0.5, help="written to the manifest for inference"
    )
    hp.add_argument(
        "--proposals-test",
        type=int,
        default=100,
        help="RPN proposals per frame the detector keeps (in the manifest; evaluation keeps the config's)",
    )
    hp.add_argument("--seed", type=int, default=-1)
    hp.add_argument(
        "--resume",
        type=str2bool,
        default=True,
        help="continue from the last checkpoint in --checkpoint-dir when there is one",
    )
    hp.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="end training after about this long, compressing the LR schedule (0: no limit)",
    )
    hp.add_argument("--amp", type=str2bool, default=False, help="mixed precision (CUDA only)")
    hp.add_argument(
        "--opts",
        nargs=argparse.REMAINDER,
        default=[],
        help="KEY VALUE pairs passed to cfg.merge_from_list (one quoted string also works)",
    )
    return p


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        value = [h.strip() for h in text.split(",") if h.strip()]
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError(f"not a list of hosts: {text!r}")
    return [str(v) for v in value]


def parse_args(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> argparse.Namespace:
    args = build_parser(env).parse_args(argv)
    args.opts = split_opts(args.opts)
    if args.device == "auto":
        args.device = "cuda" if args.num_gpus > 0 else "cpu"
    if args.device == "cuda" and args.num_gpus <= 0:
        args.num_gpus = 1
    for name in (
        "max_iter",
        "batch_size",
        "roi_batch_size",
        "max_size_train",
        "min_size_test",
        "max_size_test",
    ):
        if getattr(args, name) <= 0:
            raise TrainingSetupError(f"--{name.replace('_', '-')} must be positive")
    if args.lr <= 0:
        raise TrainingSetupError("--lr must be positive")
    return args


def split_opts(opts: Sequence[str]) -> list[str]:
    """`--opts A 1 B 2`, or SageMaker's single string `--opts "A 1 B 2"`, -> [A, 1, B, 2]."""
    flat = [tok for item in opts for tok in shlex.split(item)]
    if len(flat) % 2:
        raise TrainingSetupError(f"--opts wants KEY VALUE pairs, got {flat}")
    return flat


@dataclass(frozen=True)
class LaunchPlan:
    num_gpus_per_machine: int
    num_machines: int
    machine_rank: int
    dist_url: str


def launch_plan(args: argparse.Namespace) -> LaunchPlan:
    """One process per GPU on each host; the first host in SM_HOSTS is the rendezvous."""
    hosts = args.hosts or []
    if args.device == "cpu" or len(hosts) <= 1:
        machines, rank = 1, 0
    else:
        if args.current_host not in hosts:
            raise TrainingSetupError(f"current host {args.current_host!r} is not in SM_HOSTS {hosts}")
        machines, rank = len(hosts), hosts.index(args.current_host)
    gpus = 1 if args.device == "cpu" else max(1, args.num_gpus)
    # SageMaker hosts (algo-1, ...) resolve by name; the first one is the rendezvous.
    url = f"tcp://{hosts[0]}:{args.dist_port}" if machines > 1 else "auto"
    return LaunchPlan(gpus, machines, rank, url)


def find_annotations(channel: str | Path) -> Path:
    """The COCO JSON of a dataset folder: annotations.json, else the only *.json in it."""
    folder = Path(channel)
    if folder.is_file() and folder.suffix == ".json":
        return folder
    if not folder.is_dir():
        raise TrainingSetupError(f"dataset channel {folder} does not exist")
    preferred = folder / "annotations.json"
    if preferred.is_file():
        return preferred
    found = sorted(folder.glob("*.json"))
    if len(found) != 1:
        raise TrainingSetupError(
            f"{folder}: expected annotations.json or exactly one *.json, found {[f.name for f in found]}"
        )
    return found[0]


def dataset_classes(annotations: Path) -> list[str]:
    """Class names in category-id order: the contiguous ids detectron2 gives them."""
    try:
        coco = json.loads(annotations.read_text())
        cats = sorted(coco["categories"], key=lambda c: c["id"])
        names = [str(c["name"]) for c in cats]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainingSetupError(f"{annotations}: not COCO instances JSON ({exc})") from exc
    if not names:
        raise TrainingSetupError(f"{annotations}: no categories")
    if not coco.get("images"):
        raise TrainingSetupError(f"{annotations}: no images")
    return names


def resolve_weights(spec: str, config_file: str) -> str:
    """'zoo' -> the model-zoo checkpoint URL of the config; 'none' -> ''; else a path/URL as given."""
    value = spec.strip()
    if value.lower() in ("", "none", "scratch"):
        return ""
    if value.lower() == "zoo":
        if Path(config_file).is_file():
            raise TrainingSetupError("--weights zoo needs a model-zoo config name, not a local file")
        from detectron2 import model_zoo

        url: str = model_zoo.get_checkpoint_url(config_file)
        return url
    if "://" not in value and not Path(value).is_file():
        raise TrainingSetupError(f"--weights {value}: no such file")
    return value


def config_overrides(args: argparse.Namespace, num_classes: int, weights: str) -> list[Any]:
    """The KEY VALUE list applied over the base config (before --opts, which wins)."""
    warmup = min(500, max(1, args.max_iter // 10))
    steps = tuple(
        sorted({s for s in (int(args.max_iter * 0.75), int(args.max_iter * 0.92)) if 0 < s < args.max_iter})
    )
    ov: list[Any] = [
        "DATASETS.TRAIN",
        (TRAIN_NAME,),
        "DATASETS.TEST",
        (VAL_NAME,),
        "MODEL.ROI_HEADS.NUM_CLASSES",
        num_classes,
        "MODEL.RETINANET.NUM_CLASSES",
        num_classes,
        "MODEL.WEIGHTS",
        weights,
        "MODEL.DEVICE",
        args.device,
        "SOLVER.IMS_PER_BATCH",
        args.batch_size,
        "SOLVER.BASE_LR",
        args.lr,
        "SOLVER.MAX_ITER",
        args.max_iter,
        "SOLVER.STEPS",
        steps,
        "SOLVER.WARMUP_ITERS",
        warmup,
        "SOLVER.CHECKPOINT_PERIOD",
        args.checkpoint_period,
        "SOLVER.AMP.ENABLED",
        bool(args.amp),
        "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE",
        args.roi_batch_size,
        "INPUT.MIN_SIZE_TRAIN",
        tuple(args.min_size_train),
        "INPUT.MAX_SIZE_TRAIN",
        args.max_size_train,
        "INPUT.MIN_SIZE_TEST",
        args.min_size_test,
        "INPUT.MAX_SIZE_TEST",
        args.max_size_test,
        "TEST.EVAL_PERIOD",
        args.eval_period,
        "DATALOADER.NUM_WORKERS",
        args.num_workers,
        "OUTPUT_DIR",
        str(args.checkpoint_dir),
        "SEED",
        args.seed,
    ]
    if not weights:
        # Frozen BatchNorm with no pretrained statistics cannot learn; detectron2's scratch recipe
        # (Misc/scratch_*_gn.yaml) trains every stage with GroupNorm instead.
        ov += [
            "MODEL.BACKBONE.FREEZE_AT",
            0,
            "MODEL.RESNETS.NORM",
            "GN",
            "MODEL.FPN.NORM",
            "GN",
            "MODEL.ROI_BOX_HEAD.NAME",
            "FastRCNNConvFCHead",
            "MODEL.ROI_BOX_HEAD.NUM_CONV",
            4,
            "MODEL.ROI_BOX_HEAD.NUM_FC",
            1,
            "MODEL.ROI_BOX_HEAD.NORM",
            "GN",
        ]
    return ov


def model_manifest(
    classes: Sequence[str],
    args: argparse.Namespace,
    metrics: Mapping[str, Any],
    iterations: int,
    seconds: float,
) -> dict[str, Any]:
    """What Detectron2Detector needs besides the weights: which class is the plate, the pixel format,
    the test-time size and a sensible score threshold."""
    return {
        "schema": MANIFEST_SCHEMA,
        "framework": "detectron2",
        "weights": "model_final.pth",
        "config": "config.yaml",
        "classes": list(classes),
        "plate_class": "plate" if "plate" in classes else classes[0],
        "bar_end_class": "bar_end" if "bar_end" in classes else None,
        "input_format": "BGR",
        "min_size_test": args.min_size_test,
        "max_size_test": args.max_size_test,
        "score_threshold": args.score_threshold,
        "proposals_test": args.proposals_test,
        "base_config": args.config_file,
        "metrics": {k: metrics.get(k) for k in ("AP", "AP50", "AP75")},
        "training": {
            "iterations": iterations,
            "seconds": round(seconds, 1),
            "device": args.device,
            "num_gpus": args.num_gpus,
            "batch_size": args.batch_size,
            "lr": args.lr,
        },
    }


# ------------------------------------------------------------------------------------- detectron2 side


def _has_compiled_ops() -> bool:
    try:
        from detectron2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def _trainer_class() -> type:
    import detectron2.data.transforms as T
    from detectron2.data import DatasetMapper, build_detection_train_loader
    from detectron2.engine import DefaultTrainer
    from detectron2.evaluation import COCOEvaluator

    class Trainer(DefaultTrainer):  # type: ignore[misc]
        def train(self) -> None:
            # TrainerBase.train loops over a range fixed at the start; this loop re-reads max_iter so
            # TimeBudget can end training early and still get the final checkpoint and evaluation.
            from detectron2.utils.events import EventStorage

            log.info("training from iteration %d to %d", self.start_iter, self.max_iter)
            self.iter = self.start_iter
            with EventStorage(self.start_iter) as self.storage:
                try:
                    self.before_train()
                    while self.iter < self.max_iter:
                        self.before_step()
                        self.run_step()
                        self.after_step()
                        self.iter += 1
                finally:
                    self.after_train()

        @classmethod
        def build_evaluator(cls, cfg: Any, dataset_name: str, output_folder: str | None = None) -> Any:
            folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference")
            # The C++ COCOeval is only there when detectron2 was compiled; pycocotools gives the same AP.
            return COCOEvaluator(dataset_name, output_dir=folder, use_fast_impl=_has_compiled_ops())

        @classmethod
        def build_train_loader(cls, cfg: Any) -> Any:
            # Gym lighting varies far more than COCO's: photometric jitter on top of resize + flip.
            augs = [
                T.ResizeShortestEdge(cfg.INPUT.MIN_SIZE_TRAIN, cfg.INPUT.MAX_SIZE_TRAIN, "choice"),
                T.RandomFlip(horizontal=True),
                T.RandomBrightness(0.7, 1.3),
                T.RandomContrast(0.7, 1.3),
                T.RandomSaturation(0.7, 1.3),
            ]
            return build_detection_train_loader(
                cfg, mapper=DatasetMapper(cfg, is_train=True, augmentations=augs)
            )

    return Trainer


def _time_budget_hook(seconds: float) -> Any:
    import detectron2.utils.comm as comm
    from detectron2.engine import HookBase, hooks

    class TimeBudget(HookBase):  # type: ignore[misc]
        """End training after about `seconds`. The LR schedule is a function of the fraction of
        max_iter done, so shrinking max_iter compresses warm-up and decay steps into the budget instead
        of cutting the run off at a high learning rate."""

        def __init__(self) -> None:
            self.seconds = seconds
            self.t0 = 0.0
            self.t_warm = 0.0
            self.warm_iter = 0

        def before_train(self) -> None:
            self.t0 = time.perf_counter()

        def after_step(self) -> None:
            done = self.trainer.iter - self.trainer.start_iter + 1
            if done == 5:  # timings from here on: no data-loader start or kernel autotuning in them
                self.t_warm, self.warm_iter = time.perf_counter(), done
            if done < 20 or done % 20:
                return
            now = time.perf_counter()
            per_iter = (now - self.t_warm) / (done - self.warm_iter)
            fit = self.trainer.iter + 1 + int(max(0.0, self.seconds - (now - self.t0)) / per_iter)
            # Every process must stop at the same iteration.
            fit = min(comm.all_gather(fit))
            if fit < self.trainer.max_iter * 0.98:
                log.info(
                    "time budget %.0fs: %.3fs/iter, training to iteration %d instead of %d",
                    self.seconds,
                    per_iter,
                    fit,
                    self.trainer.max_iter,
                )
                self.trainer.max_iter = fit
                self.trainer.scheduler._max_iter = fit
                for h in self.trainer._hooks:
                    if isinstance(h, hooks.PeriodicCheckpointer):
                        h.max_iter = fit

    return TimeBudget()


def register_datasets(args: argparse.Namespace) -> list[str]:
    from detectron2.data import DatasetCatalog
    from detectron2.data.datasets import register_coco_instances

    train_json, val_json = find_annotations(args.train), find_annotations(args.validation)
    classes = dataset_classes(train_json)
    if dataset_classes(val_json) != classes:
        raise TrainingSetupError(
            f"train and validation categories differ: {classes} vs {dataset_classes(val_json)}"
        )
    for name, path in ((TRAIN_NAME, train_json), (VAL_NAME, val_json)):
        if name in DatasetCatalog.list():
            DatasetCatalog.remove(name)
            from detectron2.data import MetadataCatalog

            MetadataCatalog.remove(name)
        register_coco_instances(name, {}, str(path), str(path.parent))
    return classes


def config_path(name: str) -> str:
    if Path(name).is_file():
        return name
    # model_zoo needs pkg_resources (setuptools < 81): import it only for zoo names.
    from detectron2 import model_zoo

    path: str = model_zoo.get_config_file(name)
    return path


def _setup_logging_and_seed(cfg: Any) -> None:
    """default_setup() minus its environment report: collect_env_info() probes compilers and optional
    libraries and crashed one GPU image outright; a training job does not need it."""
    import detectron2.utils.comm as comm
    import torch
    from detectron2.utils.env import seed_all_rng
    from detectron2.utils.logger import setup_logger

    rank = comm.get_rank()
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=rank, name="fvcore")
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=rank)
    log.info("rank %d of %d; config:\n%s", rank, comm.get_world_size(), cfg.dump())
    if comm.is_main_process():
        (Path(cfg.OUTPUT_DIR) / "config.yaml").write_text(cfg.dump())
    seed_all_rng(None if cfg.SEED < 0 else cfg.SEED + rank)
    torch.backends.cudnn.benchmark = cfg.CUDNN_BENCHMARK


def setup(args: argparse.Namespace) -> Any:
    from detectron2.config import get_cfg

    classes = register_datasets(args)
    cfg = get_cfg()
    config_file = config_path(args.config_file)
    cfg.merge_from_file(config_file)
    weights = resolve_weights(args.weights, args.config_file)
    cfg.merge_from_list(config_overrides(args, len(classes), weights))
    cfg.merge_from_list(list(args.opts))
    world = launch_plan(args)
    if cfg.SOLVER.IMS_PER_BATCH % (world.num_gpus_per_machine * world.num_machines):
        raise TrainingSetupError("--batch-size must be a multiple of the number of processes")
    cfg.freeze()
    Path(cfg.OUTPUT_DIR).mkdir(parents=True, exist_ok=True)
    _setup_logging_and_seed(cfg)
    return cfg


def per_class_ap(gt_json: Path, detections_json: Path) -> dict[str, dict[str, float]]:
    """AP, AP50, AP75 (percent) of each class, from COCOEvaluator's written detections."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(gt_json))
    dets = json.loads(detections_json.read_text()) if detections_json.is_file() else []
    out: dict[str, dict[str, float]] = {}
    for cat in gt.loadCats(gt.getCatIds()):
        mine = [d for d in dets if d["category_id"] == cat["id"]]
        if not mine:
            out[cat["name"]] = {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
            continue
        ev = COCOeval(gt, gt.loadRes(mine), "bbox")
        ev.params.catIds = [cat["id"]]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        out[cat["name"]] = {
            k: round(float(max(ev.stats[i], 0.0)) * 100, 3) for k, i in (("AP", 0), ("AP50", 1), ("AP75", 2))
        }
    return out


def export_model(
    cfg: Any, trainer: Any, args: argparse.Namespace, results: Mapping[str, Any], seconds: float
) -> Path:
    """Write the model directory: weights (model only, no optimizer state), config, metrics, manifest."""
    import torch

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model = getattr(trainer.model, "module", trainer.model)  # unwrap DistributedDataParallel
    torch.save({"model": model.state_dict(), "iteration": trainer.iter}, model_dir / "model_final.pth")
    infer = cfg.clone()
    infer.defrost()
    infer.MODEL.WEIGHTS = "model_final.pth"  # relative: the detector resolves it inside the model dir
    (model_dir / "config.yaml").write_text(infer.dump())
    # COCOEvaluator reports NaN when the model found nothing at all; against a validation set with
    # ground truth that is an AP of 0.
    bbox = {
        k: (0.0 if isinstance(v, float) and math.isnan(v) else v) for k, v in results.get("bbox", {}).items()
    }
    dets = Path(cfg.OUTPUT_DIR) / "inference" / "coco_instances_results.json"
    names = dataset_classes(find_annotations(args.train))
    metrics = {
        "dataset": str(find_annotations(args.validation)),
        "iterations": int(trainer.iter),
        "start_iteration": int(trainer.start_iter),  # > 0: resumed from a checkpoint
        "train_seconds": round(seconds, 1),  # the training loop and its final evaluation
        "AP": bbox.get("AP"),
        "AP50": bbox.get("AP50"),
        "AP75": bbox.get("AP75"),
        "bbox": bbox,
        "per_class": per_class_ap(find_annotations(args.validation), dets),
    }
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    manifest = model_manifest(names, args, metrics, int(trainer.iter), seconds)
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    out = Path(args.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "metrics.json", out / "metrics.json")
    return model_dir


def main(args: argparse.Namespace) -> dict[str, Any]:
    import detectron2.utils.comm as comm

    cfg = setup(args)
    trainer_cls = _trainer_class()
    trainer = trainer_cls(cfg)
    if args.max_seconds > 0:
        trainer.register_hooks([_time_budget_hook(args.max_seconds)])
    # resume=True: with a checkpoint in OUTPUT_DIR (a Spot restart) continue from it, else load
    # MODEL.WEIGHTS and start at iteration 0.
    trainer.resume_or_load(resume=args.resume)
    start = time.monotonic()
    trainer.train()
    seconds = time.monotonic() - start
    results = getattr(trainer, "_last_eval_results", None) or trainer_cls.test(cfg, trainer.model)
    if comm.is_main_process():
        export_model(cfg, trainer, args, results, seconds)
    return dict(results)


def run(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        plan = launch_plan(args)
    except TrainingSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("FVCORE_CACHE", str(Path(args.checkpoint_dir).parent / "fvcore-cache"))
    from detectron2.engine import launch

    launch(
        main,
        plan.num_gpus_per_machine,
        num_machines=plan.num_machines,
        machine_rank=plan.machine_rank,
        dist_url=plan.dist_url,
        args=(args,),
    )
    return 0


if __name__ == "__main__":
    sys.exit(run())
