"""Typed errors of the core. Each has a stable `code`: the CLI maps any of them to exit 2, the cloud
handler to a `failed` notification carrying the code. Codes are part of the contract: never rename one."""

from __future__ import annotations


class BarpathError(Exception):
    """Base of every error that is the input's fault or a known limit, not a bug."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAVideoError(BarpathError):
    code = "not_a_video"


class UnreadableVideoError(BarpathError):
    code = "unreadable_video"


class EmptyVideoError(BarpathError):
    code = "no_frames"


class VideoTooLargeError(BarpathError):
    """Size, duration, pixel count or frame rate beyond the configured limits (checked before decoding)."""

    code = "video_too_large"


class NoPlateFoundError(BarpathError):
    code = "no_plate_found"


class ModelLoadError(BarpathError):
    code = "model_load_failed"


class InputNotFoundError(BarpathError):
    code = "input_not_found"


class InvalidRequestError(BarpathError):
    """The request itself is malformed (e.g. a key outside uploads/, a bad option)."""

    code = "invalid_request"
