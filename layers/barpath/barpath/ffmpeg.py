"""Where ffmpeg lives and how we call it: one place for the binary, the hardening flags and the H.264
settings, so decoding, the overlay encoder and the benchmark's bare transcode all agree.

The binary comes from imageio-ffmpeg (a static build; there is no ffprobe beside it), so probing parses
the stream summary ffmpeg prints for `-i`. Commands are plain argument lists: we need exact control over
option order (input vs output options) and over stderr, which ffmpeg-python's graph builder hides.
"""

from __future__ import annotations

import functools
import os
import selectors
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

# Inputs may only be local files: a crafted playlist or concat file must not make ffmpeg open URLs.
FILE_ONLY = ["-protocol_whitelist", "file"]
QUIET = ["-hide_banner", "-nostdin", "-nostats"]

# Output settings shared by the overlay and `make bench`'s reference transcode. veryfast is the best
# quality-per-second trade on 2 cores for 1080p; CRF 23 is x264's default visual quality.
H264_ARGS = [
    "-c:v", "libx264",
    "-preset", "veryfast",
    "-crf", "23",
    "-pix_fmt", "yuv420p",
    "-movflags", "+faststart",
]  # fmt: skip

# Audio codecs an .mp4 can carry as they are; anything else (vorbis from webm, pcm from mov) becomes AAC.
MP4_AUDIO_COPY = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus"})

PROBE_TIMEOUT_S = 30.0
MAX_CAPTURE_BYTES = 1 << 20


@functools.cache
def exe() -> str:
    """Path of the ffmpeg binary (IMAGEIO_FFMPEG_EXE overrides imageio-ffmpeg's bundled one)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass
class Completed:
    returncode: int
    stderr: str
    timed_out: bool


def run_capped(
    args: Sequence[str], timeout_s: float = PROBE_TIMEOUT_S, max_bytes: int = MAX_CAPTURE_BYTES
) -> Completed:
    """Run ffmpeg with `args`, keeping at most `max_bytes` of stderr and killing it after `timeout_s`.

    A hostile file can make ffmpeg print megabytes of warnings or loop; neither may cost us memory or time."""
    proc = subprocess.Popen(
        [exe(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    chunks: list[bytes] = []
    kept = 0
    timed_out = False
    try:
        deadline = time.monotonic() + timeout_s
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        fd = proc.stderr.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            if kept < max_bytes:
                chunks.append(chunk[: max_bytes - kept])
                kept += len(chunks[-1])
        sel.close()
    finally:
        if timed_out:
            proc.kill()
        try:
            proc.wait(timeout=max(1.0, timeout_s))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        proc.stderr.close()
    return Completed(proc.returncode, b"".join(chunks).decode("utf-8", "replace"), timed_out)


def audio_args(codec: str | None) -> list[str]:
    """Audio options for an .mp4 output whose audio comes from an input with `codec`."""
    if codec is None:
        return ["-an"]
    if codec in MP4_AUDIO_COPY:
        return ["-c:a", "copy"]
    return ["-c:a", "aac", "-b:a", "160k"]


def transcode(src: Path, dst: Path, audio_codec: str | None = "aac", timeout_s: float = 3600.0) -> None:
    """Re-encode `src` with exactly the overlay's encoder settings (the benchmark's reference)."""
    audio = ["-map", "0:a:0?", *audio_args(audio_codec)] if audio_codec else ["-an"]
    done = run_capped(
        [*QUIET, "-y", *FILE_ONLY, "-i", str(src), "-map", "0:v:0", *audio, *H264_ARGS, str(dst)],
        timeout_s=timeout_s,
    )
    if done.returncode != 0 or done.timed_out:
        raise RuntimeError(f"ffmpeg transcode of {src} failed: {last_line(done.stderr)}")


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
