"""Item 5: 50 uploads at once through the local flow (moto server, real handler) -> 50 `succeeded`
notifications and 50 complete result sets. Prints wall time and peak memory (this process plus its
ffmpeg children), the numbers the README quotes; it does not assert a speed (tests do not time)."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from barpath.aws.keys import result_keys

from .harness import Flow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 50
WORKERS = 4  # in-process stand-ins for concurrent Lambda containers; the machine has 2 cores


class PeakRss:
    """Samples the resident memory of this process and all its children (ffmpeg) every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def tiny_lift(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from barpath.synth import SynthSpec, render_clip

    path = tmp_path_factory.mktemp("load") / "tiny-lift.mp4"
    render_clip(SynthSpec(width=160, height=120, fps=15, n_reps=1, rack=False, seed=5), path)
    return path


def test_fifty_uploads_at_once(tiny_lift: Path, flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    keys = [f"uploads/load/lifter-{i:02d} set.mp4" for i in range(N)]
    events = [flow.upload(tiny_lift, k) for k in keys]
    started = time.monotonic()
    with PeakRss() as mem, ThreadPoolExecutor(WORKERS) as pool:
        deliveries = list(pool.map(flow.deliver, events))
    wall = time.monotonic() - started

    assert all(d.errors == [] for d in deliveries)
    msgs = flow.notifications(wait_s=2.0)
    assert len(msgs) == N
    assert {m["status"] for m in msgs} == {"succeeded"}
    assert sorted(m["input"]["key"] for m in msgs) == sorted(keys)
    expected = sorted(k for key in keys for k in result_keys(key).values())
    assert sorted(flow.results()) == expected  # 50 complete sets, nothing else
    with capsys.disabled():
        print(f"\nload: {N} uploads, {WORKERS} workers: {wall:.1f} s wall, "
              f"{wall / N:.2f} s per upload, peak RSS {mem.peak / 1024**2:.0f} MiB (process + ffmpeg)")
