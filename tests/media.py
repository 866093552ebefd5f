"""Small real test clips made with the same ffmpeg the code uses (imageio-ffmpeg's build).

    make_clip(path, codec="h264", size=(320, 240), fps=30, seconds=1, rotation=0, vfr=False, audio=False)

`live=True` (mkv/webm) leaves out the duration and index, as a browser's recorder does.
`rotation` is what the file asks a player to do, clockwise (our VideoInfo.rotation_deg convention); the
pixels are stored unrotated, as a phone stores them. `vfr=True` spaces frames by a repeating pattern of
steps (VFR_STEPS) whose exact times `vfr_times` returns.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from barpath import ffmpeg

# Frame-to-frame steps of a VFR clip, in seconds; all exact in a 1/600 s time base.
VFR_STEPS = (1 / 30, 1 / 60, 1 / 20)

_VIDEO_CODECS: dict[str, list[str]] = {
    "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
             "-x265-params", "log-level=error"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "0", "-crf", "40",
            "-pix_fmt", "yuv420p"],
}  # fmt: skip


def run(args: Sequence[str]) -> None:
    """Run ffmpeg, failing the test with its last message when it fails."""
    done = subprocess.run(
        [ffmpeg.exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {done.stderr.strip()[-500:]}")


def vfr_times(n: int) -> list[float]:
    """Presentation times of the first `n` frames of a `vfr=True` clip."""
    times, t = [], 0.0
    for k in range(n):
        times.append(t)
        t += VFR_STEPS[k % len(VFR_STEPS)]
    return times


def source_filter(pattern: str, size: tuple[int, int], fps: float) -> str:
    """A lavfi source: `testsrc2` (moving test card), or a flat colour name such as `black`."""
    w, h = size
    if pattern in ("testsrc", "testsrc2"):
        return f"{pattern}=size={w}x{h}:rate={fps}"
    return f"color=c={pattern}:size={w}x{h}:rate={fps}"


def make_clip(
    path: Path,
    codec: str = "h264",
    size: tuple[int, int] = (320, 240),
    fps: float = 30,
    seconds: float = 1.0,
    rotation: int = 0,
    vfr: bool = False,
    audio: bool = False,
    pattern: str = "testsrc2",
    vf: str | None = None,
    frames: int | None = None,
    faststart: bool = True,
    live: bool = False,
) -> Path:
    """Encode a clip of `pattern` (size is as stored, before rotation). Returns `path`."""
    path = Path(path)
    n = frames if frames is not None else max(1, round(seconds * fps))
    filters = [vf] if vf else []
    if vfr:
        # Frame N's time is the sum of the first N steps of the repeating VFR_STEPS pattern.
        a, b, c = VFR_STEPS
        cycle = a + b + c
        filters.append(
            "settb=1/600,"  # fine enough that every step is a whole number of ticks
            f"setpts=(floor(N/3)*{cycle!r}+if(eq(mod(N\\,3)\\,1)\\,{a!r}\\,0)"
            f"+if(eq(mod(N\\,3)\\,2)\\,{a + b!r}\\,0))/TB"
        )
    args = ["-f", "lavfi", "-i", source_filter(pattern, size, fps)]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-map", "0:v"] + (["-map", "1:a"] if audio else [])
    if filters:
        args += ["-vf", ",".join(filters)]
    args += ["-frames:v", str(n), *_VIDEO_CODECS[codec]]
    suffix = path.suffix.lower()
    if vfr:
        args += ["-fps_mode", "passthrough", "-enc_time_base", "1/600"]
        if suffix in (".mp4", ".mov"):
            args += ["-video_track_timescale", "600"]
    if audio:
        args += ["-c:a", "libopus" if suffix == ".webm" else "aac", "-shortest"]
        # The sine source is endless: end the sound where the last frame ends.
        args += ["-t", f"{vfr_times(n + 1)[-1] if vfr else n / fps:.6f}"]
    if suffix in (".mp4", ".mov") and faststart:
        args += ["-movflags", "+faststart"]
    if live:  # as a browser's MediaRecorder writes webm: no duration, no index
        args += ["-live", "1"]
    if codec == "hevc" and suffix in (".mp4", ".mov"):
        args += ["-tag:v", "hvc1"]
    if rotation % 360 == 0:
        run([*args, str(path)])
        return path
    tmp = path.with_name(path.stem + ".unrotated" + path.suffix)
    run([*args, str(tmp)])
    # -display_rotation is counter-clockwise; `rotation` is the clockwise turn a player applies.
    run(["-display_rotation", str(-rotation), "-i", str(tmp), "-c", "copy", str(path)])
    tmp.unlink()
    return path


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    sine = "sine=frequency=440:sample_rate=48000"
    run(["-f", "lavfi", "-i", sine, "-t", f"{seconds}", "-c:a", "aac", f"{path}"])
    return Path(path)


def make_image(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    run(["-f", "lavfi", "-i", source_filter("testsrc2", size, 1), "-frames:v", "1", str(path)])
    return Path(path)


def truncate(src: Path, dst: Path, keep_fraction: float) -> Path:
    """Copy the first `keep_fraction` of `src`'s bytes: an upload cut short."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep_fraction)])
    return Path(dst)


def slow_motion_copy(src: Path, dst: Path, factor: float, capture_fps: float | None = None) -> Path:
    """`src`'s frames `factor` times farther apart (stream copy), as a phone writes slow motion, and
    tagged with the camera's rate as Android does (`com.android.capture.fps`) where `capture_fps` is set."""
    args = ["-itsscale", f"{factor!r}", "-i", str(src), "-c", "copy"]
    if capture_fps is not None:
        args += ["-movflags", "use_metadata_tags", "-metadata", f"com.android.capture.fps={capture_fps:.6f}"]
    run([*args, str(dst)])
    return Path(dst)
