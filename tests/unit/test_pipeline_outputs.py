"""pipeline.process publishes its outputs the way readers rely on: path.json last, no staging left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from barpath import pipeline, schema, synth

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
    out = pipeline.process(clip, tmp_path / "out")
    assert moved[-1] == pipeline.PATH_JSON
    assert set(moved) == {pipeline.PATH_JSON, pipeline.OVERLAY, pipeline.PLOT}
    # Nothing but the three outputs: the staging folder is gone.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(moved)
    schema.validate(json.loads(out.path_json.read_text()))
