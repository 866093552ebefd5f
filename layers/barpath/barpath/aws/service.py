"""The upload use case shared by the Lambda handler and the Batch job: check, route, process, publish.

Exactly one notification per outcome: `queued` when handed to Batch, then `succeeded` or `failed` from
whoever finished. Input faults (any BarpathError) become a `failed` notification and a normal return,
never an exception, so bad input cannot start a retry storm. Anything else (S3/SNS outages, bugs)
propagates: Lambda retries it, and the on-failure destination turns the final failure into `failed`.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from barpath.aws import batch_submit, models, notify, routing, storage
from barpath.aws.keys import UploadRef, is_folder_marker, result_keys, result_uris
from barpath.aws.names import UPLOADS_PREFIX
from barpath.aws.settings import Settings
from barpath.errors import BarpathError, InvalidRequestError

if TYPE_CHECKING:
    from barpath.detect.base import Detector
    from barpath.pipeline import Outputs
    from barpath.video import VideoInfo

RemainingSeconds = Callable[[], float]


def outcome(msg: dict[str, Any], *, processing_s: float = 0.0, message_id: str | None = None,
            reason: str = "") -> dict[str, Any]:
    """What an invocation returns (and the idempotency record stores): JSON-able, small."""
    return {"notification": msg, "processing_s": round(processing_s, 3), "message_id": message_id,
            "route_reason": reason}


def ignored(ref: UploadRef, why: str) -> dict[str, Any]:
    return {"notification": None, "processing_s": 0.0, "message_id": None, "route_reason": why,
            "ignored": True, "input": ref.contract()}


def handle_upload(ref: UploadRef, settings: Settings, *, request_id: str | None,
                  remaining_s: RemainingSeconds | None = None) -> dict[str, Any]:
    """Lambda path: one S3 record in, one notification out (or none for a folder marker)."""
    if is_folder_marker(ref.key):
        return ignored(ref, "folder marker")
    try:
        _check_scope(ref, settings)
        decision = routing.by_size(ref.size, settings) if ref.size is not None else None
        head = storage.head(ref)  # an object deleted before processing ends here: input_not_found
        size = int(head.get("ContentLength", ref.size or 0))
        if decision is None:
            decision = routing.by_size(size, settings)
        if decision is not None and decision.route == "batch":
            return _queue(ref, settings, request_id, decision.reason)
        with _workdir() as work:
            video_path = storage.download(ref, work / _local_name(ref.key))
            info = _probe(video_path, settings)
            remaining = remaining_s() if remaining_s is not None else None
            decision = routing.by_duration(info.duration_s, remaining, settings, info.fps)
            if decision.route == "batch":
                return _queue(ref, settings, request_id, decision.reason)
            return process_and_publish(ref, settings, video_path, work / "out", route="lambda",
                                       request_id=request_id, reason=decision.reason, info=info)
    except BarpathError as exc:
        return fail(ref, settings, exc, route="lambda", request_id=request_id)


def run_job(ref: UploadRef, settings: Settings, *, job_id: str | None) -> dict[str, Any]:
    """Batch path: the same processing with no time guard; publishes `succeeded` or `failed`."""
    try:
        _check_scope(ref, settings)
        storage.head(ref)
        with _workdir() as work:
            video_path = storage.download(ref, work / _local_name(ref.key))
            return process_and_publish(ref, settings, video_path, work / "out", route="batch",
                                       request_id=job_id, job_id=job_id, reason="batch job")
    except BarpathError as exc:
        return fail(ref, settings, exc, route="batch", request_id=job_id, job_id=job_id)


def process_and_publish(ref: UploadRef, settings: Settings, video_path: Path, outdir: Path, *,
                        route: notify.Route, request_id: str | None, job_id: str | None = None,
                        reason: str = "", info: VideoInfo | None = None) -> dict[str, Any]:
    from barpath import pipeline

    started = time.monotonic()
    options = pipeline.Options(
        plate_diameter_mm=settings.plate_diameter_mm,
        detector=settings.detector,
        model=models.local_model(settings.model_uri),
        limits=_limits(settings),
    )
    detector = _detector(options.detector, options.model)
    # `info` is the routing probe where there was one (same limits): the file is not probed twice.
    outputs = pipeline.process(video_path, outdir, options, detector=detector, info=info)
    written = storage.upload_outputs(settings.results_bucket, ref.key, _files(outputs))
    msg = notify.message("succeeded", ref.contract(), route, outputs=written, summary=summary_of(outputs),
                         request_id=request_id, job_id=job_id)
    message_id = notify.publish(settings.topic_arn, msg)
    return outcome(msg, processing_s=time.monotonic() - started, message_id=message_id, reason=reason)


def fail(ref: UploadRef, settings: Settings, exc: BarpathError, *, route: notify.Route,
         request_id: str | None, job_id: str | None = None) -> dict[str, Any]:
    # The core names the file it was handed, our private copy; the user knows their own file's name.
    message = exc.message.replace(_local_name(ref.key), PurePosixPath(ref.key).name or ref.key)
    msg = notify.message("failed", ref.contract(), route, error=(exc.code, message),
                         request_id=request_id, job_id=job_id)
    return outcome(msg, message_id=notify.publish(settings.topic_arn, msg), reason=exc.code)


def summary_of(outputs: Outputs) -> dict[str, Any]:
    """The path.json summary, plus the clip's frame count and duration, as the app shows them."""
    doc = outputs.result.to_dict()
    summary = dict(doc["summary"])
    summary.setdefault("frame_count", doc["video"]["frame_count"])
    summary.setdefault("duration_s", doc["video"]["duration_s"])
    return summary


