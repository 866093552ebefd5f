"""The GPU Batch route end to end, as a deployment with a trained model runs it: for a machine with a
CUDA GPU, torch and detectron2 (the device machine lent to some sessions). CI has no GPU and never
runs it; the pieces it joins are tested on their own (tests/detectron2, tests/integration).

    python bench/gpu_batch.py prepare --data DIR        # any machine: the training set and the test clip
    python bench/gpu_batch.py run --data DIR --out DIR  # the GPU machine

`prepare` renders lifts with barpath.synth and keeps every few frames, at 640 px, each with its plate box
from the exact ground truth (COCO, training/datasets.py). The clip to test on is another lift and seed,
1280x720, with the lifter, floor plates, blur and noise, and its truth.

`run` trains a detector with training/train.py on cuda (ResNet-18-FPN from scratch, as the README's
record), packs it as SageMaker packs a model (model.tar.gz) into a moto S3 bucket, and runs the local
cloud flow (barpath.local): the real handler gets the upload's S3 event and routes the clip to Batch
(INLINE_MAX_SECONDS=1); the real Batch entry point runs in its own process with DETECTOR=detectron2 and
MODEL_URI=s3://..., fetches and unpacks the model, tracks with it and publishes. nvidia-smi is sampled
meanwhile, so the record shows the Batch process on the GPU, not only that the job finished. It prints
and writes one JSON record: the notifications, the GPU processes, and path.json against the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training import datasets as ds  # noqa: E402

from barpath import synth, video  # noqa: E402

TRAIN_SPECS = [  # lifts, seeds and looks the test clip does not share
    synth.SynthSpec(lift="squat", n_reps=3, seed=101, width=640, height=360),
    synth.SynthSpec(lift="bench", n_reps=3, seed=102, width=640, height=360),
    synth.SynthSpec(lift="clean", n_reps=1, seed=103, width=640, height=360),
    synth.SynthSpec(lift="squat", n_reps=2, seed=104, width=640, height=360, camera_drift_px=15.0),
    synth.SynthSpec(lift="bench", n_reps=2, seed=105, width=640, height=360, plate_bgr=(40, 40, 150)),
]
TEST_SPEC = synth.SynthSpec(lift="deadlift", n_reps=3, seed=131, width=1280, height=720)
EVERY = 4  # neighbouring frames differ little: every fourth is nearly as good a sample, a quarter the size
MODEL_BUCKET = "barpath-gpu-check-models"
MODEL_KEY = "plates/model.tar.gz"


def prepare(data: Path) -> dict[str, Any]:
    data.mkdir(parents=True, exist_ok=True)
    samples: list[ds.Sample] = []
    for spec in TRAIN_SPECS:
        clip = data / f"train-{spec.lift}-{spec.seed}.mp4"
        truth = synth.render_clip(spec, clip)
        samples.extend(clip_samples(clip, truth))
        clip.unlink()
    split = int(len(samples) * 0.85)
    coco_train = ds.write_dataset(samples[:split], data / "train", ds.WriteOptions(jpeg_quality=75))
    coco_valid = ds.write_dataset(samples[split:], data / "validation", ds.WriteOptions(jpeg_quality=75))
    truth = synth.render_clip(TEST_SPEC, data / "test.mp4")
    truth.write_json(data / "test-truth.json")
    return {
        "train_images": len(coco_train["images"]),
        "validation_images": len(coco_valid["images"]),
        "test_frames": len(truth.frames),
    }


def clip_samples(clip: Path, truth: synth.GroundTruth) -> list[ds.Sample]:
    """Frames of a rendered clip with the plate's exact box (and the sleeve tip's, centred on it); frames
    where less than 60 % of the plate shows are left out, as an annotator would skip them."""
    r = truth.plate_radius_px
    half_tip = r * ds.BAR_END_TO_PLATE
    out = []
    for frame in video.frames(video.probe(clip)):
        f = truth.frames[frame.i]
        if frame.i % EVERY or f.visible < 0.6:
            continue
        h, w = frame.image.shape[:2]
        out.append(
            ds.Sample(
                source=Path(f"{clip.stem}-{frame.i:05d}.jpg"),
                width=w,
                height=h,
                video=clip.stem,
                boxes=[
                    ds.Box("plate", f.x - r, f.y - r, f.x + r, f.y + r),
                    ds.Box("bar_end", f.x - half_tip, f.y - half_tip, f.x + half_tip, f.y + half_tip),
                ],
                pixels=frame.image,
                extra={"label_source": "synthetic-truth"},
            )
        )
    return out


def train_model(data: Path, work: Path, seconds: float, device: str, max_iter: int) -> Path:
    from training import train

    model = work / "model"
    argv = [
        "--train", str(data / "train"), "--validation", str(data / "validation"),
        "--model-dir", str(model), "--checkpoint-dir", str(work / "ckpt"),
        "--output-data-dir", str(work / "output"), "--weights", "none", "--device", device,
        "--max-iter", str(max_iter), "--max-seconds", str(seconds), "--batch-size", "16",
        "--lr", "0.02", "--amp", str(device == "cuda").lower(), "--num-workers", "8",
        "--min-size-train", "320,360,400", "--max-size-train", "720",
        "--min-size-test", "360", "--max-size-test", "640",
        "--checkpoint-period", "100000",
        "--opts", "MODEL.RESNETS.DEPTH", "18", "MODEL.RESNETS.RES2_OUT_CHANNELS", "64",
        "MODEL.ROI_BOX_HEAD.FC_DIM", "512",
    ]  # fmt: skip
    if train.run(argv) != 0:
        raise SystemExit("training failed")
    return model


def pack(model: Path, dest: Path) -> Path:
    # SageMaker's layout: the model directory's files at the archive's root.
    with tarfile.open(dest, "w:gz") as tar:
        for f in sorted(model.iterdir()):
            tar.add(f, arcname=f.name)
    return dest


class GpuWatch:
    """nvidia-smi's compute processes, sampled: which processes held GPU memory, and the most each held."""

    def __init__(self, every_s: float = 0.5, enabled: bool = True) -> None:
        self.every_s, self.enabled = every_s, enabled
        self.peak_mib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> GpuWatch:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            out = subprocess.run(
                ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            )
            for line in out.stdout.splitlines():
                pid, _, mib = line.partition(",")
                if pid.strip().isdigit() and mib.strip().isdigit():
                    key = int(pid)
                    self.peak_mib[key] = max(self.peak_mib.get(key, 0), int(mib))


