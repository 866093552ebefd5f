"""The `barpath` command.

    barpath process VIDEO -o OUTDIR [--plate-diameter-mm 450] [--detector auto|plate|detectron2]
                                    [--model PATH_OR_S3_URI] [--lift squat|bench|deadlift|clean|snatch]
    barpath --version

Exit status: 0 on success; 2 on bad input (any barpath.errors.BarpathError: not a video, unreadable,
no frames, no plate found, missing file, ...) with one line on stderr, `barpath: error: <message>
[<code>]`, and no traceback; 2 as well for usage errors (argparse). Anything else is a bug and keeps
its traceback.

Adding a subcommand: write it in its own module and add one line to SUBCOMMANDS below,
`("name", "barpath.module")`. The module provides either

    add_parser(subparsers) -> None      # build its parser; set_defaults(func=callable(args) -> int)

or the pair `add_arguments(parser)` + `run(args) -> int` (the parser is then made here, its help taken
from the module docstring's first line). Modules are imported only when their subcommand runs, so an
optional dependency of one subcommand never breaks another, and `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from barpath import __version__
from barpath.errors import BarpathError, InputNotFoundError

PROG = "barpath"
EXIT_BAD_INPUT = 2

# (name, module, one-line help): modules are imported lazily, see the module docstring.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("local", "barpath.local", "run the whole cloud flow on this machine (moto server, no AWS account)"),
]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: choose a command", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(func(args) or 0)
    except BarpathError as err:
        print(f"{PROG}: error: {_one_line(err.message)} [{err.code}]", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Barbell bar path, reps and velocities from a lifting video."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_process(subparsers)
    # Only the subcommand being run is imported; the others are listed by name and help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name, help_text in SUBCOMMANDS:
        if name == chosen:
            _register(subparsers, name, importlib.import_module(module_name), help_text)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def _register(subparsers: Any, name: str, module: ModuleType, help_text: str) -> None:
    if hasattr(module, "add_parser"):
        module.add_parser(subparsers)
        return
    doc = (module.__doc__ or help_text).strip()
    sub = subparsers.add_parser(
        name, help=help_text, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    module.add_arguments(sub)
    sub.set_defaults(func=module.run)


# ------------------------------------------------------------------------------------------- process


def _add_process(subparsers: Any) -> None:
    from barpath.detect.factory import DETECTOR_KINDS

    p = subparsers.add_parser(
        "process",
        help="video in -> OUTDIR/path.json, overlay.mp4, velocity.png",
        description="Track the bar end through VIDEO and write path.json, overlay.mp4 and velocity.png.",
    )
    p.add_argument("video", type=Path, metavar="VIDEO")
    p.add_argument("-o", "--outdir", type=Path, required=True, metavar="OUTDIR")
    p.add_argument(
        "--plate-diameter-mm",
        type=_positive_mm,
        default=450.0,
        help="outer diameter of the tracked plate; sets the scale (default: 450, the standard)",
    )
    p.add_argument(
        "--detector",
        choices=DETECTOR_KINDS,
        default="auto",
        help="auto: the plate finder, and with --model the model on frames where the plate finder finds "
        "no plate (default); detectron2: the model alone",
    )
    p.add_argument("--model", default=None, metavar="PATH_OR_S3_URI", help="Detectron2 weights")
    p.add_argument(
        "--lift",
        default=None,
        choices=("squat", "bench", "press", "deadlift", "clean", "snatch"),
        help="only says where reps start (top or floor); read from the motion by default",
    )
    p.add_argument(
        "--slow-motion",
        type=_slowdown,
        default=None,
        metavar="FACTOR",
        help="the video plays FACTOR times slower than filmed (8: 240 fps shown at 30); read from the "
        "file where it says (Android phones do), else 1; 1 also overrides the file",
    )
    p.add_argument("--no-video", action="store_true", help="skip overlay.mp4 (faster)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_process)


def _positive_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 100.0 <= value <= 1000.0):
        raise argparse.ArgumentTypeError(f"{text} mm is not a plate diameter (100-1000 mm)")
    return value


def _slowdown(text: str) -> float:
    from barpath.video import MAX_SLOWDOWN

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 1.0 <= value <= MAX_SLOWDOWN):
        raise argparse.ArgumentTypeError(f"{text} is not a slow-motion factor (1-{MAX_SLOWDOWN:.0f})")
    return value


def _run_process(args: argparse.Namespace) -> int:
    from barpath import pipeline, video

    path: Path = args.video
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise InputNotFoundError(f"{path}: is a directory, not a video file")
    options = pipeline.Options(
        plate_diameter_mm=args.plate_diameter_mm,
        detector=args.detector,
        model=args.model,
        render_video=not args.no_video,
        lift=args.lift,
        slow_motion=args.slow_motion,
    )
    # Probed once: the frame count sizes the progress bar and the pipeline reuses the probe.
    info = video.probe(path, options.limits)
    bar = Progress(sys.stderr, info.frame_count, enabled=not args.quiet)
    options.progress = bar.update

    def rendering(done: int) -> None:
        # The overlay encode takes longer than tracking: without its own bar the run looks stuck.
        if bar.label != RENDERING:
            bar.next_stage(RENDERING)
        bar.update(done)

    options.render_progress = rendering
    try:
        outputs = pipeline.process(path, args.outdir, options, info=info)
    finally:
        bar.close()
    print(format_report(outputs.result.to_dict()))
    print()
    for label, out in (("path", outputs.path_json), ("overlay", outputs.overlay), ("plot", outputs.plot)):
        if out is not None:
            print(f"{label:8s} {out}")
    return 0


RENDERING = "rendering"
MIN_RATE_S = 0.25


class Progress:
    """A one-line progress bar on a terminal; on a pipe or file, a few terse lines instead (logs stay
    readable and nothing needs a dependency)."""

    def __init__(self, stream: TextIO, total: int, enabled: bool = True, label: str = "tracking") -> None:
        self.stream = stream
        self.total = max(int(total), 0)
        self.enabled = enabled
        self.tty = enabled and stream.isatty() and os.environ.get("TERM") != "dumb"
        self._begin(label)

    def next_stage(self, label: str) -> None:
        """Finish this stage's line and count the next stage's frames from zero."""
        self.close()
        self._begin(label)

    def _begin(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()
        self.last_draw = 0.0
        self.last_pct = -1
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last_draw >= 0.1:
                self.last_draw = now
                self.stream.write("\r" + self._line(now))
                self.stream.flush()
            return
        pct = int(100 * done / self.total) // 25 * 25 if self.total else 0
        if pct > self.last_pct:  # 0, 25, 50, 75, 100 %
            self.last_pct = pct
            self.stream.write(self._line(now) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\r" + self._line(time.monotonic()) + "\n")
            self.stream.flush()

    def _line(self, now: float) -> str:
        elapsed = now - self.start
        # A rate over the first instants of a stage says nothing (one frame in 3 us: 346740 fps).
        rate = f"{self.done / elapsed:5.1f}" if elapsed >= MIN_RATE_S else "    -"
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * 30)
            bar = "#" * filled + "-" * (30 - filled)
            return f"{self.label:9s} [{bar}] {self.done}/{self.total} frames {rate} fps"
        return f"{self.label:9s} {self.done} frames {rate} fps"


def format_report(doc: dict[str, Any]) -> str:
    """The set as a coach reads it: one row per rep, then the set."""
    summary = doc.get("summary", {})
    reps = doc.get("reps", [])
    lines = []
    if not summary.get("velocity_available", doc["calibration"]["meters_per_pixel"] is not None):
        reason = summary.get("velocity_unavailable_reason", "no scale")
        lines.append(f"velocities unavailable: {reason}")
    head = f"{'rep':>3}  {'MCV m/s':>8}  {'peak m/s':>8}  {'ROM m':>6}  {'conc s':>6}  {'ecc s':>6}"
    lines.append(head)
    lines.append("-" * len(head))
    in_part = False
    for rep in reps:
        con, ecc = rep["concentric"], rep.get("eccentric")
        mark = "*" if con.get("seen_whole") is False else ""
        in_part = in_part or bool(mark)
        cells = [
            f"{str(rep['index']) + mark:>3}",
            _num(con["mean_velocity_mps"], 8, 2),
            _num(con["peak_velocity_mps"], 8, 2),
            _num(con["displacement_m"], 6, 2),
            _num(con["duration_s"], 6, 2),
            _num(ecc["duration_s"] if ecc else None, 6, 2),
        ]
        lines.append("  ".join(cells))
    if not reps:
        lines.append("  (no reps found)")
    if in_part:
        lines.append("  * its drive starts or ends where the video (or the track) does: its start or end")
        lines.append("    may be unseen, and its MCV read high")
    lines.append("")
    loss = summary.get("velocity_loss_pct")
    method = str(summary.get("velocity_loss_method", "")).replace("_", " ")
    lines.append(f"reps              {summary.get('rep_count', len(reps))}")
    cut = summary.get("reps_cut_off") or 0
    if cut:
        lines.append(f"cut off           {cut} more the clip starts or ends inside: not measured")
    lines.append(
        f"velocity loss     {_num(loss, 0, 1).strip()} %" + (f" ({method})" if loss is not None else "")
    )
    lines.append(f"tracked frames    {_num(100 * summary.get('tracked_fraction', 0.0), 0, 1).strip()} %")
    if summary.get("mean_concentric_velocity_mps") is not None:
        lines.append(f"mean MCV          {summary['mean_concentric_velocity_mps']:.2f} m/s")
    if summary.get("fastest_rep") is not None:
        lines.append(f"fastest / slowest rep {summary['fastest_rep']} / {summary['slowest_rep']}")
    # Say so where the numbers are not simply the picture's: a held phone moved, or could not be followed.
    camera = summary.get("camera_motion")
    if camera == "compensated":
        moved = _num(summary.get("camera_max_shift_px"), 0, 0).strip()
        lines.append(f"camera            moved (up to {moved} px at the bar): measured against the room")
    elif camera == "unmeasured":
        lines.append(f"camera            not followed ({summary.get('camera_note', 'no background')})")
    slow = doc.get("video", {}).get("slow_motion", 1.0)
    if slow != 1.0:
        filmed = doc["video"].get("capture_fps")
        at = f", filmed at {filmed:.0f} fps" if filmed else ""
        lines.append(f"slow motion       {slow:g}x{at}: durations and velocities as lifted")
    aspect = doc["calibration"].get("plate_aspect", 1.0)
    if aspect != 1.0:
        lines.append(
            f"view              turned from side-on (plate {aspect:.2f} as wide as tall): stretched back"
        )
    return "\n".join(lines)


def _num(value: Any, width: int, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.{digits}f}"


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


if __name__ == "__main__":
    sys.exit(main())
