"""training/train.py's SageMaker contract without detectron2: environment defaults, hyperparameter strings
cast to the right types, the launch layout from SM_HOSTS, the config overrides and the dataset checks."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from training import datasets as ds  # noqa: E402
from training import train  # noqa: E402

pytestmark = pytest.mark.unit

SM_ENV = {
    "SM_CHANNEL_TRAIN": "/opt/ml/input/data/train",
    "SM_CHANNEL_VALIDATION": "/opt/ml/input/data/validation",
    "SM_MODEL_DIR": "/opt/ml/model",
    "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
    "SM_NUM_GPUS": "4",
    "SM_HOSTS": '["algo-1", "algo-2"]',
    "SM_CURRENT_HOST": "algo-2",
}


def test_laptop_defaults_without_any_sagemaker_variable() -> None:
    args = train.parse_args([], env={})
    assert (args.train, args.validation) == ("data/train", "data/validation")
    assert (args.model_dir, args.output_data_dir) == ("out/model", "out/output")
    assert args.device == "cpu" and args.num_gpus == 0 and args.hosts == []
    assert args.config_file == "COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml" and args.weights == "zoo"
    assert args.resume is True and args.opts == []
    plan = train.launch_plan(args)
    assert plan == train.LaunchPlan(1, 1, 0, "auto")


def test_sagemaker_environment_is_read() -> None:
    args = train.parse_args([], env=SM_ENV)
    assert args.train == "/opt/ml/input/data/train" and args.validation == "/opt/ml/input/data/validation"
    assert args.model_dir == "/opt/ml/model" and args.output_data_dir == "/opt/ml/output/data"
    assert args.num_gpus == 4 and args.device == "cuda"
    assert args.hosts == ["algo-1", "algo-2"] and args.current_host == "algo-2"
    plan = train.launch_plan(args)
    assert plan == train.LaunchPlan(4, 2, 1, "tcp://algo-1:29500")


def test_hyperparameters_arrive_as_strings_and_are_cast() -> None:
    # SageMaker turns {"max-iter": 300, "amp": True, "min-size-train": [480, 512]} into these strings.
    argv = [
        "--max-iter",
        "300",
        "--lr",
        "0.0025",
        "--batch-size",
        "4",
        "--amp",
        "True",
        "--resume",
        "false",
        "--min-size-train",
        "[480, 512]",
        "--max-size-train",
        "800",
        "--device",
        "cpu",
        "--eval-period",
        "100",
        "--weights",
        "none",
        "--max-seconds",
        "90.5",
    ]
    args = train.parse_args(argv, env=SM_ENV)
    assert args.max_iter == 300 and isinstance(args.max_iter, int)
    assert args.lr == pytest.approx(0.0025) and args.batch_size == 4
    assert args.amp is True and args.resume is False
    assert args.min_size_train == (480, 512) and args.max_size_train == 800
    assert args.eval_period == 100 and args.max_seconds == pytest.approx(90.5)
    # --device cpu wins over SM_NUM_GPUS: one process on one machine.
    assert train.launch_plan(args) == train.LaunchPlan(1, 1, 0, "auto")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--opts", "SOLVER.WARMUP_ITERS", "10", "MODEL.RPN.NMS_THRESH", "0.6"],
            ["SOLVER.WARMUP_ITERS", "10", "MODEL.RPN.NMS_THRESH", "0.6"],
        ),
        (
            ["--opts", "SOLVER.WARMUP_ITERS 10 INPUT.FORMAT 'BGR'"],
            ["SOLVER.WARMUP_ITERS", "10", "INPUT.FORMAT", "BGR"],
        ),
    ],
)
def test_opts_passthrough_as_words_or_one_string(argv: list[str], expected: list[str]) -> None:
    assert train.parse_args(argv, env={}).opts == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--amp", "maybe"],
        ["--min-size-train", "480,abc"],
        ["--min-size-train", "0"],
        ["--device", "tpu"],
        ["--max-iter", "ten"],
    ],
)
def test_bad_hyperparameter_strings_are_argument_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        train.parse_args(argv, env={})
    assert exc.value.code == 2


def test_bad_values_and_uneven_opts_are_setup_errors() -> None:
    with pytest.raises(train.TrainingSetupError, match="max-iter"):
        train.parse_args(["--max-iter", "0"], env={})
    with pytest.raises(train.TrainingSetupError, match="lr"):
        train.parse_args(["--lr", "-1"], env={})
    with pytest.raises(train.TrainingSetupError, match="KEY VALUE"):
        train.parse_args(["--opts", "SOLVER.BASE_LR"], env={})


def test_current_host_must_be_one_of_the_hosts() -> None:
    args = train.parse_args([], env={**SM_ENV, "SM_CURRENT_HOST": "algo-9"})
    with pytest.raises(train.TrainingSetupError, match="algo-9"):
        train.launch_plan(args)


def test_hosts_also_accepted_as_comma_list() -> None:
    args = train.parse_args(["--hosts", "a,b,c", "--current-host", "c", "--num-gpus", "1"], env={})
    assert train.launch_plan(args) == train.LaunchPlan(1, 3, 2, "tcp://a:29500")


def test_checkpoint_dir_default_and_override(tmp_path: Path) -> None:
    expected = (
        "/opt/ml/checkpoints" if Path("/opt/ml").is_dir() else str(Path("out/output").parent / "checkpoints")
    )
    assert train.parse_args([], env={}).checkpoint_dir == expected
    assert train.parse_args(["--checkpoint-dir", str(tmp_path)], env={}).checkpoint_dir == str(tmp_path)


def _args(**kw: object) -> argparse.Namespace:
    args = train.parse_args(["--device", "cpu", "--max-iter", "1000", "--checkpoint-dir", "/ck"], env={})
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def test_config_overrides_cover_the_hyperparameters() -> None:
    ov = train.config_overrides(_args(), num_classes=2, weights="/w/model.pkl")
    pairs = dict(zip(ov[0::2], ov[1::2], strict=True))
    assert pairs["MODEL.ROI_HEADS.NUM_CLASSES"] == 2 and pairs["MODEL.WEIGHTS"] == "/w/model.pkl"
    assert pairs["MODEL.DEVICE"] == "cpu" and pairs["OUTPUT_DIR"] == "/ck"
    assert pairs["SOLVER.MAX_ITER"] == 1000 and pairs["SOLVER.STEPS"] == (750, 920)
    assert pairs["DATASETS.TRAIN"] == (train.TRAIN_NAME,) and pairs["DATASETS.TEST"] == (train.VAL_NAME,)
    assert "MODEL.RESNETS.NORM" not in pairs  # pretrained weights keep their frozen BatchNorm
    scratch = dict(zip(*(lambda o: (o[0::2], o[1::2]))(train.config_overrides(_args(), 2, "")), strict=True))
    assert scratch["MODEL.RESNETS.NORM"] == "GN" and scratch["MODEL.BACKBONE.FREEZE_AT"] == 0
    tiny = dict(
        zip(*(lambda o: (o[0::2], o[1::2]))(train.config_overrides(_args(max_iter=4), 2, "")), strict=True)
    )
    assert tiny["SOLVER.STEPS"] == (3,)  # distinct and below max_iter, or fvcore refuses the schedule


def test_weights_resolution_without_network(tmp_path: Path) -> None:
    assert train.resolve_weights("none", train.DEFAULT_CONFIG) == ""
    local = tmp_path / "w.pth"
    local.write_bytes(b"x")
    assert train.resolve_weights(str(local), train.DEFAULT_CONFIG) == str(local)
    assert train.resolve_weights("https://example.invalid/w.pkl", train.DEFAULT_CONFIG).startswith("https://")
    with pytest.raises(train.TrainingSetupError, match="no such file"):
        train.resolve_weights(str(tmp_path / "missing.pth"), train.DEFAULT_CONFIG)


def test_channels_are_found_and_checked(tmp_path: Path) -> None:
    ds.write_dataset(ds.synth_samples(3, seed=1, size=(64, 48)), tmp_path / "train")
    found = train.find_annotations(tmp_path / "train")
    assert found == tmp_path / "train" / "annotations.json"
    assert train.dataset_classes(found) == ["plate", "bar_end"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "instances.json").write_text(json.dumps({"images": [], "categories": [{"id": 1, "name": "p"}]}))
    assert train.find_annotations(other) == other / "instances.json"
    with pytest.raises(train.TrainingSetupError, match="no images"):
        train.dataset_classes(other / "instances.json")
    (other / "second.json").write_text("{}")
    with pytest.raises(train.TrainingSetupError, match="exactly one"):
        train.find_annotations(other)
    with pytest.raises(train.TrainingSetupError, match="does not exist"):
        train.find_annotations(tmp_path / "nowhere")


def test_manifest_names_classes_and_input_format() -> None:
    m = train.model_manifest(
        ["plate", "bar_end"], _args(), {"AP": 61.0, "AP50": 90.0, "AP75": 70.0}, 1000, 12.3
    )
    assert m["schema"] == "barpath/model@1" and m["classes"] == ["plate", "bar_end"]
    assert m["plate_class"] == "plate" and m["bar_end_class"] == "bar_end" and m["input_format"] == "BGR"
    assert m["weights"] == "model_final.pth" and m["config"] == "config.yaml"
    assert m["proposals_test"] == 100 and m["score_threshold"] == 0.5
    assert m["metrics"] == {"AP": 61.0, "AP50": 90.0, "AP75": 70.0} and m["training"]["iterations"] == 1000
    plate_only = train.model_manifest(["plate"], _args(), {}, 1, 1.0)
    assert plate_only["bar_end_class"] is None


def test_script_reports_setup_errors_with_exit_2(tmp_path: Path) -> None:
    # The real script in a subprocess, as SageMaker starts it: a bad value ends with one line, exit 2.
    proc = subprocess.run(
        [sys.executable, str(REPO / "training/train.py"), "--max-iter", "-5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and "max-iter must be positive" in proc.stderr