def _queue(ref: UploadRef, settings: Settings, request_id: str | None, reason: str) -> dict[str, Any]:
    queue, definition = settings.require_batch()
    job_id = batch_submit.submit(ref, queue, definition, request_id=request_id)
    future = result_uris(settings.results_bucket, ref.key)  # where the job will write
    msg = notify.message("queued", ref.contract(), "batch", outputs=future, request_id=request_id,
                         job_id=job_id)
    return outcome(msg, message_id=notify.publish(settings.topic_arn, msg), reason=reason)


def _check_scope(ref: UploadRef, settings: Settings) -> None:
    if settings.uploads_bucket and ref.bucket != settings.uploads_bucket:
        raise InvalidRequestError(f"bucket {ref.bucket!r} is not the uploads bucket")
    if not ref.key.startswith(UPLOADS_PREFIX):
        raise InvalidRequestError(f"{ref.key!r} is not under {UPLOADS_PREFIX}")
    # Before any work: refuses '..' segments and names too long to hold their results.
    result_keys(ref.key)


def _local_name(key: str) -> str:
    """What the upload is called in the private work folder: never the key itself (any bytes at all)."""
    return "input" + _suffix(key)


def _suffix(key: str) -> str:
    # Keep a short, safe extension as a hint for the demuxer; the real check is the probe.
    suffix = Path(key).suffix.lower()
    return suffix if suffix.isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"


class _workdir:
    """A private temp folder under /tmp (Lambda's ephemeral storage), removed on every path out."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="barpath-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _limits(settings: Settings) -> Any:
    from barpath import video

    return video.Limits(max_bytes=settings.max_video_bytes)


def _probe(path: Path, settings: Settings) -> VideoInfo:
    from barpath import video

    return video.probe(path, _limits(settings))


@functools.lru_cache(maxsize=1)
def _detector(kind: str, model: str | None) -> Detector:
    # Built once per container: warm invocations reuse a loaded model instead of reloading it. A model
    # replaced at its URI arrives under a new local path; only the newest detector is kept in memory.
    from barpath.detect.factory import build_detector

    return build_detector(kind, model)


def _files(outputs: Outputs) -> dict[str, Path | None]:
    return {"path_json": outputs.path_json, "overlay": outputs.overlay, "plot": outputs.plot}
