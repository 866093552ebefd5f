"""Overlay video and velocity plot. INTERFACE PINNED (filled in by the render work)."""

from __future__ import annotations

from pathlib import Path

from barpath.kinematics import Analysis
from barpath.schema import PathResult
from barpath.video import VideoInfo


def render_overlay(info: VideoInfo, result: PathResult, analysis: Analysis, out_path: Path) -> None:
    """H.264 yuv420p +faststart, original audio kept, same size and timing as the input."""
    raise NotImplementedError


def render_plot(result: PathResult, analysis: Analysis, out_path: Path) -> None:
    raise NotImplementedError
