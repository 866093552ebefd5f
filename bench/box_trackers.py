"""Which opencv-contrib box tracker carries the plate best where the flow fails (barpath.plate_box).

For every 3rd frame where barpath's rim fit found the plate, each tracker starts there on the working-scale
grey copy and follows the next 8 frames; its box centre is compared with the rim fits in those frames, in
plate radii. Also prints start and update cost. Real clips from ../shared/footage by default.

    python bench/box_trackers.py [CLIP.mp4 ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from barpath import video
from barpath.detect.plate import PlateFinder
from barpath.plate_box import BOX_HALF, TRACKERS
from barpath.plate_flow import Grey, grey_small, lk_scale
from barpath.track import track

FOOTAGE = Path(__file__).resolve().parents[1].parent / "shared" / "footage"
DEFAULT = ["clean-black-plate-a", "clean-black-plate-b", "snatch-competition", "deadlift-outdoor-backlit"]
AHEAD = 8


def main(paths: list[Path]) -> None:
    err: dict[str, list[tuple[int, float]]] = {k: [] for k in TRACKERS}
    start_ms: dict[str, list[float]] = {k: [] for k in TRACKERS}
    update_ms: dict[str, list[float]] = {k: [] for k in TRACKERS}
    fails = dict.fromkeys(TRACKERS, 0)
    for path in paths:
        info = video.probe(path)
        ref = list(track(video.frames(info), PlateFinder(), info))
        smalls: list[Grey] = []
        scale = 1.0
        for fr in video.frames(info):
            scale = lk_scale(fr.image) if not smalls else scale
            smalls.append(grey_small(fr.image, scale))
        radius = float(np.median([p.radius for p in ref if p.radius is not None]))
        half = BOX_HALF * radius / scale
        for k in [p.i for p in ref if p.state == "detected"][::3]:
            x, y = ref[k].x, ref[k].y
            assert x is not None and y is not None
            h, w = smalls[k].shape
            x0, y0 = max(0, round(x / scale - half)), max(0, round(y / scale - half))
            x1, y1 = min(w, round(x / scale + half)), min(h, round(y / scale + half))
            if x1 - x0 < half or y1 - y0 < half:
                continue
            for name, make in TRACKERS.items():
                tr = make()
                t0 = time.perf_counter()
                tr.init(smalls[k], (x0, y0, x1 - x0, y1 - y0))
                start_ms[name].append(1e3 * (time.perf_counter() - t0))
                for j in range(k + 1, min(k + 1 + AHEAD, len(smalls))):
                    t0 = time.perf_counter()
                    try:
                        ok, box = tr.update(smalls[j])
                    except cv2.error:
                        ok = False
                    update_ms[name].append(1e3 * (time.perf_counter() - t0))
                    if not ok:
                        fails[name] += 1
                        break
                    rx, ry = ref[j].x, ref[j].y
                    if ref[j].state == "detected" and rx is not None and ry is not None:
                        cx, cy = (box[0] + box[2] / 2) * scale, (box[1] + box[3] / 2) * scale
                        err[name].append((j - k, float(np.hypot(cx - rx, cy - ry)) / radius))
    for name in TRACKERS:
        e = np.array(err[name]).reshape(-1, 2)
        at = " ".join(f"{np.mean(e[e[:, 0] == s, 1]):.3f}" for s in (1, 4, 8) if (e[:, 0] == s).any())
        print(
            f"{name:10s} start {np.median(start_ms[name]):5.2f} ms  "
            f"update {np.median(update_ms[name]):5.2f} ms "
            f"(p90 {np.percentile(update_ms[name], 90):5.2f})  said lost {fails[name]:3d}  "
            f"error/radius after 1,4,8 frames: {at}"
        )


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [FOOTAGE / f"{c}.mp4" for c in DEFAULT]
    main(args)
