"""Item 2: limits hold before any decoding, ffmpeg never leaves the local file, and size is refused from
the event alone (no download)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .corpus import BY_NAME, Corpus
from .harness import Flow, InjectedFault

pytestmark = pytest.mark.integration

_PROBE = """
import json, resource, sys, time
from pathlib import Path
from barpath import video
from barpath.errors import BarpathError
t = time.monotonic()
try:
    video.probe(Path(sys.argv[1]))
    code = "ok"
except BarpathError as exc:
    code = exc.code
kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": time.monotonic() - t, "child_peak_mib": kib / 1024}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["decompression_bomb_16k", "huge_declared_16384"])
def test_oversized_frames_are_refused_by_the_probe_without_decoding(name: str, corpus: Corpus) -> None:
    path = corpus.path(BY_NAME[name])
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True,
                         timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["code"] == "video_too_large", got
    # One decoded 15360x8640 frame is ~200 MB as YUV and ~400 MB as BGR: the probe's ffmpeg stayed far
    # below that, so it never decoded one.
    assert got["child_peak_mib"] < 150, got


class _Listener:
    """A local HTTP port that counts connections: where a hostile playlist tries to make ffmpeg go."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._t.join()
        self.sock.close()


@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_uploaded_playlists_cannot_make_ffmpeg_fetch_anything(kind: str, flow: Flow, tmp_path: Path,
                                                              scratch: Path) -> None:
    listener = _Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}/secret.ts"
        body = {
            "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n",
            "concat": f"ffconcat version 1.0\nfile '{url}'\nfile '/etc/passwd'\n",
        }[kind]
        path = tmp_path / f"{kind}.mp4"
        path.write_text(body)
        d = flow.deliver(flow.upload(path, f"uploads/{kind}-playlist.mp4"))
    finally:
        listener.close()
    assert d.errors == []
    (msg,) = flow.notifications()
    assert msg["status"] == "failed" and msg["error"]["code"] in ("not_a_video", "unreadable_video")
    assert listener.connections == 0, "ffmpeg followed a URL from an uploaded file"
    assert list(scratch.iterdir()) == []


def test_size_limit_is_enforced_from_the_event_before_any_download(cloud: object, corpus: Corpus) -> None:
    flow = Flow(cloud, MAX_VIDEO_BYTES="1000")  # type: ignore[arg-type]
    event = flow.upload(corpus.path(BY_NAME["plain_h264"]), "uploads/too-big.mp4")
    download = InjectedFault("s3", "GetObject")  # would fail loudly if anything tried to read the video
    d = flow.deliver(event)
    download.stop()
    assert d.errors == [] and download.fired == 0
    (msg,) = flow.notifications()
    assert (msg["status"], msg["error"]["code"]) == ("failed", "video_too_large")
