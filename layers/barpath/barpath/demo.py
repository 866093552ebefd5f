"""`make demo`: the whole cloud flow on this machine, with no AWS account and no Docker.

Renders a sample lift, starts a local AWS endpoint (moto server on 127.0.0.1), creates the buckets,
topic, table, queues and Batch queue template.yaml names, uploads the clip to uploads/, delivers the S3
event to the real handler, prints the SNS notification and downloads the results.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from barpath.local import LocalCloud, run_flow

OUTDIR = Path("demo-out")
KEY = "uploads/demo/sample lift.mp4"  # a space on purpose: S3 delivers it URL-encoded


def main() -> int:
    from barpath.synth import SynthSpec, render_clip

    with tempfile.TemporaryDirectory(prefix="barpath-demo-") as tmp:
        clip = Path(tmp) / "sample-lift.mp4"
        spec = SynthSpec(lift="squat", n_reps=3, width=960, height=540, seed=7)
        print(f"rendering a sample lift ({spec.n_reps} reps, {spec.width}x{spec.height}) ...", flush=True)
        render_clip(spec, clip)
        with LocalCloud() as cloud:
            print(f"local AWS endpoint at {cloud.endpoint} (moto server)", flush=True)
            cloud.provision()
            messages = run_flow(cloud, clip, KEY, OUTDIR / "results")
    ok = bool(messages) and messages[-1]["status"] == "succeeded"
    print("demo " + ("done: see " + str(OUTDIR / "results") if ok else "failed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
