"""A model given as an S3 URI, fetched over the moto server: kept while unchanged, fetched again when
replaced at the same URI (the old copy deleted), and nothing left in /tmp by a fetch that fails."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from barpath.aws import models
from barpath.errors import ModelLoadError
from barpath.local import LambdaContext, LocalCloud

pytestmark = pytest.mark.integration

BUCKET = "barpath-models"


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fetches land here instead of the machine's /tmp, so what they leave can be counted."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    models.forget()
    yield root
    models.forget()


@pytest.fixture
def s3(cloud: LocalCloud) -> Any:
    client = cloud.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _archive(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _model_files(threshold: float) -> dict[str, bytes]:
    manifest = {"classes": ["plate"], "plate_class": "plate", "score_threshold": threshold}
    return {"barpath-model.json": json.dumps(manifest).encode(), "config.yaml": b"MODEL: {}\n"}


def _threshold(path: str) -> float:
    return float(json.loads((Path(path) / "barpath-model.json").read_text())["score_threshold"])


def test_an_unchanged_archive_is_fetched_once_and_a_replaced_one_again(s3: Any, tmp_root: Path) -> None:
    uri = f"s3://{BUCKET}/plates/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key="plates/model.tar.gz", Body=_archive(_model_files(0.5)))
    first = models.local_model(uri)
    assert first is not None and _threshold(first) == 0.5
    assert models.local_model(uri) == first  # the same copy: not downloaded again
    assert not list(tmp_root.rglob("*.tar.gz"))  # unpacked; the archive is not kept too
    s3.put_object(Bucket=BUCKET, Key="plates/model.tar.gz", Body=_archive(_model_files(0.7)))
    second = models.local_model(uri)
    assert second is not None and second != first and _threshold(second) == 0.7
    assert not Path(first).exists()
    assert [p.name for p in tmp_root.iterdir()] == [Path(second).parent.name]


def test_a_folder_is_fetched_again_when_any_file_in_it_changes(s3: Any, tmp_root: Path) -> None:
    uri = f"s3://{BUCKET}/run-7/"
    for name, data in _model_files(0.5).items():
        s3.put_object(Bucket=BUCKET, Key=f"run-7/{name}", Body=data)
    first = models.local_model(uri)
    assert first is not None and sorted(p.name for p in Path(first).iterdir()) == [
        "barpath-model.json",
        "config.yaml",
    ]
    assert models.local_model(uri) == first
    s3.put_object(Bucket=BUCKET, Key="run-7/barpath-model.json", Body=_model_files(0.6)["barpath-model.json"])
    second = models.local_model(uri)
    assert second is not None and second != first and _threshold(second) == 0.6
    assert len(list(tmp_root.iterdir())) == 1


def test_a_fetch_that_fails_leaves_nothing_behind(s3: Any, tmp_root: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot fetch model"):
        models.local_model(f"s3://{BUCKET}/missing/model.tar.gz")
    s3.put_object(Bucket=BUCKET, Key="cut/model.tar.gz", Body=_archive(_model_files(0.5))[:40])
    with pytest.raises(ModelLoadError, match="cannot unpack"):
        models.local_model(f"s3://{BUCKET}/cut/model.tar.gz")
    assert list(tmp_root.iterdir()) == []


def test_a_broken_model_fixed_at_the_same_uri_is_used_by_the_next_upload(
    cloud: LocalCloud, s3: Any, tmp_root: Path, lift_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first upload fails on weights cut short on their way up; the user uploads them again whole,
    and the same warm container must not go on failing on its stale copy."""
    from barpath.local import HANDLER_FILE, load_function

    handler = load_function(HANDLER_FILE, "it_model_fetch_process_video").handler
    monkeypatch.setenv("MODEL_URI", f"s3://{BUCKET}/m/")
    for name, data in _model_files(0.5).items():
        s3.put_object(Bucket=BUCKET, Key=f"m/{name}", Body=data)
    s3.put_object(Bucket=BUCKET, Key="m/model_final.pth", Body=b"PK\x03\x04" + bytes(4096))
    handler(cloud.upload(lift_clip, "uploads/a.mp4"), LambdaContext())
    [msg] = cloud.notifications()
    assert (msg["status"], msg["error"]["code"]) == ("failed", "model_load_failed")
    assert "not a PyTorch checkpoint" in msg["error"]["message"]
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as z:  # what torch.save writes: a zip with the pickle in it
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    s3.put_object(Bucket=BUCKET, Key="m/model_final.pth", Body=whole.getvalue())
    handler(cloud.upload(lift_clip, "uploads/b.mp4"), LambdaContext())
    [msg] = cloud.notifications()
    # The new weights pass the checkpoint check: what the upload meets now is the next check along
    # (here, torch not installed) or success, never the stale copy's complaint.
    assert "not a PyTorch checkpoint" not in json.dumps(msg)
    assert len(list(tmp_root.iterdir())) == 1


def test_a_deleted_model_fails_as_in_a_fresh_container(s3: Any, tmp_root: Path) -> None:
    """Deleted (or its access revoked): the warm copy is not used on, and is removed."""
    uri = f"s3://{BUCKET}/gone/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key="gone/model.tar.gz", Body=_archive(_model_files(0.5)))
    assert models.local_model(uri) is not None and len(list(tmp_root.iterdir())) == 1
    s3.delete_object(Bucket=BUCKET, Key="gone/model.tar.gz")
    with pytest.raises(ModelLoadError, match="cannot fetch model"):
        models.local_model(uri)
    assert list(tmp_root.iterdir()) == []


def test_s3_failing_for_a_moment_keeps_the_copy_in_hand(s3: Any, tmp_root: Path) -> None:
    """An S3 outage at the botocore boundary (503 on HeadObject): the job goes on with the model it
    already holds, rather than failing an upload the model itself is fine for."""
    from botocore.exceptions import ClientError

    from barpath.aws.clients import client

    uri = f"s3://{BUCKET}/plates/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key="plates/model.tar.gz", Body=_archive(_model_files(0.5)))
    held = models.local_model(uri)

    def outage(**_: Any) -> None:
        error = {"Code": "ServiceUnavailable", "Message": "injected"}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}}, "HeadObject")

    ours = client("s3")
    ours.meta.events.register("before-call.s3.HeadObject", outage, unique_id="outage")
    try:
        assert models.local_model(uri) == held and Path(str(held)).is_dir()
        models.forget()  # a cold container has no copy to fall back on
        with pytest.raises(ModelLoadError, match="cannot fetch model"):
            models.local_model(uri)
    finally:
        ours.meta.events.unregister("before-call.s3.HeadObject", unique_id="outage")
