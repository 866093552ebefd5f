"""`make bench`: speed and memory of the whole pipeline on rendered 1080p30 clips, measured in one run.

Speed is a ratio, not seconds: `barpath.pipeline.process` (decode, track, analyse, overlay encode) against
a bare ffmpeg H.264 transcode of the same clip with the overlay's encoder settings
(`barpath.ffmpeg.transcode`), so the number means the same on a laptop and in Lambda. Memory is the
peak RSS of the pipeline's process tree (Python plus its ffmpeg children, sampled), on a 15 s and a
60 s clip: a streaming pipeline keeps it flat. Accuracy against the clip's exact ground truth is printed
alongside, so a faster pipeline that got worse shows up here too.

    python bench/bench.py [--short-s 15] [--long-s 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import psutil

from barpath import ffmpeg
from barpath.synth import GroundTruth, SynthSpec, natural_duration, render_clip

TARGET_RATIO = 1.5
TARGET_RSS_MB = 1024.0
TARGET_RSS_GROWTH = 1.25  # 60 s vs 15 s: anything above this means memory grows with the clip
SAMPLE_S = 0.05


@dataclass
class Run:
    seconds: float  # wall time of pipeline.process inside the child
    stage_s: dict[str, float]  # its stages (pipeline.Outputs.stage_s)
    tree_peak_mb: float  # sampled peak of the child's RSS plus its descendants'
    py_peak_mb: float  # the child's own ru_maxrss (exact, Python only)
    ffmpeg_peak_mb: float  # largest ffmpeg child's ru_maxrss
    cpu_s: float  # CPU seconds of process() and its ffmpeg children, user + system


def clip_spec(seconds: float, seed: int) -> SynthSpec:
    """A 1080p30 squat set with as many reps as fit in `seconds` (at least `seconds` long)."""
    spec = SynthSpec(lift="squat", width=1920, height=1080, fps=30.0, n_reps=1, seed=seed, occlusion=True)
    n = 1
    while natural_duration(replace(spec, n_reps=n + 1)) <= seconds:
        n += 1
    spec = replace(spec, n_reps=n, v_first_mps=0.85, v_last_mps=0.55)
    return replace(spec, seconds=max(seconds, natural_duration(spec)))


def run_pipeline(video: Path, outdir: Path) -> Run:
    """process() in a fresh interpreter, its process tree's memory sampled from here."""
    cmd = [sys.executable, __file__, "--child", str(video), str(outdir)]
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass  # a child exited between listing and reading it
        time.sleep(SAMPLE_S)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"pipeline failed on {video} (exit {proc.returncode})")
    doc = json.loads(out.strip().splitlines()[-1])
    return Run(
        doc["seconds"],
        doc["stage_s"],
        max(peak, doc["py_peak_b"]) / 2**20,
        doc["py_peak_b"] / 2**20,
        doc["ffmpeg_peak_b"] / 2**20,
        doc["cpu_s"],
    )


def child(video: Path, outdir: Path) -> None:
    from barpath import pipeline

    c0 = cpu_s()
    t0 = time.perf_counter()
    out = pipeline.process(video, outdir)
    seconds = time.perf_counter() - t0
    kib = 1024  # Linux reports ru_maxrss in KiB
    doc = {
        "seconds": seconds,
        "cpu_s": cpu_s() - c0,
        "stage_s": out.stage_s,
        "py_peak_b": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib,
        "ffmpeg_peak_b": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib,
    }
    print(json.dumps(doc))


def cpu_s(who: int | None = None) -> float:
    """User + system CPU seconds of this process and its waited-for children (or only `who`)."""
    kinds = [resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN] if who is None else [who]
    return sum(resource.getrusage(k).ru_utime + resource.getrusage(k).ru_stime for k in kinds)


