"""pipeline.process publishes its outputs the way readers rely on: path.json last, no staging left."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from barpath import pipeline, schema, synth, video
from media import run

pytestmark = pytest.mark.unit


def test_path_json_is_moved_into_place_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = tmp_path / "lift.mp4"
    synth.render_clip(synth.SynthSpec.plain(lift="deadlift", n_reps=1, width=480, height=360), clip)
    moved: list[str] = []
    real_replace = Path.replace

    def recording_replace(self: Path, target: str | Path) -> Path:
        if Path(target).parent == tmp_path / "out":
            moved.append(Path(target).name)
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", recording_replace)
    t0 = time.perf_counter()
    out = pipeline.process(clip, tmp_path / "out")
    elapsed = time.perf_counter() - t0
    # Where the time went, stage by stage (make bench prints these): each took some, together no more.
    assert list(out.stage_s) == ["track", "analyse", "render"]
    assert all(v > 0 for v in out.stage_s.values()) and sum(out.stage_s.values()) <= elapsed
    assert moved[-1] == pipeline.PATH_JSON
    assert set(moved) == {pipeline.PATH_JSON, pipeline.OVERLAY, pipeline.PLOT}
    # Nothing but the three outputs: the staging folder is gone.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(moved)
    schema.validate(json.loads(out.path_json.read_text()))


def test_overlay_lies_over_its_own_frame_when_the_picture_starts_late(tmp_path: Path) -> None:
    """The overlay's clock comes from the tracking decode's first frame (no second decode for it). A
    picture that starts half a second after the file's start (common when sound leads) must still get
    each frame's own drawing: a clock off by that much would draw frame k's mark 15 frames early."""
    src = tmp_path / "lift.mp4"
    gt = synth.render_clip(synth.SynthSpec.plain(lift="deadlift", n_reps=1, width=480, height=360), src)
    late = tmp_path / "late.mp4"
    run(["-itsoffset", "0.5", "-i", str(src), "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono",
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(late)])  # fmt: skip
    info = video.probe(late)
    assert next(video.frames(info)).pts_s == pytest.approx(0.5, abs=1e-3)
    out = pipeline.process(late, tmp_path / "out", info=info)
    assert out.overlay is not None
    source = list(video.frames(info))
    drawn = list(video.frames(video.probe(out.overlay)))
    assert len(drawn) == len(source) == len(gt.frames)
    frames = out.result.frames
    # Where the bar rises fast, the place it reaches 10 frames later (higher than it has been yet) is
    # still bare in frame k: nothing is drawn ahead of the bar. Its place at frame k carries the mark.
    ys = [f.y for f in gt.frames]
    fresh = [k for k in range(len(ys) - 10) if ys[k + 10] < min(ys[: k + 1]) - 40]
    assert len(fresh) >= 5
    for k in fresh:
        now, ahead = frames[k], frames[k + 10]
        assert now.x is not None and now.y is not None and ahead.x is not None and ahead.y is not None
        assert _changed(source[k].image, drawn[k].image, now.x, now.y) > 30, k
        assert _changed(source[k].image, drawn[k].image, ahead.x, ahead.y) < 15, k


def _changed(before: np.ndarray, after: np.ndarray, x: float, y: float) -> float:
    """Mean absolute change of the 3x3 pixels at (x, y): what the overlay drew there."""
    xi, yi = int(round(x)), int(round(y))
    a = before[yi - 1 : yi + 2, xi - 1 : xi + 2].astype(np.int16)
    b = after[yi - 1 : yi + 2, xi - 1 : xi + 2].astype(np.int16)
    return float(np.abs(a - b).mean())


def test_frames_carry_velocity_and_phase_and_the_validator_guards_them(tmp_path: Path) -> None:
    clip = tmp_path / "lift.mp4"
    synth.render_clip(synth.SynthSpec.plain(lift="deadlift", n_reps=2, width=480, height=360), clip)
    doc = json.loads(pipeline.process(clip, tmp_path / "out").path_json.read_text())
    schema.validate(doc)
    frames = doc["frames"]
    by_rep = {r["index"]: r for r in doc["reps"]}
    assert len(by_rep) == 2
    for k, rep in by_rep.items():
        # Each rep's concentric frames rise, and the fastest of them is the rep's peak.
        con = [f for f in frames if f["rep"] == k and f["phase"] == "concentric"]
        assert len(con) >= 5 and all(f["vy_mps"] > 0 for f in con[1:-1])
        peak = max(f["vy_mps"] for f in con)
        assert peak == pytest.approx(rep["concentric"]["peak_velocity_mps"], rel=0.15)
    assert any(f["phase"] is None for f in frames)  # the bar rests between reps

    def broken(k: int, **change: object) -> dict:
        bad = json.loads(json.dumps(doc))
        bad["frames"][k].update(change)
        return bad

    mid = next(k for k, f in enumerate(frames) if f["phase"] == "concentric")
    for bad in (
        broken(mid, state="lost", x=None, y=None),  # a velocity with no position
        broken(mid, rep=None),  # a phase outside any rep
        broken(mid, rep=3),  # a rep that is not there
        broken(mid, phase="rest"),
    ):
        with pytest.raises(ValueError, match=f"frames\\[{mid}\\]"):
            schema.validate(bad)


def test_trail_stays_on_the_room_when_the_camera_moves(tmp_path: Path) -> None:
    """A hand-held clip: the trail of the last seconds is drawn where the bar passed in the room, as each
    frame shows that place, not where the bar was in earlier pictures (the camera has moved since)."""
    src = tmp_path / "hand-held.mp4"
    spec = synth.SynthSpec(
        lift="deadlift", n_reps=2, width=640, height=360, camera_drift_px=40.0, noise_sigma=0.0, seed=3
    )
    synth.render_clip(spec, src)
    out = pipeline.process(src, tmp_path / "out")
    assert out.camera.moving and out.overlay is not None
    source = list(video.frames(video.probe(src)))
    drawn = list(video.frames(video.probe(out.overlay)))
    frames, to_first = out.result.frames, out.camera.to_first
    checked = 0
    for k in range(30, len(frames), 5):
        # Earlier positions as frame k shows their places, and where they were in their own pictures.
        window = [j for j in range(k - 24, k - 3) if frames[j].x is not None]  # under 0.8 s: opaque
        room_now = {j: _seen_from(to_first, j, k, frames[j].x, frames[j].y) for j in window}
        for j in window[::4]:
            raw, now = (frames[j].x, frames[j].y), room_now[j]
            far = min(np.hypot(raw[0] - p[0], raw[1] - p[1]) for p in room_now.values())
            if far < 8 or not (5 < raw[0] < 635 and 5 < raw[1] < 355):
                continue  # the trail passes near the old picture position anyway
            assert _strongest_change(source[k].image, drawn[k].image, *now) > 25, (j, k)
            assert _changed(source[k].image, drawn[k].image, *raw) < 15, (j, k)
            checked += 1
    assert checked >= 20


def _strongest_change(before: np.ndarray, after: np.ndarray, x: float, y: float) -> float:
    """The largest change among the 5x5 pixels at (x, y) (mean over colour channels): a 2 px line
    drawn there changes some of them fully, wherever it falls within the pixel."""
    xi, yi = int(round(x)), int(round(y))
    a = before[yi - 2 : yi + 3, xi - 2 : xi + 3].astype(np.int16)
    b = after[yi - 2 : yi + 3, xi - 2 : xi + 3].astype(np.int16)
    return float(np.abs(a - b).mean(axis=2).max())


def _seen_from(to_first: list, j: int, k: int, x: float, y: float) -> tuple[float, float]:
    """Frame j's pixel (x, y) as frame k shows that place."""
    v = np.linalg.inv(to_first[k]) @ to_first[j] @ np.array([x, y, 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


@pytest.mark.parametrize("factor", [0.0, 0.5, 41.0])
def test_a_slow_motion_factor_outside_1_to_40_is_refused(tmp_path: Path, factor: float) -> None:
    clip = tmp_path / "lift.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-frames:v", "3", str(clip)])
    with pytest.raises(ValueError, match="slow_motion"):
        pipeline.process(clip, tmp_path / "out", pipeline.Options(slow_motion=factor))
    assert not (tmp_path / "out").exists()
