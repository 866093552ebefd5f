"""The `barpath` command as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from barpath import __version__
from barpath.schema import validate

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BARPATH = REPO / ".venv" / "bin" / "barpath"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [str(BARPATH)] if BARPATH.exists() else [sys.executable, "-m", "barpath"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("barpath: error: ") and lines[0].endswith(f"[{code}]")


def test_missing_file(tmp_path: Path) -> None:
    proc = run("process", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "input_not_found")
    assert not (tmp_path / "out").exists()


def test_text_file_named_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "lift.mp4"
    fake.write_text("this is not a video\n" * 20)
    proc = run("process", str(fake), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "not_a_video")


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    proc = run("process", str(empty), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("barpath: error: ")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    proc = run("process", str(tmp_path), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "input_not_found")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run().returncode == 2
    assert run("process").returncode == 2  # no VIDEO, no -o
    bad_plate = run("process", str(tmp_path / "x.mp4"), "-o", str(tmp_path), "--plate-diameter-mm", "-4")
    assert bad_plate.returncode == 2 and "plate diameter" in bad_plate.stderr
    bad_detector = run("process", str(tmp_path / "x.mp4"), "-o", str(tmp_path), "--detector", "yolo")
    assert bad_detector.returncode == 2
    for factor in ("0.5", "100", "fast"):  # faster than filmed, beyond any camera, not a number
        bad_slow = run("process", str(tmp_path / "x.mp4"), "-o", str(tmp_path), "--slow-motion", factor)
        assert bad_slow.returncode == 2 and "slow-motion" in bad_slow.stderr, factor


def test_version_and_module_entry_point() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"barpath {__version__}"
    via_module = subprocess.run(
        [sys.executable, "-m", "barpath", "--version"], capture_output=True, text=True, timeout=60
    )
    assert via_module.stdout.strip() == f"barpath {__version__}"


def test_help_lists_registered_subcommands() -> None:
    from barpath.cli import SUBCOMMANDS

    proc = run("--help")
    assert proc.returncode == 0
    for name, _, _ in [("process", "", ""), *SUBCOMMANDS]:
        assert name in proc.stdout


@pytest.mark.slow
@pytest.mark.integration
def test_process_rendered_deadlift_end_to_end(tmp_path: Path) -> None:
    """A rendered clip with exact ground truth through the real decoder, tracker, kinematics, render."""
    synth = pytest.importorskip("barpath.synth")
    clip = tmp_path / "deadlift.mp4"
    spec = synth.SynthSpec.plain(lift="deadlift", n_reps=2, width=640, height=480, seed=3)
    truth = synth.render_clip(spec, clip)
    out = tmp_path / "out"
    proc = run("process", str(clip), "-o", str(out), "--no-video")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads((out / "path.json").read_text())
    validate(doc)
    assert (out / "velocity.png").stat().st_size > 0
    assert doc["summary"]["rep_count"] == len(truth.reps)
    # The summary table and the output paths are printed.
    assert "MCV" in proc.stdout and "velocity loss" in proc.stdout
    assert str(out / "path.json") in proc.stdout
    for rep, tr in zip(doc["reps"], truth.reps, strict=True):
        assert rep["concentric"]["mean_velocity_mps"] == pytest.approx(
            tr.concentric.mean_velocity_mps, abs=0.03
        )


@pytest.mark.slow
@pytest.mark.integration
def test_progress_covers_tracking_and_rendering(tmp_path: Path) -> None:
    """The overlay encode takes longer than tracking: both stages report, each up to every frame. On a
    pipe (not a terminal) the bar is a few plain lines per stage."""
    synth = pytest.importorskip("barpath.synth")
    clip = tmp_path / "squat.mp4"
    truth = synth.render_clip(synth.SynthSpec.plain(n_reps=1, width=480, height=360, seed=5), clip)
    n = len(truth.frames)
    proc = run("process", str(clip), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    stages = [ln.split()[0] for ln in lines]
    assert stages == sorted(stages, key=["tracking", "rendering"].index)  # tracking first, then rendering
    for stage in ("tracking", "rendering"):
        own = [ln for ln in lines if ln.startswith(stage)]
        assert 2 <= len(own) <= 5, lines  # 0, 25, 50, 75, 100 %
        assert f" {n}/{n} frames " in own[-1], own
    assert "e+" not in proc.stderr and all(
        float(ln.split()[-2]) < 1e4 for ln in lines if ln.split()[-2] != "-"
    )


def test_report_says_when_the_camera_moved() -> None:
    """A coach should know the numbers were measured against the room, not the picture."""
    from barpath.cli import format_report

    doc = {"calibration": {"meters_per_pixel": 0.002}, "reps": [], "summary": {"rep_count": 0}}
    assert "camera" not in format_report(doc)
    doc["summary"].update(camera_motion="still", camera_max_shift_px=0.4)
    assert "camera" not in format_report(doc)
    doc["summary"].update(camera_motion="compensated", camera_max_shift_px=27.2)
    assert "camera            moved (up to 27 px at the bar)" in format_report(doc)
    doc["summary"].update(camera_motion="unmeasured", camera_note="too few background corners")
    assert "not followed (too few background corners)" in format_report(doc)


def test_report_says_when_the_camera_was_turned_from_side_on() -> None:
    from barpath.cli import format_report

    doc = {"calibration": {"meters_per_pixel": 0.002}, "reps": [], "summary": {"rep_count": 0}}
    assert "turned" not in format_report(doc)  # path.json from before plate_aspect existed
    doc["calibration"]["plate_aspect"] = 1.0
    assert "turned" not in format_report(doc)
    doc["calibration"]["plate_aspect"] = 0.7134
    assert "view              turned from side-on (plate 0.71 as wide as tall)" in format_report(doc)


def test_report_says_when_the_video_is_slow_motion() -> None:
    from barpath.cli import format_report

    doc = {"calibration": {"meters_per_pixel": 0.002}, "reps": [], "summary": {"rep_count": 0}}
    doc["video"] = {"fps": 30.0}  # path.json from before slow_motion existed
    assert "slow motion" not in format_report(doc)
    doc["video"] = {"fps": 30.0, "slow_motion": 1.0, "capture_fps": None}
    assert "slow motion" not in format_report(doc)
    doc["video"] = {"fps": 30.0, "slow_motion": 8.0, "capture_fps": 240.0}
    want = "slow motion       8x, filmed at 240 fps: durations and velocities as lifted"
    assert want in format_report(doc)


def test_report_says_how_many_reps_the_clip_cut_off() -> None:
    """A rep the video starts or stops inside is not in the table: the coach is told it was seen."""
    from barpath.cli import format_report

    doc = {"calibration": {"meters_per_pixel": 0.002}, "reps": [], "summary": {"rep_count": 0}}
    assert "cut off" not in format_report(doc)  # path.json from before reps_cut_off existed
    doc["summary"]["reps_cut_off"] = 0
    assert "cut off" not in format_report(doc)
    doc["summary"]["reps_cut_off"] = 1
    assert "cut off           1 more the clip starts or ends inside: not measured" in format_report(doc)


def test_report_marks_a_rep_whose_drive_the_video_may_not_show_whole() -> None:
    from barpath.cli import format_report

    def rep(index: int, seen_whole: bool | None) -> dict[str, object]:
        con: dict[str, object] = {"mean_velocity_mps": 0.5, "peak_velocity_mps": 0.9}
        con.update(displacement_m=0.5, duration_s=1.0)
        if seen_whole is not None:  # path.json from before seen_whole existed has no such key
            con["seen_whole"] = seen_whole
        return {"index": index, "concentric": con, "eccentric": None}

    doc = {"calibration": {"meters_per_pixel": 0.002}, "summary": {"rep_count": 3}}
    doc["reps"] = [rep(1, False), rep(2, True), rep(3, None)]
    rows = format_report(doc).splitlines()
    assert rows[2].startswith(" 1*  ") and rows[3].startswith("  2  ") and rows[4].startswith("  3  ")
    assert rows[5] == "  * its drive starts or ends where the video (or the track) does: its start or end"
    doc["reps"] = [rep(1, True), rep(2, None)]
    assert "*" not in format_report(doc)