def time_transcode(video: Path, dst: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the reference transcode."""
    c0 = cpu_s(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    ffmpeg.transcode(video, dst, audio_codec=None)
    return time.perf_counter() - t0, cpu_s(resource.RUSAGE_CHILDREN) - c0


def accuracy(gt: GroundTruth, path_json: Path) -> dict[str, float]:
    """How the pipeline's result compares with the exact truth (positions px, velocities m/s). The truth's
    phases span the whole minimum-jerk move, so a pipeline that starts a phase at a speed threshold
    reports a slightly higher mean velocity by definition; the peak is free of that."""
    doc = json.loads(path_json.read_text())
    got = doc["frames"]
    n = min(len(got), len(gt.frames))
    err = [
        math.hypot(got[i]["x"] - gt.frames[i].x, got[i]["y"] - gt.frames[i].y)
        for i in range(n)
        if got[i]["x"] is not None and gt.frames[i].visible > 0.5
    ]
    reps = doc["reps"]
    pairs = list(zip(reps, gt.reps, strict=False))
    dv = [abs(r["concentric"]["mean_velocity_mps"] - g.concentric.mean_velocity_mps) for r, g in pairs]
    dpk = [abs(r["concentric"]["peak_velocity_mps"] - g.concentric.peak_velocity_mps) for r, g in pairs]
    return {
        "frames_match": float(len(got) == len(gt.frames)),
        "tracked_px_median": float(np.median(err)) if err else math.nan,
        "tracked_px_p95": float(np.percentile(err, 95)) if err else math.nan,
        "rep_count": float(len(reps)),
        "rep_count_true": float(len(gt.reps)),
        "mean_velocity_abs_err_mps": float(np.mean(dv)) if dv else math.nan,
        "peak_velocity_abs_err_mps": float(np.mean(dpk)) if dpk else math.nan,
    }


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--short-s", type=float, default=15.0)
    ap.add_argument("--long-s", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=2, help="timing repeats on the short clip (best of)")
    ap.add_argument("--keep", type=Path, help="keep clips and outputs here instead of a temp dir")
    ap.add_argument("--child", nargs=2, metavar=("VIDEO", "OUTDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="barpath-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results: dict[str, tuple[GroundTruth, Run, float]] = {}
        for name, secs in (("short", args.short_s), ("long", args.long_s)):
            clip = work / f"{name}.mp4"
            t0 = time.perf_counter()
            gt = render_clip(clip_spec(secs, seed=1), clip)
            print(
                f"[{name}] rendered {clip.name}: {len(gt.frames)} frames, {gt.t[-1]:.1f} s, "
                f"1920x1080, {len(gt.reps)} reps ({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            # Interleaved repeats, best of each: other load on the machine hits both sides alike.
            t_ref, cpu_ref, run = math.inf, math.inf, None
            for _ in range(args.repeat if name == "short" else 1):
                wall, cpu = time_transcode(clip, work / f"{name}-transcode.mp4")
                t_ref, cpu_ref = min(t_ref, wall), min(cpu_ref, cpu)
                r = run_pipeline(clip, work / f"{name}-out")
                run = r if run is None or r.seconds < run.seconds else run
                run = replace(run, tree_peak_mb=max(run.tree_peak_mb, r.tree_peak_mb))
            assert run is not None
            results[name] = (gt, run, t_ref)
            stages = ", ".join(f"{k} {v:.1f} s ({v / t_ref:.2f}x)" for k, v in run.stage_s.items())
            print(f"[{name}] stages (x the transcode): {stages}", flush=True)
            # Work, not scheduling: even spread perfectly over every core, the pipeline takes at least
            # its CPU time over the core count, while the transcode already keeps the cores busy.
            cores = os.cpu_count() or 1
            floor = run.cpu_s / cores / t_ref
            print(
                f"[{name}] CPU: pipeline {run.cpu_s:.1f} CPU-s, transcode {cpu_ref:.1f} CPU-s "
                f"({run.cpu_s / cpu_ref:.2f}x); on {cores} cores the pipeline's floor is {floor:.2f}x",
                flush=True,
            )
            acc = accuracy(gt, work / f"{name}-out" / "path.json")
            print(
                f"[{name}] transcode {t_ref:.1f} s | pipeline {run.seconds:.1f} s | "
                f"ratio {run.seconds / t_ref:.2f} (target <= {TARGET_RATIO}) | "
                f"peak RSS tree {run.tree_peak_mb:.0f} MB (python {run.py_peak_mb:.0f} MB, "
                f"largest ffmpeg {run.ffmpeg_peak_mb:.0f} MB; target <= {TARGET_RSS_MB:.0f} MB)",
                flush=True,
            )
            print(
                f"[{name}] accuracy: centre error median {acc['tracked_px_median']:.2f} px, "
                f"p95 {acc['tracked_px_p95']:.2f} px; "
                f"reps {acc['rep_count']:.0f}/{acc['rep_count_true']:.0f}; "
                f"concentric velocity |error| mean {acc['mean_velocity_abs_err_mps']:.3f} m/s, "
                f"peak {acc['peak_velocity_abs_err_mps']:.3f} m/s",
                flush=True,
            )
        _, short, t_short = results["short"]
        _, long, t_long = results["long"]
        ratio = short.seconds / t_short
        growth = long.tree_peak_mb / short.tree_peak_mb
        # The short clip's ratio is the target; the long one shows how much of it is fixed start-up cost.
        ratio_long = long.seconds / t_long
        worst_rss = max(short.tree_peak_mb, long.tree_peak_mb)
        print("\nsummary (one run, same machine)")
        print(
            f"  speed  pipeline / transcode on {args.short_s:.0f} s 1080p30: {ratio:.2f}  "
            f"target <= {TARGET_RATIO}  {verdict(ratio <= TARGET_RATIO)}"
        )
        print(
            f"  speed  pipeline / transcode on {args.long_s:.0f} s 1080p30: {ratio_long:.2f}  (for reference)"
        )
        print(
            f"  speed  floor from CPU work alone on {os.cpu_count() or 1} cores, {args.short_s:.0f} s clip: "
            f"{short.cpu_s / (os.cpu_count() or 1) / t_short:.2f}  (no scheduling gets below it)"
        )
        print(
            f"  memory peak RSS {args.short_s:.0f} s: {short.tree_peak_mb:.0f} MB, {args.long_s:.0f} s: "
            f"{long.tree_peak_mb:.0f} MB, ratio {growth:.2f}  target <= {TARGET_RSS_GROWTH} (flat)  "
            f"{verdict(growth <= TARGET_RSS_GROWTH)}"
        )
        print(
            f"  memory worst peak RSS {worst_rss:.0f} MB  target <= {TARGET_RSS_MB:.0f} MB  "
            f"{verdict(worst_rss <= TARGET_RSS_MB)}"
        )


if __name__ == "__main__":
    main()