def compare(doc: dict[str, Any], truth: synth.GroundTruth) -> dict[str, Any]:
    errs = [
        float(np.hypot(f["x"] - g.x, f["y"] - g.y))
        for f, g in zip(doc["frames"], truth.frames, strict=True)
        if f["state"] != "lost" and g.visible > 0.6
    ]
    states: dict[str, int] = {}
    for f in doc["frames"]:
        states[f["state"]] = states.get(f["state"], 0) + 1
    mcv = [
        (got["concentric"]["mean_velocity_mps"], want.concentric.mean_velocity_mps)
        for got, want in zip(doc["reps"], truth.reps, strict=False)
    ]
    return {
        "frames": len(doc["frames"]),
        "states": states,
        "centre_error_px": {
            "mean": round(float(np.mean(errs)), 2) if errs else None,
            "p95": round(float(np.percentile(errs, 95)), 2) if errs else None,
        },
        "reps": {"found": doc["summary"]["rep_count"], "true": len(truth.reps)},
        "mcv_mps": [{"got": round(g, 3), "true": round(w, 3)} for g, w in mcv],
    }


def run(
    data: Path,
    out: Path,
    seconds: float,
    device: str = "cuda",
    max_iter: int = 3000,
    trained: Path | None = None,
) -> dict[str, Any]:
    import torch

    from barpath.local import LocalCloud, run_flow

    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check is for a GPU machine (--device cpu tries it here)")
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    record: dict[str, Any] = {"torch": torch.__version__, "device": device}
    if device == "cuda":
        record["gpu"] = torch.cuda.get_device_name(0)
    started = time.monotonic()
    model = trained or train_model(data, work, seconds, device, max_iter)
    record["train_s"] = round(time.monotonic() - started, 1)
    record["train_metrics"] = {
        k: v
        for k, v in json.loads((model / "metrics.json").read_text()).items()
        if k in ("iterations", "AP", "AP50", "per_class")
    }
    work.mkdir(parents=True, exist_ok=True)
    archive = pack(model, work / "model.tar.gz")
    truth = synth.GroundTruth.read_json(data / "test-truth.json")
    lines: list[str] = []
    with LocalCloud() as cloud:
        cloud.provision()
        cloud.client("s3").create_bucket(Bucket=MODEL_BUCKET)
        cloud.client("s3").upload_file(str(archive), MODEL_BUCKET, MODEL_KEY)
        started = time.monotonic()
        # BARPATH_DEVICE reaches the Batch process too: unset, it takes cuda where torch sees one.
        env = {"BARPATH_DEVICE": device} if device == "cpu" else {}
        with GpuWatch(enabled=device == "cuda") as gpu:
            messages = run_flow(
                cloud,
                data / "test.mp4",
                "uploads/gpu-check/deadlift.mp4",
                out / "results",
                say=lines.append,
                DETECTOR="detectron2",
                MODEL_URI=f"s3://{MODEL_BUCKET}/{MODEL_KEY}",
                INLINE_MAX_SECONDS="1",
                **env,
            )
        record["flow_s"] = round(time.monotonic() - started, 1)
    record["notifications"] = [
        {k: m.get(k) for k in ("status", "route", "job_id", "error")} for m in messages
    ]
    # This process trained the model (PyTorch's allocator keeps that memory) and ran the handler, which
    # checks the model without torch; the Batch job is another process.
    record["gpu_processes_mib"] = {
        ("this process" if pid == os.getpid() else f"pid {pid}"): mib for pid, mib in gpu.peak_mib.items()
    }
    path_json = out / "results" / "path.json"
    if messages and messages[-1]["status"] == "succeeded" and path_json.is_file():
        doc = json.loads(path_json.read_text())
        record["against_truth"] = compare(doc, truth)
    else:
        record["log_tail"] = lines[-5:]
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("prepare", "run", "all"))
    p.add_argument("--data", type=Path, required=True, help="training set, test clip and its truth")
    p.add_argument("--out", type=Path, default=Path("out/gpu-batch"))
    p.add_argument("--train-seconds", type=float, default=120.0)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: a dry run of the steps")
    p.add_argument("--max-iter", type=int, default=3000)
    p.add_argument("--model", type=Path, help="a model directory already trained: skip training")
    args = p.parse_args(argv)
    record: dict[str, Any] = {}
    if args.step in ("prepare", "all"):
        record["prepared"] = prepare(args.data)
    if args.step in ("run", "all"):
        record.update(run(args.data, args.out, args.train_seconds, args.device, args.max_iter, args.model))
        (args.out / "gpu-batch.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))
    return 0 if args.step == "prepare" or record.get("against_truth") else 1


if __name__ == "__main__":
    sys.exit(main())
